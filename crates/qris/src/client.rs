//! The QRIS client: the key in the query string, the calls of the API, and their answers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::http::Method;
use gerbang_core::secrecy::ExposeSecret;
use gerbang_core::transport::{Call, HttpRequest, HttpResponse};
use gerbang_core::{Error, ProviderId, Redactions};

use crate::answer::{parse_answer, parse_answer_with_raw};
use crate::config::QrisConfig;
use crate::poll;
use crate::request::{WithdrawHistoryQuery, WithdrawRequest};
use crate::types::{Balance, CancelledInvoice, Invoice, Withdrawal, WithdrawalPage};

const PROVIDER: ProviderId = ProviderId::Qris;

/// The query parameter carrying the API key: the document's only example is
/// `POST /api/v1/invoice/cancel?invoice_id={invoice_id}&apikey={api_key}`
/// (`seeds/002_70371d71cc9c4025.txt`). **Decision** (`PROVIDERS.md` §3): every call carries it
/// so, after the call's own parameters.
const API_KEY_PARAM: &str = "apikey";

/// A client of the QRIS invoice gateway. Cheap to clone: clones share the configuration and the
/// connection pool.
///
/// Every call of the document is an inherent method; the common payment flow is its
/// [`PaymentProvider`](gerbang_core::PaymentProvider) implementation. Look-ups are retried by the
/// [`HttpClient`](gerbang_core::HttpClient) when that is safe; creating an invoice, cancelling it
/// and withdrawing go out once.
///
/// The API key travels in the URL's query string: the URL is never logged, traced or put into an
/// error (the transport reports errors without it), and `Debug` shows only the base URL.
///
/// ```no_run
/// use gerbang_qris::QrisClient;
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), gerbang_core::Error> {
/// let client = QrisClient::from_env()?;
/// let invoice = client.create_invoice(10_000).await?;
/// println!("show {:?} to the customer", invoice.qris_image);
/// let settled = client.wait_for_payment(&invoice.invoice_id, Duration::from_secs(15 * 60)).await?;
/// println!("{} is {}", settled.invoice_id, settled.status);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct QrisClient {
    inner: Arc<Inner>,
}

/// A request body: none, or JSON bytes.
enum Body {
    None,
    Json(Vec<u8>),
}

struct Inner {
    config: QrisConfig,
    /// The key, scrubbed from anything the gateway answers before it becomes an error.
    redactions: Redactions,
}

impl QrisClient {
    /// A client with this configuration.
    pub fn new(config: QrisConfig) -> Self {
        let redactions = Redactions::new([config.api_key.clone()]);
        Self { inner: Arc::new(Inner { config, redactions }) }
    }

    /// A client configured from the environment: see [`QrisConfig::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        QrisConfig::from_env().map(Self::new)
    }

    /// The configuration.
    pub fn config(&self) -> &QrisConfig {
        &self.inner.config
    }

    /// `GET /api/v1/balance` (Cek Saldo): the active balance.
    pub async fn balance(&self) -> Result<Balance, Error> {
        let response =
            self.send(Call::safe(PROVIDER, "balance"), Method::GET, "/api/v1/balance", &[], Body::None).await?;
        parse_answer("balance", &response)
    }

    /// `GET /api/v1/invoice/create?amount=…` (Membuat Invoice Deposit): a QRIS invoice of `amount`
    /// whole rupiah, pending. The answer's `qris_image` is the QR code to show the customer; its
    /// `total` (amount plus fee) is what they pay.
    ///
    /// The amount must be positive; it is checked before anything is sent. Sent once, never
    /// retried (a GET, but it creates an invoice): after a timeout, look for the invoice rather
    /// than creating another.
    pub async fn create_invoice(&self, amount: i64) -> Result<Invoice, Error> {
        Ok(self.create_invoice_with_raw(amount).await?.0)
    }

    pub(crate) async fn create_invoice_with_raw(&self, amount: i64) -> Result<(Invoice, gerbang_core::RawJson), Error> {
        if amount <= 0 {
            return Err(Error::validation("amount", "must be a positive whole number of rupiah"));
        }
        let params = [("amount", amount.to_string())];
        let call = Call::once(PROVIDER, "invoice_create");
        let response = self.send(call, Method::GET, "/api/v1/invoice/create", &params, Body::None).await?;
        parse_answer_with_raw("invoice_create", &response)
    }

    /// `GET /api/v1/invoice/status?invoice_id=…` (Cek Status Invoice): the invoice, `pending`,
    /// `paid` or `expired`.
    pub async fn invoice_status(&self, invoice_id: &str) -> Result<Invoice, Error> {
        Ok(self.invoice_status_with_raw(invoice_id).await?.0)
    }

    pub(crate) async fn invoice_status_with_raw(
        &self,
        invoice_id: &str,
    ) -> Result<(Invoice, gerbang_core::RawJson), Error> {
        let params = [("invoice_id", required_id("invoice_id", invoice_id)?)];
        let call = Call::safe(PROVIDER, "invoice_status");
        let response = self.send(call, Method::GET, "/api/v1/invoice/status", &params, Body::None).await?;
        parse_answer_with_raw("invoice_status", &response)
    }

    /// `POST /api/v1/invoice/cancel?invoice_id=…` (Batalkan Invoice): cancels a pending invoice,
    /// which becomes `expired`. The id goes in the query, as in the document's example request.
    ///
    /// An invoice that is not pending is refused by the gateway with
    /// `{"error":"Invoice tidak bisa dibatalkan, status saat ini: paid"}`: [`Error::Api`] with that
    /// message. Sent once, never retried.
    pub async fn cancel_invoice(&self, invoice_id: &str) -> Result<CancelledInvoice, Error> {
        Ok(self.cancel_invoice_with_raw(invoice_id).await?.0)
    }

    pub(crate) async fn cancel_invoice_with_raw(
        &self,
        invoice_id: &str,
    ) -> Result<(CancelledInvoice, gerbang_core::RawJson), Error> {
        let params = [("invoice_id", required_id("invoice_id", invoice_id)?)];
        let call = Call::once(PROVIDER, "invoice_cancel");
        let response = self.send(call, Method::POST, "/api/v1/invoice/cancel", &params, Body::None).await?;
        parse_answer_with_raw("invoice_cancel", &response)
    }

    /// `POST /api/v1/withdraw/dana` (Buat Permintaan Withdraw DANA): asks for `request.amount` to
    /// be sent to a DANA account. The request is [validated](WithdrawRequest::validate) before
    /// anything is sent. The answer is `pending`, with the `fee`, the `total_deduct` taken from
    /// the balance and the `new_balance`; the gateway's admin then approves (`success`) or
    /// rejects (`rejected`) it: follow it with [`withdraw_status`](Self::withdraw_status).
    /// Sent once, never retried.
    pub async fn withdraw_dana(&self, request: &WithdrawRequest) -> Result<Withdrawal, Error> {
        request.validate()?;
        let body = serde_json::to_vec(request)
            .map_err(|_| Error::decode("withdraw_dana request: could not be written as JSON"))?;
        let call = Call::once(PROVIDER, "withdraw_dana");
        // A DANA account number is the holder's phone number.
        let redactions = self.inner.redactions.with([request.account_number.as_str(), request.account_name.as_str()]);
        let response = self
            .send_redacting(call, Method::POST, "/api/v1/withdraw/dana", &[], Body::Json(body), &redactions)
            .await?;
        parse_answer("withdraw_dana", &response)
    }

    /// `GET /api/v1/withdraw/status?withdraw_id=…` (Cek Status Withdraw): a withdrawal now.
    pub async fn withdraw_status(&self, withdraw_id: &str) -> Result<Withdrawal, Error> {
        let params = [("withdraw_id", required_id("withdraw_id", withdraw_id)?)];
        let call = Call::safe(PROVIDER, "withdraw_status");
        let response = self.send(call, Method::GET, "/api/v1/withdraw/status", &params, Body::None).await?;
        parse_answer("withdraw_status", &response)
    }

    /// `GET /api/v1/withdraw/history?page=…&limit=…[&status=…]` (Riwayat Withdraw): one page.
    /// [`withdraw_history_stream`](Self::withdraw_history_stream) walks every page.
    pub async fn withdraw_history(&self, query: &WithdrawHistoryQuery) -> Result<WithdrawalPage, Error> {
        query.validate()?;
        let call = Call::safe(PROVIDER, "withdraw_history");
        let response = self.send(call, Method::GET, "/api/v1/withdraw/history", &query.params(), Body::None).await?;
        parse_answer("withdraw_history", &response)
    }

    /// Polls [`invoice_status`](Self::invoice_status) until the invoice is `paid` or `expired`,
    /// and returns it; [`Error::Timeout`] (operation `wait_for_payment`) if it is still pending
    /// after `timeout`.
    ///
    /// The gateway sends no webhook, so this is how to learn of a payment. Look-ups are spaced
    /// per the config's [`PollPolicy`](crate::PollPolicy) (jittered, doubling, capped). A
    /// transient failure of one look-up (network, 5xx, rate limit) is followed by the next
    /// look-up; any other error (an unknown invoice, a refused key) ends the wait at once.
    ///
    /// Cancel-safe: nothing runs in the background, so dropping the future (a `select!` branch
    /// losing, a request handler going away) stops the polling.
    pub async fn wait_for_payment(&self, invoice_id: &str, timeout: Duration) -> Result<Invoice, Error> {
        required_id("invoice_id", invoice_id)?;
        poll::wait_until_final(self.inner.config.poll, timeout, || self.invoice_status(invoice_id), rand::random::<f64>)
            .await
    }

    /// Sends a call: the path under the base URL, `params` then `apikey` in the query, and the
    /// body (JSON) if any. The URL holding the key is built for each attempt and handed only to
    /// the transport, which never logs it nor puts it into an error.
    async fn send(
        &self,
        call: Call,
        method: Method,
        path: &'static str,
        params: &[(&str, String)],
        body: Body,
    ) -> Result<HttpResponse, Error> {
        self.send_redacting(call, method, path, params, body, &self.inner.redactions).await
    }

    /// [`send`](Self::send), scrubbing `redactions` from the answer's text.
    async fn send_redacting(
        &self,
        call: Call,
        method: Method,
        path: &'static str,
        params: &[(&str, String)],
        body: Body,
        redactions: &Redactions,
    ) -> Result<HttpResponse, Error> {
        // The gateway's paths hold no id (ids go in the query): each is its own template.
        let call = call.at(path);
        let config = &self.inner.config;
        let base = config.base_url.endpoint(path)?;
        config
            .http
            .send(call, || {
                let mut url = base.clone();
                {
                    let mut query = url.query_pairs_mut();
                    for (name, value) in params {
                        query.append_pair(name, value);
                    }
                    query.append_pair(API_KEY_PARAM, config.api_key.expose_secret());
                }
                let request =
                    HttpRequest::new(method.clone(), url).redacting(redactions).header("accept", "application/json")?;
                Ok(match &body {
                    Body::None => request,
                    Body::Json(bytes) => request.body("application/json", bytes.clone()),
                })
            })
            .await
    }
}

/// An id for the query: an empty one is refused, since the gateway could only answer that
/// nothing is found. (It is form-encoded when the query is written.)
fn required_id(field: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::validation(field, "may not be empty"));
    }
    Ok(value.to_owned())
}

impl fmt::Debug for QrisClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config's own Debug redacts the key.
        f.debug_struct("QrisClient").field("config", &self.inner.config).finish()
    }
}
