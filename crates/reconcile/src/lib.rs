//! No payment lost: every payment in the [ledger](gerbang_core::ledger) is checked with its
//! gateway until it is final, and each change found takes the webhook's path.
//!
//! A webhook can be lost for good (the receiver was down past the gateway's last retry), QRIS
//! sends none at all, and a create whose answer was lost has an unknown outcome. The
//! [`Reconciler`] closes those gaps. On each pass it takes the payments that are
//! [due](gerbang_core::ledger::Ledger::due) (each handed to one replica at a time), and for
//! each one:
//!
//! - checks its status with the gateway on the gateway's [`Schedule`] (soon after creation,
//!   then backing off), **at [`Priority::Background`]**: it spends only what the rate budget
//!   has beyond the reserve kept for the merchant's own calls, and a check the budget refuses
//!   waits for it;
//! - hands a final status it finds (paid, expired, …) to the
//!   [`Receiver`]'s [`dispatch`](gerbang_webhooks::Receiver::dispatch):
//!   the same inbox, the same dedup key, the same handler as a webhook, so a webhook and a check
//!   that learn the same change call the handler **once**, and an amount that differs from the
//!   recorded one is a [mismatch](gerbang_webhooks::Mismatch), never passed on as paid;
//! - resolves a create whose outcome is unknown where the gateway looks payments up by the
//!   merchant's reference (Cash In, crypto invoices, Ciputra): the payment's real state, or
//!   [`not_created`](WatchState::NotCreated) when the gateway has no such payment. Where it
//!   looks them up by its own id (Cuan10pay, QRIS), which only the lost answer carried, the
//!   payment stays [`unknown`](WatchState::Unknown), with a note saying so, for a person to
//!   look up;
//! - stops when the payment is final, or when its expiry plus the schedule's grace has passed.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gerbang_core::inbox::MemoryInbox;
//! use gerbang_core::ledger::{Ledger, MemoryLedger};
//! use gerbang_reconcile::Reconciler;
//! use gerbang_webhooks::{Receiver, handler_fn};
//!
//! # async fn run(gateways: Vec<Arc<dyn gerbang_core::PaymentProvider>>) -> Result<(), gerbang_core::Error> {
//! let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
//! let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
//!     .providers(gateways)
//!     .ledger(ledger)
//!     .build(handler_fn(|event| async move {
//!         println!("{} is {}", event.dedup_key()?, event.status); // webhook or check: once
//!         Ok::<(), gerbang_core::Error>(())
//!     }));
//! let reconciler = Reconciler::builder(&receiver).build()?;
//! tokio::spawn(async move { reconciler.run(std::future::pending()).await });
//! // Serve the receiver's webhooks here (gerbang_webhooks::router).
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use gerbang_core::ledger::{CREATE_SETTLE, Ledger, Schedule, WatchState, WatchedPayment};
use gerbang_core::rate::{Priority, with_priority};
use gerbang_core::{Error, ProviderId, SharedClock, SystemClock, WebhookEvent};
use gerbang_webhooks::{Outcome, Receiver};
use serde::Serialize;
use tracing::Instrument;

/// How many due payments one pass takes by default.
pub const DEFAULT_BATCH: usize = 32;
/// How long a pass holds the payments it took by default: a replica that dies mid-pass leaves
/// them to the others after this.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// How often [`Reconciler::run`] looks for due payments by default.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// How many checks of one pass run at once by default.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Checks watched payments until they are final. Cheap to clone.
#[derive(Clone)]
pub struct Reconciler {
    inner: Arc<Inner>,
}

struct Inner {
    receiver: Receiver,
    ledger: Arc<dyn Ledger>,
    settings: Settings,
}

/// What a [`ReconcilerBuilder`] sets.
struct Settings {
    schedules: HashMap<ProviderId, Schedule>,
    pace: Option<Duration>,
    batch: usize,
    lease: Duration,
    poll: Duration,
    concurrency: usize,
    clock: SharedClock,
}

/// Builds a [`Reconciler`].
pub struct ReconcilerBuilder {
    receiver: Receiver,
    settings: Settings,
}

/// What one check of one payment came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
#[non_exhaustive]
pub enum CheckOutcome {
    /// Checked: no change to hand on (still pending, or resolved from unknown to pending).
    Unchanged {
        /// The state after the check.
        state: WatchState,
    },
    /// Checked: a final state, handed to the receiver.
    Changed {
        /// The state found.
        state: WatchState,
        /// What the receiver did with it: `handled`, `duplicate`, `mismatch`, or why it will be
        /// checked again (`handler_failed`, `in_flight`, `store_failed`, `rejected`: the status
        /// answer named no payment).
        receiver: &'static str,
    },
    /// The gateway has no such payment: its create never took effect.
    NotCreated,
    /// The create's answer was lost and the gateway can only be asked by the id that answer
    /// carried: kept as unknown, no longer checked.
    Unresolvable,
    /// Not checked yet: its first check (or the settling of its create) is later.
    Deferred,
    /// Past its expiry plus the grace, still not final: no longer checked.
    GaveUp,
    /// The rate budget had nothing to spare at background priority: checked again when it has.
    Waiting,
    /// The check failed; checked again later. The error's message.
    Failed {
        /// What went wrong.
        error: String,
    },
    /// No client of this gateway is configured here; left for a replica that has one.
    NoGateway,
}

impl CheckOutcome {
    /// The outcome's name, as in the logs' `outcome` field and the `result` label of
    /// `gerbang_reconcile_checks_total`: `changed`, `unchanged`, `not_created`, `unresolvable`,
    /// `deferred`, `gave_up`, `waiting`, `failed`, `no_gateway`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Changed { .. } => "changed",
            Self::Unchanged { .. } => "unchanged",
            Self::NotCreated => "not_created",
            Self::Unresolvable => "unresolvable",
            Self::Deferred => "deferred",
            Self::GaveUp => "gave_up",
            Self::Waiting => "waiting",
            Self::Failed { .. } => "failed",
            Self::NoGateway => "no_gateway",
        }
    }
}

/// The pass's gauges: how many payments it took, and how long the oldest of them still not final
/// has been watched.
fn record_pass(due: &[WatchedPayment], now: gerbang_core::time::OffsetDateTime) {
    let oldest = due
        .iter()
        .filter(|record| record.state.is_watched())
        .map(|record| record.recorded_at)
        .min()
        .map(|at| Duration::try_from(now - at).unwrap_or(Duration::ZERO));
    gerbang_core::metrics::reconcile_pass(due.len(), oldest);
}

/// One payment a pass took, and what its check came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The gateway.
    pub provider: ProviderId,
    /// The merchant's reference.
    pub reference: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: CheckOutcome,
}

impl Reconciler {
    /// A reconciler handing what it finds to `receiver`, and watching the receiver's
    /// [ledger](gerbang_webhooks::ReceiverBuilder::ledger) with the receiver's gateways.
    pub fn builder(receiver: &Receiver) -> ReconcilerBuilder {
        ReconcilerBuilder {
            receiver: receiver.clone(),
            settings: Settings {
                schedules: HashMap::new(),
                pace: None,
                batch: DEFAULT_BATCH,
                lease: DEFAULT_LEASE,
                poll: DEFAULT_POLL,
                concurrency: DEFAULT_CONCURRENCY,
                clock: Arc::new(SystemClock),
            },
        }
    }

    /// The schedule payments of `provider` are checked on.
    pub fn schedule(&self, provider: ProviderId) -> Schedule {
        if let Some(pace) = self.inner.settings.pace {
            return Schedule::every(provider, pace);
        }
        self.inner.settings.schedules.get(&provider).copied().unwrap_or_else(|| Schedule::for_gateway(provider))
    }

    /// One pass: takes the payments due now and checks each. Returns what each check came to;
    /// an error only when the ledger could not be read.
    pub async fn run_once(&self) -> Result<Vec<Check>, Error> {
        self.pass(&AtomicBool::new(false)).await
    }

    /// One pass; once `stopping` is set, no further check begins (those under way finish).
    async fn pass(&self, stopping: &AtomicBool) -> Result<Vec<Check>, Error> {
        let inner = &self.inner;
        let now = inner.settings.clock.now();
        let due = inner.ledger.due(now, inner.settings.batch, inner.settings.lease).await?;
        record_pass(&due, now);
        // A payment taken and left unchecked is handed out again when its lease runs out.
        let checks = futures_util::stream::iter(due)
            .take_while(|_| std::future::ready(!stopping.load(Ordering::SeqCst)))
            .map(|record| {
                let span = check_span(record.provider);
                async move {
                    let (provider, reference) = (record.provider, record.reference.clone());
                    let outcome = self.check(record).await;
                    log_check(provider, &reference, &outcome);
                    let span = tracing::Span::current();
                    span.record("gerbang.result", outcome.as_str());
                    if matches!(outcome, CheckOutcome::Failed { .. }) {
                        span.record("otel.status_code", "ERROR");
                    }
                    Check { provider, reference, outcome }
                }
                .instrument(span)
            })
            .buffer_unordered(inner.settings.concurrency.max(1))
            .collect()
            .await;
        Ok(checks)
    }

    /// Runs passes until `shutdown` completes: at once again after a full batch, else after the
    /// poll interval. A ledger that cannot be read is logged and tried again at the next pass.
    ///
    /// When `shutdown` completes during a pass, the checks under way finish and no other begins
    /// (the payments the pass took and did not check are handed out again when the pass's
    /// [lease](ReconcilerBuilder::lease) runs out); then it returns.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let stopping = AtomicBool::new(false);
        loop {
            let pass = self.pass(&stopping);
            tokio::pin!(pass);
            let result = tokio::select! {
                result = &mut pass => result,
                () = &mut shutdown => {
                    stopping.store(true, Ordering::SeqCst);
                    let checked = pass.await.map(|checks| checks.len()).unwrap_or(0);
                    tracing::info!(outcome = "reconciler_stopped", checked, "reconciler stopped after the checks under way");
                    return;
                }
            };
            let full = match result {
                Ok(checks) => checks.len() >= self.inner.settings.batch,
                Err(error) => {
                    tracing::warn!(outcome = "ledger_unreadable", %error, "the reconciler could not read the ledger");
                    false
                }
            };
            let pause = if full { Duration::ZERO } else { self.inner.settings.poll };
            tokio::select! {
                () = &mut shutdown => {
                    tracing::info!(outcome = "reconciler_stopped", "reconciler stopped");
                    return;
                }
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Checks one payment the ledger handed out, and records what was learnt.
    async fn check(&self, mut record: WatchedPayment) -> CheckOutcome {
        let now = self.inner.settings.clock.now();
        let schedule = self.schedule(record.provider);
        let Some(gateway) = self.inner.receiver.gateway(record.provider).cloned() else {
            // Its lease runs out and a replica with this gateway takes it.
            return CheckOutcome::NoGateway;
        };
        // The first check comes at the schedule's time after the record; a create still under
        // way is given time to answer.
        let not_before = match record.state {
            WatchState::Creating => Some(record.recorded_at + CREATE_SETTLE),
            _ if record.checks == 0 => Some(record.recorded_at + schedule.first),
            _ => None,
        };
        if let Some(at) = not_before.filter(|at| *at > now) {
            record.next_check = Some(at);
            return self.save(record, CheckOutcome::Deferred).await;
        }
        if now > schedule.watch_until(&record) {
            record.next_check = None;
            record.note = Some(format!(
                "still {} after its expiry plus {} s of grace: no longer checked; look it up with the gateway",
                record.state,
                schedule.grace.as_secs()
            ));
            return self.save(record, CheckOutcome::GaveUp).await;
        }
        let lookup = gateway.capabilities().lookup;
        let Some(id) = record.lookup_id(lookup).map(str::to_owned) else {
            record.state = WatchState::Unknown;
            record.next_check = None;
            record.note = Some(format!(
                "the create's answer was lost, and {} looks payments up by its own id, which only that answer \
                 carried: whether the payment exists cannot be checked; look for reference {} in the gateway's dashboard",
                record.provider, record.reference
            ));
            return self.save(record, CheckOutcome::Unresolvable).await;
        };
        let answer = with_priority(Priority::Background, gateway.payment_status(&id)).await;
        let retry_at = |record: &WatchedPayment| now + schedule.wait_after(record.checks);
        match answer {
            Ok(payment) => {
                record.checks = record.checks.saturating_add(1);
                record.note = None;
                let before = record.state;
                let mut checked = record.clone();
                checked.observe(&payment);
                if checked.state.is_watched() {
                    checked.next_check = Some(retry_at(&checked));
                    let state = checked.state;
                    return self.save(checked, CheckOutcome::Unchanged { state }).await;
                }
                if checked.state == before {
                    return self.save(checked, CheckOutcome::Unchanged { state: before }).await;
                }
                let mut event = WebhookEvent::from_payment(&payment);
                // A blank reference names no payment: the record's does.
                if event.merchant_reference().is_none() {
                    event.reference = Some(record.reference.clone());
                }
                let delivery = self.inner.receiver.dispatch(event).await;
                let receiver = match delivery.outcome {
                    Outcome::Handled(_) => "handled",
                    Outcome::Duplicate(_) => "duplicate",
                    Outcome::Mismatch(_) => "mismatch",
                    Outcome::InFlight(_) => "in_flight",
                    Outcome::HandlerFailed(..) => "handler_failed",
                    Outcome::Rejected(_) => "rejected",
                    _ => "store_failed",
                };
                let outcome = CheckOutcome::Changed { state: checked.state, receiver };
                if matches!(receiver, "handled" | "duplicate" | "mismatch") {
                    // The receiver recorded the state (or the mismatch, which outranks it).
                    return self.save(checked, outcome).await;
                }
                // Not handed on: check again, so that the handler hears of it.
                record.next_check = Some(retry_at(&record));
                record.note = Some(format!("found {}, but the receiver answered {receiver}", checked.state));
                self.save(record, outcome).await
            }
            Err(Error::NotFound { .. }) if record.state.rank() == 0 => {
                record.checks = record.checks.saturating_add(1);
                record.state = WatchState::NotCreated;
                record.next_check = None;
                record.note = Some(format!("{} has no payment {id}: the create did not take effect", record.provider));
                self.save(record, CheckOutcome::NotCreated).await
            }
            // Our own budget refused to send (background checks leave the merchant's share), or
            // the gateway answered 429: either way, wait rather than count a failed check.
            Err(Error::BudgetSpent { retry_after } | Error::RateLimited { retry_after }) => {
                record.next_check = Some(now + retry_after.unwrap_or_else(|| schedule.wait_after(record.checks)));
                record.note =
                    Some("waiting for the gateway's rate limit (background checks leave the merchant's share)".into());
                self.save(record, CheckOutcome::Waiting).await
            }
            Err(error) => {
                record.checks = record.checks.saturating_add(1);
                record.next_check = Some(retry_at(&record));
                let error = error.to_string();
                record.note = Some(format!("the last check failed: {error}"));
                self.save(record, CheckOutcome::Failed { error }).await
            }
        }
    }

    async fn save(&self, record: WatchedPayment, outcome: CheckOutcome) -> CheckOutcome {
        if let Err(error) = self.inner.ledger.record(&record).await {
            // The lease runs out and the payment is checked again: nothing is lost.
            tracing::warn!(gateway = %record.provider, reference = %record.reference, outcome = "ledger_write_failed",
                %error, "could not record a check in the ledger");
        }
        outcome
    }
}

/// The span of one check (`gerbang.reconcile.check`), the parent of the gateway call it makes:
/// `gerbang.gateway`, and `gerbang.result`, the [`CheckOutcome`]'s name as in the logs' `outcome`
/// (a failed check's status is an error).
/// Never the payment's reference or id: those are in the logs, and a span's attributes are
/// for grouping.
fn check_span(gateway: ProviderId) -> tracing::Span {
    tracing::info_span!(
        "gerbang.reconcile.check",
        otel.kind = "internal",
        gerbang.gateway = gateway.as_str(),
        gerbang.result = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    )
}

/// One line per check: `gateway`, `reference` and `outcome` (the [`CheckOutcome`]'s name), at
/// `info` for a decision (a change handed on, a payment given up or found never created),
/// `warn` for a failed check, `debug` for a payment merely not due or unchanged.
fn log_check(gateway: ProviderId, reference: &str, outcome: &CheckOutcome) {
    gerbang_core::metrics::reconcile_check(gateway, outcome.as_str());
    match outcome {
        CheckOutcome::Changed { state, receiver } => {
            tracing::info!(%gateway, reference, outcome = "changed", %state, receiver, "payment reconciled");
        }
        CheckOutcome::Unchanged { state } => {
            tracing::debug!(%gateway, reference, outcome = "unchanged", %state, "payment reconciled");
        }
        CheckOutcome::NotCreated => {
            tracing::info!(%gateway, reference, outcome = "not_created", "payment reconciled: the create did not take effect");
        }
        CheckOutcome::Unresolvable => tracing::warn!(%gateway, reference, outcome = "unresolvable",
            "payment reconciled: its create's answer was lost and it cannot be looked up; see `gerbang watched`"),
        CheckOutcome::GaveUp => tracing::warn!(%gateway, reference, outcome = "gave_up",
            "payment no longer checked: still not final past its expiry and grace"),
        CheckOutcome::Failed { error } => {
            tracing::warn!(%gateway, reference, outcome = "failed", %error, "payment check failed; checked again later");
        }
        CheckOutcome::Deferred => tracing::debug!(%gateway, reference, outcome = "deferred", "payment not due yet"),
        CheckOutcome::Waiting => {
            tracing::debug!(%gateway, reference, outcome = "waiting", "payment check waits for the rate budget");
        }
        CheckOutcome::NoGateway => {
            tracing::debug!(%gateway, reference, outcome = "no_gateway", "payment of a gateway not configured here");
        }
    }
}

impl ReconcilerBuilder {
    /// Checks payments of `provider` on `schedule` instead of its
    /// [default](Schedule::for_gateway).
    pub fn schedule(mut self, provider: ProviderId, schedule: Schedule) -> Self {
        self.settings.schedules.insert(provider, schedule);
        self
    }

    /// Checks every watched payment every `pace`, whatever the schedules say (tests use 1 s).
    pub fn pace(mut self, pace: Duration) -> Self {
        self.settings.pace = Some(pace);
        self
    }

    /// How many due payments one pass takes (default [`DEFAULT_BATCH`]).
    pub fn batch(mut self, batch: usize) -> Self {
        self.settings.batch = batch.max(1);
        self
    }

    /// How long a pass holds the payments it took (default [`DEFAULT_LEASE`]): longer than a
    /// pass takes.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.settings.lease = lease;
        self
    }

    /// How often [`Reconciler::run`] looks for due payments (default [`DEFAULT_POLL`]).
    pub fn poll_every(mut self, poll: Duration) -> Self {
        self.settings.poll = poll;
        self
    }

    /// How many checks of a pass run at once (default [`DEFAULT_CONCURRENCY`]).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.settings.concurrency = concurrency.max(1);
        self
    }

    /// Reads the time off `clock`.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.settings.clock = clock;
        self
    }

    /// The reconciler; [`Error::Config`] when the receiver was given no ledger to watch.
    pub fn build(self) -> Result<Reconciler, Error> {
        let ledger = self.receiver.ledger().cloned().ok_or_else(|| {
            Error::config("the receiver has no ledger to reconcile: give it one with ReceiverBuilder::ledger")
        })?;
        Ok(Reconciler { inner: Arc::new(Inner { receiver: self.receiver, ledger, settings: self.settings }) })
    }
}

impl fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reconciler")
            .field("receiver", &self.inner.receiver)
            .field("pace", &self.inner.settings.pace)
            .field("batch", &self.inner.settings.batch)
            .field("lease", &self.inner.settings.lease)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ReconcilerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconcilerBuilder")
            .field("pace", &self.settings.pace)
            .field("batch", &self.settings.batch)
            .finish_non_exhaustive()
    }
}
