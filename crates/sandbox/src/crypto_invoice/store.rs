//! The invoices, how they move from pending to paid or expired, and the callback a payment sends.

use std::collections::BTreeMap;
use std::sync::Arc;

use gerbang_core::ProviderId;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::PRIVATE_KEY;
use crate::emulated::{EmulatedPayments, Settle};
use crate::payments::{Cause, PaymentSummary, Timeline};
use crate::state::{Shared, lock};
use crate::webhook::{Outgoing, Target, Webhook, dispatch};
use crate::{PaymentState, SandboxError};

const PROVIDER: ProviderId = ProviderId::CryptoInvoice;

/// The latest invoices created, by id: at most
/// [`max_payments`](crate::SandboxBuilder::max_payments), the oldest (lowest id) forgotten first.
#[derive(Debug)]
pub(super) struct Store {
    invoices: BTreeMap<u64, Invoice>,
    next_id: u64,
    max_payments: usize,
}

/// One invoice, as the sandbox keeps it: what `create_invoice` was sent, and where it stands.
#[derive(Debug, Clone)]
pub(super) struct Invoice {
    pub(super) id: u64,
    pub(super) test: bool,
    pub(super) email: Option<String>,
    pub(super) merchant_id: Option<String>,
    pub(super) order_id: Option<String>,
    pub(super) customer_id: Option<u64>,
    pub(super) price_amount: Decimal,
    pub(super) price_currency: String,
    pub(super) add_fee_to_price: bool,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) callback_url: Option<String>,
    pub(super) cancel_url: Option<String>,
    pub(super) success_url: Option<String>,
    pub(super) ref_url: Option<String>,
    pub(super) ip: String,
    pub(super) invoice_url: String,
    pub(super) created_at: OffsetDateTime,
    pub(super) expires_at: OffsetDateTime,
    pub(super) state: PaymentState,
    /// What was paid, in the coin, once paid.
    pub(super) paid: Option<(Decimal, &'static str)>,
    pub(super) timeline: Timeline,
}

/// **Decision**: the coin a sandbox customer pays with, and how many of it make one unit of the
/// price's currency. The document leaves the coin to the customer; the sandbox's customer always
/// pays in USDT, at these fixed rates (a stable coin at par with the dollar).
pub(super) const PAID_COIN: &str = "USDT";

/// **Decision**: the currencies the sandbox prices in, and their value in USDT. The document
/// says "USD, EUR, GBP and other currencys" without the list; these are enough to try the flow
/// in the usual ones, rupiah included. Another code is refused as the gateway's validator would.
pub(super) const CURRENCIES: &[(&str, Decimal)] = &[
    ("USD", Decimal::from_parts(1, 0, 0, false, 0)),
    ("EUR", Decimal::from_parts(108, 0, 0, false, 2)),
    ("GBP", Decimal::from_parts(127, 0, 0, false, 2)),
    ("SGD", Decimal::from_parts(74, 0, 0, false, 2)),
    ("MYR", Decimal::from_parts(21, 0, 0, false, 2)),
    ("IDR", Decimal::from_parts(625, 0, 0, false, 7)), // 1 / 16 000
];

/// How a time is written in answers and callbacks: RFC 3339 in UTC, whole seconds, as a PHP
/// backend serialises its dates (the document shows none).
pub(super) fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).unwrap_or_default()
}

impl Invoice {
    /// The state, with expiry applied: a pending invoice past its `expiration_date` is expired,
    /// from that time; whether it turned so now.
    fn refresh(&mut self, now: OffsetDateTime) -> bool {
        if self.state == PaymentState::Pending && now >= self.expires_at {
            self.state = PaymentState::Expired;
            self.timeline.push(self.expires_at, PaymentState::Expired, Cause::Expiry);
            return true;
        }
        false
    }

    /// The status word `get_invoices` answers with. **Decision**: the document names none; the
    /// lower-case state names (`pending`, `paid`, `expired`).
    pub(super) fn status_word(&self) -> &'static str {
        self.state.as_str()
    }

    /// The fields the document's callback lists (without the key): what
    /// `get_invoices` lists for an invoice, with its `status` and `invoice_url` added.
    /// Decimals are strings (a Laravel decimal column), ids and flags integers.
    fn fields(&self) -> serde_json::Map<String, Value> {
        let (amount, amount_currency) = match self.paid {
            Some((amount, coin)) => (json!(amount.to_string()), json!(coin)),
            None => (Value::Null, Value::Null),
        };
        let mut map = serde_json::Map::new();
        for (name, value) in [
            ("id", json!(self.id)),
            ("email", json!(self.email)),
            ("merchant_id", json!(self.merchant_id)),
            ("order_id", json!(self.order_id)),
            ("customer_id", json!(self.customer_id)),
            ("price_amount", json!(self.price_amount.to_string())),
            ("price_currency", json!(self.price_currency)),
            ("amount", amount),
            ("amount_currency", amount_currency),
            ("add_fee_to_price", json!(u8::from(self.add_fee_to_price))),
            ("title", json!(self.title)),
            ("description", json!(self.description)),
            ("ref_url", json!(self.ref_url)),
            ("cancel_url", json!(self.cancel_url)),
            ("success_url", json!(self.success_url)),
            ("callback_url", json!(self.callback_url)),
            ("ip", json!(self.ip)),
            ("test", json!(u8::from(self.test))),
            ("created_at", json!(timestamp(self.created_at))),
            ("expiration_date", json!(timestamp(self.expires_at))),
        ] {
            map.insert(name.to_owned(), value);
        }
        map
    }

    /// An invoice as `get_invoices` lists it.
    pub(super) fn listed(&self) -> Value {
        let mut map = self.fields();
        map.insert("status".to_owned(), json!(self.status_word()));
        map.insert("invoice_url".to_owned(), json!(self.invoice_url));
        Value::Object(map)
    }
}

impl Store {
    pub(super) fn new(max_payments: usize) -> Self {
        Self { invoices: BTreeMap::new(), next_id: 0, max_payments: max_payments.max(1) }
    }

    /// A fresh id: numbers counting up from 1001, as a database's would.
    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id = self.next_id.max(1000) + 1;
        self.next_id
    }

    pub(super) fn insert(&mut self, invoice: Invoice) {
        self.invoices.insert(invoice.id, invoice);
        // Ids count up, so the first entry is the oldest.
        while self.invoices.len() > self.max_payments {
            if let Some((evicted, _)) = self.invoices.pop_first() {
                tracing::debug!(id = evicted, "oldest invoice forgotten: the sandbox holds max_payments");
            }
        }
    }

    /// An invoice by id, expiry applied.
    pub(super) fn get(&mut self, id: u64, now: OffsetDateTime) -> Option<&Invoice> {
        let invoice = self.invoices.get_mut(&id)?;
        invoice.refresh(now);
        Some(invoice)
    }

    /// Every invoice of an order, oldest first, expiry applied.
    pub(super) fn by_order(&mut self, order_id: &str, now: OffsetDateTime) -> Vec<Invoice> {
        self.invoices
            .values_mut()
            .filter(|i| i.order_id.as_deref() == Some(order_id))
            .map(|i| {
                i.refresh(now);
                i.clone()
            })
            .collect()
    }

    /// Every invoice, expiry applied; the ids of those that expired just now.
    fn refresh_all(&mut self, now: OffsetDateTime) -> Vec<String> {
        self.invoices.values_mut().filter_map(|invoice| invoice.refresh(now).then(|| invoice.id.to_string())).collect()
    }

    /// The invoice of id `reference` (the number in its URL and its callback), expiry applied.
    /// An order id reaches [`settle`](EmulatedPayments::settle) already resolved to its invoice's
    /// id by [`resolve`](crate::payments::resolve), which refuses one that several invoices carry.
    fn find(&mut self, reference: &str, now: OffsetDateTime) -> Option<&mut Invoice> {
        let id = reference.trim().parse::<u64>().ok()?;
        let invoice = self.invoices.get_mut(&id)?;
        invoice.refresh(now);
        Some(invoice)
    }
}

/// The crypto invoices, as the shared modules move and list them.
#[derive(Debug)]
pub(crate) struct Payments;

impl EmulatedPayments for Payments {
    /// Moves a pending invoice to paid (delivering the callback per `plan`) or expired (sending
    /// nothing: the document calls back "if payment success" only). It has no failed or cancelled
    /// state.
    fn settle(
        &self,
        shared: &Arc<Shared>,
        Settle { reference, target, plan, cause }: Settle<'_>,
    ) -> Result<PaymentState, SandboxError> {
        if !matches!(target, PaymentState::Paid | PaymentState::Expired) {
            return Err(SandboxError::UnsupportedTransition { provider: PROVIDER, target });
        }
        let now = shared.now();
        let invoice = {
            let mut store = lock(&super::emulator(shared).store);
            let Some(invoice) = store.find(reference, now) else {
                return Err(unknown(reference));
            };
            if invoice.state != PaymentState::Pending {
                return Err(SandboxError::NotPending {
                    provider: PROVIDER,
                    reference: reference.to_owned(),
                    status: invoice.state,
                });
            }
            if target == PaymentState::Paid {
                mark_paid(invoice);
            } else {
                invoice.state = target;
            }
            invoice.timeline.push(now, target, cause);
            invoice.clone()
        };
        tracing::info!(id = invoice.id, status = %target, "invoice settled");
        if target == PaymentState::Paid {
            match callback(&invoice) {
                Some(webhook) => {
                    dispatch(shared, webhook, plan);
                }
                None => tracing::info!("the invoice has no callback_url: no callback sent"),
            }
        }
        Ok(target)
    }

    /// The callback of an invoice paid (the one state it has a callback for; its current state
    /// when `None`), for [`Sandbox::send_webhook`](crate::Sandbox::send_webhook): an invoice not
    /// paid yet gets the callback its payment would send, without being paid.
    fn webhook_in(
        &self,
        shared: &Arc<Shared>,
        reference: &str,
        state: Option<PaymentState>,
    ) -> Result<(PaymentState, Webhook), SandboxError> {
        let mut invoice = {
            let mut store = lock(&super::emulator(shared).store);
            store.find(reference, shared.now()).cloned().ok_or_else(|| unknown(reference))?
        };
        let state = state.unwrap_or(invoice.state);
        if state != PaymentState::Paid {
            return Err(SandboxError::NoWebhook { provider: PROVIDER, state });
        }
        if invoice.state != PaymentState::Paid {
            mark_paid(&mut invoice);
        }
        let webhook = callback(&invoice)
            .ok_or_else(|| SandboxError::NoWebhookUrl { provider: PROVIDER, reference: reference.to_owned() })?;
        Ok((state, webhook))
    }

    /// Every invoice, as the dashboard shows it, expiry applied.
    fn summaries(&self, shared: &Shared, out: &mut Vec<PaymentSummary>) {
        let mut store = lock(&super::emulator(shared).store);
        store.refresh_all(shared.now());
        for invoice in store.invoices.values() {
            let reference = invoice.id.to_string();
            let mut summary = PaymentSummary::new(
                PROVIDER,
                reference,
                invoice.price_amount,
                invoice.state,
                invoice.created_at,
                &invoice.timeline,
            );
            summary.currency.clone_from(&invoice.price_currency);
            summary.merchant_reference.clone_from(&invoice.order_id);
            summary.expires_at = Some(invoice.expires_at);
            summary.page_url = Some(invoice.invoice_url.clone());
            out.push(summary);
        }
    }

    /// Expires the pending invoices past their `expiration_date` (what a look-up of each would
    /// do); no callback, as the gateway calls back on success only.
    fn expire_due(&self, shared: &Arc<Shared>) -> Vec<String> {
        lock(&super::emulator(shared).store).refresh_all(shared.now())
    }
}

fn unknown(reference: &str) -> SandboxError {
    SandboxError::UnknownPayment { provider: PROVIDER, reference: reference.to_owned() }
}

/// Pays an invoice in full, in [`PAID_COIN`] at the sandbox's rate.
fn mark_paid(invoice: &mut Invoice) {
    invoice.state = PaymentState::Paid;
    let rate = CURRENCIES.iter().find(|(c, _)| *c == invoice.price_currency).map_or(Decimal::ONE, |(_, r)| *r);
    invoice.paid = Some(((invoice.price_amount * rate).round_dp(6).normalize(), PAID_COIN));
}

/// The callback the document describes, to the invoice's `callback_url`: a JSON POST of
/// `private_key` ("for compare yours") and the invoice's fields.
fn callback(invoice: &Invoice) -> Option<Webhook> {
    let url = invoice.callback_url.clone()?;
    let mut body = serde_json::Map::new();
    body.insert("private_key".to_owned(), json!(PRIVATE_KEY));
    body.extend(invoice.fields());
    let outgoing = Outgoing {
        headers: vec![("content-type", "application/json".to_owned())],
        body: Value::Object(body).to_string(),
    };
    Some(Webhook::new(PROVIDER, invoice.id.to_string(), Target::Url(url), outgoing))
}
