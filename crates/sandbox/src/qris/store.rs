//! The QRIS gateway's state: the balance, the invoices and the withdrawals, and the moves they
//! make.

use std::collections::VecDeque;
use std::sync::Arc;

use gerbang_core::ProviderId;
use gerbang_signing::jakarta::format_local_datetime;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{INVOICE_LIFETIME, WITHDRAW_FEE, invoice_fee};
use crate::bounded::BoundedMap;
use crate::emulated::{EmulatedPayments, Settle};
use crate::payments::{Cause, PaymentSummary, Timeline};
use crate::state::{Shared, lock};
use crate::webhook::Webhook;
use crate::{PaymentState, SandboxError};

/// Where a withdrawal stands: "Status awal adalah pending. Admin akan menyetujui (status menjadi
/// success) atau menolak (status menjadi rejected)." (`seeds/002_70371d71cc9c4025.txt`)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WithdrawalState {
    /// Waiting for the admin.
    Pending,
    /// Approved by the admin.
    Success,
    /// Rejected by the admin: the amount and fee went back to the balance.
    Rejected,
}

impl WithdrawalState {
    /// The gateway's word: `pending`, `success`, `rejected`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Rejected => "rejected",
        }
    }

    pub(super) fn parse(word: &str) -> Option<Self> {
        [Self::Pending, Self::Success, Self::Rejected].into_iter().find(|s| s.as_str() == word)
    }
}

impl std::fmt::Display for WithdrawalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the sandbox refused to approve or reject a QRIS withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WithdrawalError {
    /// No withdrawal with this id was asked for in this sandbox.
    #[error("no QRIS withdrawal with id {withdraw_id:?} in this sandbox; request one first")]
    Unknown {
        /// The id asked for.
        withdraw_id: String,
    },
    /// The withdrawal was already approved or rejected.
    #[error("QRIS withdrawal {withdraw_id:?} is already {status}; only a pending one can be approved or rejected")]
    NotPending {
        /// The withdrawal.
        withdraw_id: String,
        /// Its state.
        status: WithdrawalState,
    },
}

/// One invoice.
#[derive(Debug, Clone)]
pub(super) struct Invoice {
    pub(super) id: String,
    pub(super) amount: u64,
    pub(super) fee: u64,
    pub(super) qris_image: String,
    pub(super) state: PaymentState,
    pub(super) created_at: OffsetDateTime,
    pub(super) expired_at: OffsetDateTime,
    pub(super) timeline: Timeline,
}

/// One withdrawal.
#[derive(Debug, Clone)]
pub(super) struct Withdrawal {
    pub(super) id: String,
    pub(super) amount: u64,
    pub(super) fee: u64,
    pub(super) account_number: String,
    pub(super) account_name: String,
    pub(super) state: WithdrawalState,
    pub(super) admin_note: Option<String>,
    pub(super) created_at: OffsetDateTime,
    pub(super) processed_at: Option<OffsetDateTime>,
}

/// Everything the emulated gateway holds: the balance, and the latest invoices and withdrawals,
/// at most [`max_payments`](crate::SandboxBuilder::max_payments) of each, the oldest forgotten
/// first (a forgotten withdrawal's amount stays taken from the balance).
#[derive(Debug)]
pub(super) struct Store {
    pub(super) balance: u64,
    invoices: BoundedMap<String, Invoice>,
    /// Oldest first; the history lists them newest first.
    withdrawals: VecDeque<Withdrawal>,
    max_payments: usize,
}

impl Store {
    pub(super) fn new(balance: u64, max_payments: usize) -> Self {
        let max_payments = max_payments.max(1);
        Self { balance, invoices: BoundedMap::new(max_payments), withdrawals: VecDeque::new(), max_payments }
    }

    /// A new pending invoice of `amount`, expiring [`INVOICE_LIFETIME`] from `now`.
    pub(super) fn create_invoice(
        &mut self,
        amount: u64,
        now: OffsetDateTime,
        image_base: &str,
        timeline: Timeline,
    ) -> Invoice {
        let id = self.fresh_id();
        let invoice = Invoice {
            qris_image: format!("{image_base}/invoice/{id}/qr.svg"),
            id: id.clone(),
            amount,
            fee: invoice_fee(amount),
            state: PaymentState::Pending,
            created_at: now,
            expired_at: now + Duration::seconds(INVOICE_LIFETIME.as_secs().try_into().unwrap_or(i64::MAX)),
            timeline,
        };
        if let Some((evicted, _)) = self.invoices.insert(id, invoice.clone()) {
            tracing::debug!(reference = %evicted, "oldest invoice forgotten: the sandbox holds max_payments");
        }
        invoice
    }

    /// The invoice, with a pending one past its `expired_at` turned expired first.
    pub(super) fn invoice(&mut self, id: &str, now: OffsetDateTime) -> Option<&mut Invoice> {
        let invoice = self.invoices.get_mut(id)?;
        invoice.refresh(now);
        Some(invoice)
    }

    /// Every invoice, expiry applied; the ids of those that expired just now.
    fn refresh_all(&mut self, now: OffsetDateTime) -> Vec<String> {
        self.invoices.values_mut().filter_map(|invoice| invoice.refresh(now).then(|| invoice.id.clone())).collect()
    }

    /// A withdrawal, taken from the balance at once (amount and fee).
    pub(super) fn withdraw(
        &mut self,
        amount: u64,
        account_number: &str,
        account_name: &str,
        now: OffsetDateTime,
    ) -> Result<&Withdrawal, &'static str> {
        let total = amount.checked_add(WITHDRAW_FEE).ok_or("amount terlalu besar")?;
        if total > self.balance {
            return Err("Saldo tidak mencukupi");
        }
        self.balance -= total;
        let withdrawal = Withdrawal {
            id: self.fresh_id(),
            amount,
            fee: WITHDRAW_FEE,
            account_number: account_number.to_owned(),
            account_name: account_name.to_owned(),
            state: WithdrawalState::Pending,
            admin_note: None,
            created_at: now,
            processed_at: None,
        };
        if self.withdrawals.len() >= self.max_payments {
            self.withdrawals.pop_front();
        }
        self.withdrawals.push_back(withdrawal);
        self.withdrawals.back().ok_or("")
    }

    pub(super) fn withdrawal(&self, id: &str) -> Option<&Withdrawal> {
        self.withdrawals.iter().find(|w| w.id == id)
    }

    /// The withdrawals with `status` (all when `None`), newest first.
    pub(super) fn history(&self, status: Option<WithdrawalState>) -> Vec<&Withdrawal> {
        self.withdrawals.iter().rev().filter(|w| status.is_none_or(|s| w.state == s)).collect()
    }

    /// Approves (`Success`) or rejects (`Rejected`, refunding amount and fee) a pending one.
    fn process(
        &mut self,
        id: &str,
        target: WithdrawalState,
        note: Option<String>,
        now: OffsetDateTime,
    ) -> Result<WithdrawalState, WithdrawalError> {
        let Some(withdrawal) = self.withdrawals.iter_mut().find(|w| w.id == id) else {
            return Err(WithdrawalError::Unknown { withdraw_id: id.to_owned() });
        };
        if withdrawal.state != WithdrawalState::Pending {
            return Err(WithdrawalError::NotPending { withdraw_id: id.to_owned(), status: withdrawal.state });
        }
        withdrawal.state = target;
        withdrawal.processed_at = Some(now);
        withdrawal.admin_note = note;
        if target == WithdrawalState::Rejected {
            self.balance += withdrawal.amount + withdrawal.fee;
        }
        Ok(target)
    }

    /// 24 lower-case hex digits, the form of the document's ids (`64c8d9e...`, `65a1b2c3...`).
    fn fresh_id(&self) -> String {
        loop {
            let id = uuid::Uuid::new_v4().simple().to_string()[..24].to_owned();
            if !self.invoices.contains_key(&id) && self.withdrawal(&id).is_none() {
                return id;
            }
        }
    }
}

/// What a cancelled invoice's history says: the gateway reads it `expired`.
pub(super) const CANCELLED_NOTE: &str = "cancelled: the gateway reads a cancelled invoice as expired";

impl Invoice {
    /// A pending invoice past its `expired_at` turns expired, at that time; whether it did now.
    fn refresh(&mut self, now: OffsetDateTime) -> bool {
        if self.state == PaymentState::Pending && now >= self.expired_at {
            self.state = PaymentState::Expired;
            self.timeline.push(self.expired_at, PaymentState::Expired, Cause::Expiry);
            return true;
        }
        false
    }

    /// Cancels a pending invoice: it becomes expired, as the gateway's cancel call leaves it.
    pub(super) fn cancel(&mut self, now: OffsetDateTime, cause: Cause) {
        self.state = PaymentState::Expired;
        self.timeline.note(now, PaymentState::Expired, cause, Some(CANCELLED_NOTE));
    }

    /// The `invoice/status` answer, field for field in the document's order.
    pub(super) fn status_view(&self) -> Value {
        json!({
            "invoice_id": self.id,
            "amount": self.amount,
            "fee": self.fee,
            "total": self.amount + self.fee,
            "status": self.state.as_str(),
            "qris_image": self.qris_image,
            "expired_at": format_local_datetime(self.expired_at),
            "created_at": format_local_datetime(self.created_at),
        })
    }

    /// The `invoice/create` answer.
    pub(super) fn created_view(&self) -> Value {
        json!({
            "success": true,
            "invoice_id": self.id,
            "amount": self.amount,
            "fee": self.fee,
            "total": self.amount + self.fee,
            "qris_image": self.qris_image,
            "expired_at": format_local_datetime(self.expired_at),
        })
    }
}

impl Withdrawal {
    /// The `withdraw/status` answer and a history item (without `success` there).
    pub(super) fn view(&self) -> Value {
        json!({
            "withdraw_id": self.id,
            "amount": self.amount,
            "fee": self.fee,
            "total_deduct": self.amount + self.fee,
            "status": self.state.as_str(),
            "method": "dana",
            "account_number": self.account_number,
            "account_name": self.account_name,
            "admin_note": self.admin_note,
            "created_at": utc_millis(self.created_at),
            "processed_at": self.processed_at.map(utc_millis),
        })
    }
}

/// `2025-01-15T10:30:00.000Z`: the document's withdrawal times, UTC to the millisecond.
pub(super) fn utc_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The QRIS gateway's invoices, as the shared modules move and list them.
#[derive(Debug)]
pub(crate) struct Payments;

impl EmulatedPayments for Payments {
    /// Moves a pending invoice to paid (crediting its amount to the balance) or expired, or cancels
    /// it as the gateway's cancel call does (it then reads expired, and that is the state
    /// returned). The gateway sends no webhook, so nothing is sent.
    fn settle(
        &self,
        shared: &Arc<Shared>,
        // The document has no webhook: there is nothing to deliver.
        Settle { reference, target, plan: _, cause }: Settle<'_>,
    ) -> Result<PaymentState, SandboxError> {
        if !matches!(target, PaymentState::Paid | PaymentState::Expired | PaymentState::Cancelled) {
            // The document's invoices are pending, paid or expired (a cancelled one reads expired).
            return Err(SandboxError::UnsupportedTransition { provider: ProviderId::Qris, target });
        }
        let now = shared.now();
        let mut store = lock(&super::emulator(shared).store);
        let Some(invoice) = store.invoice(reference, now) else {
            return Err(SandboxError::UnknownPayment { provider: ProviderId::Qris, reference: reference.to_owned() });
        };
        if invoice.state != PaymentState::Pending {
            return Err(SandboxError::NotPending {
                provider: ProviderId::Qris,
                reference: reference.to_owned(),
                status: invoice.state,
            });
        }
        if target == PaymentState::Cancelled {
            invoice.cancel(now, cause);
        } else {
            invoice.state = target;
            invoice.timeline.push(now, target, cause);
        }
        let state = invoice.state;
        let credit = if target == PaymentState::Paid { invoice.amount } else { 0 };
        store.balance += credit;
        tracing::info!(reference, status = %state, credit, "invoice settled");
        Ok(state)
    }

    /// Every invoice, as the dashboard shows it, expiry applied.
    fn summaries(&self, shared: &Shared, out: &mut Vec<PaymentSummary>) {
        let mut store = lock(&super::emulator(shared).store);
        store.refresh_all(shared.now());
        for invoice in store.invoices.values() {
            let mut summary = PaymentSummary::new(
                ProviderId::Qris,
                &invoice.id,
                invoice.amount.into(),
                invoice.state,
                invoice.created_at,
                &invoice.timeline,
            );
            summary.expires_at = Some(invoice.expired_at);
            summary.page_url = Some(invoice.qris_image.clone());
            out.push(summary);
        }
    }

    /// Expires the pending invoices past their `expired_at` (what a look-up of each would do); no
    /// webhook, as the gateway has none.
    fn expire_due(&self, shared: &Arc<Shared>) -> Vec<String> {
        lock(&super::emulator(shared).store).refresh_all(shared.now())
    }

    /// The document has no webhook: an invoice is known by polling its status. Refused for every
    /// state, once the invoice is found.
    fn webhook_in(
        &self,
        shared: &Arc<Shared>,
        reference: &str,
        state: Option<PaymentState>,
    ) -> Result<(PaymentState, Webhook), SandboxError> {
        let mut store = lock(&super::emulator(shared).store);
        let Some(invoice) = store.invoice(reference, shared.now()) else {
            return Err(SandboxError::UnknownPayment { provider: ProviderId::Qris, reference: reference.to_owned() });
        };
        Err(SandboxError::NoWebhook { provider: ProviderId::Qris, state: state.unwrap_or(invoice.state) })
    }
}

/// Approves a pending withdrawal (the gateway's admin sending it).
pub(super) fn approve(shared: &Shared, withdraw_id: &str) -> Result<WithdrawalState, WithdrawalError> {
    lock(&super::emulator(shared).store).process(withdraw_id, WithdrawalState::Success, None, shared.now())
}

/// Rejects a pending withdrawal, refunding amount and fee, with the admin's `note`.
pub(super) fn reject(shared: &Shared, withdraw_id: &str, note: String) -> Result<WithdrawalState, WithdrawalError> {
    lock(&super::emulator(shared).store).process(withdraw_id, WithdrawalState::Rejected, Some(note), shared.now())
}
