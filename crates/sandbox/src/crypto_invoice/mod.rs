//! Crypto invoices (Payid19-compatible), emulated from their document
//! (`seeds/003_344fd773d4347651.txt`, distilled in `PROVIDERS.md` §4).
//!
//! Served under `/crypto-invoice`: a client's base URL is `{sandbox}/crypto-invoice` (see
//! [`SandboxHandle::base_url`](crate::SandboxHandle::base_url)), so that the documented paths
//! append as written.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /create_invoice` | validates and creates a pending invoice; answers its URL (or, with `white_label=1`, the coins to pay with) |
//! | `POST /get_invoices` | the invoices of an `order_id`, as a JSON string holding an array |
//! | `GET /invoice/{id}` | the invoice page the URL points at, with buttons to pay it or let it expire |
//!
//! Bodies are JSON or form fields (the document's examples send both), and must carry
//! `public_key` = [`PUBLIC_KEY`] and `private_key` = [`PRIVATE_KEY`]. Answers are
//! `{"status":"success","message":…}`; errors are `{"status":"error","message":["…",…]}`: HTTP
//! 422 with every validation message (the document's Python example checks for 422), HTTP 401
//! for wrong keys (**Decision**: the document does not say; 401 is what an API answers to bad
//! credentials).
//!
//! Invoices are `pending` until [`Sandbox::pay`](crate::Sandbox::pay) or
//! [`Sandbox::expire`](crate::Sandbox::expire) (or the control API, or the invoice page) moves
//! them, by invoice id or by order id; one past its `expiration_date` (1 to 12 hours, by the
//! sandbox clock) is `expired`. Paying sends the callback the document lists (`private_key`,
//! `id`, `email`, … `expiration_date`) as JSON to the invoice's `callback_url`, tried
//! [`WEBHOOK_ATTEMPTS`] times in all until it is answered with a 2xx, [`WEBHOOK_INTERVAL`]
//! apart (change both with [`SandboxBuilder::webhook_retry`](crate::SandboxBuilder::webhook_retry)).
//! Expiry sends nothing: the gateway calls back on success only. Invoices cannot fail or be
//! cancelled ([`SandboxError::UnsupportedTransition`](crate::SandboxError)).

mod fields;
mod pages;
mod store;

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::REFERER;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gerbang_core::ProviderId;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use self::fields::{Fields, Problems};
use self::store::{CURRENCIES, Invoice, Store};
use crate::PaymentState;
use crate::emulated::{
    Credential, EmulatedGateway, EmulatedPayments, GatewaySettings, GatewayStates, Operation, Webhooks, settings_of,
};
use crate::state::{Shared, lock};
use crate::webhook::WebhookRetry;

/// The sandbox's public key for crypto invoices. A published test value: it is accepted by this
/// sandbox and nowhere else, so it is safe in examples, tests and source code.
pub const PUBLIC_KEY: &str = "sandbox-crypto-invoice-public-key";

/// The sandbox's private key for crypto invoices. A published test value, like [`PUBLIC_KEY`]:
/// requests must carry it, and the callbacks carry it back, as the gateway's do.
pub const PRIVATE_KEY: &str = "sandbox-crypto-invoice-private-key";

/// **Decision**: how many times a callback is sent in all, the first included. The document says
/// "Tries 3 times, once every 5 minutes, until it reaches HTTP code 200"
/// (`seeds/003_344fd773d4347651.txt`): three tries, so the same callback reaches a merchant at
/// most three times, as `PROVIDERS.md` §4 says.
pub const WEBHOOK_ATTEMPTS: u32 = 3;

/// **Decision**: the wait between two tries in the sandbox. The gateway waits 5 minutes; the
/// sandbox waits 2 seconds, so that a run shows the retries at once.
pub const WEBHOOK_INTERVAL: Duration = Duration::from_secs(2);

/// Where the emulator is mounted in the sandbox.
pub(crate) const PREFIX: &str = "/crypto-invoice";

/// How this gateway's webhooks are retried when the builder does not say.
const WEBHOOK_RETRY: WebhookRetry = WebhookRetry { attempts: WEBHOOK_ATTEMPTS, interval: WEBHOOK_INTERVAL };

/// This gateway's settings, from the [`SandboxBuilder`](crate::SandboxBuilder): none yet.
#[derive(Debug, Clone, Default)]
struct Settings {}

/// This gateway's state inside the sandbox.
#[derive(Debug)]
pub(crate) struct Emulator {
    store: Mutex<Store>,
}

impl Emulator {
    fn new(_settings: Settings, max_payments: usize) -> Self {
        Self { store: Mutex::new(Store::new(max_payments)) }
    }
}

/// This gateway's state in `shared`.
fn emulator(shared: &Shared) -> &Emulator {
    shared.gateway_state::<Emulator>()
}

/// Crypto invoices, as the sandbox's shared modules see them.
#[derive(Debug)]
pub(crate) struct Gateway;

impl EmulatedGateway for Gateway {
    fn provider(&self) -> ProviderId {
        ProviderId::CryptoInvoice
    }

    fn name(&self) -> &'static str {
        "Crypto invoice"
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

    /// Invoices cannot fail or be cancelled.
    fn moves(&self) -> &'static [PaymentState] {
        &[PaymentState::Paid, PaymentState::Expired]
    }

    fn payments(&self) -> &'static dyn EmulatedPayments {
        &store::Payments
    }

    /// To the invoice's `callback_url`.
    fn webhooks(&self) -> Webhooks {
        Webhooks::WithPayment
    }

    fn webhook_retry(&self) -> WebhookRetry {
        WEBHOOK_RETRY
    }

    fn operations(&self) -> &'static [Operation] {
        const OPERATIONS: &[Operation] =
            &[Operation::new("create", "POST", "/create_invoice"), Operation::new("status", "POST", "/get_invoices")];
        OPERATIONS
    }

    /// The shape of [`error`], with the one message.
    fn error_body(&self, _status: StatusCode, message: &str) -> Value {
        json!({ "status": "error", "message": [message] })
    }

    fn credentials(&self) -> &'static [Credential] {
        &[
            Credential {
                key: "public_key",
                label: "public key",
                variable: Some("GERBANG_CRYPTO_INVOICE_PUBLIC_KEY"),
                value: PUBLIC_KEY,
            },
            Credential {
                key: "private_key",
                label: "private key",
                variable: Some("GERBANG_CRYPTO_INVOICE_PRIVATE_KEY"),
                value: PRIVATE_KEY,
            },
        ]
    }

    fn accepted_ids(&self) -> &'static str {
        "invoice id or order id (the merchant reference)"
    }

    fn webhook_states_hint(&self) -> &'static str {
        " (its one callback is for paid)"
    }
}

/// The routes, relative to [`PREFIX`].
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/create_invoice", post(create_invoice))
        .route("/get_invoices", post(get_invoices))
        .route("/invoice/{id}", get(pages::invoice))
        .fallback(|| async { error(StatusCode::NOT_FOUND, vec!["Not found".to_owned()]) })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, vec!["The method is not supported for this route.".to_owned()])
        })
        .with_state(shared)
}

/// `{"status":"success","message":…}`.
fn success(message: Value) -> Response {
    (StatusCode::OK, axum::Json(json!({ "status": "success", "message": message }))).into_response()
}

/// `{"status":"error","message":[…]}`: a list, as the document's examples read it
/// (`message[0]`).
fn error(status: StatusCode, messages: Vec<String>) -> Response {
    (status, axum::Json(json!({ "status": "error", "message": messages }))).into_response()
}

/// A request refused in the gateway's error shape; see [`error`].
#[derive(Debug)]
struct Refusal(StatusCode, Vec<String>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

/// Reads the body and checks the keys: the fields, or the refusal to answer with.
fn authenticate(headers: &HeaderMap, body: &[u8]) -> Result<Fields, Refusal> {
    let Some(fields) = Fields::parse(headers, body) else {
        return Err(Refusal(StatusCode::BAD_REQUEST, vec!["The request body must be JSON or form fields.".to_owned()]));
    };
    let mut problems = Problems::default();
    problems.required(&fields, "public_key");
    problems.required(&fields, "private_key");
    if !problems.is_empty() {
        return Err(Refusal(StatusCode::UNPROCESSABLE_ENTITY, problems.into_messages()));
    }
    let public = fields.text("public_key").unwrap_or_default();
    let private = fields.text("private_key").unwrap_or_default();
    // Both compared, whatever the first gives, so that timing does not tell which was wrong.
    let public_ok = gerbang_signing::ct_eq(public.as_bytes(), PUBLIC_KEY.as_bytes());
    let private_ok = gerbang_signing::ct_eq(private.as_bytes(), PRIVATE_KEY.as_bytes());
    if !(public_ok & private_ok) {
        tracing::info!("refused the keys");
        return Err(Refusal(StatusCode::UNAUTHORIZED, vec!["Invalid public key or private key.".to_owned()]));
    }
    Ok(fields)
}

/// `POST /create_invoice`.
async fn create_invoice(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = match authenticate(&headers, &body) {
        Ok(fields) => fields,
        Err(refusal) => return refusal.into_response(),
    };
    let mut p = Problems::default();
    p.required(&fields, "price_amount");
    let price_amount = p.decimal(&fields, "price_amount");
    if price_amount.is_some_and(|price| price <= Decimal::ZERO) {
        p.add("The price amount must be greater than 0.");
    }
    let price_currency =
        fields.text("price_currency").map_or_else(|| "USD".to_owned(), |c| c.trim().to_ascii_uppercase());
    if !CURRENCIES.iter().any(|(code, _)| *code == price_currency) {
        p.add("The selected price currency is invalid.");
    }
    if price_currency == "IDR" && price_amount.is_some_and(|price| !price.fract().is_zero()) {
        p.add("The price amount must be a whole number of rupiah.");
    }
    let test = p.flag(&fields, "test");
    let add_fee_to_price = p.flag(&fields, "add_fee_to_price");
    let white_label = p.flag(&fields, "white_label");
    let customer_id = p.integer(&fields, "customer_id");
    let hours = p.integer(&fields, "expiration_date").unwrap_or(12);
    if !(1..=12).contains(&hours) {
        p.add("The expiration date must be between 1 and 12.");
    }
    if p.decimal(&fields, "margin_ratio").is_some_and(|m| m < Decimal::ZERO) {
        p.add("The margin ratio must be at least 0.");
    }
    if fields.text("email").is_some_and(|e| !e.contains('@')) {
        p.add("The email must be a valid email address.");
    }
    let banned = banned_coins(&fields, &mut p);
    let callback_url = p.url(&fields, "callback_url");
    let cancel_url = p.url(&fields, "cancel_url");
    let success_url = p.url(&fields, "success_url");
    let (Some(price_amount), true) = (price_amount, p.is_empty()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, p.into_messages());
    };

    let now = shared.now();
    let origin = shared.origin();
    let mut store = lock(&emulator(&shared).store);
    let id = store.next_id();
    let invoice = Invoice {
        id,
        test,
        email: fields.text("email"),
        merchant_id: fields.text("merchant_id"),
        order_id: fields.text("order_id"),
        customer_id,
        price_amount,
        price_currency,
        add_fee_to_price,
        title: fields.text("title"),
        description: fields.text("description"),
        callback_url,
        cancel_url,
        success_url,
        ref_url: headers.get(REFERER).and_then(|h| h.to_str().ok()).map(str::to_owned),
        ip: "127.0.0.1".to_owned(),
        invoice_url: format!("{origin}{PREFIX}/invoice/{id}"),
        created_at: now,
        expires_at: now + time::Duration::hours(i64::try_from(hours).unwrap_or(12)),
        state: crate::PaymentState::Pending,
        paid: None,
        timeline: crate::payments::Timeline::created(&shared, now),
    };
    tracing::info!(id, test, "invoice created");
    let answer = if white_label { white_label_coins(id, &banned) } else { json!(invoice.invoice_url) };
    store.insert(invoice);
    success(answer)
}

/// `banned_coins`: a JSON array of codes, or (as both of the document's examples send it) a
/// string holding one.
fn banned_coins(fields: &Fields, p: &mut Problems) -> Vec<String> {
    let list = match fields.value("banned_coins") {
        None => return Vec::new(),
        Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
        Some(other) => Some(other.clone()),
    };
    let codes: Option<Vec<String>> = match list {
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(str::to_ascii_uppercase)).collect(),
        _ => None,
    };
    codes.unwrap_or_else(|| {
        p.add("The banned coins must be a valid JSON array of coin codes.");
        Vec::new()
    })
}

/// **Decision**: the coins a sandbox invoice can be paid with, as `(coin, network)`; what a
/// white-label answer lists, less the banned ones. The document promises "a list of coins you
/// can receive payment from as JSON" without showing it: each entry here is
/// `{"coin","network","address"}`.
const COINS: &[(&str, &str)] =
    &[("BTC", "BTC"), ("ETH", "ERC20"), ("USDT", "TRC20"), ("USDT", "ERC20"), ("USDT", "BEP20"), ("BNB", "BEP20")];

fn white_label_coins(id: u64, banned: &[String]) -> Value {
    let coins: Vec<Value> = COINS
        .iter()
        .filter(|(coin, network)| !banned.iter().any(|b| b == coin || *b == format!("{coin}-{network}")))
        .map(|(coin, network)| {
            let digest = gerbang_signing::hmac_sha256(
                b"crypto-invoice-address",
                &[coin.as_bytes(), network.as_bytes(), &id.to_be_bytes()],
            );
            let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
            json!({ "coin": coin, "network": network, "address": format!("sandbox-{hex}") })
        })
        .collect();
    Value::Array(coins)
}

/// `POST /get_invoices`: `message` is the array of the order's invoices, JSON-encoded into a
/// string, as the gateway answers it (its users decode it with `json.loads(data['message'])`).
async fn get_invoices(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = match authenticate(&headers, &body) {
        Ok(fields) => fields,
        Err(refusal) => return refusal.into_response(),
    };
    let mut p = Problems::default();
    p.required(&fields, "order_id");
    let Some(order_id) = fields.text("order_id").filter(|_| p.is_empty()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, p.into_messages());
    };
    let invoices = lock(&emulator(&shared).store).by_order(&order_id, shared.now());
    let list: Vec<Value> = invoices.iter().map(Invoice::listed).collect();
    success(Value::String(Value::Array(list).to_string()))
}
