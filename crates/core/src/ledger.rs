//! The ledger: the payments to watch until they are final, so that none is lost when its webhook
//! never comes.
//!
//! A create made through a [`Watched`] gateway records the payment here before it is sent
//! ([`WatchState::Creating`]), then with what the gateway answered: [`WatchState::Pending`]
//! with the gateway's id, or [`WatchState::Unknown`] when the answer was lost
//! ([`Error::OutcomeUnknown`]). A reconciler (`gerbang-reconcile`) takes the payments that are
//! [due](Ledger::due), checks their status with the gateway on a [`Schedule`], and sends each
//! change it finds through the same inbox and handler as a webhook. A webhook receiver given the
//! ledger records what its webhooks say, so a payment a webhook settled is not checked again.
//!
//! Records never move back: an update whose state [ranks](WatchState::rank) below the recorded
//! one is ignored, so a status check that read `pending` just before a webhook said `paid`
//! cannot undo it, whichever replica writes last.
//!
//! A payment is looked up by its merchant reference ([`Ledger::find_by_reference`]) or by the
//! gateway's own id ([`Ledger::find_by_gateway_id`]), never one taken for the other: the two are
//! different namespaces (a merchant's reference may well be the digits of another payment's
//! gateway id), and a webhook that names a payment by one must not reach a record named by the
//! other.
//!
//! A merchant reference names one payment: [`Watched`] refuses a create whose reference the
//! ledger already holds ([`Error::ReferenceInUse`]), before anything is sent, unless the gateway
//! refused the earlier create ([`WatchState::NotCreated`]). The check and the write-ahead record
//! are one atomic step ([`Ledger::begin_create`]), so two replicas creating one reference at once
//! send it once.
//!
//! [`MemoryLedger`] is the default, for one process; `gerbang-redis` and `gerbang-postgres` keep
//! one ledger for every replica, and share its checks between them: [`Ledger::due`] hands each
//! due payment to one caller for a lease.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Error, LookupKey, Money, Payment, PaymentRequest, PaymentStatus, ProviderId};

mod memory;
mod watched;

pub use memory::MemoryLedger;
pub use watched::Watched;

/// Where a watched payment stands.
///
/// Serialised as `creating`, `unknown`, `not_created`, `pending`, `paid`, `expired`,
/// `cancelled`, `failed`, `refunded` or `mismatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WatchState {
    /// Recorded before the create was sent; no answer yet. One still here after
    /// [`CREATE_SETTLE`] belongs to a process that died mid-create: it is treated as
    /// [`Unknown`](Self::Unknown).
    Creating,
    /// The create's answer was lost: the payment may or may not exist at the gateway. Resolved by
    /// a status check where the gateway looks payments up by the merchant's reference; kept, for
    /// the merchant to see, elsewhere.
    Unknown,
    /// The gateway has no such payment: the create never took effect.
    NotCreated,
    /// Created, not paid yet.
    Pending,
    /// Paid.
    Paid,
    /// Not paid in time.
    Expired,
    /// Cancelled.
    Cancelled,
    /// Refused or failed.
    Failed,
    /// Paid, then refunded.
    Refunded,
    /// The gateway reported something that disagrees with the record (another amount): never
    /// passed on as paid; a person must look.
    Mismatch,
}

/// How long a [`WatchState::Creating`] record waits for its create's answer before it is taken
/// for lost: longer than any create takes (the HTTP client's timeout is 30 s by default).
pub const CREATE_SETTLE: Duration = Duration::from_secs(120);

impl WatchState {
    /// Every state, from the least known to a mismatch.
    pub const ALL: [Self; 10] = [
        Self::Creating,
        Self::Unknown,
        Self::NotCreated,
        Self::Pending,
        Self::Paid,
        Self::Expired,
        Self::Cancelled,
        Self::Failed,
        Self::Refunded,
        Self::Mismatch,
    ];

    /// The state named by its JSON word (`not_created`, …); `None` for a word this version does
    /// not know (a newer replica's): a store reports it rather than guess.
    ///
    /// ```
    /// use gerbang_core::ledger::WatchState;
    /// assert_eq!(WatchState::from_word("not_created"), Some(WatchState::NotCreated));
    /// assert!(WatchState::ALL.iter().all(|s| WatchState::from_word(s.as_str()) == Some(*s)));
    /// assert_eq!(WatchState::from_word("on_hold"), None);
    /// ```
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == word)
    }

    /// The word used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Unknown => "unknown",
            Self::NotCreated => "not_created",
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
            Self::Refunded => "refunded",
            Self::Mismatch => "mismatch",
        }
    }

    /// The state a gateway's status maps to. A status word no mapping knows is still pending:
    /// the payment goes on being watched.
    pub fn of(status: &PaymentStatus) -> Self {
        match status {
            PaymentStatus::Paid => Self::Paid,
            PaymentStatus::Expired => Self::Expired,
            PaymentStatus::Cancelled => Self::Cancelled,
            PaymentStatus::Failed => Self::Failed,
            PaymentStatus::Refunded => Self::Refunded,
            _ => Self::Pending,
        }
    }

    /// How far along the state is: 0 for what is not known to exist (creating, unknown,
    /// not created), 1 for pending, 2 for a final status, 3 for a mismatch. A record is never
    /// replaced by one of a lower rank: see [`Ledger::record`].
    pub const fn rank(self) -> u8 {
        match self {
            Self::Creating | Self::Unknown | Self::NotCreated => 0,
            Self::Pending => 1,
            Self::Paid | Self::Expired | Self::Cancelled | Self::Failed | Self::Refunded => 2,
            Self::Mismatch => 3,
        }
    }

    /// Whether a reconciler still checks a payment in this state: creating, unknown or pending.
    pub const fn is_watched(self) -> bool {
        matches!(self, Self::Creating | Self::Unknown | Self::Pending)
    }

    /// Whether a record in this state says its payment was paid: paid, refunded, or a mismatch
    /// (only a paid event becomes one). A paid event of the same merchant reference at another
    /// gateway is then a customer paying twice: see [`Ledger::find_at_other_gateways`].
    ///
    /// ```
    /// use gerbang_core::ledger::WatchState;
    /// assert!(WatchState::Refunded.was_paid() && WatchState::Mismatch.was_paid());
    /// assert!(!WatchState::Pending.was_paid() && !WatchState::Expired.was_paid());
    /// ```
    pub const fn was_paid(self) -> bool {
        matches!(self, Self::Paid | Self::Refunded | Self::Mismatch)
    }
}

impl fmt::Display for WatchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One payment in the ledger, keyed by gateway and merchant reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WatchedPayment {
    /// The gateway.
    pub provider: ProviderId,
    /// The merchant's reference: the key, with the gateway.
    pub reference: String,
    /// The gateway's own id, once known.
    pub provider_reference: Option<String>,
    /// The amount asked for: a webhook or status that says otherwise is a mismatch.
    pub amount: Money,
    /// Where it stands.
    pub state: WatchState,
    /// The gateway's status word, as last seen.
    pub provider_status: Option<String>,
    /// When the payment expires, when the gateway said.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was first recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// When it is checked next; `None` when it no longer is (final, or nothing more can be
    /// learnt: see [`note`](Self::note)).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_check: Option<OffsetDateTime>,
    /// How many status checks were made.
    pub checks: u32,
    /// Why it is not checked any more, or what the last check ran into. Never a secret nor a
    /// customer's contact details (it is an [`Error`]'s message, which holds neither).
    pub note: Option<String>,
}

impl WatchedPayment {
    /// A record of `reference` for `amount` at `provider`, in `state`, due for a check at once
    /// (a reconciler moves the first check to its [`Schedule`]).
    pub fn new(
        provider: ProviderId,
        reference: impl Into<String>,
        amount: Money,
        state: WatchState,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            provider,
            reference: reference.into(),
            provider_reference: None,
            amount,
            state,
            provider_status: None,
            expires_at: None,
            recorded_at: now,
            next_check: state.is_watched().then_some(now),
            checks: 0,
            note: None,
        }
    }

    /// The record of a payment the gateway has just created, to watch from `now`.
    pub fn created(payment: &Payment, request: &PaymentRequest, now: OffsetDateTime) -> Self {
        let mut record =
            Self::new(payment.provider, &request.reference, request.amount.clone(), WatchState::Pending, now);
        record.observe(payment);
        record
    }

    /// Takes in what a status answer or a create said: the gateway's id, status and expiry.
    /// The state moves to the one the status maps to (never back: see [`WatchState::rank`]).
    pub fn observe(&mut self, payment: &Payment) {
        if payment.provider_reference.is_some() {
            self.provider_reference.clone_from(&payment.provider_reference);
        }
        if payment.expires_at.is_some() {
            self.expires_at = payment.expires_at;
        }
        if !payment.provider_status.is_empty() {
            self.provider_status = Some(payment.provider_status.clone());
        }
        self.advance(WatchState::of(&payment.status));
    }

    /// Moves to `state`, unless it [ranks](WatchState::rank) below the current one (a record
    /// never moves back); a state no longer watched has no next check. Returns whether the
    /// state changed.
    pub fn advance(&mut self, state: WatchState) -> bool {
        let moved = state.rank() >= self.state.rank() && state != self.state;
        if state.rank() >= self.state.rank() {
            self.state = state;
        }
        if !self.state.is_watched() {
            self.next_check = None;
        }
        moved
    }

    /// Whether a look-up that finds no such payment at the gateway proves that its create did
    /// not take effect: the record is [`WatchState::Unknown`], or [`WatchState::Creating`] for
    /// longer than [`CREATE_SETTLE`] (a younger one may have its create still on the way). Only
    /// a gateway that looks payments up by the merchant's reference can prove it
    /// ([`LookupKey::Reference`]): one that looks them up by its own id was never given one.
    pub fn absence_is_proof(&self, now: OffsetDateTime) -> bool {
        match self.state {
            WatchState::Unknown => true,
            WatchState::Creating => now >= self.recorded_at + CREATE_SETTLE,
            _ => false,
        }
    }

    /// Records that the gateway has no payment `id` (looked up by the merchant's reference) and
    /// the create did not take effect: [`WatchState::NotCreated`], no longer checked, with a
    /// note saying so. The one rule a reconciler's check and a [`Watched`] look-up follow; call
    /// it only where [`absence_is_proof`](Self::absence_is_proof).
    pub fn not_found_at_gateway(&mut self, id: &str) {
        self.state = WatchState::NotCreated;
        self.next_check = None;
        self.note = Some(format!("{} has no payment {id}: the create did not take effect", self.provider));
    }

    /// The id the gateway looks this payment up by, when known.
    pub fn lookup_id(&self, key: LookupKey) -> Option<&str> {
        match key {
            LookupKey::Reference => Some(&self.reference),
            LookupKey::ProviderReference => self.provider_reference.as_deref(),
        }
    }
}

/// Where watched payments live. Implementations: [`MemoryLedger`] here, Redis and Postgres in
/// their crates; `gerbang_testkit::check_ledger_contract` holds each to the same contract.
#[async_trait]
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Records `payment`, replacing the record of the same gateway and reference unless that
    /// one's [rank](WatchState::rank) is higher (a record never moves back). Returns whether it
    /// was written.
    async fn record(&self, payment: &WatchedPayment) -> Result<bool, Error>;

    /// Writes `payment` (a [`WatchState::Creating`] record, before its create is sent) unless
    /// the ledger already holds a record of the same gateway and reference that is not
    /// [`WatchState::NotCreated`], in one atomic step: of two callers beginning one reference at
    /// once, exactly one gets [`Begin::Started`]. A record the gateway refused is replaced (a
    /// retry of a refused create is legitimate); any other is left as it is and returned in
    /// [`Begin::Exists`]: an `unknown` or `creating` one may exist at the gateway, and a second
    /// create of it could charge the customer twice. [`Watched`] calls it before every create.
    async fn begin_create(&self, payment: &WatchedPayment) -> Result<Begin, Error>;

    /// The record at `provider` whose merchant reference is `reference`. Never a record whose
    /// gateway id is `reference`: see [`find_by_gateway_id`](Self::find_by_gateway_id).
    async fn find_by_reference(&self, provider: ProviderId, reference: &str) -> Result<Option<WatchedPayment>, Error>;

    /// The record at `provider` whose gateway id ([`WatchedPayment::provider_reference`]) is
    /// `id`. Never a record whose merchant reference is `id`: a merchant's reference may be the
    /// digits of another payment's gateway id. A gateway gives an id to one payment; should two
    /// records hold the same one, which is found is not specified.
    async fn find_by_gateway_id(&self, provider: ProviderId, id: &str) -> Result<Option<WatchedPayment>, Error>;

    /// The records of `reference` at every gateway but `provider`, in [`ProviderId::ALL`]'s
    /// order. Through a router one merchant reference may have a record at several gateways (one
    /// per attempt); a paid event is checked against the others, so that a customer who paid
    /// the same order at two gateways is seen (`gerbang-webhooks`' `MismatchKind::PaidTwice`).
    ///
    /// By default one [`find_by_reference`](Self::find_by_reference) per other gateway; a store
    /// may answer it in one round trip.
    async fn find_at_other_gateways(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<Vec<WatchedPayment>, Error> {
        let mut found = Vec::new();
        for other in ProviderId::ALL.into_iter().filter(|other| *other != provider) {
            if let Some(record) = self.find_by_reference(other, reference).await? {
                found.push(record);
            }
        }
        Ok(found)
    }

    /// Up to `limit` payments still [watched](WatchState::is_watched) whose next check is at or
    /// before `now`, earliest first, each handed to this caller alone: its next check moves to
    /// `now + lease` in the same step, so a second caller does not get it until the lease runs
    /// out (its holder died) or the holder records the outcome.
    async fn due(&self, now: OffsetDateTime, limit: usize, lease: Duration) -> Result<Vec<WatchedPayment>, Error>;

    /// Up to `limit` records, the most recently recorded first: for people to look at.
    async fn list(&self, limit: usize) -> Result<Vec<WatchedPayment>, Error>;
}

/// What [`Ledger::begin_create`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Begin {
    /// The record was written: the create may be sent.
    Started,
    /// The ledger already holds a payment of that gateway and reference (in any state but
    /// [`WatchState::NotCreated`]), returned as it is: nothing was written, and the create must
    /// not be sent.
    Exists(Box<WatchedPayment>),
}

/// When a watched payment is checked: soon after creation, then less and less often, until it is
/// final or its expiry plus a grace period has passed.
///
/// Check `n` (from 0) comes `first × factorⁿ` after the one before, at most `max_interval`
/// apart. A payment with no known expiry is watched for [`Schedule::lifetime`] after it was
/// recorded, plus the grace.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Schedule {
    /// From the record to the first check.
    pub first: Duration,
    /// How much longer each wait is than the one before.
    pub factor: f64,
    /// The longest wait between two checks.
    pub max_interval: Duration,
    /// How long after its expiry a payment is still checked (a payment made at the last minute
    /// is reported late).
    pub grace: Duration,
    /// How long a payment with no known expiry is watched.
    pub lifetime: Duration,
}

impl Schedule {
    /// Each gateway's default schedule, by what it allows and how it tells of a change:
    ///
    /// | gateway | first | factor | at most every | grace | why |
    /// |---|---|---|---|---|---|
    /// | cuan10pay | 60 s | 2 | 30 min | 1 h | signed webhooks; 100 calls per hour per IP |
    /// | cashin | 30 s | 2 | 10 min | 30 min | signed notifications |
    /// | qris | 10 s | 1.5 | 1 min | 10 min | **no webhook**: checking is the only way to learn |
    /// | crypto-invoice | 60 s | 2 | 15 min | 1 h | callbacks on success only; chains confirm slowly |
    /// | ciputra | 30 s | 2 | 10 min | 30 min | unsigned callbacks, confirmed by status anyway |
    ///
    /// A payment with no known expiry is watched for 24 hours.
    pub fn for_gateway(provider: ProviderId) -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        let (first, factor, max_interval, grace) = match provider {
            ProviderId::Cuan10pay => (Duration::from_secs(60), 2.0, minutes(30), minutes(60)),
            ProviderId::Qris => (Duration::from_secs(10), 1.5, minutes(1), minutes(10)),
            ProviderId::CryptoInvoice => (Duration::from_secs(60), 2.0, minutes(15), minutes(60)),
            ProviderId::CashIn | ProviderId::Ciputra => (Duration::from_secs(30), 2.0, minutes(10), minutes(30)),
        };
        Self { first, factor, max_interval, grace, lifetime: minutes(24 * 60) }
    }

    /// `provider`'s schedule with every wait set to `pace`: a check every `pace` (tests use
    /// `1s`); the grace and lifetime stay the gateway's.
    pub fn every(provider: ProviderId, pace: Duration) -> Self {
        Self { first: pace, factor: 1.0, max_interval: pace, ..Self::for_gateway(provider) }
    }

    /// The wait before the check that follows `checks` checks.
    pub fn wait_after(&self, checks: u32) -> Duration {
        let grown = self.first.as_secs_f64() * self.factor.max(1.0).powi(i32::try_from(checks).unwrap_or(i32::MAX));
        Duration::try_from_secs_f64(grown).unwrap_or(self.max_interval).min(self.max_interval)
    }

    /// When `payment` stops being checked: its expiry (or its record plus the lifetime) plus the
    /// grace.
    pub fn watch_until(&self, payment: &WatchedPayment) -> OffsetDateTime {
        payment.expires_at.unwrap_or(payment.recorded_at + self.lifetime) + self.grace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_800_000_000 + seconds)
    }

    #[test]
    fn ranks_order_what_is_known() {
        use WatchState::*;
        for low in [Creating, Unknown, NotCreated] {
            assert!(low.rank() < Pending.rank());
        }
        for done in [Paid, Expired, Cancelled, Failed, Refunded] {
            assert!(Pending.rank() < done.rank() && done.rank() < Mismatch.rank());
            assert!(!done.is_watched());
        }
        assert_eq!(WatchState::of(&PaymentStatus::Unknown("ON_HOLD".into())), Pending);
    }

    #[test]
    fn schedule_backs_off_to_its_ceiling() {
        let schedule = Schedule::for_gateway(ProviderId::Cuan10pay);
        assert_eq!(schedule.wait_after(0), Duration::from_secs(60));
        assert_eq!(schedule.wait_after(1), Duration::from_secs(120));
        assert_eq!(schedule.wait_after(5), Duration::from_secs(30 * 60));
        assert_eq!(schedule.wait_after(u32::MAX), Duration::from_secs(30 * 60));
        let fixed = Schedule::every(ProviderId::Qris, Duration::from_secs(1));
        assert_eq!(fixed.wait_after(0), Duration::from_secs(1));
        assert_eq!(fixed.wait_after(40), Duration::from_secs(1));
        let record = WatchedPayment::new(ProviderId::Qris, "R", Money::idr(1), WatchState::Pending, at(0));
        assert_eq!(fixed.watch_until(&record), at(24 * 3600 + 600));
    }

    #[test]
    fn observing_never_moves_back() {
        let mut record = WatchedPayment::new(ProviderId::Qris, "R", Money::idr(1), WatchState::Pending, at(0));
        let mut paid = Payment::new(ProviderId::Qris, PaymentStatus::Paid, "PAID");
        paid.provider_reference = Some("INV-1".into());
        record.observe(&paid);
        assert_eq!((record.state, record.next_check), (WatchState::Paid, None));
        record.observe(&Payment::new(ProviderId::Qris, PaymentStatus::Pending, "UNPAID"));
        assert_eq!(record.state, WatchState::Paid);
        assert_eq!(record.provider_reference.as_deref(), Some("INV-1"));
    }

    #[tokio::test]
    async fn memory_ledger_forgets_finished_records_first() {
        let ledger = MemoryLedger::with_capacity(2);
        let mut done = WatchedPayment::new(ProviderId::Qris, "A", Money::idr(1), WatchState::Paid, at(0));
        done.next_check = None;
        ledger.record(&done).await.unwrap();
        ledger
            .record(&WatchedPayment::new(ProviderId::Qris, "B", Money::idr(1), WatchState::Pending, at(1)))
            .await
            .unwrap();
        ledger
            .record(&WatchedPayment::new(ProviderId::Qris, "C", Money::idr(1), WatchState::Pending, at(2)))
            .await
            .unwrap();
        let left: Vec<String> = ledger.list(10).await.unwrap().into_iter().map(|r| r.reference).collect();
        assert_eq!(left, ["C", "B"]);
    }
}
