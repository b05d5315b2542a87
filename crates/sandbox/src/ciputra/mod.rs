//! Ciputra Life e-payment, emulated from its document (`seeds/004_627801bf8e050898.txt`, distilled
//! in `PROVIDERS.md` §5).
//!
//! Served under `/ciputra`: a client's base URL is `{sandbox}/ciputra` (see
//! [`SandboxHandle::base_url`](crate::SandboxHandle::base_url)), and the paths append to it.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /auth/token` | headers `api-key` = [`API_KEY`], `api-secret` = [`API_SECRET`]: a JWT (HS256, `iat`/`exp`), `expires_in` its absolute expiry as in the document |
//! | `POST /transaction` | form body; `action=charge` creates a pending transaction, `action=cancel` cancels a pending one, `action=registration` creates an auto-debit registration |
//! | `POST /transaction/status` | form `external_id`: the transaction, in the document's shape |
//! | `POST /registration/status` | form `external_id`: the registration, in the document's shape |
//! | `GET /pay/{order_id}` | the page a `shortlink` points at |
//!
//! Every call but the token's needs `Authorization: Bearer <token>` with a token this sandbox
//! issued that has not expired (its lifetime: [`DEFAULT_TOKEN_LIFETIME`], or
//! [`SandboxBuilder::ciputra_token_lifetime`](crate::SandboxBuilder::ciputra_token_lifetime));
//! anything else is HTTP 401 `{"code":"401","status":false,"message":…}`. A request understood
//! but refused is HTTP 200 with `status: false` and a code of the sandbox's own (`01` invalid
//! field, `02` not found, `03` `external_id` already used, `04` not cancellable).
//!
//! Transactions (and registrations) are keyed by the merchant's `external_id`. They move from
//! `pending` to `paid` (a registration: `success`) or `expired` only through
//! [`Sandbox::pay`](crate::Sandbox::pay) / [`Sandbox::expire`](crate::Sandbox::expire) or the
//! control API, given the `external_id` (or the `order_id`); to `cancel` through the API. Paying
//! or expiring posts an unsigned, form-encoded callback (`external_id`, `order_id`, `action`,
//! `status`, `amount`, `transaction_time`) to the transaction's `callback_url`, or else to the
//! URL set with [`SandboxBuilder::webhook_url`](crate::SandboxBuilder::webhook_url).

mod api;
mod jwt;
mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use gerbang_core::ProviderId;
use serde_json::json;

use crate::PaymentState;
use crate::emulated::{
    Credential, EmulatedGateway, EmulatedPayments, GatewaySettings, GatewayStates, Operation, Webhooks, settings_of,
};
use crate::state::Shared;
use crate::webhook::WebhookRetry;

/// The sandbox's API key for Ciputra. A published test value: it is accepted by this sandbox and
/// nowhere else, so it is safe in examples, tests and source code.
pub const API_KEY: &str = "sandbox-ciputra-api-key";

/// The sandbox's API secret for Ciputra. A published test value, like [`API_KEY`].
pub const API_SECRET: &str = "sandbox-ciputra-api-secret";

/// How long a token lives unless
/// [`SandboxBuilder::ciputra_token_lifetime`](crate::SandboxBuilder::ciputra_token_lifetime) says
/// otherwise: one hour, the gap between `iat` and `exp` of the document's example token.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Where the emulator is mounted in the sandbox.
pub(crate) const PREFIX: &str = "/ciputra";

/// **Decision**: the document says nothing of callback retries; the sandbox posts each callback
/// three times at most, two seconds apart, until the receiver answers 2xx.
const WEBHOOK_RETRY: WebhookRetry = WebhookRetry { attempts: 3, interval: Duration::from_secs(2) };

/// This gateway's settings, from the [`SandboxBuilder`](crate::SandboxBuilder).
#[derive(Debug, Clone)]
struct Settings {
    token_lifetime: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self { token_lifetime: DEFAULT_TOKEN_LIFETIME }
    }
}

impl crate::SandboxBuilder {
    /// How long the Ciputra tokens the sandbox issues live (default [`DEFAULT_TOKEN_LIFETIME`],
    /// an hour; at least a second): a few seconds lets a test cross an expiry.
    pub fn ciputra_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.gateway_settings::<Settings>().token_lifetime = lifetime;
        self
    }
}

/// Ciputra's state inside the sandbox.
#[derive(Debug)]
pub(crate) struct Emulator {
    token_lifetime: Duration,
    /// Signs this sandbox's tokens: random per sandbox, so a token of another one is refused.
    signing_key: Vec<u8>,
    store: std::sync::Mutex<store::Store>,
}

impl Emulator {
    fn new(settings: Settings, max_payments: usize) -> Self {
        Self {
            token_lifetime: settings.token_lifetime,
            signing_key: uuid::Uuid::new_v4().as_bytes().to_vec(),
            store: std::sync::Mutex::new(store::Store::new(max_payments)),
        }
    }
}

/// Ciputra's state in `shared`.
fn emulator(shared: &Shared) -> &Emulator {
    shared.gateway_state::<Emulator>()
}

/// Ciputra, as the sandbox's shared modules see it.
#[derive(Debug)]
pub(crate) struct Gateway;

impl EmulatedGateway for Gateway {
    fn provider(&self) -> ProviderId {
        ProviderId::Ciputra
    }

    fn name(&self) -> &'static str {
        "Ciputra"
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

    /// A transaction is cancelled by the API's `action=cancel`.
    fn moves(&self) -> &'static [PaymentState] {
        &[PaymentState::Paid, PaymentState::Expired, PaymentState::Cancelled]
    }

    fn payments(&self) -> &'static dyn EmulatedPayments {
        &store::Payments
    }

    /// To the transaction's `callback_url`, or else the configured URL.
    fn webhooks(&self) -> Webhooks {
        Webhooks::WithPayment
    }

    fn webhook_retry(&self) -> WebhookRetry {
        WEBHOOK_RETRY
    }

    /// `POST /transaction` is three operations, told apart by the form's `action`; `charge`, the
    /// document's default, is `create`.
    fn operations(&self) -> &'static [Operation] {
        const TRANSACTION: Operation = Operation::new("create", "POST", "/transaction");
        const OPERATIONS: &[Operation] = &[
            Operation::new("token", "POST", "/auth/token"),
            Operation { name: "cancel", ..TRANSACTION }.with_action("cancel"),
            Operation { name: "registration", ..TRANSACTION }.with_action("registration"),
            TRANSACTION,
            Operation::new("status", "POST", "/transaction/status"),
            Operation::new("registration_status", "POST", "/registration/status"),
        ];
        OPERATIONS
    }

    /// `{"code","status":false,"message"}`, the code the HTTP status.
    fn error_body(&self, status: StatusCode, message: &str) -> serde_json::Value {
        json!({ "code": status.as_u16().to_string(), "status": false, "message": message })
    }

    fn credentials(&self) -> &'static [Credential] {
        &[
            Credential { key: "api_key", label: "API key", variable: Some("GERBANG_CIPUTRA_API_KEY"), value: API_KEY },
            Credential {
                key: "api_secret",
                label: "API secret",
                variable: Some("GERBANG_CIPUTRA_API_SECRET"),
                value: API_SECRET,
            },
        ]
    }

    fn accepted_ids(&self) -> &'static str {
        "external_id (the merchant reference) or order_id"
    }

    fn webhook_states_hint(&self) -> &'static str {
        " (its callbacks: paid, expired)"
    }
}

/// The routes, relative to [`PREFIX`].
fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/transaction", post(api::transaction))
        .route("/transaction/status", post(api::transaction_status))
        .route("/registration/status", post(api::registration_status))
        // `route_layer`: an unknown path is a plain 404, before any token is looked at.
        .route_layer(from_fn_with_state(Arc::clone(&shared), api::authenticate));
    Router::new()
        .route("/auth/token", post(api::token))
        .route("/pay/{order_id}", get(api::page))
        .merge(api)
        .fallback(|| async { not_found() })
        .method_not_allowed_fallback(|| async {
            let body = serde_json::json!({"code": "405", "status": false, "message": "Method not allowed"});
            (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body))
        })
        .with_state(shared)
}

fn not_found() -> (StatusCode, axum::Json<serde_json::Value>) {
    (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"code": "404", "status": false, "message": "Not found"})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::operations::{needs_action, of};

    #[test]
    fn a_transaction_is_told_apart_by_its_action_and_charge_is_the_default() {
        let provider = ProviderId::Ciputra;
        assert!(needs_action(provider, "POST", "/transaction"));
        assert!(!needs_action(provider, "POST", "/transaction/status"));
        assert_eq!(of(provider, "POST", "/transaction", Some("cancel")), Some("cancel"));
        assert_eq!(of(provider, "POST", "/transaction", Some("registration")), Some("registration"));
        assert_eq!(of(provider, "POST", "/transaction", Some("charge")), Some("create"));
        assert_eq!(of(provider, "POST", "/transaction", None), Some("create"), "charge is the default");
        assert_eq!(
            of(provider, "POST", "/transaction/status", Some("cancel")),
            Some("status"),
            "the action of another path"
        );
    }
}
