//! The control API, under `/_sandbox` on the same port as the gateways, so that a sandbox served in
//! another process (`gerbang sandbox serve`) can be driven (`gerbang sandbox pay cuan10pay REF`):
//!
//! | route | answer |
//! |---|---|
//! | `POST /_sandbox/{provider}/payments/{reference}/pay[?copies=&spacing_ms=&delay_ms=&drop=]` | 200 `{"provider","reference","status":"paid"}`; 404 unknown; 409 not pending; 400 a bad plan |
//! | `POST /_sandbox/{provider}/payments/{reference}/expire[?plan]` | the same, `"status":"expired"` |
//! | `POST /_sandbox/{provider}/payments/{reference}/fail[?plan]` | the same, `"status":"failed"` (Cash In); 409 where payments cannot fail |
//! | `POST /_sandbox/{provider}/payments/{reference}/webhook[?status=][&plan]` | sends the webhook of state `status` (`pending`, `paid`, `expired`, `cancelled`, `failed`; default the payment's current state), made now, without moving the payment: 200 `{"provider","reference","status"}`; 404 unknown; 409 no webhook for that state, or no URL to send it to |
//! | `GET /_sandbox/deliveries` | every webhook attempt so far, a JSON list of [`Delivery`](crate::Delivery) |
//! | `GET /_sandbox/health` | `{"status":"ok","emulated":["cuan10pay","cashin","qris","crypto-invoice","ciputra"]}` |
//!
//! Errors are `{"error": "…"}`.
//!
//! The plan, the same on the four payment controls (see [`DeliveryPlan`]), each parameter
//! optional:
//!
//! | parameter | default | what it does |
//! |---|---|---|
//! | `copies` | 1 | how many times the same webhook is sent (1 to [`MAX_COPIES`](crate::MAX_COPIES)), each copy retried on its own |
//! | `spacing_ms` | 0 | milliseconds between the starts of two copies; 0: all at once, concurrently |
//! | `delay_ms` | 0 | milliseconds before the first copy |
//! | `drop` | false | `true`: nothing is sent, each copy is recorded as dropped |
//!
//! An unknown parameter or a value out of range is a 400 naming it, never ignored.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gerbang_core::ProviderId;
use serde_json::json;

use crate::state::Shared;
use crate::{DeliveryPlan, PaymentState, SandboxError, cashin, ciputra, crypto_invoice, cuan10pay, qris, webhook};

/// The gateways the sandbox emulates today.
pub(crate) const EMULATED: &[ProviderId] = &ProviderId::ALL;

/// Moves a pending payment of `provider` to `target` and delivers that gateway's webhook per
/// `plan`. The one place that knows which module handles which gateway.
pub(crate) fn settle(
    shared: &Arc<Shared>,
    provider: ProviderId,
    reference: &str,
    target: PaymentState,
    plan: DeliveryPlan,
) -> Result<PaymentState, SandboxError> {
    match provider {
        ProviderId::Cuan10pay => cuan10pay::settle(shared, reference, target, plan),
        ProviderId::CashIn => cashin::settle(shared, reference, target, plan),
        ProviderId::Qris => qris::settle(shared, reference, target, plan),
        ProviderId::CryptoInvoice => crypto_invoice::settle(shared, reference, target, plan),
        ProviderId::Ciputra => ciputra::settle(shared, reference, target, plan),
        other => Err(SandboxError::NotEmulated { provider: other }),
    }
}

/// Delivers, per `plan`, the webhook a payment of `provider` has (or would have) in `state`, its
/// current state when `None`, without moving it.
pub(crate) fn send_webhook(
    shared: &Arc<Shared>,
    provider: ProviderId,
    reference: &str,
    state: Option<PaymentState>,
    plan: DeliveryPlan,
) -> Result<PaymentState, SandboxError> {
    let (state, webhook) = match provider {
        ProviderId::Cuan10pay => cuan10pay::webhook_in(shared, reference, state),
        ProviderId::CashIn => cashin::webhook_in(shared, reference, state),
        ProviderId::Qris => qris::webhook_in(shared, reference, state),
        ProviderId::CryptoInvoice => crypto_invoice::webhook_in(shared, reference, state),
        ProviderId::Ciputra => ciputra::webhook_in(shared, reference, state),
        other => Err(SandboxError::NotEmulated { provider: other }),
    }?;
    if !webhook::dispatch(shared, webhook, plan) {
        return Err(SandboxError::NoWebhookUrl { provider, reference: reference.to_owned() });
    }
    Ok(state)
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let common = Router::new()
        .route("/health", get(health))
        .route("/deliveries", get(deliveries))
        .route("/{provider}/payments/{reference}/pay", post(pay))
        .route("/{provider}/payments/{reference}/expire", post(expire))
        .route("/{provider}/payments/{reference}/fail", post(fail))
        .route("/{provider}/payments/{reference}/webhook", post(resend));
    // Controls only one gateway has (QRIS withdrawals) are added by its module.
    qris::control_routes(common)
        .fallback(|| async {
            refusal(StatusCode::NOT_FOUND, "no such control route; see the gerbang-sandbox docs".into())
        })
        .with_state(shared)
}

async fn health() -> Response {
    Json(json!({ "status": "ok", "emulated": EMULATED })).into_response()
}

async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.deliveries.all()).into_response()
}

/// A payment control's query: the delivery plan, and `status` for `/webhook`.
type PlanQuery = Result<Query<HashMap<String, String>>, QueryRejection>;

async fn pay(State(shared): State<Arc<Shared>>, Path(path): Path<(String, String)>, query: PlanQuery) -> Response {
    control(&shared, path, query, Move::Settle(PaymentState::Paid))
}

async fn expire(State(shared): State<Arc<Shared>>, Path(path): Path<(String, String)>, query: PlanQuery) -> Response {
    control(&shared, path, query, Move::Settle(PaymentState::Expired))
}

async fn fail(State(shared): State<Arc<Shared>>, Path(path): Path<(String, String)>, query: PlanQuery) -> Response {
    control(&shared, path, query, Move::Settle(PaymentState::Failed))
}

async fn resend(State(shared): State<Arc<Shared>>, Path(path): Path<(String, String)>, query: PlanQuery) -> Response {
    control(&shared, path, query, Move::Webhook)
}

/// What a payment control does.
#[derive(Debug, Clone, Copy)]
enum Move {
    /// Moves the payment, and sends the webhook of its new state.
    Settle(PaymentState),
    /// Sends the webhook of the state in `?status=` (default: the payment's), moving nothing.
    Webhook,
}

fn control(shared: &Arc<Shared>, (provider, reference): (String, String), query: PlanQuery, action: Move) -> Response {
    let Ok(provider) = provider.parse::<ProviderId>() else {
        let message =
            format!("unknown provider {provider:?}; expected one of cuan10pay, cashin, qris, crypto-invoice, ciputra");
        return refusal(StatusCode::NOT_FOUND, message);
    };
    let Ok(Query(query)) = query else {
        return refusal(StatusCode::BAD_REQUEST, "the query string cannot be read".into());
    };
    let allowed: &[&str] = if matches!(action, Move::Webhook) { &["status"] } else { &[] };
    let plan = match DeliveryPlan::from_query(&query, allowed) {
        Ok(plan) => plan,
        Err(message) => return refusal(StatusCode::BAD_REQUEST, message),
    };
    let result = match action {
        Move::Settle(target) => settle(shared, provider, &reference, target, plan),
        Move::Webhook => {
            let state = match query.get("status").map(|s| s.parse::<PaymentState>()).transpose() {
                Ok(state) => state,
                Err(message) => return refusal(StatusCode::BAD_REQUEST, format!("status: {message}")),
            };
            send_webhook(shared, provider, &reference, state, plan)
        }
    };
    match result {
        Ok(status) => Json(json!({ "provider": provider, "reference": reference, "status": status })).into_response(),
        Err(
            e @ (SandboxError::NotPending { .. }
            | SandboxError::UnsupportedTransition { .. }
            | SandboxError::NoWebhook { .. }
            | SandboxError::NoWebhookUrl { .. }),
        ) => refusal(StatusCode::CONFLICT, e.to_string()),
        Err(e) => refusal(StatusCode::NOT_FOUND, e.to_string()),
    }
}

fn refusal(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
