//! Cash In's checkouts: creating one, looking it up, its page, how it moves from `OPEN` to
//! `SUCCESS` or `FAILED`, and the SNAP notification each move sends.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use gerbang_core::ProviderId;
use gerbang_signing::jakarta::format_timestamp;
use gerbang_signing::rsa::sign_sha256_rsa;
use gerbang_signing::snap::asymmetric_string_to_sign;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::auth::RequestId;
use super::{CHANNEL_ID, CLIENT_ID, PREFIX, error, signing_key};
use crate::bounded::{BoundedMap, BoundedSet};
use crate::emulated::{EmulatedPayments, Settle};
use crate::page::{controls, escape, not_found};
use crate::payments::{PaymentSummary, Timeline, settle_expired};
use crate::state::{Shared, lock};
use crate::webhook::{Outgoing, Target, Webhook, dispatch};
use crate::{PaymentState, SandboxError};

const PROVIDER: ProviderId = ProviderId::CashIn;

/// The latest checkouts created, by `trxNo`, the tokens of their pages, and the latest
/// `X-REQUEST-ID`s seen: at most [`max_payments`](crate::SandboxBuilder::max_payments) of each,
/// the oldest forgotten first.
#[derive(Debug)]
pub(super) struct Store {
    payments: BoundedMap<String, Checkout>,
    /// Page token → `trxNo`, one per checkout, inserted with it: evicted in step with it.
    tokens: BoundedMap<String, String>,
    request_ids: BoundedSet<String>,
}

impl Store {
    pub(super) fn new(max_payments: usize) -> Self {
        Self {
            payments: BoundedMap::new(max_payments),
            tokens: BoundedMap::new(max_payments),
            request_ids: BoundedSet::new(max_payments),
        }
    }

    /// Records a request id; `false` when it was seen before.
    pub(super) fn remember_request_id(&mut self, id: &str) -> bool {
        self.request_ids.insert(id.to_owned())
    }
}

/// One checkout, as the sandbox keeps it.
#[derive(Debug, Clone)]
struct Checkout {
    trx_no: String,
    reference_no: String,
    amount: u64,
    channel: Option<&'static str>,
    method: Option<&'static str>,
    state: PaymentState,
    /// The `X-REQUEST-ID` of the call that created it: the notification's `originalExternalId`.
    request_id: String,
    created_at: OffsetDateTime,
    /// `duration` minutes after its creation.
    expires_at: OffsetDateTime,
    /// Its `paymentUrl`.
    page_url: String,
    timeline: Timeline,
}

impl Checkout {
    /// The status call's word for the state: the document knows `OPEN`, `SUCCESS` and `FAILED`
    /// only. **Decision**: an expired checkout is `FAILED` (its notification says `05`).
    fn status(&self) -> &'static str {
        match self.state {
            PaymentState::Pending => "OPEN",
            PaymentState::Paid => "SUCCESS",
            _ => "FAILED",
        }
    }
}

/// The document's answer envelope, in its order: `{"message":"Successful","data":…}`.
fn successful<T: Serialize>(data: T) -> Response {
    #[derive(Serialize)]
    struct Envelope<T> {
        message: &'static str,
        data: T,
    }
    Json(Envelope { message: "Successful", data }).into_response()
}

/// `amount` as the document writes it in the status answer: a JSON number with two decimals
/// (`4000.00`).
fn two_decimals(amount: u64) -> String {
    format!("{amount}.00")
}

/// A request refused in Cash In's shape; see [`error`].
#[derive(Debug)]
pub(super) struct Refusal {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.status, self.message)
    }
}

/// A 400 naming the field.
fn invalid(message: impl Into<String>) -> Refusal {
    Refusal { status: StatusCode::BAD_REQUEST, message: message.into() }
}

fn object(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid("Invalid request body: expected a JSON object")),
    }
}

/// A mandatory string of 1 to `max` characters.
fn text<'a>(fields: &'a Map<String, Value>, name: &str, max: usize) -> Result<&'a str, Refusal> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(invalid(format!("Missing required field: {name}"))),
        Some(Value::String(s)) if s.trim().is_empty() => Err(invalid(format!("Missing required field: {name}"))),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(invalid(format!("Invalid field format: {name} is longer than {max} characters")))
        }
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(format!("Invalid field format: {name} must be a string"))),
    }
}

/// A mandatory whole number above zero (the document types these as "Number").
fn positive(fields: &Map<String, Value>, name: &str) -> Result<u64, Refusal> {
    let value = fields.get(name).ok_or_else(|| invalid(format!("Missing required field: {name}")))?;
    let number = value.as_u64().or_else(|| {
        value.as_f64().filter(|f| *f >= 1.0 && f.fract() == 0.0 && *f < 9.0e15).map(|f| {
            // Exact: a whole number far below 2^53.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = f as u64;
            n
        })
    });
    number
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid(format!("Invalid field format: {name} must be a whole number above zero")))
}

/// `POST /payment`: validates the document's table and opens a checkout.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    body: Bytes,
) -> Result<Response, Refusal> {
    open(&shared, &request_id, &body)
}

fn open(shared: &Shared, request_id: &str, body: &[u8]) -> Result<Response, Refusal> {
    let fields = object(body)?;
    let amount = positive(&fields, "amount")?;
    let trx_no = text(&fields, "trxNo", 64)?.trim().to_owned();
    let duration = positive(&fields, "duration")?;
    let minutes = u32::try_from(duration).map_err(|_| invalid("Invalid field format: duration is too long"))?;
    text(&fields, "successCallbackUrl", 255)?;
    text(&fields, "cancelCallbackUrl", 255)?;
    let channel = match fields.get("paymentChannel") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s == "QRIS" => Some("QRIS"),
        Some(Value::String(s)) if s == "BANK_TRANSFER" => Some("BANK_TRANSFER"),
        Some(_) => return Err(invalid("Invalid field format: paymentChannel must be QRIS or BANK_TRANSFER")),
    };
    let customer = match fields.get("customer") {
        Some(Value::Object(customer)) => customer,
        None | Some(Value::Null) => return Err(invalid("Missing required field: customer")),
        Some(_) => return Err(invalid("Invalid field format: customer must be an object")),
    };
    text(customer, "id", 50)
        .map_err(|_| invalid("Invalid field format: customer.id is required, at most 50 characters"))?;
    text(customer, "phoneNumber", 16)
        .map_err(|_| invalid("Invalid field format: customer.phoneNumber is required, at most 16 characters"))?;

    let now = shared.now();
    let mut store = lock(&super::emulator(shared).store);
    if store.payments.contains_key(&trx_no) {
        let message = "Duplicate trxNo: it must be unique for each payment".to_owned();
        return Err(Refusal { status: StatusCode::CONFLICT, message });
    }
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let reference_no = new_reference_no(now, |id| store.payments.values().any(|p| p.reference_no == id));
    let payment_url = format!("{}{PREFIX}/checkout/{token}", shared.origin());
    let checkout = Checkout {
        trx_no: trx_no.clone(),
        reference_no,
        amount,
        channel,
        method: None,
        state: PaymentState::Pending,
        request_id: request_id.to_owned(),
        created_at: now,
        expires_at: now + time::Duration::minutes(i64::from(minutes)),
        page_url: payment_url.clone(),
        timeline: Timeline::created(shared, now),
    };
    tracing::info!(reference = %trx_no, amount, "checkout created");
    store.tokens.insert(token.clone(), trx_no.clone());
    if let Some((evicted, _)) = store.payments.insert(trx_no, checkout) {
        tracing::debug!(reference = %evicted, "oldest checkout forgotten: the sandbox holds max_payments");
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        payment_token: String,
        payment_url: String,
    }
    Ok(successful(Data { payment_token: token, payment_url }))
}

/// `POST /payment/status`: the checkout of a `trxNo`. Surrounding spaces are ignored: the
/// document's example asks for `" TRX001"` and is answered `"TRX001"`.
pub(super) async fn status(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Refusal> {
    let fields = object(&body)?;
    let trx_no = text(&fields, "trxNo", 64)?.trim();
    let store = lock(&super::emulator(&shared).store);
    let Some(checkout) = store.payments.get(trx_no) else {
        return Ok(error(StatusCode::NOT_FOUND, "Transaction not found"));
    };
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Data<'a> {
        trx_no: &'a str,
        status: &'a str,
        /// The method paid with; **Decision**: while nothing is paid, the channel asked for, or
        /// an empty string when the customer is still to choose.
        payment_method: &'a str,
        reference_no: &'a str,
        amount: Box<RawValue>,
    }
    let Ok(amount) = RawValue::from_string(two_decimals(checkout.amount)) else {
        return Ok(error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"));
    };
    let data = Data {
        trx_no: &checkout.trx_no,
        status: checkout.status(),
        payment_method: checkout.method.or(checkout.channel).unwrap_or(""),
        reference_no: &checkout.reference_no,
        amount,
    };
    Ok(successful(data))
}

/// `GET /checkout/{paymentToken}`: what the customer would see, with buttons that pay, expire
/// or fail the checkout through the control API.
pub(super) async fn page(State(shared): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let store = lock(&super::emulator(&shared).store);
    let Some(checkout) = store.tokens.get(&token).and_then(|trx_no| store.payments.get(trx_no)) else {
        return not_found("such checkout");
    };
    let trx_no = escape(&checkout.trx_no);
    let mut body = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        body,
        "<!doctype html><meta charset=utf-8><title>Cash In sandbox: {trx_no}</title>\
         <h1>Cash In sandbox checkout</h1>\
         <p>Transaction <code>{trx_no}</code> (<code>{reference}</code>): <b>Rp {amount}</b> by {channel}</p>\
         <p>Status: <b>{status}</b></p>",
        reference = escape(&checkout.reference_no),
        amount = checkout.amount,
        channel = checkout.channel.unwrap_or("QRIS or bank transfer"),
        status = checkout.status(),
    );
    if checkout.state == PaymentState::Pending {
        let moves = [("pay", "Pay"), ("expire", "Let it expire"), ("fail", "Make it fail")];
        body.push_str(&controls(ProviderId::CashIn, &checkout.trx_no, &moves));
    }
    Html(body).into_response()
}

/// Cash In's checkouts, as the shared modules move and list them.
#[derive(Debug)]
pub(crate) struct Payments;

impl EmulatedPayments for Payments {
    /// Moves an `OPEN` checkout to paid (`SUCCESS`, notification `00`), expired (`FAILED`, `05`) or
    /// failed (`FAILED`, `06`) and delivers the notification per `plan`. `reference` is the
    /// merchant's `trxNo`.
    fn settle(
        &self,
        shared: &Arc<Shared>,
        Settle { reference, target, plan, cause }: Settle<'_>,
    ) -> Result<PaymentState, SandboxError> {
        if notification_code(target).is_none() || target == PaymentState::Pending {
            return Err(SandboxError::UnsupportedTransition { provider: PROVIDER, target });
        }
        let now = shared.now();
        let checkout = {
            let mut store = lock(&super::emulator(shared).store);
            let Some(checkout) = store.payments.get_mut(reference.trim()) else {
                return Err(unknown(reference));
            };
            if checkout.state != PaymentState::Pending {
                return Err(SandboxError::NotPending {
                    provider: PROVIDER,
                    reference: reference.to_owned(),
                    status: checkout.state,
                });
            }
            checkout.state = target;
            checkout.timeline.push(now, target, cause);
            if target == PaymentState::Paid {
                // **Decision**: a customer left to choose pays by QRIS.
                checkout.method = Some(checkout.channel.unwrap_or("QRIS"));
            }
            checkout.clone()
        };
        tracing::info!(reference, status = %target, "checkout settled");
        if let Some(webhook) = notification(checkout, target, now, shared.wall_now()) {
            dispatch(shared, webhook, plan);
        }
        Ok(target)
    }

    /// The notification of a checkout in `state` (its current one when `None`), made now: what
    /// [`Sandbox::send_webhook`](crate::Sandbox::send_webhook) sends, whatever the checkout's state
    /// now.
    fn webhook_in(
        &self,
        shared: &Arc<Shared>,
        reference: &str,
        state: Option<PaymentState>,
    ) -> Result<(PaymentState, Webhook), SandboxError> {
        let checkout = lock(&super::emulator(shared).store)
            .payments
            .get(reference.trim())
            .cloned()
            .ok_or_else(|| unknown(reference))?;
        let state = state.unwrap_or(checkout.state);
        let webhook = notification(checkout, state, shared.now(), shared.wall_now())
            .ok_or(SandboxError::NoWebhook { provider: PROVIDER, state })?;
        Ok((state, webhook))
    }

    /// Every checkout, as the dashboard shows it.
    fn summaries(&self, shared: &Shared, out: &mut Vec<PaymentSummary>) {
        let store = lock(&super::emulator(shared).store);
        for checkout in store.payments.values() {
            let mut summary = PaymentSummary::new(
                PROVIDER,
                &checkout.trx_no,
                checkout.amount.into(),
                checkout.state,
                checkout.created_at,
                &checkout.timeline,
            );
            summary.gateway_id.clone_from(&checkout.reference_no);
            summary.merchant_reference = Some(checkout.trx_no.clone());
            summary.expires_at = Some(checkout.expires_at);
            summary.page_url = Some(checkout.page_url.clone());
            out.push(summary);
        }
    }

    /// Expires the open checkouts past their `duration`, each sending its `05` notification.
    fn expire_due(&self, shared: &Arc<Shared>) -> Vec<String> {
        let now = shared.now();
        let due: Vec<String> = lock(&super::emulator(shared).store)
            .payments
            .values()
            .filter(|c| c.state == PaymentState::Pending && c.expires_at <= now)
            .map(|c| c.trx_no.clone())
            .collect();
        settle_expired(self, shared, due)
    }
}

fn unknown(reference: &str) -> SandboxError {
    SandboxError::UnknownPayment { provider: PROVIDER, reference: reference.to_owned() }
}

/// The SNAP `latestTransactionStatus` and its description for a state. The document names `00`
/// and `05`; **Decision**: `06` Failed and `03` Pending, SNAP's codes for the other states a
/// checkout is in (`PROVIDERS.md` §2). A checkout is never cancelled (SNAP's "cancelled", `05`,
/// is its expiry).
const fn notification_code(state: PaymentState) -> Option<(&'static str, &'static str)> {
    match state {
        PaymentState::Paid => Some(("00", "Success")),
        PaymentState::Pending => Some(("03", "Pending")),
        // The document: "05 = Cancelled, the payment has been closed because it is expired".
        PaymentState::Expired => Some(("05", "Cancelled")),
        PaymentState::Failed => Some(("06", "Failed")),
        _ => None,
    }
}

/// The notification of the document (body fields in its order), signed as `PROVIDERS.md` §2
/// says: SHA256withRSA over `POST:<path of the URL>:<hex SHA-256 of the body>:<X-TIMESTAMP>`.
/// **Decision**: `amount.value` is a string with two decimals, the SNAP form the document's table
/// types as "String" (its example's bare `1000` is accepted by the SDK too). The path is that of
/// the URL each attempt goes to; everything else is fixed here, so that every attempt and copy
/// to one URL is the same request, `X-EXTERNAL-ID` included. `finishedTime` is `now`, on the
/// sandbox clock; `X-TIMESTAMP` is `wall`, the unmoved clock the receiver checks it against.
fn notification(checkout: Checkout, state: PaymentState, now: OffsetDateTime, wall: OffsetDateTime) -> Option<Webhook> {
    let (code, description) = notification_code(state)?;
    let timestamp = format_timestamp(wall);
    let mut body = json!({
        "originalPartnerReferenceNo": checkout.reference_no,
        "originalReferenceNo": checkout.trx_no,
        "originalExternalId": checkout.request_id,
        "latestTransactionStatus": code,
        "transactionStatusDesc": description,
        "amount": { "value": two_decimals(checkout.amount), "currency": "IDR" },
        "createdTime": format_timestamp(checkout.created_at),
        "finishedTime": format_timestamp(now),
    });
    // A checkout still open has not finished: its notification has no finishing time.
    if state == PaymentState::Pending
        && let Some(fields) = body.as_object_mut()
    {
        fields.remove("finishedTime");
    }
    let body = body.to_string();
    let external_id = uuid::Uuid::new_v4().to_string();
    let render = move |url: &str| {
        let path = reqwest::Url::parse(url).ok()?.path().to_owned();
        let message = asymmetric_string_to_sign("POST", &path, body.as_bytes(), &timestamp).ok()?;
        let signature = sign_sha256_rsa(signing_key(), message.as_bytes()).ok()?;
        Some(Outgoing {
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("x-partner-id", CLIENT_ID.to_owned()),
                ("x-external-id", external_id.clone()),
                ("x-timestamp", timestamp.clone()),
                ("x-signature", signature),
                ("channel-id", CHANNEL_ID.to_owned()),
            ],
            body: body.clone(),
        })
    };
    Some(Webhook::per_url(PROVIDER, checkout.trx_no, Target::Configured, render))
}

/// Cash In's own number for a transaction, like the document's `PAY123`: `PAY`, the Jakarta date
/// and six upper-case hex digits.
fn new_reference_no(now: OffsetDateTime, taken: impl Fn(&str) -> bool) -> String {
    let date: String = format_timestamp(now).chars().take(10).filter(char::is_ascii_digit).collect();
    loop {
        let random = uuid::Uuid::new_v4().simple().to_string();
        let id = format!("PAY{date}{}", random[..6].to_ascii_uppercase());
        if !taken(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_numbers_and_path_segments() {
        let now = OffsetDateTime::from_unix_timestamp(1_730_689_200).unwrap();
        let id = new_reference_no(now, |_| false);
        assert!(id.starts_with("PAY20241104") && id.len() == 17, "{id}");
        assert_eq!(two_decimals(4000), "4000.00");
    }
}
