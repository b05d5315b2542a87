//! The Cash In client: the request signature, the two calls, and their answers.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use gerbang_core::http::Method;
use gerbang_core::transport::{Call, HttpRequest, HttpResponse};
use gerbang_core::{Error, ProviderId, Redactions};
use gerbang_signing::cashin::SigningKey;
use serde::Serialize;

use crate::config::CashinConfig;
use crate::request::{CheckoutRequest, StatusRequest};
use crate::webhook::WebhookVerifier;
use crate::wire::{self, Checkout, CheckoutStatus};

const PROVIDER: ProviderId = ProviderId::CashIn;

/// The documented "relative path url for signature" of the checkout call.
pub const CHECKOUT_PATH: &str = "/payment";
/// The documented "relative path url for signature" of the status call.
pub const STATUS_PATH: &str = "/payment/status";

/// A Cash In client. Cheap to clone: clones share the configuration and the connection pool.
///
/// Each call of the API is an inherent method; the common payment flow is its
/// [`PaymentProvider`](gerbang_core::PaymentProvider) implementation. Every request carries
/// `X-CLIENT-ID`, a fresh UUID v4 as `X-REQUEST-ID`, `X-TIMESTAMP` in Jakarta time and the
/// symmetric `X-SIGNATURE`. The status call is retried by the
/// [`HttpClient`](gerbang_core::HttpClient) when that is safe; the checkout goes out once.
///
/// ```no_run
/// use gerbang_cashin::{CashinClient, CheckoutCustomer, CheckoutRequest, PaymentChannel};
///
/// # async fn run() -> Result<(), gerbang_core::Error> {
/// let client = CashinClient::from_env()?;
/// let request = CheckoutRequest::new(
///     "ORDER-1001", 150_000, 30,
///     "https://shop.example.com/paid", "https://shop.example.com/cart",
///     CheckoutCustomer::new("CUST-42", "081234567890"),
/// )
/// .payment_channel(PaymentChannel::Qris);
/// let page = client.create_checkout(&request).await?;
/// println!("send the customer to {}", page.payment_url);
/// let status = client.checkout_status("ORDER-1001").await?;
/// println!("{} is {}", status.trx_no, status.status);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CashinClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: CashinConfig,
    webhook: Option<WebhookVerifier>,
    /// The secret key, scrubbed from anything the gateway answers before it becomes an error.
    redactions: Redactions,
}

impl CashinClient {
    /// A client with this configuration.
    pub fn new(config: CashinConfig) -> Self {
        let webhook = config.public_key.clone().map(|key| {
            WebhookVerifier::new(key)
                .with_previous(config.previous_public_key.clone())
                .with_tolerance(config.webhook_tolerance)
                .with_clock(config.clock.clone())
        });
        let redactions = Redactions::new([config.secret_key.clone()]);
        Self { inner: Arc::new(Inner { config, webhook, redactions }) }
    }

    /// A client configured from the environment: see
    /// [`CashinConfigBuilder::from_env`](crate::CashinConfigBuilder::from_env).
    pub fn from_env() -> Result<Self, Error> {
        CashinConfig::from_env().map(Self::new)
    }

    /// The configuration.
    pub fn config(&self) -> &CashinConfig {
        &self.inner.config
    }

    /// The notification verifier, with this client's public key, tolerance and clock;
    /// [`Error::Config`] naming `GERBANG_CASHIN_PUBLIC_KEY` when no public key is configured.
    pub fn webhook_verifier(&self) -> Result<&WebhookVerifier, Error> {
        self.inner.webhook.as_ref().ok_or_else(crate::webhook::missing_public_key)
    }

    /// `POST /payment`: a hosted checkout page. The request is checked
    /// ([`CheckoutRequest::validate`]) before anything is sent. Sent once, never retried: after
    /// a timeout, look the `trxNo` up with [`checkout_status`](Self::checkout_status).
    pub async fn create_checkout(&self, request: &CheckoutRequest) -> Result<Checkout, Error> {
        self.create_checkout_with_raw(request).await.map(|(checkout, _)| checkout)
    }

    pub(crate) async fn create_checkout_with_raw(
        &self,
        request: &CheckoutRequest,
    ) -> Result<(Checkout, gerbang_core::RawJson), Error> {
        request.validate()?;
        let redactions = self.inner.redactions.with([request.customer.phone_number.as_str()]);
        let response = self.post(Call::once(PROVIDER, "payment"), CHECKOUT_PATH, request, &redactions).await?;
        wire::checkout(&response)
    }

    /// `POST /payment/status`: the payment of the merchant's `trx_no` (`OPEN`, `SUCCESS`,
    /// `FAILED`). Safe to repeat, so retried on transient failures.
    pub async fn checkout_status(&self, trx_no: &str) -> Result<CheckoutStatus, Error> {
        self.checkout_status_with_raw(trx_no).await.map(|(status, _)| status)
    }

    pub(crate) async fn checkout_status_with_raw(
        &self,
        trx_no: &str,
    ) -> Result<(CheckoutStatus, gerbang_core::RawJson), Error> {
        if trx_no.trim().is_empty() {
            return Err(Error::validation("trxNo", "may not be empty"));
        }
        let body = StatusRequest { trx_no };
        let call = Call::safe(PROVIDER, "payment/status");
        let response = self.post(call, STATUS_PATH, &body, &self.inner.redactions).await?;
        wire::checkout_status(&response)
    }

    async fn post<B: Serialize>(
        &self,
        call: Call,
        path: &'static str,
        body: &B,
        redactions: &Redactions,
    ) -> Result<HttpResponse, Error> {
        // The gateway's paths hold no id: each is its own template.
        let call = call.at(path);
        let config = &self.inner.config;
        // Compact JSON: minification leaves it as it is, so the bytes hashed are the bytes sent.
        let body = serde_json::to_vec(body)
            .map_err(|_| Error::decode(format!("{} request: could not be written as JSON", call.operation)))
            .map(Bytes::from)?;
        let url = config.base_url.endpoint(path)?;
        config
            .http
            .send(call, || {
                // Built anew for every attempt: each carries a fresh request id, timestamp and
                // signature, as the document requires ("must be unique each request").
                let request_id = uuid::Uuid::new_v4().to_string();
                let timestamp = gerbang_signing::jakarta::format_timestamp(config.clock.now());
                let signature =
                    request_signature(&config.signing_key, &body, &config.client_id, &request_id, path, &timestamp)?;
                Ok(HttpRequest::new(Method::POST, url.clone())
                    .redacting(redactions)
                    .header("accept", "application/json")?
                    .header("x-client-id", &config.client_id)?
                    .header("x-request-id", &request_id)?
                    .header("x-timestamp", &timestamp)?
                    .header("x-signature", &signature)?
                    .body("application/json", body.clone()))
            })
            .await
    }
}

/// **Decision** (`PROVIDERS.md` §2, "symmetric method"): `X-SIGNATURE` =
/// base64(HMAC(secret key, `base64(SHA-256(minify(body))):clientId:X-REQUEST-ID:relativePath:X-TIMESTAMP`)),
/// where `relativePath` is the documented `/payment` or `/payment/status` whatever the base URL,
/// and the hash is SHA-256 unless the config says SHA-512 ([`HmacAlgorithm`]).
fn request_signature(
    key: &SigningKey,
    body: &[u8],
    client_id: &str,
    request_id: &str,
    relative_path: &str,
    timestamp: &str,
) -> Result<String, Error> {
    let string_to_sign = gerbang_signing::cashin::string_to_sign(body, client_id, request_id, relative_path, timestamp)
        .map_err(|_| Error::validation("body", "could not be minified for the signature"))?;
    Ok(key.sign(&string_to_sign))
}

impl fmt::Debug for CashinClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config's own Debug redacts the secret key.
        f.debug_struct("CashinClient").field("config", &self.inner.config).finish()
    }
}
