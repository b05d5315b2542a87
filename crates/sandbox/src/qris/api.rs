//! The calls of the QRIS document, answered in its shapes and Indonesian messages.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::store::WithdrawalState;
use super::{PREFIX, error, ok};
use crate::PaymentState;
use crate::payments::{Cause, Timeline};
use crate::state::{Shared, lock};

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

/// A request refused in the gateway's shape, `{"error": "…"}`.
#[derive(Debug)]
pub(super) struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    fn not_found(message: &str) -> Self {
        Self { status: StatusCode::NOT_FOUND, message: message.to_owned() }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.status, self.message)
    }
}

/// The query's parameters; a 400 in the gateway's shape when it cannot be read.
fn params(query: Params) -> Result<HashMap<String, String>, Refusal> {
    query.map(|Query(q)| q).map_err(|_| Refusal::bad_request("Query string tidak valid"))
}

/// A required parameter, trimmed: `Parameter {name} wajib diisi` when absent or empty.
fn required<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Refusal> {
    params
        .get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Refusal::bad_request(format!("Parameter {name} wajib diisi")))
}

/// A positive whole number, from a query value or a JSON number.
fn positive(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|n| *n > 0)
}

/// `GET /api/v1/balance`: `{"balance": 100000}`.
pub(super) async fn balance(State(shared): State<Arc<Shared>>) -> Response {
    ok(json!({ "balance": lock(&super::emulator(&shared).store).balance }))
}

/// `GET /api/v1/invoice/create?amount=`.
pub(super) async fn create_invoice(State(shared): State<Arc<Shared>>, query: Params) -> Result<Response, Refusal> {
    let params = params(query)?;
    let amount = required(&params, "amount")?;
    let amount =
        positive(amount).ok_or_else(|| Refusal::bad_request("Amount harus berupa angka bulat lebih dari 0"))?;
    let base = format!("{}{PREFIX}", shared.origin());
    let now = shared.now();
    let timeline = Timeline::created(&shared, now);
    let mut store = lock(&super::emulator(&shared).store);
    let invoice = store.create_invoice(amount, now, &base, timeline);
    tracing::info!(reference = %invoice.id, amount, "invoice created");
    Ok(ok(invoice.created_view()))
}

/// `GET /api/v1/invoice/status?invoice_id=`.
pub(super) async fn invoice_status(State(shared): State<Arc<Shared>>, query: Params) -> Result<Response, Refusal> {
    let params = params(query)?;
    let id = required(&params, "invoice_id")?;
    let mut store = lock(&super::emulator(&shared).store);
    let invoice = store.invoice(id, shared.now()).ok_or_else(|| Refusal::not_found(INVOICE_NOT_FOUND))?;
    Ok(ok(invoice.status_view()))
}

/// `POST /api/v1/invoice/cancel`: "kirim invoice_id via query param atau JSON body". Only a
/// pending invoice can be cancelled; it becomes expired.
pub(super) async fn cancel_invoice(
    State(shared): State<Arc<Shared>>,
    query: Params,
    body: Bytes,
) -> Result<Response, Refusal> {
    let params = params(query)?;
    let from_body = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("invoice_id").and_then(|id| id.as_str().map(str::to_owned)));
    let id = match params.get("invoice_id").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(id) => id.to_owned(),
        None => from_body
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| Refusal::bad_request("Parameter invoice_id wajib diisi"))?,
    };
    let mut store = lock(&super::emulator(&shared).store);
    let invoice = store.invoice(id.trim(), shared.now()).ok_or_else(|| Refusal::not_found(INVOICE_NOT_FOUND))?;
    if invoice.state != PaymentState::Pending {
        // The document's own message, for a paid invoice, and the same for an expired one.
        let message = format!("Invoice tidak bisa dibatalkan, status saat ini: {}", invoice.state.as_str());
        return Err(Refusal::bad_request(message));
    }
    invoice.cancel(shared.now(), Cause::Api);
    tracing::info!(reference = %invoice.id, "invoice cancelled");
    Ok(ok(json!({
        "success": true,
        "invoice_id": invoice.id,
        "status": "expired",
        "message": "Invoice berhasil dibatalkan",
    })))
}

/// `POST /api/v1/withdraw/dana`, JSON `{"amount","accountNumber","accountName"}`: takes amount
/// and fee from the balance at once; the withdrawal waits, pending, for the admin.
pub(super) async fn withdraw_dana(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Refusal> {
    let bad = |message: &str| Refusal::bad_request(message.to_owned());
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return Err(bad(
            "Body request harus berupa JSON dengan format: {\"amount\", \"accountNumber\", \"accountName\"}",
        ));
    };
    let amount = match fields.get("amount") {
        None | Some(Value::Null) => return Err(bad("Field amount wajib diisi")),
        Some(value) => {
            value.as_u64().filter(|n| *n > 0).ok_or_else(|| bad("Amount harus berupa angka bulat lebih dari 0"))?
        }
    };
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let number = text("accountNumber").ok_or_else(|| bad("Field accountNumber wajib diisi"))?;
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("accountNumber hanya boleh berisi angka"));
    }
    let name = text("accountName").ok_or_else(|| bad("Field accountName wajib diisi"))?;
    let now = shared.now();
    let mut store = lock(&super::emulator(&shared).store);
    let withdrawal = store.withdraw(amount, number, name, now).map_err(bad)?.clone();
    let new_balance = store.balance;
    tracing::info!(reference = %withdrawal.id, amount, "withdrawal requested");
    Ok(ok(json!({
        "success": true,
        "message": "Permintaan penarikan berhasil diajukan",
        "withdraw_id": withdrawal.id,
        "amount": withdrawal.amount,
        "fee": withdrawal.fee,
        "total_deduct": withdrawal.amount + withdrawal.fee,
        "new_balance": new_balance,
        "status": withdrawal.state.as_str(),
        "created_at": super::store::utc_millis(withdrawal.created_at),
    })))
}

/// `GET /api/v1/withdraw/status?withdraw_id=`.
pub(super) async fn withdraw_status(State(shared): State<Arc<Shared>>, query: Params) -> Result<Response, Refusal> {
    let params = params(query)?;
    let id = required(&params, "withdraw_id")?;
    let store = lock(&super::emulator(&shared).store);
    let withdrawal = store.withdrawal(id).ok_or_else(|| Refusal::not_found("Withdraw tidak ditemukan"))?;
    let mut view = withdrawal.view();
    if let Value::Object(map) = &mut view {
        map.insert("success".to_owned(), Value::Bool(true));
    }
    Ok(ok(view))
}

/// `GET /api/v1/withdraw/history[?page=&limit=&status=]`: newest first.
pub(super) async fn withdraw_history(State(shared): State<Arc<Shared>>, query: Params) -> Result<Response, Refusal> {
    let params = params(query)?;
    let number = |name: &str, default: u64| match params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(text) => positive(text)
            .ok_or_else(|| Refusal::bad_request(format!("Parameter {name} harus berupa angka lebih dari 0"))),
    };
    let page = number("page", 1)?;
    let limit = number("limit", super::DEFAULT_HISTORY_LIMIT)?.min(super::MAX_HISTORY_LIMIT);
    let status = match params.get("status").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => None,
        Some(word) => Some(
            WithdrawalState::parse(word)
                .ok_or_else(|| Refusal::bad_request("Status tidak valid, gunakan pending, success atau rejected"))?,
        ),
    };
    let store = lock(&super::emulator(&shared).store);
    let all = store.history(status);
    let total = all.len() as u64;
    let skip = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX);
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    let data: Vec<Value> = all.iter().skip(skip).take(take).map(|w| w.view()).collect();
    Ok(ok(json!({
        "success": true,
        "data": data,
        "pagination": { "page": page, "limit": limit, "total": total, "total_pages": total.div_ceil(limit) },
    })))
}

/// `GET /invoice/{id}/qr.svg`: the image `qris_image` points at. Not a scannable code (the
/// sandbox takes no real payment): a card with the invoice id and the total, so that a page
/// showing it has something to show.
pub(super) async fn qr_image(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut store = lock(&super::emulator(&shared).store);
    let Some(invoice) = store.invoice(&id, shared.now()) else {
        return error(StatusCode::NOT_FOUND, INVOICE_NOT_FOUND);
    };
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="260" height="260" viewBox="0 0 260 260"><rect width="260" height="260" fill="#fff" stroke="#000" stroke-width="4"/><text x="130" y="90" font-family="monospace" font-size="22" text-anchor="middle">QRIS SANDBOX</text><text x="130" y="130" font-family="monospace" font-size="11" text-anchor="middle">{}</text><text x="130" y="170" font-family="monospace" font-size="18" text-anchor="middle">Rp {}</text><text x="130" y="205" font-family="monospace" font-size="14" text-anchor="middle">{}</text></svg>"##,
        invoice.id,
        invoice.amount + invoice.fee,
        invoice.state.as_str()
    );
    ([(CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

const INVOICE_NOT_FOUND: &str = "Invoice tidak ditemukan";
