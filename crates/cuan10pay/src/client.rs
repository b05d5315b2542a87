//! The Cuan10pay client: authentication, the calls of the API, and their answers.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use gerbang_core::http::Method;
use gerbang_core::rate::Priority;
use gerbang_core::secrecy::ExposeSecret;
use gerbang_core::transport::{Call, HttpRequest, HttpResponse};
use gerbang_core::{Error, ProviderId, Redactions};
use gerbang_signing::HmacSha256Key;
use serde::Serialize;

use crate::config::Cuan10payConfig;
use crate::request::{DepositRequest, PpobOrderRequest, SmmOrderRequest, VoucherOrderRequest};
use crate::webhook::WebhookVerifier;
use crate::wire::{self, Deposit, Invoice, Order, PpobProduct, SmmService, VoucherProduct};

const PROVIDER: ProviderId = ProviderId::Cuan10pay;

/// A Cuan10pay client. Cheap to clone: clones share the configuration, the connection pool and
/// the [rate budget](crate::RateBudget).
///
/// Every call of the API is an inherent method, named after the endpoint; the common payment
/// flow is its [`PaymentProvider`](gerbang_core::PaymentProvider) implementation. Look-ups are
/// retried by the [`HttpClient`](gerbang_core::HttpClient) when that is safe; creates and orders
/// go out once.
///
/// ```no_run
/// use gerbang_cuan10pay::{Cuan10payClient, DepositRequest};
///
/// # async fn run() -> Result<(), gerbang_core::Error> {
/// let client = Cuan10payClient::from_env()?;
/// let deposit = client.deposit_create(&DepositRequest::new("QRIS", 50_000).notes("ORDER-1001")).await?;
/// let again = client.deposit_status(&deposit.deposit_id).await?;
/// println!("{} is {}", again.deposit_id, again.status);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Cuan10payClient {
    inner: Arc<Inner>,
    /// At which priority this handle spends the rate budget.
    priority: Priority,
}

struct Inner {
    config: Cuan10payConfig,
    /// The private key, ready to sign every request.
    signing_key: HmacSha256Key,
    webhook: WebhookVerifier,
    /// The keys, scrubbed from anything the gateway answers before it becomes an error.
    redactions: Redactions,
}

impl Cuan10payClient {
    /// A client with this configuration.
    pub fn new(config: Cuan10payConfig) -> Self {
        let webhook = WebhookVerifier::from_secret(config.private_key.clone())
            .with_previous_secret(config.previous_private_key.clone())
            .with_tolerance(config.webhook_tolerance)
            .with_clock(config.clock.clone());
        let redactions = Redactions::new(
            [config.api_key.clone(), config.private_key.clone()].into_iter().chain(config.previous_private_key.clone()),
        );
        let signing_key = HmacSha256Key::new(config.private_key.expose_secret().as_bytes());
        Self { inner: Arc::new(Inner { config, signing_key, webhook, redactions }), priority: Priority::Normal }
    }

    /// A clone of this client (the same budget, connections and settings) whose calls spend the
    /// rate budget at `priority`. The default is [`Priority::Normal`], the merchant's own calls;
    /// background work (status checks on a schedule) uses [`Priority::Background`], which stops
    /// while only the reserve of the budget is left ([`gerbang_core::rate`]).
    ///
    /// ```
    /// use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
    /// use gerbang_core::rate::Priority;
    ///
    /// let client = Cuan10payClient::new(Cuan10payConfig::builder("key", "private").build()?);
    /// let background = client.with_priority(Priority::Background);
    /// assert_eq!(background.priority(), Priority::Background);
    /// # Ok::<(), gerbang_core::Error>(())
    /// ```
    #[must_use]
    pub fn with_priority(&self, priority: Priority) -> Self {
        Self { inner: self.inner.clone(), priority }
    }

    /// The priority this client's calls spend the rate budget at.
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// A client configured from the environment: see [`Cuan10payConfig::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        Cuan10payConfig::from_env().map(Self::new)
    }

    /// The configuration.
    pub fn config(&self) -> &Cuan10payConfig {
        &self.inner.config
    }

    /// The webhook verifier, with this client's private key, tolerance and clock.
    pub fn webhook_verifier(&self) -> &WebhookVerifier {
        &self.inner.webhook
    }

    /// `GET /v1/invoice_status?ref=…`: an invoice's status.
    pub async fn invoice_status(&self, reference: &str) -> Result<Invoice, Error> {
        let path = lookup_path("/v1/invoice_status", "ref", reference)?;
        wire::parse_answer("invoice_status", &self.get("invoice_status", "/v1/invoice_status", path).await?)
    }

    /// `POST /v1/deposit_create`: a deposit (a payment into the merchant's balance), by QRIS or a
    /// bank's virtual account. The amount is checked (10 000 to 10 000 000 IDR) before anything
    /// is sent. Sent once, never retried: check [`deposit_status`](Self::deposit_status) after
    /// a timeout.
    pub async fn deposit_create(&self, request: &DepositRequest) -> Result<Deposit, Error> {
        wire::parse_answer("deposit_create", &self.deposit_create_response(request).await?)
    }

    /// [`deposit_create`](Self::deposit_create), with the answer's `data` as JSON for `Payment::raw`.
    pub(crate) async fn deposit_create_with_raw(
        &self,
        request: &DepositRequest,
    ) -> Result<(Deposit, gerbang_core::RawJson), Error> {
        wire::parse_answer_with_raw("deposit_create", &self.deposit_create_response(request).await?)
    }

    async fn deposit_create_response(&self, request: &DepositRequest) -> Result<HttpResponse, Error> {
        request.validate()?;
        let redactions = self
            .inner
            .redactions
            .with(request.customer_email.as_deref().into_iter().chain(request.customer_phone.as_deref()));
        self.post("deposit_create", "/v1/deposit_create", request, &redactions).await
    }

    /// `GET /v1/deposit_status?ref=…`: a deposit, by its `deposit_id`.
    pub async fn deposit_status(&self, deposit_id: &str) -> Result<Deposit, Error> {
        wire::parse_answer("deposit_status", &self.deposit_status_response(deposit_id).await?)
    }

    /// [`deposit_status`](Self::deposit_status), with the answer's `data` as JSON for `Payment::raw`.
    pub(crate) async fn deposit_status_with_raw(
        &self,
        deposit_id: &str,
    ) -> Result<(Deposit, gerbang_core::RawJson), Error> {
        wire::parse_answer_with_raw("deposit_status", &self.deposit_status_response(deposit_id).await?)
    }

    async fn deposit_status_response(&self, deposit_id: &str) -> Result<HttpResponse, Error> {
        self.get("deposit_status", "/v1/deposit_status", lookup_path("/v1/deposit_status", "ref", deposit_id)?).await
    }

    /// `GET /v1/ppob_products[?operator=…]`: phone credit, data and bill products, optionally
    /// of one operator (`telkomsel`).
    pub async fn ppob_products(&self, operator: Option<&str>) -> Result<Vec<PpobProduct>, Error> {
        wire::parse_answer(
            "ppob_products",
            &self
                .get("ppob_products", "/v1/ppob_products", filter_path("/v1/ppob_products", "operator", operator))
                .await?,
        )
    }

    /// `POST /v1/ppob_order`: orders a PPOB product. Sent once, never retried.
    pub async fn ppob_order(&self, request: &PpobOrderRequest) -> Result<Order, Error> {
        request.validate()?;
        // The target is the customer's phone (or meter) number.
        let redactions = self.inner.redactions.with([request.target.as_str()]);
        wire::parse_answer("ppob_order", &self.post("ppob_order", "/v1/ppob_order", request, &redactions).await?)
    }

    /// `GET /v1/smm_services[?category=…]`: social-media services, optionally of one category.
    pub async fn smm_services(&self, category: Option<&str>) -> Result<Vec<SmmService>, Error> {
        wire::parse_answer(
            "smm_services",
            &self
                .get("smm_services", "/v1/smm_services", filter_path("/v1/smm_services", "category", category))
                .await?,
        )
    }

    /// `POST /v1/smm_order`: orders a social-media service. Sent once, never retried.
    pub async fn smm_order(&self, request: &SmmOrderRequest) -> Result<Order, Error> {
        request.validate()?;
        wire::parse_answer(
            "smm_order",
            &self.post("smm_order", "/v1/smm_order", request, &self.inner.redactions).await?,
        )
    }

    /// `GET /v1/voucher_products[?game=…]`: game vouchers, optionally of one game (`ml`, `ff`,
    /// `pubg`, …).
    pub async fn voucher_products(&self, game: Option<&str>) -> Result<Vec<VoucherProduct>, Error> {
        wire::parse_answer(
            "voucher_products",
            &self
                .get("voucher_products", "/v1/voucher_products", filter_path("/v1/voucher_products", "game", game))
                .await?,
        )
    }

    /// `POST /v1/voucher_order`: orders a game voucher. Sent once, never retried.
    pub async fn voucher_order(&self, request: &VoucherOrderRequest) -> Result<Order, Error> {
        request.validate()?;
        wire::parse_answer(
            "voucher_order",
            &self.post("voucher_order", "/v1/voucher_order", request, &self.inner.redactions).await?,
        )
    }

    /// A look-up: safe to repeat, no body. `template` is the path without its query, for traces.
    async fn get(
        &self,
        operation: &'static str,
        template: &'static str,
        path_and_query: String,
    ) -> Result<HttpResponse, Error> {
        let call = Call::safe(PROVIDER, operation).at(template);
        self.execute(call, Method::GET, path_and_query, Bytes::new(), &self.inner.redactions).await
    }

    /// A create or an order: a JSON body, sent at most once.
    async fn post<B: Serialize>(
        &self,
        operation: &'static str,
        path: &'static str,
        body: &B,
        redactions: &Redactions,
    ) -> Result<HttpResponse, Error> {
        let body = serde_json::to_vec(body)
            .map_err(|_| Error::decode(format!("{operation} request: could not be written as JSON")))?;
        // The gateway's paths hold no id: each is its own template.
        self.execute(
            Call::once(PROVIDER, operation).at(path),
            Method::POST,
            path.to_owned(),
            Bytes::from(body),
            redactions,
        )
        .await
    }

    async fn execute(
        &self,
        call: Call,
        method: Method,
        path_and_query: String,
        body: Bytes,
        redactions: &Redactions,
    ) -> Result<HttpResponse, Error> {
        let config = &self.inner.config;
        let signing_key = &self.inner.signing_key;
        let url = config.base_url.join(&path_and_query)?;
        let budget = &config.rate_budget;
        config
            .http
            .send_gated(
                call,
                // One request of the budget before each attempt is sent: a call (or a retry) over
                // the budget, or whose budget's store fails, is refused without reaching the
                // gateway. A retry spends at normal priority: the call has started.
                // Inside a background scope (the reconciler's), the first attempt spends at that priority.
                |attempt| {
                    let first = self.priority.max(gerbang_core::rate::current_priority());
                    budget.acquire_at(if attempt == 1 { first } else { Priority::Normal })
                },
                || {
                    // Built anew for every attempt, so each carries a fresh timestamp and signature.
                    let timestamp = config.clock.now().unix_timestamp();
                    let signature = request_signature(signing_key, timestamp, &method, &path_and_query, &body);
                    let mut request = HttpRequest::new(method.clone(), url.clone())
                        .redacting(redactions)
                        .header("accept", "application/json")?
                        .header("x-api-key", config.api_key.expose_secret())?
                        .header("x-timestamp", &timestamp.to_string())?
                        .header("x-signature", &signature)?;
                    if method != Method::GET {
                        request = request.body("application/json", body.clone());
                    }
                    Ok(request)
                },
            )
            .await
    }
}

/// **Decision** (`PROVIDERS.md` §1): `X-SIGNATURE` is the lowercase hex
/// HMAC-SHA256(private key, timestamp + METHOD + path + body), as the document says
/// (`seeds/000_b443c682d4d25840.txt`; its Python example signs
/// `"{timestamp}POST/v1/deposit_create{json_body}"`). The document never shows a call with a
/// query string, so this is the assumption: `path_and_query` is the path after the base URL
/// *including* the query string exactly as sent (`/v1/deposit_status?ref=CP-1`), and `body` is
/// the exact bytes sent (empty for a GET), never re-serialised.
fn request_signature(
    key: &HmacSha256Key,
    timestamp: i64,
    method: &Method,
    path_and_query: &str,
    body: &[u8],
) -> String {
    gerbang_signing::cuan10pay::sign_request_with_key(key, timestamp, method.as_str(), path_and_query, body)
}

/// `path?name=value`, the value form-encoded; an empty value is refused, since the gateway could
/// only answer that nothing is found.
fn lookup_path(path: &str, name: &str, value: &str) -> Result<String, Error> {
    if value.trim().is_empty() {
        return Err(Error::validation("reference", "may not be empty"));
    }
    Ok(with_query(path, name, value))
}

/// `path`, or `path?name=value` when a filter is given.
fn filter_path(path: &str, name: &str, value: Option<&str>) -> String {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(value) => with_query(path, name, value),
        None => path.to_owned(),
    }
}

/// `path?name=value`, the value form-encoded, written into one allocation (a value that needs no
/// escaping fills it exactly).
fn with_query(path: &str, name: &str, value: &str) -> String {
    let mut text = String::with_capacity(path.len() + name.len() + value.len() + 2);
    text.push_str(path);
    text.push('?');
    text.push_str(name);
    text.push('=');
    text.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
    text
}

impl fmt::Debug for Cuan10payClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config's own Debug redacts the keys.
        f.debug_struct("Cuan10payClient").field("config", &self.inner.config).field("priority", &self.priority).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_form_encoded() {
        assert_eq!(lookup_path("/v1/deposit_status", "ref", "CP-1").unwrap(), "/v1/deposit_status?ref=CP-1");
        assert_eq!(lookup_path("/v1/invoice_status", "ref", "A&B=C D").unwrap(), "/v1/invoice_status?ref=A%26B%3DC+D");
        assert!(lookup_path("/v1/invoice_status", "ref", " ").is_err());
        assert_eq!(filter_path("/v1/voucher_products", "game", Some("ml")), "/v1/voucher_products?game=ml");
        assert_eq!(filter_path("/v1/voucher_products", "game", Some("")), "/v1/voucher_products");
        assert_eq!(filter_path("/v1/voucher_products", "game", None), "/v1/voucher_products");
    }
}
