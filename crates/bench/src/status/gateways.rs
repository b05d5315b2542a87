//! Each gateway set up for its status calls: a client configured for the sandbox, a payment
//! created through it (its status is then looked up, the same payment every call), and the
//! [`hand`]-written call of that payment's status, ready to be sent to a task.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use gerbang_cashin::{CashinClient, CashinConfig};
use gerbang_ciputra::{CiputraClient, CiputraConfig};
use gerbang_core::{Bank, Channel, Money, PaymentProvider, PaymentRequest, ProviderId};
use gerbang_crypto_invoice::{CryptoInvoiceClient, CryptoInvoiceConfig};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang_qris::{QrisClient, QrisConfig};
use gerbang_sandbox::{cashin, ciputra, crypto_invoice, cuan10pay, qris};
use serde_json::Value;

use super::hand;
use crate::Result;

/// The hand-written status call of a gateway's payment: each call gives a new future that owns
/// what it needs, so that it can be spawned (the concurrent rows) or awaited in place.
pub(crate) type Hand = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Value>> + Send>> + Send + Sync>;

/// A gateway set up for its status calls.
pub(crate) struct Gateway<C> {
    /// As the table names it.
    pub(crate) name: &'static str,
    /// The typed client.
    pub(crate) client: C,
    /// The same client as a trait object, as a merchant using the facade holds it.
    pub(crate) provider: Arc<dyn PaymentProvider>,
    /// What the status call takes: see [`gerbang_core::Capabilities::lookup`].
    pub(crate) id: Arc<str>,
    /// The same call written by hand.
    pub(crate) hand: Hand,
    /// The sandbox's base URL of the gateway.
    pub(crate) base: Arc<str>,
}

impl<C: PaymentProvider + Clone + 'static> Gateway<C> {
    /// Creates the payment through `client` and wraps `hand`, which is given a reqwest client of
    /// its own, the base URL and the id, in a [`Hand`].
    async fn new<F, Fut>(name: &'static str, client: C, request: PaymentRequest, base: &str, hand: F) -> Result<Self>
    where
        F: Fn(reqwest::Client, Arc<str>, Arc<str>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value>> + Send + 'static,
    {
        let provider: Arc<dyn PaymentProvider> = Arc::new(client.clone());
        let payment = provider.create_payment(&request).await?;
        let id = payment.lookup_id(provider.capabilities().lookup).ok_or("the created payment has no id to look up")?;
        let (id, base, http) = (Arc::<str>::from(id), Arc::<str>::from(base), hand::client()?);
        let hand: Hand = {
            let (id, base) = (id.clone(), base.clone());
            Arc::new(move || -> Pin<Box<dyn Future<Output = Result<Value>> + Send>> {
                Box::pin(hand(http.clone(), base.clone(), id.clone()))
            })
        };
        Ok(Self { name, client, provider, id, hand, base })
    }
}

/// The merchant's reference of this run's payment of `gateway`: unique per run, since Cash In
/// and Ciputra refuse a reference used before.
fn reference(gateway: ProviderId, run: usize) -> String {
    format!("BENCH-{}-{run}", gateway.as_str().to_uppercase())
}

pub(crate) async fn cuan10pay(base: &str, run: usize) -> Result<Gateway<Cuan10payClient>> {
    // No rate budget: the figures are the SDK's, not the budget's.
    let config = Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY).base_url(base);
    let client = Cuan10payClient::new(config.without_rate_budget().build()?);
    let request = PaymentRequest::builder(reference(ProviderId::Cuan10pay, run), Money::idr(50_000));
    let request = request.channel(Channel::Qris).build()?;
    Gateway::new("Cuan10pay", client, request, base, |http, base, id| async move {
        hand::cuan10pay(&http, &base, &id).await
    })
    .await
}

pub(crate) async fn cashin(base: &str, run: usize) -> Result<Gateway<CashinClient>> {
    let client =
        CashinClient::new(CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY).base_url(base).build()?);
    // Cash In needs the customer's id and phone, and a page to send the customer back to.
    let request = PaymentRequest::builder(reference(ProviderId::CashIn, run), Money::idr(50_000))
        .channel(Channel::Qris)
        .customer_id("CUST-42")
        .customer_phone("081234567890")
        .return_url("https://shop.example.com/orders/42")
        .build()?;
    Gateway::new(
        "Cash In",
        client,
        request,
        base,
        |http, base, id| async move { hand::cashin(&http, &base, &id).await },
    )
    .await
}

pub(crate) async fn qris(base: &str, run: usize) -> Result<Gateway<QrisClient>> {
    let client = QrisClient::new(QrisConfig::builder(qris::API_KEY).base_url(base).build()?);
    let request = PaymentRequest::builder(reference(ProviderId::Qris, run), Money::idr(50_000)).build()?;
    Gateway::new("QRIS", client, request, base, |http, base, id| async move { hand::qris(&http, &base, &id).await })
        .await
}

pub(crate) async fn crypto_invoice(base: &str, run: usize) -> Result<Gateway<CryptoInvoiceClient>> {
    let config = CryptoInvoiceConfig::builder(crypto_invoice::PUBLIC_KEY, crypto_invoice::PRIVATE_KEY).base_url(base);
    let client = CryptoInvoiceClient::new(config.build()?);
    let request = PaymentRequest::builder(reference(ProviderId::CryptoInvoice, run), Money::idr(150_000))
        .customer_email("budi@example.com")
        .description("2 x Kopi Susu")
        .build()?;
    Gateway::new("Crypto invoice", client, request, base, |http, base, id| async move {
        hand::crypto_invoice(&http, &base, &id).await
    })
    .await
}

pub(crate) async fn ciputra(base: &str, run: usize) -> Result<Gateway<CiputraClient>> {
    let client =
        CiputraClient::new(CiputraConfig::builder(ciputra::API_KEY, ciputra::API_SECRET).base_url(base).build()?);
    let request = PaymentRequest::builder(reference(ProviderId::Ciputra, run), Money::idr(350_000))
        .channel(Channel::VirtualAccount(Bank::Bca))
        .customer_name("Budi Santoso")
        .build()?;
    // Fetched once and reused, as the client caches the token it fetched to create the payment.
    let token: Arc<str> = hand::ciputra_token(&hand::client()?, base).await?.into();
    Gateway::new("Ciputra", client, request, base, move |http, base, id| {
        let token = token.clone();
        async move { hand::ciputra(&http, &base, &token, &id).await }
    })
    .await
}
