//! The handlers: the token call, the bearer check, the transaction call and the two status calls,
//! answering in the gateway's envelope.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use gerbang_core::ProviderId;
use serde_json::{Value, json};
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::store::{Registration, Transaction, local};
use super::{API_KEY, API_SECRET, PREFIX, jwt};
use crate::PaymentState;
use crate::page::{controls, escape};
use crate::payments::{Cause, Timeline};
use crate::state::{Shared, lock};

/// The success envelope of the document: `{"code":"00","status":true,"data":…,"message":"Success"}`.
pub(super) fn success(data: Value) -> Response {
    (StatusCode::OK, axum::Json(json!({"code": "00", "status": true, "data": data, "message": "Success"})))
        .into_response()
}

/// **Decision**: how the sandbox refuses a request it understood. The document shows no error;
/// the sandbox answers HTTP 200 with the envelope's `status: false` and a code of its own
/// (`01` invalid field, `02` not found, `03` `external_id` already used, `04` not cancellable),
/// the way gateways of this kind (PHP behind a 200) do, so that clients are tested on reading
/// refusals from the envelope rather than from the HTTP status.
pub(super) fn refusal(code: &str, message: impl Into<String>) -> Response {
    (StatusCode::OK, axum::Json(json!({"code": code, "status": false, "message": message.into()}))).into_response()
}

/// A field refused with code `01`; a [`refusal`] once it is answered.
#[derive(Debug)]
struct Refused(String);

impl Refused {
    fn invalid(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        refusal("01", self.0)
    }
}

/// A 401 in the gateway's envelope: missing, unknown, forged or expired credentials or token.
pub(super) fn unauthorized(message: &str) -> Response {
    (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": "401", "status": false, "message": message}))).into_response()
}

/// `POST /auth/token`: the `api-key` and `api-secret` headers for a JWT living the configured
/// lifetime. Like the document's answer, `expires_in` is the absolute expiry (Unix seconds).
pub(super) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(key), Some(secret)) = (header("api-key"), header("api-secret")) else {
        return unauthorized("The api-key and api-secret headers are required");
    };
    let key_ok = gerbang_signing::ct_eq(key.as_bytes(), API_KEY.as_bytes());
    let secret_ok = gerbang_signing::ct_eq(secret.as_bytes(), API_SECRET.as_bytes());
    if !(key_ok && secret_ok) {
        return unauthorized("Invalid api-key or api-secret");
    }
    let emulator = super::emulator(&shared);
    let iat = shared.now().unix_timestamp();
    let lifetime = i64::try_from(emulator.token_lifetime.as_secs().max(1)).unwrap_or(i64::MAX);
    let exp = iat.saturating_add(lifetime);
    let subject = uuid::Uuid::new_v4().simple().to_string();
    let claims = jwt::Claims { iss: "gerbang-sandbox".into(), sub: subject, iat, exp };
    let access_token = jwt::issue(&emulator.signing_key, &claims);
    let body = json!({
        "code": "00",
        "status": true,
        "access_token": access_token,
        "expires_in": exp,
        "token_type": "Bearer",
        "message": "Success",
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Every call but the token's: `Authorization: Bearer <a live token of this sandbox>`.
pub(super) async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = bearer else {
        return unauthorized("The Authorization header must be Bearer <token>");
    };
    match jwt::verify(&super::emulator(&shared).signing_key, token, shared.now().unix_timestamp()) {
        Ok(_) => next.run(request).await,
        Err(jwt::Refused::Expired) => unauthorized("Token expired"),
        Err(jwt::Refused::Invalid) => unauthorized("Invalid token"),
    }
}

/// The form's fields by name (a repeated name: its last value, as PHP reads it).
fn fields(body: &[u8]) -> Option<HashMap<String, String>> {
    serde_urlencoded::from_bytes(body).ok()
}

/// `POST /transaction`: `action` `charge` (the default, as the document marks `action` optional),
/// `cancel` or `registration`.
pub(super) async fn transaction(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Some(f) = fields(&body) else {
        return refusal("01", "The request body must be application/x-www-form-urlencoded");
    };
    let shortlink = |order_id: &str| format!("{}{PREFIX}/pay/{order_id}", shared.origin());
    match f.get("action").map(String::as_str).unwrap_or("charge") {
        "charge" => charge(&shared, &f, &shortlink),
        "registration" => register(&shared, &f, &shortlink),
        "cancel" => cancel(&shared, &f, &shortlink),
        _ => refusal("01", "The selected action is invalid."),
    }
}

/// The checks a charge and a registration share; the fields the document marks required.
fn check_common(f: &HashMap<String, String>, required: &[&str]) -> Result<(), Refused> {
    for name in required {
        if f.get(*name).is_none_or(|v| v.trim().is_empty()) {
            return Err(Refused::invalid(format!("The {name} field is required.")));
        }
    }
    let paytype = f.get("paytype").map(String::as_str).unwrap_or_default();
    let paycode = f.get("paycode").map(String::as_str).unwrap_or_default();
    // The pairing PROVIDERS.md §5 decides, written out again here rather than shared with the client.
    let banks = ["bca", "bni", "permata", "bri", "mandiri", "cimb_niaga", "jenius"];
    let codes: &[&str] = match paytype {
        "all" => &[
            "bca",
            "bni",
            "permata",
            "bri",
            "mandiri",
            "credit_card",
            "cimb_niaga",
            "jenius",
            "gopay",
            "ovo",
            "dana",
            "alfamart",
            "indomaret",
        ],
        "va" | "ib" => &banks,
        "cc" => &["credit_card"],
        "ewallet" => &["gopay", "ovo", "dana"],
        "otc" => &["alfamart", "indomaret"],
        "qris" => &[],
        _ => return Err(Refused::invalid("The selected paytype is invalid.")),
    };
    if paycode != "all" && !codes.contains(&paycode) {
        return Err(Refused::invalid(format!("The selected paycode is not available for paytype {paytype}.")));
    }
    for name in ["send_email", "send_sms", "send_wa"] {
        if f.get(name).is_some_and(|v| !matches!(v.as_str(), "" | "0" | "1")) {
            return Err(Refused::invalid(format!("The {name} field must be blank, 0 or 1.")));
        }
    }
    if f.get("notification_timing").is_some_and(|v| !matches!(v.as_str(), "" | "before" | "after" | "before_after")) {
        return Err(Refused::invalid("The selected notification_timing is invalid."));
    }
    for name in ["redirect_url", "callback_url", "back_url"] {
        if f.get(name).is_some_and(|v| !(v.is_empty() || v.starts_with("http://") || v.starts_with("https://"))) {
            return Err(Refused::invalid(format!("The {name} must be a valid URL.")));
        }
    }
    Ok(())
}

/// **Decision**: how long a transaction lives when `exptype` is blank: one day.
const DEFAULT_EXPIRY: time::Duration = time::Duration::DAY;

/// The expiry `exptype`/`expval` ask for, from `now`; `MN` months are 30 days, `SD` is the end
/// of that day in Jakarta.
fn expiry(f: &HashMap<String, String>, now: OffsetDateTime) -> Result<OffsetDateTime, Refused> {
    let exptype = f.get("exptype").map(String::as_str).unwrap_or_default();
    let expval = f.get("expval").map(String::as_str).unwrap_or_default();
    if exptype.is_empty() {
        return Ok(now + DEFAULT_EXPIRY);
    }
    if exptype == "SD" {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date =
            Date::parse(expval, &format).map_err(|_| Refused::invalid("The expval must be a date yyyy-MM-dd."))?;
        let end = PrimitiveDateTime::new(date, time::macros::time!(23:59:59));
        return Ok(end.assume_offset(gerbang_signing::jakarta::OFFSET));
    }
    let n: i64 = expval
        .parse()
        .ok()
        .filter(|n| *n >= 1 && expval.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| Refused::invalid("The expval must be a number of at least 1."))?;
    let unit = match exptype {
        "S" => time::Duration::SECOND,
        "M" => time::Duration::MINUTE,
        "H" => time::Duration::HOUR,
        "D" => time::Duration::DAY,
        "MN" => time::Duration::days(30),
        _ => return Err(Refused::invalid("The selected exptype is invalid.")),
    };
    now.checked_add(unit.saturating_mul(i32::try_from(n).unwrap_or(i32::MAX)))
        .ok_or_else(|| Refused::invalid("The expval is too large."))
}

fn text(f: &HashMap<String, String>, name: &str) -> String {
    f.get(name).cloned().unwrap_or_default()
}

fn charge(shared: &Shared, f: &HashMap<String, String>, shortlink: &dyn Fn(&str) -> String) -> Response {
    if let Err(refused) = check_common(f, &["paytype", "paycode", "external_id", "name", "amount"]) {
        return refused.into_response();
    }
    let amount_text = text(f, "amount");
    let amount = match amount_text.parse::<u64>() {
        Ok(n) if n > 0 && amount_text.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return refusal("01", "The amount must be a whole number of rupiah above zero."),
    };
    let now = shared.now();
    let expires_at = match expiry(f, now) {
        Ok(at) => at,
        Err(refused) => return refused.into_response(),
    };
    let mut store = lock(&super::emulator(shared).store);
    let external_id = text(f, "external_id");
    if store.transactions.contains_key(&external_id) {
        return refusal("03", "The external_id has already been used.");
    }
    let order_id = store.next_order_id(now);
    let virtual_account = if text(f, "paytype") == "va" { store.digits("8808", 12) } else { String::new() };
    let txn = Transaction {
        shortlink: shortlink(&order_id),
        order_id,
        external_id: external_id.clone(),
        paycode: text(f, "paycode"),
        name: text(f, "name"),
        phone: text(f, "phone"),
        description: ["description[text_1]", "description[text_2]", "description[text_3]"].map(|k| text(f, k)),
        amount,
        virtual_account,
        state: PaymentState::Pending,
        created_at: now,
        expires_at,
        paid_at: None,
        cancelled_at: None,
        reference_number: String::new(),
        callback_url: text(f, "callback_url"),
        timeline: Timeline::created(shared, now),
    };
    let data = txn.result_view(&txn.shortlink);
    store.transactions.insert(external_id, txn);
    success(data)
}

fn register(shared: &Shared, f: &HashMap<String, String>, shortlink: &dyn Fn(&str) -> String) -> Response {
    if let Err(refused) = check_common(f, &["paytype", "paycode", "external_id", "name"]) {
        return refused.into_response();
    }
    let now = shared.now();
    let expires_at = match expiry(f, now) {
        Ok(at) => at,
        Err(refused) => return refused.into_response(),
    };
    let mut store = lock(&super::emulator(shared).store);
    let external_id = text(f, "external_id");
    if store.registrations.contains_key(&external_id) {
        return refusal("03", "The external_id has already been used.");
    }
    let order_id = store.next_order_id(now);
    let registration = Registration {
        order_id: order_id.clone(),
        external_id: external_id.clone(),
        paycode: text(f, "paycode"),
        name: text(f, "name"),
        phone: text(f, "phone"),
        description: text(f, "description[text_1]"),
        state: PaymentState::Pending,
        created_at: now,
        expires_at,
        registered_at: None,
        reference_number: String::new(),
        account_number: String::new(),
        callback_url: text(f, "callback_url"),
    };
    store.registrations.insert(external_id.clone(), registration);
    success(json!({
        "order_id": order_id,
        "external_id": external_id,
        "status_payment": "pending",
        "expired_date": local(expires_at),
        "cancel_date": null,
        "shortlink": shortlink(&order_id),
    }))
}

fn cancel(shared: &Shared, f: &HashMap<String, String>, shortlink: &dyn Fn(&str) -> String) -> Response {
    let external_id = text(f, "external_id");
    if external_id.trim().is_empty() {
        return refusal("01", "The external_id field is required.");
    }
    let now = shared.now();
    let mut store = lock(&super::emulator(shared).store);
    let Some(txn) = store.transactions.get_mut(&external_id) else {
        return refusal("02", "Transaction not found.");
    };
    if txn.state != PaymentState::Pending {
        return refusal(
            "04",
            format!("The transaction cannot be cancelled: it is {}.", super::store::transaction_word(txn.state)),
        );
    }
    txn.cancel(now, Cause::Api);
    success(txn.result_view(&shortlink(&txn.order_id)))
}

/// `POST /transaction/status` with `external_id`.
pub(super) async fn transaction_status(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Some(external_id) = fields(&body).and_then(|f| f.get("external_id").cloned()).filter(|e| !e.is_empty()) else {
        return refusal("01", "The external_id field is required.");
    };
    match lock(&super::emulator(&shared).store).transactions.get(&external_id) {
        Some(txn) => success(txn.status_view()),
        None => refusal("02", "Transaction not found."),
    }
}

/// `POST /registration/status` with `external_id`.
pub(super) async fn registration_status(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Some(external_id) = fields(&body).and_then(|f| f.get("external_id").cloned()).filter(|e| !e.is_empty()) else {
        return refusal("01", "The external_id field is required.");
    };
    match lock(&super::emulator(&shared).store).registrations.get(&external_id) {
        Some(registration) => success(registration.status_view()),
        None => refusal("02", "Registration not found."),
    }
}

/// `GET /pay/{order_id}`: the page a `shortlink` points at.
pub(super) async fn page(State(shared): State<Arc<Shared>>, Path(order_id): Path<String>) -> Response {
    let store = lock(&super::emulator(&shared).store);
    let found = store
        .transactions
        .values()
        .find(|t| t.order_id == order_id)
        .map(|t| (t.external_id.clone(), format!("{} IDR", t.amount), super::store::transaction_word(t.state)))
        .or_else(|| {
            store.registrations.values().find(|r| r.order_id == order_id).map(|r| {
                (r.external_id.clone(), format!("auto-debit {}", r.paycode), super::store::registration_word(r.state))
            })
        });
    let Some((external_id, what, status)) = found else {
        return (StatusCode::NOT_FOUND, Html("<h1>Unknown transaction</h1>".to_owned())).into_response();
    };
    let moves = [("pay", "Pay"), ("expire", "Let it expire")];
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Ciputra sandbox</title><h1>{}</h1><p>{} &middot; {}</p>{}",
        escape(&order_id),
        escape(&what),
        status,
        controls(ProviderId::Ciputra, &external_id, &moves)
    ))
    .into_response()
}
