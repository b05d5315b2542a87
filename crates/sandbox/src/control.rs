//! The control API, under `/_sandbox` on the same port as the gateways, so that a sandbox served in
//! another process (`gerbang sandbox serve`) can be driven (`gerbang sandbox pay cuan10pay REF`):
//!
//! | route | answer |
//! |---|---|
//! | `POST /_sandbox/{provider}/payments/{reference}/pay[?copies=&spacing_ms=&delay_ms=&drop=]` | 200 `{"provider","reference","status":"paid"}`; 404 unknown; 409 not pending; 400 a bad plan |
//! | `POST /_sandbox/{provider}/payments/{reference}/expire[?plan]` | the same, `"status":"expired"` |
//! | `POST /_sandbox/{provider}/payments/{reference}/fail[?plan]` | the same, `"status":"failed"` (Cash In); 409 where payments cannot fail |
//! | `POST /_sandbox/{provider}/payments/{reference}/webhook[?status=][&plan]` | sends the webhook of state `status` (`pending`, `paid`, `expired`, `cancelled`, `failed`; default the payment's current state), made now, without moving the payment: 200 `{"provider","reference","status"}`; 404 unknown; 409 no webhook for that state, or no URL to send it to |
//! | `POST /_sandbox/{provider}/payments/{reference}/cancel` | cancels it as the merchant's cancel call would (QRIS: it then reads `"status":"expired"`; Ciputra: `"cancelled"`); no webhook; 409 where the gateway has no cancel |
//! | `GET /_sandbox/payments[?gateway=&state=]` | every payment of every gateway, newest first, with its history: a JSON list of [`PaymentSummary`](crate::PaymentSummary); 400 an unknown gateway or state |
//! | `GET /_sandbox/payments/{provider}/{reference}` | one [`PaymentSummary`](crate::PaymentSummary), with `deliveries`: every webhook attempt of it; 404 unknown |
//! | `GET /_sandbox/clock` | `{"now","offset_seconds"}`: the sandbox's time, and how far time travel moved it |
//! | `POST /_sandbox/clock/advance?by=2h` | time travel ([`Sandbox::advance_clock`](crate::Sandbox::advance_clock)): `{"now","offset_seconds","expired":[{"provider","reference"}]}`; 400 a bad or too long `by` |
//! | `POST /_sandbox/faults`, JSON [`Fault`](crate::Fault) `{gateway, operation, action, status?, body?, delay_ms?, retry_after?, times?}` | 201 the fault held (`id`, `hits`, `remaining`); 400 naming every problem |
//! | `GET /_sandbox/faults` | the faults held, oldest first |
//! | `DELETE /_sandbox/faults`, `DELETE /_sandbox/faults/{id}` | `{"cleared": N}`; 404 an unknown id |
//! | `GET /_sandbox/deliveries` | every webhook attempt so far, a JSON list of [`Delivery`](crate::Delivery) |
//! | `GET /_sandbox/version` | `{"version": "…"}`: changes whenever anything the dashboard shows changes (what its script polls) |
//! | `GET /_sandbox/keys` | every gateway's test credentials as this sandbox checks and signs with them: `{"cuan10pay":{"api_key","private_key"},"cashin":{"client_id","secret_key","public_key"},"qris":{"api_key"},"crypto-invoice":{"public_key","private_key"},"ciputra":{"api_key","api_secret"}}`; Cash In's `public_key` (PEM) is made per process, so a verifier of another process must take it from here (what `gerbang sandbox env` does) |
//! | `GET /_sandbox/health` | `{"status":"ok","emulated":["cuan10pay","cashin","qris","crypto-invoice","ciputra"]}` |
//!
//! Every route is behind one layer (see `guard.rs`): a request must name a host the sandbox serves
//! (`localhost`, an IP address, the host of the public URL; else 421 `{"error"}` naming them); a
//! change (any method but GET, HEAD, OPTIONS) that a browser says comes from another site
//! (`Sec-Fetch-Site: cross-site`, `same-site` from another origin, or an `Origin` not the
//! sandbox's own) is a 403; and a body that is not `Content-Type: application/json` is a 415
//! (`POST /_sandbox/faults` requires it). Clients that send no `Origin` (curl, the SDK, the
//! `gerbang` CLI) are obeyed.
//!
//! `{reference}` is any of the payment's ids, tried in this order: the sandbox's key
//! ([`PaymentSummary::reference`](crate::PaymentSummary::reference)), the gateway's id for it,
//! or the merchant's reference (QRIS invoices have none). A merchant reference several payments
//! carry is a 409 listing their keys; an unknown id, a 404 naming the ids the gateway takes.
//! Answers name the payment by its key.
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

use crate::clock;
use crate::emulated::{self, EmulatedPayments, Settle, Webhooks};
use crate::payments::{self, Cause, Filter};
use crate::state::Shared;
use crate::{DeliveryPlan, PaymentState, SandboxError, dashboard, faults, webhook};

/// What a payment control did: which payment it found by the id it was given, and the state
/// it moved it to (or whose webhook it sent).
#[derive(Debug, Clone)]
pub(crate) struct Controlled {
    /// The payment's sandbox key ([`PaymentSummary::reference`](crate::PaymentSummary::reference)),
    /// whichever of its ids was given.
    pub(crate) reference: String,
    pub(crate) state: PaymentState,
}

/// The payments of `provider`'s gateway and the sandbox key of the payment `id` names
/// ([`payments::resolve`]), or of what else the gateway's controls move
/// ([`EmulatedPayments::controls_other`]: Ciputra's registrations, not payments).
fn key(
    shared: &Shared,
    provider: ProviderId,
    id: &str,
) -> Result<(&'static dyn EmulatedPayments, String), SandboxError> {
    let store = emulated::of(provider).ok_or(SandboxError::NotEmulated { provider })?.payments();
    match payments::resolve(shared, provider, id) {
        Ok(payment) => Ok((store, payment.reference)),
        Err(SandboxError::UnknownPayment { .. }) if store.controls_other(shared, id.trim()) => {
            Ok((store, id.trim().to_owned()))
        }
        Err(e) => Err(e),
    }
}

/// Moves the pending payment of `provider` that `id` names (any of its ids: see
/// [`payments::resolve`]) to `target` and delivers that gateway's webhook per `plan`, through
/// its [`EmulatedPayments::settle`].
pub(crate) fn settle(
    shared: &Arc<Shared>,
    provider: ProviderId,
    id: &str,
    target: PaymentState,
    plan: DeliveryPlan,
) -> Result<Controlled, SandboxError> {
    let (store, reference) = key(shared, provider, id)?;
    let state = store.settle(shared, Settle { reference: &reference, target, plan, cause: Cause::Control })?;
    Ok(Controlled { reference, state })
}

/// Delivers, per `plan`, the webhook the payment `id` names (as [`settle`] finds it) has (or
/// would have) in `state`, its current state when `None`, without moving it.
pub(crate) fn send_webhook(
    shared: &Arc<Shared>,
    provider: ProviderId,
    id: &str,
    state: Option<PaymentState>,
    plan: DeliveryPlan,
) -> Result<Controlled, SandboxError> {
    let (store, reference) = key(shared, provider, id)?;
    let (state, webhook) = store.webhook_in(shared, &reference, state)?;
    if !webhook::dispatch(shared, webhook, plan) {
        return Err(SandboxError::NoWebhookUrl { provider, reference });
    }
    Ok(Controlled { reference, state })
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let common = Router::new()
        .route("/health", get(health))
        .route("/keys", get(keys))
        .route("/deliveries", get(deliveries))
        .route("/{provider}/payments/{reference}/pay", post(pay))
        .route("/{provider}/payments/{reference}/expire", post(expire))
        .route("/{provider}/payments/{reference}/fail", post(fail))
        .route("/{provider}/payments/{reference}/cancel", post(cancel))
        .route("/{provider}/payments/{reference}/webhook", post(resend))
        .route("/payments", get(payments))
        .route("/payments/{provider}/{reference}", get(payment))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance_clock));
    // Controls only one gateway has (QRIS withdrawals) are added by its module, the faults' by theirs.
    let common = emulated::all().fold(common, |router, gateway| gateway.control_routes(router));
    dashboard::control_routes(faults::control_routes(common))
        .fallback(|| async {
            refusal(StatusCode::NOT_FOUND, "no such control route; see the gerbang-sandbox docs".into())
        })
        .with_state(shared)
}

async fn health() -> Response {
    Json(json!({ "status": "ok", "emulated": emulated::providers() })).into_response()
}

/// `GET /keys`: the test credentials of every gateway, as this process checks and signs with them.
async fn keys() -> Response {
    let mut every = serde_json::Map::new();
    for gateway in emulated::all() {
        let mut keys = serde_json::Map::new();
        for credential in gateway.credentials() {
            keys.insert(credential.key.to_owned(), json!(credential.value));
        }
        if let Some(published) = gateway.published_key() {
            keys.insert(published.key.to_owned(), json!(published.pem));
        }
        every.insert(gateway.provider().as_str().to_owned(), serde_json::Value::Object(keys));
    }
    let mut response = Json(serde_json::Value::Object(every)).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
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

async fn cancel(State(shared): State<Arc<Shared>>, Path(path): Path<(String, String)>, query: PlanQuery) -> Response {
    control(&shared, path, query, Move::Settle(PaymentState::Cancelled))
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

/// The gateway a path names, or why there is none (a 404).
pub(crate) fn provider(text: &str) -> Result<ProviderId, String> {
    text.parse::<ProviderId>()
        .ok()
        .filter(|p| emulated::of(*p).is_some())
        .ok_or_else(|| format!("unknown provider {text:?}; expected one of {}", emulated::listed()))
}

fn control(shared: &Arc<Shared>, (provider, id): (String, String), query: PlanQuery, action: Move) -> Response {
    let provider = match self::provider(&provider) {
        Ok(provider) => provider,
        Err(message) => return refusal(StatusCode::NOT_FOUND, message),
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
        Move::Settle(target) => settle(shared, provider, &id, target, plan),
        Move::Webhook => {
            let state = match query.get("status").map(|s| s.parse::<PaymentState>()).transpose() {
                Ok(state) => state,
                Err(message) => return refusal(StatusCode::BAD_REQUEST, format!("status: {message}")),
            };
            send_webhook(shared, provider, &id, state, plan)
        }
    };
    match result {
        Ok(Controlled { reference, state }) => {
            let webhook = where_the_webhook_goes(shared, provider, plan);
            Json(json!({ "provider": provider, "reference": reference, "status": state, "webhook": webhook }))
                .into_response()
        }
        Err(
            e @ (SandboxError::NotPending { .. }
            | SandboxError::AmbiguousReference { .. }
            | SandboxError::UnsupportedTransition { .. }
            | SandboxError::NoWebhook { .. }
            | SandboxError::NoWebhookUrl { .. }),
        ) => refusal(StatusCode::CONFLICT, e.to_string()),
        Err(e) => refusal(StatusCode::NOT_FOUND, e.to_string()),
    }
}

/// Where a control's webhook went, for the person who pressed it
/// ([`EmulatedGateway::webhooks`](emulated::EmulatedGateway::webhooks)): the URLs of a gateway
/// whose webhook URL is set in its dashboard (Cuan10pay, Cash In), or that none is set; the
/// callback URL the payment was created with; or that the gateway sends none (QRIS). Every attempt and its answer are in `GET /_sandbox/deliveries` (and on the dashboard).
fn where_the_webhook_goes(shared: &Arc<Shared>, provider: ProviderId, plan: DeliveryPlan) -> serde_json::Value {
    if plan.drop {
        return json!("dropped by the delivery plan: not sent");
    }
    match emulated::of(provider).map(|gateway| gateway.webhooks()) {
        Some(Webhooks::None { answer, .. }) => json!(answer),
        Some(Webhooks::Configured) => match shared.settings.webhook_urls.get(&provider) {
            Some(urls) if !urls.all().is_empty() => json!({ "to": urls.all() }),
            _ => json!(format!(
                "none sent: no webhook URL is set for {provider} (gerbang sandbox serve --webhook-url {provider}=URL)"
            )),
        },
        Some(Webhooks::WithPayment) | None => json!("to the callback_url the payment was created with, if it had one"),
    }
}

/// `GET /payments[?gateway=&state=]`: every payment, newest first.
async fn payments(State(shared): State<Arc<Shared>>, query: PlanQuery) -> Response {
    let Ok(Query(query)) = query else {
        return refusal(StatusCode::BAD_REQUEST, "the query string cannot be read".into());
    };
    match filter(&query, &[]) {
        Ok(filter) => Json(payments::all(&shared, &filter)).into_response(),
        Err(message) => refusal(StatusCode::BAD_REQUEST, message),
    }
}

/// The filter of a list's query: `gateway` and `state`, each optional (an empty one is no
/// filter, as a form's "any" sends it); any other name in `allowed` is left to the caller.
pub(crate) fn filter(query: &HashMap<String, String>, allowed: &[&str]) -> Result<Filter, String> {
    let known = |name: &str| matches!(name, "gateway" | "state") || allowed.contains(&name);
    if let Some(unknown) = query.keys().find(|k| !known(k)) {
        let mut names = vec!["gateway", "state"];
        names.extend(allowed);
        return Err(format!("unknown query parameter {unknown:?}; expected {}", names.join(", ")));
    }
    let given = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let provider = match given("gateway") {
        None => None,
        Some(text) => Some(
            text.parse::<ProviderId>()
                .ok()
                .filter(|p| emulated::of(*p).is_some())
                .ok_or_else(|| format!("gateway: unknown gateway {text:?}; expected one of {}", emulated::listed()))?,
        ),
    };
    let state = given("state").map(str::parse::<PaymentState>).transpose().map_err(|e| format!("state: {e}"))?;
    Ok(Filter { provider, state })
}

/// `GET /payments/{provider}/{id}`: the payment `id` names (any of its ids: see
/// [`payments::resolve`]), and every webhook attempt of it.
async fn payment(State(shared): State<Arc<Shared>>, Path((provider, id)): Path<(String, String)>) -> Response {
    let provider = match self::provider(&provider) {
        Ok(provider) => provider,
        Err(message) => return refusal(StatusCode::NOT_FOUND, message),
    };
    let payment = match payments::resolve(&shared, provider, &id) {
        Ok(payment) => payment,
        Err(e @ SandboxError::AmbiguousReference { .. }) => return refusal(StatusCode::CONFLICT, e.to_string()),
        Err(e) => return refusal(StatusCode::NOT_FOUND, e.to_string()),
    };
    let deliveries = shared.deliveries.of(provider, &payment.reference);
    let mut body = serde_json::to_value(&payment).unwrap_or_default();
    if let Some(map) = body.as_object_mut() {
        map.insert("deliveries".to_owned(), serde_json::to_value(deliveries).unwrap_or_default());
    }
    Json(body).into_response()
}

/// `GET /clock`: the sandbox's time and how far it has been moved.
async fn clock(State(shared): State<Arc<Shared>>) -> Response {
    Json(clock_view(&shared, None)).into_response()
}

/// `POST /clock/advance?by=2h`: time travel; see [`Sandbox::advance_clock`](crate::Sandbox::advance_clock).
async fn advance_clock(State(shared): State<Arc<Shared>>, query: PlanQuery) -> Response {
    let Ok(Query(query)) = query else {
        return refusal(StatusCode::BAD_REQUEST, "the query string cannot be read".into());
    };
    if let Some(unknown) = query.keys().find(|k| k.as_str() != "by") {
        return refusal(StatusCode::BAD_REQUEST, format!("unknown query parameter {unknown:?}; expected by"));
    }
    let Some(by) = query.get("by") else {
        return refusal(StatusCode::BAD_REQUEST, "by is required: how far to move the clock, such as 2h".into());
    };
    match advance(&shared, by) {
        Ok(expired) => Json(clock_view(&shared, Some(&expired))).into_response(),
        Err(message) => refusal(StatusCode::BAD_REQUEST, message),
    }
}

/// Moves the clock by `by` (`2h`, `30m`, …) and expires what is due: what the control API and
/// the dashboard do.
pub(crate) fn advance(shared: &Arc<Shared>, by: &str) -> Result<Vec<(ProviderId, String)>, String> {
    let by = clock::parse_duration(by).map_err(|e| format!("by: {e}"))?;
    shared.clock.advance(by).map_err(|e| format!("by: {e}"))?;
    tracing::info!(by_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX), "sandbox clock advanced");
    Ok(payments::expire_due(shared))
}

fn clock_view(shared: &Shared, expired: Option<&[(ProviderId, String)]>) -> serde_json::Value {
    let now = shared.now();
    let mut view = json!({
        "now": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "offset_seconds": shared.clock.offset().as_secs(),
    });
    if let (Some(expired), Some(map)) = (expired, view.as_object_mut()) {
        let list: Vec<_> = expired.iter().map(|(p, r)| json!({"provider": p, "reference": r})).collect();
        map.insert("expired".to_owned(), json!(list));
    }
    view
}

fn refusal(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
