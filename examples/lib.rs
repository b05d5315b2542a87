//! Shared pieces of the examples: a client of each gateway for the sandbox, and a webhook receiver
//! that hands every delivery to the caller.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use gerbang::cashin::{CashinClient, CashinConfig};
use gerbang::ciputra::{CiputraClient, CiputraConfig};
use gerbang::crypto_invoice::{CryptoInvoiceClient, CryptoInvoiceConfig};
use gerbang::cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang::qris::{PollPolicy, QrisClient, QrisConfig};
use gerbang::sandbox::{SandboxHandle, cashin, ciputra, crypto_invoice, qris};
use gerbang::{Error, MAX_WEBHOOK_BODY_BYTES, ProviderId};
use tokio::sync::mpsc;

/// A Cuan10pay client for the sandbox, with the sandbox's published test credentials.
pub fn cuan10pay_sandbox_client(sandbox: &SandboxHandle) -> Result<Cuan10payClient, Error> {
    Cuan10payConfig::builder(gerbang::sandbox::cuan10pay::API_KEY, gerbang::sandbox::cuan10pay::PRIVATE_KEY)
        .base_url(sandbox.base_url(ProviderId::Cuan10pay))
        .build()
        .map(Cuan10payClient::new)
}

/// A Cash In client for the sandbox, with its test credentials and the public key its
/// notifications are signed with.
pub fn cashin_sandbox_client(sandbox: &SandboxHandle) -> Result<CashinClient, Error> {
    CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY)
        .base_url(sandbox.base_url(ProviderId::CashIn))
        .public_key_pem(cashin::public_key_pem())
        .build()
        .map(CashinClient::new)
}

/// A QRIS client for the sandbox, polling often: its customer pays at once.
pub fn qris_sandbox_client(sandbox: &SandboxHandle) -> Result<QrisClient, Error> {
    QrisConfig::builder(qris::API_KEY)
        .base_url(sandbox.base_url(ProviderId::Qris))
        .poll_policy(PollPolicy::new(Duration::from_millis(100), Duration::from_secs(1)))
        .build()
        .map(QrisClient::new)
}

/// A crypto-invoice client for the sandbox, in test mode.
pub fn crypto_invoice_sandbox_client(sandbox: &SandboxHandle) -> Result<CryptoInvoiceClient, Error> {
    CryptoInvoiceConfig::builder(crypto_invoice::PUBLIC_KEY, crypto_invoice::PRIVATE_KEY)
        .base_url(sandbox.base_url(ProviderId::CryptoInvoice))
        .test_mode(true)
        .build()
        .map(CryptoInvoiceClient::new)
}

/// A Ciputra client for the sandbox, with its test credentials.
pub fn ciputra_sandbox_client(sandbox: &SandboxHandle) -> Result<CiputraClient, Error> {
    CiputraConfig::builder(ciputra::API_KEY, ciputra::API_SECRET)
        .base_url(sandbox.base_url(ProviderId::Ciputra))
        .build()
        .map(CiputraClient::new)
}

/// A webhook as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// Method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// Headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Bytes,
}

/// A local HTTP server that accepts any POST and passes it on; it answers 200 at once, so the
/// sender is not kept waiting on the verification done by whoever reads the deliveries.
#[derive(Debug)]
pub struct WebhookInbox {
    addr: SocketAddr,
    deliveries: mpsc::UnboundedReceiver<Received>,
}

impl WebhookInbox {
    /// Starts the receiver on an ephemeral loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let (tx, deliveries) = mpsc::unbounded_channel();
        let app = Router::new().fallback(receive).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES)).with_state(tx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { addr, deliveries })
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The next delivery, or `None` after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Received> {
        tokio::time::timeout(timeout, self.deliveries.recv()).await.ok().flatten()
    }
}

async fn receive(
    State(tx): State<mpsc::UnboundedSender<Received>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let _ = tx.send(Received { method, path: uri.path().to_owned(), headers, body });
    StatusCode::OK
}
