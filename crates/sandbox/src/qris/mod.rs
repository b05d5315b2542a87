//! The QRIS invoice gateway, emulated from its Indonesian document
//! (`seeds/002_70371d71cc9c4025.txt`, distilled in `PROVIDERS.md` §3).
//!
//! Served under `/qris`: a client's base URL is `{sandbox}/qris` (see
//! [`SandboxHandle::base_url`](crate::SandboxHandle::base_url)), so that the documented paths
//! append as written.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /api/v1/balance` | `{"balance": N}` |
//! | `GET /api/v1/invoice/create?amount=` | a pending invoice, expiring after [`INVOICE_LIFETIME`] |
//! | `GET /api/v1/invoice/status?invoice_id=` | the invoice now (a pending one past `expired_at` reads `expired`) |
//! | `POST /api/v1/invoice/cancel` (`invoice_id` in the query or a JSON body) | a pending invoice becomes `expired` |
//! | `POST /api/v1/withdraw/dana`, JSON `{"amount","accountNumber","accountName"}` | takes amount + [`WITHDRAW_FEE`] from the balance; pending |
//! | `GET /api/v1/withdraw/status?withdraw_id=` | the withdrawal now |
//! | `GET /api/v1/withdraw/history[?page=&limit=&status=]` | newest first, with `pagination` |
//! | `GET /invoice/{id}/qr.svg` | the image `qris_image` points at (a card, not a scannable code) |
//!
//! Every `/api/v1` call must carry `apikey` = [`API_KEY`] in its query string; otherwise 401
//! `{"error":"API key tidak valid"}` (or `… diperlukan` when absent). Errors answer in the
//! document's shape, `{"error": "…"}`, in Indonesian: 400 for bad input (the document's
//! `Invoice tidak bisa dibatalkan, status saat ini: paid` included), 404 for an unknown id.
//!
//! State: the balance starts at [`DEFAULT_BALANCE`] (or
//! [`SandboxBuilder::qris_balance`](crate::SandboxBuilder::qris_balance)). Invoices move from
//! `pending` to `paid` (crediting their amount) or `expired` through
//! [`Sandbox::pay`](crate::Sandbox::pay) / [`Sandbox::expire`](crate::Sandbox::expire) or the
//! control API, to `expired` by the cancel call or by time; they cannot fail
//! ([`crate::SandboxError::UnsupportedTransition`]). Withdrawals move from `pending` to `success` or
//! `rejected` (refunding amount and fee) through
//! [`Sandbox::qris_approve_withdrawal`](crate::Sandbox::qris_approve_withdrawal) /
//! [`qris_reject_withdrawal`](crate::Sandbox::qris_reject_withdrawal), or the control
//! routes:
//!
//! | control route | answer |
//! |---|---|
//! | `POST /_sandbox/qris/withdrawals/{withdraw_id}/approve` | 200 `{"provider":"qris","withdraw_id","status":"success"}`; 404 `{"error"}` unknown; 409 `{"error","status"}` not pending |
//! | `POST /_sandbox/qris/withdrawals/{withdraw_id}/reject[?note=]` | the same with `"status":"rejected"`; the note becomes `admin_note` |
//!
//! The gateway sends no webhook (the document describes none), so none is sent.

mod api;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gerbang_core::ProviderId;
use serde_json::{Value, json};

use crate::PaymentState;
use crate::emulated::{
    Credential, EmulatedGateway, EmulatedPayments, GatewaySettings, GatewayStates, Operation, Webhooks, settings_of,
};
use crate::state::Shared;
use crate::webhook::WebhookRetry;

pub use store::{WithdrawalError, WithdrawalState};

/// The sandbox's API key for the QRIS gateway. A published test value: it is accepted by this
/// sandbox and nowhere else, so it is safe in examples, tests and source code.
pub const API_KEY: &str = "sandbox-qris-api-key";

/// The balance the sandbox starts with, in rupiah, unless
/// [`SandboxBuilder::qris_balance`](crate::SandboxBuilder::qris_balance) says otherwise: the
/// document's withdrawal example (`total_deduct` 101 000 leaving `new_balance` 899 000) starts
/// from 1 000 000.
pub const DEFAULT_BALANCE: u64 = 1_000_000;

/// **Decision**: how long an invoice stays payable. The document's status example was created at
/// `11:30:00` and expires at `12:00:00`: 30 minutes.
pub const INVOICE_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// **Decision**: the fee of a withdrawal, flat, in rupiah: the document's example charges 1 000
/// on 100 000 and gives no rule.
pub const WITHDRAW_FEE: u64 = 1_000;

/// **Decision**: the fee of an invoice, charged on top (`total` = `amount` + `fee`): 0.7 % rounded
/// up, the usual QRIS merchant discount rate. The document's example (123 on 10 000) follows no
/// rule it states.
pub fn invoice_fee(amount: u64) -> u64 {
    amount.saturating_mul(7).div_ceil(1000)
}

/// The history's page size when the query gives none (the document's example: `limit` 10).
const DEFAULT_HISTORY_LIMIT: u64 = 10;
/// **Decision**: the largest page the history serves; a larger `limit` is served as this.
const MAX_HISTORY_LIMIT: u64 = 100;

/// Where the emulator is mounted in the sandbox.
pub(crate) const PREFIX: &str = "/qris";

/// The gateway sends no webhook (none is documented): this policy is never used. It stays a
/// one-attempt value because every gateway module declares one.
const WEBHOOK_RETRY: WebhookRetry = WebhookRetry { attempts: 1, interval: Duration::from_secs(1) };

/// This gateway's settings, from the [`SandboxBuilder`](crate::SandboxBuilder).
#[derive(Debug, Clone)]
struct Settings {
    /// The starting balance, in rupiah.
    balance: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self { balance: DEFAULT_BALANCE }
    }
}

impl crate::SandboxBuilder {
    /// The QRIS gateway's starting balance, in rupiah (default [`DEFAULT_BALANCE`]).
    pub fn qris_balance(mut self, rupiah: u64) -> Self {
        self.gateway_settings::<Settings>().balance = rupiah;
        self
    }
}

/// This gateway's state inside the sandbox.
#[derive(Debug)]
pub(crate) struct Emulator {
    store: Mutex<store::Store>,
}

impl Emulator {
    fn new(settings: Settings, max_payments: usize) -> Self {
        Self { store: Mutex::new(store::Store::new(settings.balance, max_payments)) }
    }
}

/// This gateway's state in `shared`.
fn emulator(shared: &Shared) -> &Emulator {
    shared.gateway_state::<Emulator>()
}

/// The QRIS invoice gateway, as the sandbox's shared modules see it.
#[derive(Debug)]
pub(crate) struct Gateway;

impl EmulatedGateway for Gateway {
    fn provider(&self) -> ProviderId {
        ProviderId::Qris
    }

    fn name(&self) -> &'static str {
        "QRIS"
    }

    fn prefix(&self) -> &'static str {
        PREFIX
    }

    fn start(&self, settings: &GatewaySettings, max_payments: usize, states: &mut GatewayStates) {
        states.insert(Emulator::new(settings_of(settings), max_payments));
    }

    fn router(&self, shared: Arc<Shared>) -> Router {
        router(shared)
    }

    /// The withdrawals' approve and reject.
    fn control_routes(&self, router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
        control_routes(router)
    }

    /// A cancelled invoice reads `expired`, as the gateway's cancel call leaves it.
    fn moves(&self) -> &'static [PaymentState] {
        &[PaymentState::Paid, PaymentState::Expired, PaymentState::Cancelled]
    }

    fn payments(&self) -> &'static dyn EmulatedPayments {
        &store::Payments
    }

    /// None: the document describes no webhook; invoices are polled.
    fn webhooks(&self) -> Webhooks {
        Webhooks::None {
            answer: "QRIS sends no webhook: poll the status",
            page: "QRIS invoices have none: they are polled.",
        }
    }

    fn webhook_retry(&self) -> WebhookRetry {
        WEBHOOK_RETRY
    }

    fn operations(&self) -> &'static [Operation] {
        const OPERATIONS: &[Operation] = &[
            Operation::new("create", "GET", "/api/v1/invoice/create"),
            Operation::new("status", "GET", "/api/v1/invoice/status"),
            Operation::new("cancel", "POST", "/api/v1/invoice/cancel"),
            Operation::new("balance", "GET", "/api/v1/balance"),
            Operation::new("withdraw", "POST", "/api/v1/withdraw/dana"),
            Operation::new("withdraw_status", "GET", "/api/v1/withdraw/status"),
            Operation::new("withdraw_history", "GET", "/api/v1/withdraw/history"),
        ];
        OPERATIONS
    }

    /// The document's shape, as [`error`] writes it.
    fn error_body(&self, _status: StatusCode, message: &str) -> Value {
        json!({ "error": message })
    }

    fn credentials(&self) -> &'static [Credential] {
        &[Credential { key: "api_key", label: "API key", variable: Some("GERBANG_QRIS_API_KEY"), value: API_KEY }]
    }

    fn accepted_ids(&self) -> &'static str {
        "invoice id"
    }

    // Its create takes the amount only (`GET /api/v1/invoice/create?amount=`,
    // `seeds/002_70371d71cc9c4025.txt`): the merchant reference never reaches the gateway.
    fn unknown_hint(&self) -> &'static str {
        "; QRIS invoices keep no merchant reference: pass the invoice_id, which create printed as provider_reference"
    }

    fn webhook_states_hint(&self) -> &'static str {
        " (QRIS invoices send no webhook at all: poll their status)"
    }
}

/// The routes, relative to [`PREFIX`].
fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/api/v1/balance", get(api::balance))
        .route("/api/v1/invoice/create", get(api::create_invoice))
        .route("/api/v1/invoice/status", get(api::invoice_status))
        .route("/api/v1/invoice/cancel", post(api::cancel_invoice))
        .route("/api/v1/withdraw/dana", post(api::withdraw_dana))
        .route("/api/v1/withdraw/status", get(api::withdraw_status))
        .route("/api/v1/withdraw/history", get(api::withdraw_history))
        // `route_layer`: an unknown path is a plain 404, before the key is looked at.
        .route_layer(from_fn(authenticate));
    api.route("/invoice/{invoice_id}/qr.svg", get(api::qr_image))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Endpoint tidak ditemukan") })
        .method_not_allowed_fallback(|| async { error(StatusCode::METHOD_NOT_ALLOWED, "Metode tidak diizinkan") })
        .with_state(shared)
}

/// Every `/api/v1` call carries `apikey` in its query string (the document's example:
/// `?invoice_id={invoice_id}&apikey={api_key}`).
async fn authenticate(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    request: Request,
    next: Next,
) -> Response {
    let key = query.ok().and_then(|Query(q)| q.get("apikey").cloned()).filter(|k| !k.is_empty());
    match key {
        None => error(StatusCode::UNAUTHORIZED, "API key diperlukan"),
        Some(key) if !gerbang_signing::ct_eq(key.as_bytes(), API_KEY.as_bytes()) => {
            tracing::info!("refused the API key");
            error(StatusCode::UNAUTHORIZED, "API key tidak valid")
        }
        Some(_) => next.run(request).await,
    }
}

/// A 200 answer.
fn ok(body: Value) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

/// An error in the document's shape, `{"error": "…"}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Adds the withdrawal controls to the control router (mounted under `/_sandbox`).
fn control_routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router
        .route("/qris/withdrawals/{withdraw_id}/approve", post(control_approve))
        .route("/qris/withdrawals/{withdraw_id}/reject", post(control_reject))
}

/// The admin's note on a rejection when none is given.
const DEFAULT_REJECT_NOTE: &str = "Ditolak oleh admin";

async fn control_approve(State(shared): State<Arc<Shared>>, Path(withdraw_id): Path<String>) -> Response {
    control_answer(&withdraw_id, store::approve(&shared, &withdraw_id))
}

async fn control_reject(
    State(shared): State<Arc<Shared>>,
    Path(withdraw_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let note = query.get("note").filter(|n| !n.trim().is_empty()).cloned();
    let note = note.unwrap_or_else(|| DEFAULT_REJECT_NOTE.to_owned());
    control_answer(&withdraw_id, store::reject(&shared, &withdraw_id, note))
}

fn control_answer(withdraw_id: &str, outcome: Result<WithdrawalState, WithdrawalError>) -> Response {
    match outcome {
        Ok(status) => ok(json!({ "provider": ProviderId::Qris, "withdraw_id": withdraw_id, "status": status })),
        Err(e @ WithdrawalError::NotPending { status, .. }) => {
            (StatusCode::CONFLICT, Json(json!({ "error": e.to_string(), "status": status }))).into_response()
        }
        Err(e) => (StatusCode::NOT_FOUND, Json(json!({ "error": e.to_string() }))).into_response(),
    }
}

impl crate::Sandbox {
    /// Plays the gateway's admin approving a pending QRIS withdrawal: it becomes `success`.
    ///
    /// # Errors
    ///
    /// [`WithdrawalError::Unknown`] or [`WithdrawalError::NotPending`].
    pub async fn qris_approve_withdrawal(&self, withdraw_id: &str) -> Result<WithdrawalState, WithdrawalError> {
        store::approve(self.shared(), withdraw_id)
    }

    /// Plays the gateway's admin rejecting a pending QRIS withdrawal: it becomes `rejected`, its
    /// amount and fee go back to the balance, and `note` (default `Ditolak oleh admin`) becomes
    /// its `admin_note`.
    ///
    /// # Errors
    ///
    /// As [`qris_approve_withdrawal`](Self::qris_approve_withdrawal).
    pub async fn qris_reject_withdrawal(
        &self,
        withdraw_id: &str,
        note: Option<&str>,
    ) -> Result<WithdrawalState, WithdrawalError> {
        let note = note.filter(|n| !n.trim().is_empty()).unwrap_or(DEFAULT_REJECT_NOTE);
        store::reject(self.shared(), withdraw_id, note.to_owned())
    }
}
