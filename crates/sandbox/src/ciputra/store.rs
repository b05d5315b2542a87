//! Ciputra's transactions and registrations inside the sandbox, how they move, and the callback
//! each move sends.

use std::sync::Arc;

use gerbang_core::ProviderId;
use gerbang_signing::jakarta::format_local_datetime;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::bounded::BoundedMap;
use crate::emulated::{EmulatedPayments, Settle};
use crate::payments::{Cause, PaymentSummary, Timeline, settle_expired};
use crate::state::{Shared, lock};
use crate::webhook::{Outgoing, Target, Webhook, dispatch};
use crate::{PaymentState, SandboxError};

/// The broker every sandbox transaction belongs to (the document's answers name one).
pub(super) const BROKER: (u32, &str) = (1, "Gerbang Sandbox Broker");

/// A charge, as the sandbox keeps it.
#[derive(Debug, Clone)]
pub(super) struct Transaction {
    pub(super) order_id: String,
    pub(super) external_id: String,
    pub(super) paycode: String,
    pub(super) name: String,
    pub(super) phone: String,
    pub(super) description: [String; 3],
    pub(super) amount: u64,
    pub(super) virtual_account: String,
    pub(super) state: PaymentState,
    pub(super) created_at: OffsetDateTime,
    pub(super) expires_at: OffsetDateTime,
    pub(super) paid_at: Option<OffsetDateTime>,
    pub(super) cancelled_at: Option<OffsetDateTime>,
    pub(super) reference_number: String,
    pub(super) callback_url: String,
    /// The page its `shortlink` points at.
    pub(super) shortlink: String,
    pub(super) timeline: Timeline,
}

/// An auto-debit registration, as the sandbox keeps it.
#[derive(Debug, Clone)]
pub(super) struct Registration {
    pub(super) order_id: String,
    pub(super) external_id: String,
    pub(super) paycode: String,
    pub(super) name: String,
    pub(super) phone: String,
    pub(super) description: String,
    pub(super) state: PaymentState,
    pub(super) created_at: OffsetDateTime,
    pub(super) expires_at: OffsetDateTime,
    pub(super) registered_at: Option<OffsetDateTime>,
    pub(super) reference_number: String,
    pub(super) account_number: String,
    pub(super) callback_url: String,
}

/// The latest transactions and registrations created, by `external_id` (at most
/// [`max_payments`](crate::SandboxBuilder::max_payments) of each, the oldest forgotten first),
/// and the counter behind `order_id`s.
#[derive(Debug)]
pub(super) struct Store {
    pub(super) transactions: BoundedMap<String, Transaction>,
    pub(super) registrations: BoundedMap<String, Registration>,
    counter: u64,
}

impl Store {
    pub(super) fn new(max_payments: usize) -> Self {
        Self { transactions: BoundedMap::new(max_payments), registrations: BoundedMap::new(max_payments), counter: 0 }
    }

    /// The next `order_id`, in the document's form `TE202100000001`: `TE`, the year, 8 digits.
    pub(super) fn next_order_id(&mut self, now: OffsetDateTime) -> String {
        self.counter += 1;
        format!("TE{}{:08}", now.year(), self.counter)
    }

    /// Digits derived from the counter, for virtual accounts and bank references.
    pub(super) fn digits(&self, prefix: &str, width: usize) -> String {
        format!("{prefix}{:0width$}", self.counter)
    }
}

/// `YYYY-MM-DD HH:MM:SS`, Jakarta time, as the document writes every time.
pub(super) fn local(t: OffsetDateTime) -> String {
    format_local_datetime(t)
}

/// The status word of a transaction. The document shows `paid` (transaction status) and
/// `cancel` (`status_payment`); **Decision**: `pending` and `expired` for the other states.
pub(super) const fn transaction_word(state: PaymentState) -> &'static str {
    match state {
        PaymentState::Pending => "pending",
        PaymentState::Paid => "paid",
        PaymentState::Expired => "expired",
        PaymentState::Cancelled => "cancel",
        PaymentState::Failed => "failed",
    }
}

/// The status word of a registration: the document shows `success`; **Decision**: `pending`
/// before the customer registers, `expired` if they never do.
pub(super) const fn registration_word(state: PaymentState) -> &'static str {
    match state {
        PaymentState::Paid => "success",
        other => transaction_word(other),
    }
}

impl Transaction {
    /// The `data` of the transaction status answer: the document's fields (keys sorted, as `serde_json` writes them).
    pub(super) fn status_view(&self) -> Value {
        let card = self.paycode == "credit_card" && self.state == PaymentState::Paid;
        json!({
            "broker_id": BROKER.0,
            "broker_name": BROKER.1,
            "order_id": self.order_id,
            "external_id": self.external_id,
            "action": "charge",
            "payment_channel": self.paycode,
            "status": transaction_word(self.state),
            "name": self.name,
            "phone": self.phone,
            "reference_number": self.reference_number,
            "description": {"text_1": self.description[0], "text_2": self.description[1], "text_3": self.description[2]},
            "virtual_account": self.virtual_account,
            "credit_card_number": if card { "411111******1111" } else { "" },
            "month_end": if card { "12" } else { "" },
            "year_end": if card { "2030" } else { "" },
            "amount": self.amount,
            "created_time": local(self.created_at),
            "transaction_time": self.paid_at.map(local).unwrap_or_default(),
            "expired_time": local(self.expires_at),
            "remark": "",
            "callback_url": self.callback_url,
        })
    }

    /// The `data` of the transaction call's answer (a charge or a cancellation).
    pub(super) fn result_view(&self, shortlink: &str) -> Value {
        let mut data = json!({
            "order_id": self.order_id,
            "external_id": self.external_id,
            "status_payment": transaction_word(self.state),
            "expired_date": local(self.expires_at),
            "cancel_date": self.cancelled_at.map(local),
            "shortlink": shortlink,
        });
        if !self.virtual_account.is_empty()
            && let Some(map) = data.as_object_mut()
        {
            map.insert("virtual_account_number".into(), json!(self.virtual_account));
        }
        data
    }
}

impl Registration {
    /// The `data` of the registration status answer: the document's fields (keys sorted, as `serde_json` writes them).
    pub(super) fn status_view(&self) -> Value {
        let done = self.state == PaymentState::Paid;
        json!({
            "broker_id": BROKER.0,
            "broker_name": BROKER.1,
            "order_id": self.order_id,
            "external_id": self.external_id,
            "reference_number": self.reference_number,
            "name": self.name,
            "phone": self.phone,
            "action": "registration",
            "registration_channel": format!("autodebet_{}", self.paycode),
            "description": self.description,
            "status": registration_word(self.state),
            "account_number": self.account_number,
            "created_time": local(self.created_at),
            "registration_time": self.registered_at.map(local).unwrap_or_default(),
            "transaction_time": self.registered_at.map(local).unwrap_or_default(),
            "expired_time": local(self.expires_at),
            "remark": if done { format!("customer successfully registers {} autodebit", self.paycode.to_ascii_uppercase()) } else { String::new() },
            "callback_url": self.callback_url,
        })
    }
}

/// **Decision**: the callback's shape. The document (`seeds/004_627801bf8e050898.txt`) takes a
/// `callback_url` but never shows what is posted to it. The sandbox posts a form (the encoding
/// the gateway's own calls use, `PROVIDERS.md` §5) with the transaction's ids, action, status
/// word, amount and time: `external_id`, `order_id`, `action`, `status`, `amount`,
/// `transaction_time`. It carries no signature, as the document shows none; receivers confirm it
/// with a status call.
pub(super) fn callback_body(fields: &[(&str, String)]) -> String {
    let encode = |text: &str| {
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(char::from(byte)),
                b' ' => out.push('+'),
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
        out
    };
    fields.iter().map(|(name, value)| format!("{}={}", encode(name), encode(value))).collect::<Vec<_>>().join("&")
}

/// Ciputra's transactions and registrations, as the shared modules move and list them.
#[derive(Debug)]
pub(crate) struct Payments;

impl EmulatedPayments for Payments {
    /// Moves a pending transaction or registration (found by `external_id` or `order_id`) to paid
    /// or expired, and delivers its callback per `plan`; or cancels a pending transaction, as the
    /// merchant's `action=cancel` does (no callback: the merchant asked for it).
    fn settle(
        &self,
        shared: &Arc<Shared>,
        Settle { reference, target, plan, cause }: Settle<'_>,
    ) -> Result<PaymentState, SandboxError> {
        let provider = ProviderId::Ciputra;
        // Nothing in the document fails; only a transaction can be cancelled.
        if !matches!(target, PaymentState::Paid | PaymentState::Expired | PaymentState::Cancelled) {
            return Err(SandboxError::UnsupportedTransition { provider, target });
        }
        let now = shared.now();
        let webhook = {
            let mut store = lock(&super::emulator(shared).store);
            let counter_digits = store.digits("90", 9);
            let not_pending = |status| SandboxError::NotPending { provider, reference: reference.to_owned(), status };
            if let Some(txn) =
                store.transactions.values_mut().find(|t| t.external_id == reference || t.order_id == reference)
            {
                if txn.state != PaymentState::Pending {
                    return Err(not_pending(txn.state));
                }
                if target == PaymentState::Cancelled {
                    txn.cancel(now, cause);
                    tracing::info!(reference, "Ciputra transaction cancelled");
                    return Ok(target);
                }
                txn.state = target;
                txn.timeline.push(now, target, cause);
                if target == PaymentState::Paid {
                    txn.paid_at = Some(now);
                    txn.reference_number = counter_digits;
                }
                transaction_callback(txn, target, now)
            } else if target == PaymentState::Cancelled {
                return Err(SandboxError::UnsupportedTransition { provider, target });
            } else if let Some(reg) =
                store.registrations.values_mut().find(|r| r.external_id == reference || r.order_id == reference)
            {
                if reg.state != PaymentState::Pending {
                    return Err(not_pending(reg.state));
                }
                reg.state = target;
                if target == PaymentState::Paid {
                    reg.registered_at = Some(now);
                    reg.reference_number = counter_digits;
                    reg.account_number = "11000011".to_owned();
                }
                registration_callback(reg, target, now)
            } else {
                return Err(SandboxError::UnknownPayment { provider, reference: reference.to_owned() });
            }
        };
        tracing::info!(reference, status = %target, "Ciputra transaction settled");
        dispatch(shared, webhook, plan);
        Ok(target)
    }

    /// The callback of a transaction or registration in `state` (its current one when `None`),
    /// made now, for [`Sandbox::send_webhook`](crate::Sandbox::send_webhook): the sandbox calls
    /// back when one is paid or expires, so those are the two states it has a callback for.
    fn webhook_in(
        &self,
        shared: &Arc<Shared>,
        reference: &str,
        state: Option<PaymentState>,
    ) -> Result<(PaymentState, Webhook), SandboxError> {
        let provider = ProviderId::Ciputra;
        let now = shared.now();
        let store = lock(&super::emulator(shared).store);
        let no_webhook = |state| SandboxError::NoWebhook { provider, state };
        let callback_state = |current: PaymentState| {
            let state = state.unwrap_or(current);
            if matches!(state, PaymentState::Paid | PaymentState::Expired) { Ok(state) } else { Err(no_webhook(state)) }
        };
        if let Some(txn) = store.transactions.values().find(|t| t.external_id == reference || t.order_id == reference) {
            let state = callback_state(txn.state)?;
            Ok((state, transaction_callback(txn, state, now)))
        } else if let Some(reg) =
            store.registrations.values().find(|r| r.external_id == reference || r.order_id == reference)
        {
            let state = callback_state(reg.state)?;
            Ok((state, registration_callback(reg, state, now)))
        } else {
            Err(SandboxError::UnknownPayment { provider, reference: reference.to_owned() })
        }
    }

    /// Whether `id` is a registration's `external_id` or `order_id`: registrations are not payments
    /// (not listed, so not found by [`resolve`](crate::payments::resolve)), yet the controls move
    /// them too.
    fn controls_other(&self, shared: &Shared, id: &str) -> bool {
        lock(&super::emulator(shared).store).registrations.values().any(|r| r.external_id == id || r.order_id == id)
    }

    /// Every transaction, as the dashboard shows it (registrations are not payments: they are not
    /// listed).
    fn summaries(&self, shared: &Shared, out: &mut Vec<PaymentSummary>) {
        let store = lock(&super::emulator(shared).store);
        for txn in store.transactions.values() {
            let mut summary = PaymentSummary::new(
                ProviderId::Ciputra,
                &txn.external_id,
                txn.amount.into(),
                txn.state,
                txn.created_at,
                &txn.timeline,
            );
            summary.gateway_id.clone_from(&txn.order_id);
            summary.merchant_reference = Some(txn.external_id.clone());
            summary.expires_at = Some(txn.expires_at);
            summary.page_url = Some(txn.shortlink.clone());
            out.push(summary);
        }
    }

    /// Expires the pending transactions and registrations past their expiry, each sending its
    /// `expired` callback.
    fn expire_due(&self, shared: &Arc<Shared>) -> Vec<String> {
        let now = shared.now();
        let due: Vec<String> = {
            let store = lock(&super::emulator(shared).store);
            let transactions = store.transactions.values().map(|t| (t.state, t.expires_at, &t.external_id));
            let registrations = store.registrations.values().map(|r| (r.state, r.expires_at, &r.external_id));
            transactions
                .chain(registrations)
                .filter(|(state, expires_at, _)| *state == PaymentState::Pending && *expires_at <= now)
                .map(|(_, _, id)| id.clone())
                .collect()
        };
        settle_expired(self, shared, due)
    }
}

impl Transaction {
    /// Cancels it, as `action=cancel` does.
    pub(super) fn cancel(&mut self, now: OffsetDateTime, cause: Cause) {
        self.state = PaymentState::Cancelled;
        self.cancelled_at = Some(now);
        self.timeline.push(now, PaymentState::Cancelled, cause);
    }
}

fn transaction_callback(txn: &Transaction, state: PaymentState, now: OffsetDateTime) -> Webhook {
    let fields = [
        ("external_id", txn.external_id.clone()),
        ("order_id", txn.order_id.clone()),
        ("action", "charge".to_owned()),
        ("status", transaction_word(state).to_owned()),
        ("amount", txn.amount.to_string()),
        ("transaction_time", local(now)),
    ];
    callback(&txn.external_id, &txn.callback_url, &fields)
}

fn registration_callback(reg: &Registration, state: PaymentState, now: OffsetDateTime) -> Webhook {
    let fields = [
        ("external_id", reg.external_id.clone()),
        ("order_id", reg.order_id.clone()),
        ("action", "registration".to_owned()),
        ("status", registration_word(state).to_owned()),
        ("transaction_time", local(now)),
    ];
    callback(&reg.external_id, &reg.callback_url, &fields)
}

/// A form-encoded callback to the request's `callback_url`, else to the URL configured for the
/// merchant (its dashboard).
fn callback(external_id: &str, callback_url: &str, fields: &[(&str, String)]) -> Webhook {
    let target = if callback_url.is_empty() { Target::Configured } else { Target::Url(callback_url.to_owned()) };
    let outgoing = Outgoing {
        headers: vec![("content-type", "application/x-www-form-urlencoded".to_owned())],
        body: callback_body(fields),
    };
    Webhook::new(ProviderId::Ciputra, external_id, target, outgoing)
}
