//! Cash In, emulated from its document (`seeds/001_3ab17dd2bbbc66f1.txt`, distilled in
//! `PROVIDERS.md` §2).
//!
//! Served under `/cashin`: a client's base URL is `{sandbox}/cashin` (see
//! [`SandboxHandle::base_url`](crate::SandboxHandle::base_url)), so that the documented paths
//! append as written and are the "relative path url for signature".
//!
//! | route | what it does |
//! |---|---|
//! | `POST /payment` | validates and creates an `OPEN` checkout: `{"message":"Successful","data":{"paymentToken","paymentUrl"}}` |
//! | `POST /payment/status` | `{"message":"Successful","data":{"trxNo","status","paymentMethod","referenceNo","amount"}}` |
//! | `GET /checkout/{paymentToken}` | the page `paymentUrl` points at, with buttons to pay, expire or fail it |
//!
//! Every API call must carry `X-CLIENT-ID` = [`CLIENT_ID`], a fresh `X-REQUEST-ID` (a reused one is
//! refused), `X-TIMESTAMP` (RFC 3339, within [`TIMESTAMP_TOLERANCE_SECONDS`] of the sandbox clock)
//! and `X-SIGNATURE` = base64(HMAC-SHA256([`SECRET_KEY`],
//! `base64(SHA-256(minify(body))):clientId:X-REQUEST-ID:relativePath:X-TIMESTAMP`)), checked on the
//! raw bytes received (HMAC-SHA512 instead with
//! [`SandboxBuilder::cashin_hmac`](crate::SandboxBuilder::cashin_hmac)). Refusals are
//! in Cash In's answer envelope (a **Decision**: the document shows no error answer):
//! `{"message":"…","data":null}` with 400, 401, 404 or 409.
//!
//! A checkout is `OPEN` until [`Sandbox::pay`](crate::Sandbox::pay) (`SUCCESS`),
//! [`Sandbox::expire`](crate::Sandbox::expire) or [`Sandbox::fail`](crate::Sandbox::fail) (both
//! `FAILED`), with the merchant's `trxNo` as the reference. Each move POSTs the SNAP notification
//! (`latestTransactionStatus` `00`, `05` or `06`) to the URL configured with
//! [`SandboxBuilder::webhook_url`](crate::SandboxBuilder::webhook_url)`(ProviderId::CashIn, …)`, as
//! Cash In does to the URL set in its dashboard, signed with SHA256withRSA by a key pair the
//! sandbox makes once per process: configure the verifier with [`public_key_pem`]. The path
//! signed is that of the URL each attempt goes to, so several URLs (taken in turn) may differ in
//! path. [`Sandbox::send_webhook`](crate::Sandbox::send_webhook) sends the notification of any
//! state a checkout has one for, whatever its state now: `03` Pending (**Decision**: SNAP's
//! code; without `finishedTime`), `00`, `05`, `06`.

mod auth;
mod payments;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gerbang_core::ProviderId;
use gerbang_signing::cashin::HmacAlgorithm;
use gerbang_signing::rsa::PrivateKey;
use serde_json::json;

use crate::PaymentState;
use crate::emulated::{
    Credential, EmulatedGateway, EmulatedPayments, GatewaySettings, GatewayStates, Operation, PublishedKey, Webhooks,
    settings_of,
};
use crate::state::Shared;
use crate::webhook::WebhookRetry;

/// The sandbox's client id for Cash In (`X-CLIENT-ID`). A published test value: it is accepted by
/// this sandbox and nowhere else, so it is safe in examples, tests and source code.
pub const CLIENT_ID: &str = "CID-SANDBOX-CASHIN";

/// The sandbox's secret key for Cash In, that signs requests. A published test value, like
/// [`CLIENT_ID`].
pub const SECRET_KEY: &str = "sandbox-cashin-secret-key";

/// **Decision**: how far `X-TIMESTAMP` may be from the sandbox clock, either way, in seconds. The
/// document (`seeds/001_3ab17dd2bbbc66f1.txt`) asks for Jakarta time but gives no window; five
/// minutes is the window the SDK applies to Cash In's own notifications.
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 300;

/// **Decision**: how many times the sandbox sends a notification that is not answered 2xx. The
/// document says nothing of retries; SNAP senders retry, so that the merchant's handler is tested
/// for idempotency (each attempt is the same notification, headers and body alike).
pub const WEBHOOK_ATTEMPTS: u32 = 3;

/// **Decision**: the wait between two notification attempts; see [`WEBHOOK_ATTEMPTS`]. Short, so
/// that a sandbox run shows the retries at once.
pub const WEBHOOK_INTERVAL: Duration = Duration::from_secs(2);

/// The `CHANNEL-ID` of the sandbox's notifications: the value of the document's example.
pub const CHANNEL_ID: &str = "9552";

/// Where the emulator is mounted in the sandbox.
pub(crate) const PREFIX: &str = "/cashin";

/// How this gateway's webhooks are retried when the builder does not say.
const WEBHOOK_RETRY: WebhookRetry = WebhookRetry { attempts: WEBHOOK_ATTEMPTS, interval: WEBHOOK_INTERVAL };

/// The key pair that signs the sandbox's notifications, made on first use and kept for the
/// process, so that every sandbox in a test run signs alike.
fn signing_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| match PrivateKey::generate(2048) {
        Ok(key) => key,
        // `generate` refuses only sizes it does not make (2048 bits it always does), and fails
        // otherwise only if the system's random source does: then nothing can be signed at all.
        Err(e) => panic!("the sandbox could not generate its 2048-bit RSA key: {e}"),
    })
}

/// Cash In's public key in this sandbox, as SPKI PEM: give it to the notification verifier
/// (`GERBANG_CASHIN_PUBLIC_KEY`, or the client's `public_key_pem`). The same for every sandbox of
/// the process.
///
/// The first call generates the key pair (a fraction of a second with optimised dependencies).
pub fn public_key_pem() -> String {
    signing_key().public_key().to_pem()
}

/// Cash In's settings, from the [`SandboxBuilder`](crate::SandboxBuilder).
#[derive(Debug, Clone, Default)]
struct Settings {
    /// The HMAC requests must be signed with (default SHA-256, the SDK's default).
    hmac: HmacAlgorithm,
}

impl crate::SandboxBuilder {
    /// The HMAC Cash In requests must be signed with: SHA-256 (the default) or SHA-512. Cash In's
    /// document is contradictory on it (`PROVIDERS.md` §2); the sandbox accepts only the one set
    /// here, so a client configured with the other is refused as the real gateway would.
    pub fn cashin_hmac(mut self, hmac: HmacAlgorithm) -> Self {
        self.gateway_settings::<Settings>().hmac = hmac;
        self
    }
}

/// Cash In's state inside the sandbox.
#[derive(Debug)]
pub(crate) struct Emulator {
    settings: Settings,
    store: Mutex<payments::Store>,
}

impl Emulator {
    fn new(settings: Settings, max_payments: usize) -> Self {
        Self { settings, store: Mutex::new(payments::Store::new(max_payments)) }
    }
}

/// Cash In's state in `shared`.
fn emulator(shared: &Shared) -> &Emulator {
    shared.gateway_state::<Emulator>()
}

/// Cash In, as the sandbox's shared modules see it.
#[derive(Debug)]
pub(crate) struct Gateway;

impl EmulatedGateway for Gateway {
    fn provider(&self) -> ProviderId {
        ProviderId::CashIn
    }

    fn name(&self) -> &'static str {
        "Cash In"
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

    /// A checkout can also fail (`FAILED`, notification `06`).
    fn moves(&self) -> &'static [PaymentState] {
        &[PaymentState::Paid, PaymentState::Expired, PaymentState::Failed]
    }

    fn payments(&self) -> &'static dyn EmulatedPayments {
        &payments::Payments
    }

    /// Notifications go to the URL set in the merchant's dashboard.
    fn webhooks(&self) -> Webhooks {
        Webhooks::Configured
    }

    fn webhook_retry(&self) -> WebhookRetry {
        WEBHOOK_RETRY
    }

    fn operations(&self) -> &'static [Operation] {
        const OPERATIONS: &[Operation] =
            &[Operation::new("create", "POST", "/payment"), Operation::new("status", "POST", "/payment/status")];
        OPERATIONS
    }

    /// The shape of [`error`].
    fn error_body(&self, _status: StatusCode, message: &str) -> serde_json::Value {
        json!({ "message": message, "data": null })
    }

    fn credentials(&self) -> &'static [Credential] {
        &[
            Credential { key: "client_id", label: "client id", variable: None, value: CLIENT_ID },
            Credential {
                key: "secret_key",
                label: "secret key",
                variable: Some("GERBANG_CASHIN_SECRET_KEY"),
                value: SECRET_KEY,
            },
        ]
    }

    /// The notifications' public key, made per process: a verifier in another process must take
    /// it from `GET /_sandbox/keys`.
    fn published_key(&self) -> Option<PublishedKey> {
        Some(PublishedKey { key: "public_key", label: "notification public key (PEM)", pem: public_key_pem() })
    }

    fn accepted_ids(&self) -> &'static str {
        "trxNo (the merchant reference) or referenceNo"
    }

    fn webhook_states_hint(&self) -> &'static str {
        " (its notifications: pending, paid, expired, failed)"
    }
}

/// The routes, relative to [`PREFIX`].
fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/payment", post(payments::create))
        .route("/payment/status", post(payments::status))
        // `route_layer`: an unknown path is a plain 404, before any credential is looked at.
        .route_layer(from_fn_with_state(Arc::clone(&shared), auth::authenticate));
    api.route("/checkout/{token}", get(payments::page))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Endpoint not found") })
        .method_not_allowed_fallback(|| async { error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed") })
        .with_state(shared)
}

/// **Decision**: Cash In's refusals. The document shows no error answer; every answer it shows is
/// `{"message":…,"data":…}`, so a refusal is that envelope with the reason as `message` and
/// `data` null, under the HTTP status of the problem (400 a field, 401 the credentials or the
/// signature, 404 an unknown `trxNo`, 409 a reused `trxNo` or `X-REQUEST-ID`).
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "message": message.into(), "data": null }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::operations::{exists, names, of};

    #[test]
    fn its_operations_are_create_and_status_by_method_and_path() {
        let provider = ProviderId::CashIn;
        assert_eq!(names(provider), ["any", "create", "status"]);
        assert_eq!(of(provider, "POST", "/payment", None), Some("create"));
        assert_eq!(of(provider, "GET", "/payment", None), None, "another method");
        assert_eq!(of(provider, "GET", "/checkout/abc", None), None, "a page is no operation");
        assert!(!exists(provider, "cancel"), "Cash In has no cancel call");
    }
}
