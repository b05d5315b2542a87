//! The crypto invoice client: the two calls of the API and their answers.

use std::fmt;
use std::sync::Arc;

use gerbang_core::http::Method;
use gerbang_core::transport::{Bytes, Call, HttpRequest, HttpResponse};
use gerbang_core::{Error, ProviderId, Redactions};

use crate::body::Body;
use crate::config::CryptoInvoiceConfig;
use crate::request::CreateInvoiceRequest;
use crate::webhook::WebhookVerifier;
use crate::wire::{self, CreatedInvoice, Invoice};

const PROVIDER: ProviderId = ProviderId::CryptoInvoice;

/// A crypto invoice client (Payid19-compatible). Cheap to clone: clones share the
/// configuration and the connection pool.
///
/// Both calls are POSTs carrying `public_key` and `private_key` in the body, as the document
/// says. `create_invoice` goes out once, never retried (check
/// [`get_invoices`](Self::get_invoices) after a timeout); `get_invoices` is a look-up, retried by
/// the [`HttpClient`](gerbang_core::HttpClient) when that is safe.
///
/// ```no_run
/// use gerbang_crypto_invoice::{CreateInvoiceRequest, CryptoInvoiceClient};
/// use gerbang_core::Decimal;
///
/// # async fn run() -> Result<(), gerbang_core::Error> {
/// let client = CryptoInvoiceClient::from_env()?;
/// let created = client
///     .create_invoice(&CreateInvoiceRequest::new(Decimal::new(72_550, 2)).order_id("ORDER-1001"))
///     .await?;
/// println!("pay at {:?}", created.invoice_url);
/// for invoice in client.get_invoices("ORDER-1001").await? {
///     println!("{:?} is {:?}", invoice.id, invoice.status);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CryptoInvoiceClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: CryptoInvoiceConfig,
    webhook: WebhookVerifier,
    /// The keys, scrubbed from anything the gateway answers before it becomes an error.
    redactions: Redactions,
}

impl CryptoInvoiceClient {
    /// A client with this configuration.
    pub fn new(config: CryptoInvoiceConfig) -> Self {
        let webhook = WebhookVerifier::from_secret(config.private_key.clone())
            .with_previous_secret(config.previous_private_key.clone());
        let redactions = Redactions::new(
            [config.public_key.clone(), config.private_key.clone()]
                .into_iter()
                .chain(config.previous_private_key.clone()),
        );
        Self { inner: Arc::new(Inner { config, webhook, redactions }) }
    }

    /// A client configured from the environment: see [`CryptoInvoiceConfig::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        CryptoInvoiceConfig::from_env().map(Self::new)
    }

    /// The configuration.
    pub fn config(&self) -> &CryptoInvoiceConfig {
        &self.inner.config
    }

    /// The callback verifier, with this client's private key.
    pub fn webhook_verifier(&self) -> &WebhookVerifier {
        &self.inner.webhook
    }

    /// `POST /create_invoice`: an invoice priced in fiat, paid in a coin. The request is checked
    /// ([`CreateInvoiceRequest::validate`]) before anything is sent; with the config's test mode
    /// on, it is a test invoice. Sent once, never retried.
    pub async fn create_invoice(&self, request: &CreateInvoiceRequest) -> Result<CreatedInvoice, Error> {
        request.validate()?;
        let config = &self.inner.config;
        let body = Body::create_invoice(request, &config.public_key, &config.private_key, config.test_mode);
        let redactions = self.inner.redactions.with(request.email.as_deref());
        let response = self.post(Call::once(PROVIDER, "create_invoice"), "/create_invoice", &body, &redactions).await?;
        wire::parse_create_invoice(&response)
    }

    /// `POST /get_invoices`: the invoices created with this `order_id` (an empty list when there
    /// are none). The answer's `message` is a JSON string holding the array; both layers are
    /// decoded, and a malformed inner string is [`Error::Decode`].
    pub async fn get_invoices(&self, order_id: &str) -> Result<Vec<Invoice>, Error> {
        Ok(self.get_invoices_with_raw(order_id).await?.into_iter().map(|(invoice, _)| invoice).collect())
    }

    /// [`get_invoices`](Self::get_invoices), with each invoice's JSON for `Payment::raw`.
    pub(crate) async fn get_invoices_with_raw(
        &self,
        order_id: &str,
    ) -> Result<Vec<(Invoice, gerbang_core::RawJson)>, Error> {
        if order_id.trim().is_empty() {
            return Err(Error::validation("order_id", "may not be empty"));
        }
        let config = &self.inner.config;
        let body = Body::get_invoices(&config.public_key, &config.private_key, order_id);
        let call = Call::safe(PROVIDER, "get_invoices");
        let response = self.post(call, "/get_invoices", &body, &self.inner.redactions).await?;
        wire::parse_get_invoices(&response)
    }

    async fn post(
        &self,
        call: Call,
        path: &'static str,
        body: &Body,
        redactions: &Redactions,
    ) -> Result<HttpResponse, Error> {
        // The gateway's paths hold no id: each is its own template.
        let call = call.at(path);
        let config = &self.inner.config;
        let url = config.base_url.endpoint(path)?;
        let format = config.body_format;
        // It holds the keys: the transport never logs a body, only its length.
        let text = Bytes::from(body.encode(format));
        config
            .http
            .send(call, || {
                Ok(HttpRequest::new(Method::POST, url.clone())
                    .redacting(redactions)
                    .header("accept", "application/json")?
                    .body(format.content_type(), text.clone()))
            })
            .await
    }
}

impl fmt::Debug for CryptoInvoiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config's own Debug redacts the keys.
        f.debug_struct("CryptoInvoiceClient").field("config", &self.inner.config).finish()
    }
}
