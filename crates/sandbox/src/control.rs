//! The control API, under `/_sandbox` on the same port as the gateways, so that a sandbox served in
//! another process (`gerbang sandbox serve`) can be driven (`gerbang sandbox pay cuan10pay REF`):
//!
//! | route | answer |
//! |---|---|
//! | `POST /_sandbox/{provider}/payments/{reference}/pay` | 200 `{"provider","reference","status":"paid"}`; 404 unknown; 409 not pending |
//! | `POST /_sandbox/{provider}/payments/{reference}/expire` | the same, `"status":"expired"` |
//! | `POST /_sandbox/{provider}/payments/{reference}/fail` | the same, `"status":"failed"` (Cash In); 409 where payments cannot fail |
//! | `GET /_sandbox/deliveries` | every webhook attempt so far, a JSON list of [`Delivery`](crate::Delivery) |
//! | `GET /_sandbox/health` | `{"status":"ok","emulated":["cuan10pay","cashin","qris","crypto-invoice","ciputra"]}` |
//!
//! Errors are `{"error": "…"}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gerbang_core::ProviderId;
use serde_json::json;

use crate::state::Shared;
use crate::{PaymentState, SandboxError, cashin, ciputra, crypto_invoice, cuan10pay, qris};

/// The gateways the sandbox emulates today.
pub(crate) const EMULATED: &[ProviderId] = &ProviderId::ALL;

/// Moves a pending payment of `provider` to `target` and sends that gateway's webhook. The one
/// place that knows which module handles which gateway.
pub(crate) fn settle(
    shared: &Arc<Shared>,
    provider: ProviderId,
    reference: &str,
    target: PaymentState,
) -> Result<PaymentState, SandboxError> {
    match provider {
        ProviderId::Cuan10pay => cuan10pay::settle(shared, reference, target),
        ProviderId::CashIn => cashin::settle(shared, reference, target),
        ProviderId::Qris => qris::settle(shared, reference, target),
        ProviderId::CryptoInvoice => crypto_invoice::settle(shared, reference, target),
        ProviderId::Ciputra => ciputra::settle(shared, reference, target),
        other => Err(SandboxError::NotEmulated { provider: other }),
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let common = Router::new()
        .route("/health", get(health))
        .route("/deliveries", get(deliveries))
        .route("/{provider}/payments/{reference}/pay", post(pay))
        .route("/{provider}/payments/{reference}/expire", post(expire))
        .route("/{provider}/payments/{reference}/fail", post(fail));
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

async fn pay(State(shared): State<Arc<Shared>>, Path((provider, reference)): Path<(String, String)>) -> Response {
    control(&shared, &provider, &reference, PaymentState::Paid)
}

async fn expire(State(shared): State<Arc<Shared>>, Path((provider, reference)): Path<(String, String)>) -> Response {
    control(&shared, &provider, &reference, PaymentState::Expired)
}

async fn fail(State(shared): State<Arc<Shared>>, Path((provider, reference)): Path<(String, String)>) -> Response {
    control(&shared, &provider, &reference, PaymentState::Failed)
}

fn control(shared: &Arc<Shared>, provider: &str, reference: &str, target: PaymentState) -> Response {
    let Ok(provider) = provider.parse::<ProviderId>() else {
        let message =
            format!("unknown provider {provider:?}; expected one of cuan10pay, cashin, qris, crypto-invoice, ciputra");
        return refusal(StatusCode::NOT_FOUND, message);
    };
    match settle(shared, provider, reference, target) {
        Ok(status) => Json(json!({ "provider": provider, "reference": reference, "status": status })).into_response(),
        Err(e @ (SandboxError::NotPending { .. } | SandboxError::UnsupportedTransition { .. })) => {
            refusal(StatusCode::CONFLICT, e.to_string())
        }
        Err(e) => refusal(StatusCode::NOT_FOUND, e.to_string()),
    }
}

fn refusal(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
