//! Cuan10pay, emulated from its document (`seeds/000_b443c682d4d25840.txt`, distilled in
//! `PROVIDERS.md` §1).
//!
//! Served under `/cuan10pay`: a client's base URL is `{sandbox}/cuan10pay` (see
//! [`SandboxHandle::base_url`](crate::SandboxHandle::base_url)), so that the documented paths
//! (`/v1/deposit_create`, …) append as written and are what the request signature covers.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /v1/invoice_status?ref=` | the deposit with that id (the document does not tell invoices from deposits) |
//! | `POST /v1/deposit_create` | validates and creates a pending deposit |
//! | `GET /v1/deposit_status?ref=` | the deposit's current record |
//! | `GET /v1/ppob_products[?operator=]`, `POST /v1/ppob_order` | phone credit and data packages |
//! | `GET /v1/smm_services[?category=]`, `POST /v1/smm_order` | social-media services |
//! | `GET /v1/voucher_products[?game=]`, `POST /v1/voucher_order` | game vouchers |
//! | `GET /checkout/{id}`, `GET /pay.php?ref=` | the pages `checkout_url` and `link_url` point at |
//!
//! Every `/v1` call must carry `X-API-KEY` = [`API_KEY`], `X-TIMESTAMP` (Unix seconds, within
//! [`TIMESTAMP_TOLERANCE_SECONDS`] of the sandbox clock) and `X-SIGNATURE` = lowercase hex
//! HMAC-SHA256([`PRIVATE_KEY`], timestamp + METHOD + path and query + body), checked on the raw
//! bytes received. Errors answer in Cuan10pay's shape, `{"status":"error","message":"…"}`.
//!
//! Deposits move from `pending` to `paid` or `expired` only through
//! [`Sandbox::pay`](crate::Sandbox::pay) / [`Sandbox::expire`](crate::Sandbox::expire) (or the
//! control API, or the buttons on the checkout page); each move sends the webhook to the URL
//! configured with [`SandboxBuilder::webhook_url`](crate::SandboxBuilder::webhook_url) (or the
//! URLs, in turn), as the real gateway sends it to the URL set in its dashboard. A deposit has a
//! webhook for `PENDING`, `PAID` and `EXPIRED`: any of them can be sent again, or out of order,
//! with [`Sandbox::send_webhook`](crate::Sandbox::send_webhook).

mod auth;
mod catalog;
mod deposits;
mod fields;
mod orders;
mod pages;
mod store;

use std::sync::Arc;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gerbang_core::ProviderId;
use serde::Serialize;
use serde_json::json;

use crate::PaymentState;
use crate::emulated::{
    Credential, EmulatedGateway, EmulatedPayments, GatewaySettings, GatewayStates, Operation, Webhooks, settings_of,
};
use crate::rate_limit::RateLimiter;
use crate::state::Shared;
use crate::webhook::WebhookRetry;

/// The sandbox's API key for Cuan10pay. A published test value: it is accepted by this sandbox
/// and nowhere else, so it is safe in examples, tests and source code.
pub const API_KEY: &str = "sandbox-cuan10pay-api-key";

/// The sandbox's private (signing) key for Cuan10pay. A published test value, like [`API_KEY`]:
/// requests must be signed with it, and the sandbox signs its webhooks with it.
pub const PRIVATE_KEY: &str = "sandbox-cuan10pay-private-key";

/// **Decision**: how far `X-TIMESTAMP` may be from the sandbox clock, either way, in seconds.
/// The document (`seeds/000_b443c682d4d25840.txt`) asks for a Unix timestamp but gives no window;
/// five minutes is the usual one, and the one the SDK applies to Cuan10pay's webhooks.
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 300;

/// The real gateway's budget: "API requests are limited to 100 requests per hour per IP address"
/// (`seeds/000_b443c682d4d25840.txt`). The sandbox enforces it only when asked, with
/// [`SandboxBuilder::cuan10pay_rate_limit`](crate::SandboxBuilder::cuan10pay_rate_limit)`(Some(DOCUMENTED_RATE_LIMIT))`.
pub const DOCUMENTED_RATE_LIMIT: u32 = 100;

/// **Decision**: how many times the sandbox sends a Cuan10pay webhook that is not answered with a
/// 2xx. Cuan10pay's document (`seeds/000_b443c682d4d25840.txt`) says only "We will send POST
/// requests to your webhook URL on status changes", nothing about retries: this is an assumption,
/// the usual practice of gateways, so that a merchant's handler is tested for idempotency.
pub const WEBHOOK_ATTEMPTS: u32 = 3;

/// **Decision**: the wait between two Cuan10pay webhook attempts; see [`WEBHOOK_ATTEMPTS`].
/// Short, so that a sandbox run shows the retries at once.
pub const WEBHOOK_INTERVAL: Duration = Duration::from_secs(2);

/// Where the emulator is mounted in the sandbox.
pub(crate) const PREFIX: &str = "/cuan10pay";

/// How this gateway's webhooks are retried when the builder does not say.
const WEBHOOK_RETRY: WebhookRetry = WebhookRetry { attempts: WEBHOOK_ATTEMPTS, interval: WEBHOOK_INTERVAL };

/// Cuan10pay's settings, from the [`SandboxBuilder`](crate::SandboxBuilder).
#[derive(Debug, Clone, Default)]
struct Settings {
    /// Requests per hour per client IP; `None`: no limit.
    rate_limit: Option<u32>,
}

impl crate::SandboxBuilder {
    /// Cuan10pay's rate limit, in requests per hour per client IP; over it, 429 with
    /// `Retry-After`. Off by default (`None`), so that tests and benchmarks are not throttled; the
    /// real gateway's is [`DOCUMENTED_RATE_LIMIT`].
    pub fn cuan10pay_rate_limit(mut self, per_hour: Option<u32>) -> Self {
        self.gateway_settings::<Settings>().rate_limit = per_hour;
        self
    }
}

/// Cuan10pay's state inside the sandbox.
#[derive(Debug)]
pub(crate) struct Emulator {
    store: std::sync::Mutex<store::Store>,
    limiter: Option<RateLimiter>,
}

impl Emulator {
    /// `max_payments`: how many deposits (and orders) are kept.
    fn new(settings: Settings, max_payments: usize) -> Self {
        let hour = Duration::from_secs(3600);
        Self {
            store: std::sync::Mutex::new(store::Store::new(max_payments)),
            limiter: settings.rate_limit.map(|limit| RateLimiter::new(limit, hour)),
        }
    }
}

/// Cuan10pay's state in `shared`.
fn emulator(shared: &Shared) -> &Emulator {
    shared.gateway_state::<Emulator>()
}

/// Cuan10pay, as the sandbox's shared modules see it.
#[derive(Debug)]
pub(crate) struct Gateway;

impl EmulatedGateway for Gateway {
    fn provider(&self) -> ProviderId {
        ProviderId::Cuan10pay
    }

    fn name(&self) -> &'static str {
        "Cuan10pay"
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

    fn moves(&self) -> &'static [PaymentState] {
        &[PaymentState::Paid, PaymentState::Expired]
    }

    fn payments(&self) -> &'static dyn EmulatedPayments {
        &store::Payments
    }

    /// Deposits' webhooks go to the URL set in the merchant's dashboard (orders' to their own
    /// `callback_url`).
    fn webhooks(&self) -> Webhooks {
        Webhooks::Configured
    }

    fn webhook_retry(&self) -> WebhookRetry {
        WEBHOOK_RETRY
    }

    fn operations(&self) -> &'static [Operation] {
        const OPERATIONS: &[Operation] = &[
            Operation::new("create", "POST", "/v1/deposit_create"),
            Operation::new("status", "GET", "/v1/deposit_status"),
            Operation::new("invoice_status", "GET", "/v1/invoice_status"),
            Operation::new("ppob_products", "GET", "/v1/ppob_products"),
            Operation::new("ppob_order", "POST", "/v1/ppob_order"),
            Operation::new("smm_services", "GET", "/v1/smm_services"),
            Operation::new("smm_order", "POST", "/v1/smm_order"),
            Operation::new("voucher_products", "GET", "/v1/voucher_products"),
            Operation::new("voucher_order", "POST", "/v1/voucher_order"),
        ];
        OPERATIONS
    }

    /// The shape of [`error`].
    fn error_body(&self, _status: StatusCode, message: &str) -> serde_json::Value {
        json!({ "status": "error", "message": message })
    }

    fn credentials(&self) -> &'static [Credential] {
        &[
            Credential {
                key: "api_key",
                label: "API key",
                variable: Some("GERBANG_CUAN10PAY_API_KEY"),
                value: API_KEY,
            },
            Credential {
                key: "private_key",
                label: "private key",
                variable: Some("GERBANG_CUAN10PAY_PRIVATE_KEY"),
                value: PRIVATE_KEY,
            },
        ]
    }

    fn accepted_ids(&self) -> &'static str {
        "deposit id or merchant reference"
    }

    fn webhook_states_hint(&self) -> &'static str {
        " (its webhooks: pending, paid, expired)"
    }
}

/// The routes, relative to [`PREFIX`].
fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/v1/invoice_status", get(deposits::invoice_status))
        .route("/v1/deposit_create", post(deposits::create))
        .route("/v1/deposit_status", get(deposits::status))
        .route("/v1/ppob_products", get(orders::ppob_products))
        .route("/v1/ppob_order", post(orders::ppob_order))
        .route("/v1/smm_services", get(orders::smm_services))
        .route("/v1/smm_order", post(orders::smm_order))
        .route("/v1/voucher_products", get(orders::voucher_products))
        .route("/v1/voucher_order", post(orders::voucher_order))
        // `route_layer`: an unknown path is a plain 404, before any credential is looked at.
        .route_layer(from_fn_with_state(Arc::clone(&shared), auth::authenticate));
    let pages = Router::new().route("/checkout/{deposit_id}", get(pages::checkout)).route("/pay.php", get(pages::link));
    api.merge(pages)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Endpoint not found") })
        .method_not_allowed_fallback(|| async { error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed") })
        .with_state(shared)
}

/// Cuan10pay's success envelope: `{"status":"success","message":…,"data":…}`.
#[derive(Debug, Serialize)]
struct Envelope<'a, T> {
    status: &'static str,
    message: &'a str,
    data: T,
}

/// A 200 answer in Cuan10pay's envelope.
fn success<T: Serialize>(message: &str, data: T) -> Response {
    (StatusCode::OK, axum::Json(Envelope { status: "success", message, data })).into_response()
}

/// A request refused in Cuan10pay's error shape; see [`error`].
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.status, self.message)
    }
}

/// An error in Cuan10pay's shape, `{"status":"error","message":…}` (the document's list of codes:
/// 400 validation, 401 key or signature, 404 not found, 429 rate limit, 500).
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct ErrorBody {
        status: &'static str,
        message: String,
    }
    (status, axum::Json(ErrorBody { status: "error", message: message.into() })).into_response()
}
