//! Cuan10pay's deposits, how they move from pending to paid or expired, and the webhook each move
//! sends.

use std::sync::Arc;

use gerbang_core::ProviderId;
use gerbang_signing::cuan10pay::sign_webhook;
use gerbang_signing::jakarta::format_local_datetime;
use serde::Serialize;
use time::OffsetDateTime;

use super::PRIVATE_KEY;
use crate::bounded::{BoundedMap, BoundedSet};
use crate::emulated::{EmulatedPayments, Settle};
use crate::payments::{PaymentSummary, Timeline, settle_expired};
use crate::state::{Shared, lock};
use crate::webhook::{Outgoing, Target, Webhook, dispatch};
use crate::{PaymentState, SandboxError};

/// The latest deposits created, by `deposit_id`, and the ids given to the latest orders: at
/// most [`max_payments`](crate::SandboxBuilder::max_payments) of each, the oldest forgotten first.
#[derive(Debug)]
pub(super) struct Store {
    deposits: BoundedMap<String, Deposit>,
    orders: BoundedSet<String>,
}

/// One deposit, as the sandbox keeps it.
#[derive(Debug, Clone)]
pub(super) struct Deposit {
    pub(super) id: String,
    pub(super) channel_name: &'static str,
    pub(super) amount: u64,
    pub(super) fee: u64,
    pub(super) payment_code: String,
    pub(super) checkout_url: String,
    pub(super) link_url: String,
    pub(super) state: PaymentState,
    pub(super) created_at: OffsetDateTime,
    pub(super) paid_at: Option<OffsetDateTime>,
    /// The `notes` it was created with, echoed in every answer (**decision**: the document's
    /// example answer does not show them; echoing them lets a status call give back the
    /// merchant's reference the SDK puts on their first line).
    pub(super) notes: Option<String>,
    /// Its `expired_time`, on the sandbox clock, when one was given.
    pub(super) expires_at: Option<OffsetDateTime>,
    pub(super) timeline: Timeline,
}

/// A deposit on the wire: the `data` of the document's `deposit_create` answer, field for field
/// and in its order, plus `paid_at` once paid.
#[derive(Debug, Serialize)]
pub(super) struct DepositView<'a> {
    deposit_id: &'a str,
    channel_name: &'a str,
    amount: u64,
    fee: u64,
    total: u64,
    status: &'static str,
    payment_code: &'a str,
    checkout_url: &'a str,
    link_url: &'a str,
    payment_instructions: &'static str,
    created_at: String,
    paid_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
}

impl Deposit {
    pub(super) fn view(&self) -> DepositView<'_> {
        DepositView {
            deposit_id: &self.id,
            channel_name: self.channel_name,
            amount: self.amount,
            fee: self.fee,
            total: self.amount + self.fee,
            // The document's answer says `"status": "pending"`: the lower-case names.
            status: self.state.as_str(),
            payment_code: &self.payment_code,
            checkout_url: &self.checkout_url,
            link_url: &self.link_url,
            // The document's own text, verbatim.
            payment_instructions: "Please follow the payment instructions provided.",
            created_at: format_local_datetime(self.created_at),
            paid_at: self.paid_at.map(format_local_datetime),
            notes: self.notes.as_deref(),
        }
    }
}

impl Store {
    pub(super) fn new(max_payments: usize) -> Self {
        Self { deposits: BoundedMap::new(max_payments), orders: BoundedSet::new(max_payments) }
    }

    pub(super) fn insert(&mut self, deposit: Deposit) {
        if let Some((evicted, _)) = self.deposits.insert(deposit.id.clone(), deposit) {
            tracing::debug!(reference = %evicted, "oldest deposit forgotten: the sandbox holds max_payments");
        }
    }

    pub(super) fn get(&self, id: &str) -> Option<&Deposit> {
        self.deposits.get(id)
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        self.deposits.contains_key(id)
    }

    pub(super) fn contains_order(&self, id: &str) -> bool {
        self.orders.contains(id)
    }

    pub(super) fn add_order(&mut self, id: &str) {
        self.orders.insert(id.to_owned());
    }
}

/// A fresh id in the document's form, `CP-20250928-38B575`: the Jakarta date of creation and six
/// upper-case hex digits.
pub(super) fn new_id(prefix: &str, now: OffsetDateTime, taken: impl Fn(&str) -> bool) -> String {
    let date = format_local_datetime(now);
    let date: String = date.chars().take(10).filter(char::is_ascii_digit).collect();
    loop {
        let random = uuid::Uuid::new_v4().simple().to_string();
        let id = format!("{prefix}-{date}-{}", random[..6].to_ascii_uppercase());
        if !taken(&id) {
            return id;
        }
    }
}

/// Cuan10pay's deposits, as the shared modules move and list them.
#[derive(Debug)]
pub(crate) struct Payments;

impl EmulatedPayments for Payments {
    /// Moves a pending deposit to `target` (paid or expired) and delivers the webhook per `plan`.
    fn settle(
        &self,
        shared: &Arc<Shared>,
        Settle { reference, target, plan, cause }: Settle<'_>,
    ) -> Result<PaymentState, SandboxError> {
        // The document names `pending` and `PAID` only; expiry is the one other move a deposit
        // makes.
        if !matches!(target, PaymentState::Paid | PaymentState::Expired) {
            return Err(SandboxError::UnsupportedTransition { provider: ProviderId::Cuan10pay, target });
        }
        let now = shared.now();
        let deposit = {
            let mut store = lock(&super::emulator(shared).store);
            let Some(deposit) = store.deposits.get_mut(reference) else {
                return Err(unknown(reference));
            };
            if deposit.state != PaymentState::Pending {
                return Err(SandboxError::NotPending {
                    provider: ProviderId::Cuan10pay,
                    reference: reference.to_owned(),
                    status: deposit.state,
                });
            }
            deposit.state = target;
            deposit.timeline.push(now, target, cause);
            if target == PaymentState::Paid {
                deposit.paid_at = Some(now);
            }
            deposit.clone()
        };
        tracing::info!(reference, status = %target, "deposit settled");
        // The callback URL of deposits is set in the merchant's dashboard: `deposit_create` has no
        // field for it (seeds/000_b443c682d4d25840.txt).
        dispatch(shared, deposit_webhook(&deposit, target, shared.wall_now()), plan);
        Ok(target)
    }

    /// The webhook of a deposit in `state` (its current one when `None`), made now: what
    /// [`Sandbox::send_webhook`](crate::Sandbox::send_webhook) sends. A deposit is pending, paid or
    /// expired, so those are the states it has a webhook for, whatever its state now.
    fn webhook_in(
        &self,
        shared: &Arc<Shared>,
        reference: &str,
        state: Option<PaymentState>,
    ) -> Result<(PaymentState, Webhook), SandboxError> {
        let deposit = lock(&super::emulator(shared).store).get(reference).cloned().ok_or_else(|| unknown(reference))?;
        let state = state.unwrap_or(deposit.state);
        if !matches!(state, PaymentState::Pending | PaymentState::Paid | PaymentState::Expired) {
            return Err(SandboxError::NoWebhook { provider: ProviderId::Cuan10pay, state });
        }
        Ok((state, deposit_webhook(&deposit, state, shared.wall_now())))
    }

    /// Every deposit, as the dashboard shows it.
    fn summaries(&self, shared: &Shared, out: &mut Vec<PaymentSummary>) {
        let store = lock(&super::emulator(shared).store);
        for deposit in store.deposits.values() {
            let mut summary = PaymentSummary::new(
                ProviderId::Cuan10pay,
                &deposit.id,
                deposit.amount.into(),
                deposit.state,
                deposit.created_at,
                &deposit.timeline,
            );
            // The SDK's notes: the merchant's reference, then the description on the next line.
            summary.merchant_reference = deposit.notes.as_deref().and_then(|n| n.lines().next()).map(str::to_owned);
            summary.expires_at = deposit.expires_at;
            summary.page_url = Some(deposit.checkout_url.clone());
            out.push(summary);
        }
    }

    /// Expires the pending deposits past their `expired_time`, each sending its `EXPIRED` webhook.
    fn expire_due(&self, shared: &Arc<Shared>) -> Vec<String> {
        let now = shared.now();
        let due: Vec<String> = lock(&super::emulator(shared).store)
            .deposits
            .values()
            .filter(|d| d.state == PaymentState::Pending && d.expires_at.is_some_and(|at| at <= now))
            .map(|d| d.id.clone())
            .collect();
        settle_expired(self, shared, due)
    }
}

fn unknown(reference: &str) -> SandboxError {
    SandboxError::UnknownPayment { provider: ProviderId::Cuan10pay, reference: reference.to_owned() }
}

/// The webhook of `deposit` in `state`, its timestamp `wall` (the unmoved clock, which the
/// receiver checks it against).
fn deposit_webhook(deposit: &Deposit, state: PaymentState, wall: OffsetDateTime) -> Webhook {
    let outgoing = webhook(&deposit.id, webhook_status(state), deposit.amount, wall);
    Webhook::new(ProviderId::Cuan10pay, &deposit.id, Target::Configured, outgoing)
}

/// The status word of a deposit webhook. The document's example shows `"PAID"`;
/// **Decision**: the other moves use the same upper-case spelling of the deposit's status.
const fn webhook_status(state: PaymentState) -> &'static str {
    match state {
        PaymentState::Pending => "PENDING",
        PaymentState::Paid => "PAID",
        PaymentState::Expired => "EXPIRED",
        PaymentState::Cancelled => "CANCELLED",
        PaymentState::Failed => "FAILED",
    }
}

/// The webhook the document describes: POST JSON
/// `{"reference","status","amount","timestamp","signature"}`, in that order, with `amount` and
/// `timestamp` as integers. The signature covers them as their decimal text (PROVIDERS.md §1
/// Decision): `reference + status + amount + timestamp`. **Decision**: `amount` is the deposit's
/// amount without the fee (the document's example, `100000`, is a round amount, not a total).
/// `wall` is the unmoved clock: the receiver checks the timestamp against its own.
pub(super) fn webhook(reference: &str, status: &str, amount: u64, wall: OffsetDateTime) -> Outgoing {
    #[derive(Serialize)]
    struct Body<'a> {
        reference: &'a str,
        status: &'a str,
        amount: u64,
        timestamp: i64,
        signature: String,
    }
    let timestamp = wall.unix_timestamp();
    let signature =
        sign_webhook(PRIVATE_KEY.as_bytes(), reference, status, &amount.to_string(), &timestamp.to_string());
    let body = Body { reference, status, amount, timestamp, signature };
    Outgoing {
        headers: vec![("content-type", "application/json".to_owned())],
        // Serialising a struct of strings and integers cannot fail.
        body: serde_json::to_string(&body).unwrap_or_default(),
    }
}
