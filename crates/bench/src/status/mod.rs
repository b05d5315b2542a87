//! Every gateway's status call, against the same sandbox on loopback, three ways interleaved call
//! by call: through [`PaymentProvider::payment_status`] on an `Arc<dyn PaymentProvider>` (as a
//! merchant using the facade calls it), through the gateway's typed client method, and written by
//! hand ([`hand`]: reqwest, the bare signing crates, the answer parsed into `serde_json::Value`).
//! Cuan10pay has a fourth way, gerbang-core's transport with the hand-written signing and
//! parsing, for what the transport alone adds; and [`parsing()`], its answer parse alone.
//!
//! Each gateway's payment is created once, through the SDK, and then looked up: the status of
//! the same payment every call. The SDK's clients have no rate budget, so that the figures are
//! the SDK's, not the budget's.

mod hand;
mod parsing;

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gerbang_ciputra::{CiputraClient, CiputraConfig};
use gerbang_core::http::Method;
use gerbang_core::transport::{Call, HttpRequest};
use gerbang_core::{Bank, Channel, HttpClient, Money, PaymentProvider, PaymentRequest, ProviderId};
use gerbang_crypto_invoice::{CryptoInvoiceClient, CryptoInvoiceConfig};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang_qris::{QrisClient, QrisConfig};
use gerbang_sandbox::{cashin, ciputra, crypto_invoice, cuan10pay, qris};
use serde_json::Value;

pub(crate) use parsing::parsing;

use crate::{Result, median};

/// Measured calls each way per gateway. The median of 2 000 moves by well under 1 % from run to
/// run on loopback, which a 1.05 goal needs; and 5 gateways × 3 ways × 2 200 calls (with the
/// warm-up, and Cuan10pay's fourth way) at 0.1 – 0.5 ms a call keep this part of the run to
/// seconds, not minutes, on two shared cores.
pub(crate) const CALLS: usize = 2_000;
/// Calls each way before the measured ones: connections opened, caches and the token warm.
const WARM_UP: usize = 200;

/// One gateway's medians.
pub(crate) struct Status {
    pub(crate) gateway: &'static str,
    /// Through the `PaymentProvider` trait object.
    pub(crate) via_trait: Duration,
    /// Through the typed client method.
    pub(crate) typed: Duration,
    /// Written by hand.
    pub(crate) hand: Duration,
    /// Cuan10pay only: gerbang-core's transport with the hand-written signing and parsing.
    pub(crate) transport: Option<Duration>,
}

/// One way of making a gateway's status call: each call gives a new future, whose answer is
/// kept from the optimiser and dropped. Boxed, so that one driver takes every gateway's ways;
/// every way pays the same box.
type Way<'a> = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Result<()>> + 'a>> + 'a>;

fn way<'a, F, Fut, T, E>(mut call: F) -> Way<'a>
where
    F: FnMut() -> Fut + 'a,
    Fut: Future<Output = std::result::Result<T, E>> + 'a,
    E: Into<Box<dyn std::error::Error>>,
{
    Box::new(move || {
        let answer = call();
        Box::pin(async move {
            black_box(answer.await.map_err(Into::into)?);
            Ok(())
        })
    })
}

/// Every order of `n` ways. Taking them in turn, each way goes first as often as any other and
/// follows each other way as often, so none always meets a warmer connection or cache.
fn orders(n: usize) -> Vec<Vec<usize>> {
    let mut all = vec![Vec::new()];
    for way in 0..n {
        all = all
            .into_iter()
            .flat_map(|order: Vec<usize>| {
                (0..=order.len()).map(move |at| {
                    let mut order = order.clone();
                    order.insert(at, way);
                    order
                })
            })
            .collect();
    }
    all
}

/// The driver: [`WARM_UP`] then [`CALLS`] rounds, each making one call each way in the next of
/// [`orders`]; the median of each way's measured calls, in the order of `ways`. The first error
/// ends the run: a refused call is never measured.
async fn interleave(ways: &mut [Way<'_>]) -> Result<Vec<Duration>> {
    let orders = orders(ways.len());
    let mut samples = vec![Vec::with_capacity(CALLS); ways.len()];
    for round in 0..WARM_UP + CALLS {
        for &index in &orders[round % orders.len()] {
            let started = Instant::now();
            ways[index]().await?;
            let elapsed = started.elapsed();
            if round >= WARM_UP {
                samples[index].push(elapsed);
            }
        }
    }
    Ok(samples.iter_mut().map(|samples| median(samples)).collect())
}

/// Creates the payment to look up, through the trait, and gives the id its status call takes.
async fn create(provider: &dyn PaymentProvider, request: PaymentRequest) -> Result<String> {
    let payment = provider.create_payment(&request).await?;
    let id = payment.lookup_id(provider.capabilities().lookup).ok_or("the created payment has no id to look up")?;
    Ok(id.to_owned())
}

/// The trait way, then `typed`, `hand` and any `more`, interleaved.
async fn compare<'a>(
    gateway: &'static str,
    provider: &'a dyn PaymentProvider,
    id: &'a str,
    typed: Way<'a>,
    hand: Way<'a>,
    more: Option<Way<'a>>,
) -> Result<Status> {
    let mut ways = vec![way(move || provider.payment_status(id)), typed, hand];
    ways.extend(more);
    let medians = interleave(&mut ways).await?;
    Ok(Status {
        gateway,
        via_trait: medians[0],
        typed: medians[1],
        hand: medians[2],
        transport: medians.get(3).copied(),
    })
}

/// The merchant's reference of this run's payment of `gateway`: unique per run, since Cash In
/// and Ciputra refuse a reference used before.
fn reference(gateway: ProviderId, run: usize) -> String {
    format!("BENCH-{}-{run}", gateway.as_str().to_uppercase())
}

/// Every gateway's medians, in the project's order; `base_url` gives each one's sandbox URL.
pub(crate) fn status_calls(base_url: impl Fn(ProviderId) -> String, run: usize) -> Result<Vec<Status>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        Ok(vec![
            cuan10pay(&base_url(ProviderId::Cuan10pay), run).await?,
            cashin(&base_url(ProviderId::CashIn), run).await?,
            qris(&base_url(ProviderId::Qris), run).await?,
            crypto_invoice(&base_url(ProviderId::CryptoInvoice), run).await?,
            ciputra(&base_url(ProviderId::Ciputra), run).await?,
        ])
    })
}

async fn cuan10pay(base: &str, run: usize) -> Result<Status> {
    let config = Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY).base_url(base);
    let client = Cuan10payClient::new(config.without_rate_budget().build()?);
    let provider: Arc<dyn PaymentProvider> = Arc::new(client.clone());
    let request = PaymentRequest::builder(reference(ProviderId::Cuan10pay, run), Money::idr(50_000));
    let id = &create(&*provider, request.channel(Channel::Qris).build()?).await?;
    let (http, transport) = (hand::client()?, HttpClient::new());
    let (client, http, transport) = (&client, &http, &transport);
    let typed = way(move || client.deposit_status(id));
    let hand = way(move || hand::cuan10pay(http, base, id));
    let on_transport = way(move || transport_only(transport, base, id));
    compare("Cuan10pay", &*provider, id, typed, hand, Some(on_transport)).await
}

/// gerbang-core's transport with the hand-written signing and parsing: what the transport alone
/// adds over bare reqwest (its timeouts, retry bookkeeping, tracing span).
async fn transport_only(transport: &HttpClient, base: &str, deposit_id: &str) -> Result<Value> {
    let path = format!("/v1/deposit_status?ref={deposit_id}");
    let url: reqwest::Url = format!("{base}{path}").parse()?;
    let response = transport
        .send(Call::safe(ProviderId::Cuan10pay, "deposit_status"), || {
            let timestamp =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
            HttpRequest::new(Method::GET, url.clone())
                .header("accept", "application/json")?
                .header("x-api-key", cuan10pay::API_KEY)?
                .header("x-timestamp", &timestamp.to_string())?
                .header("x-signature", &hand::cuan10pay_signature(timestamp, &path))
        })
        .await?;
    if !response.status.is_success() {
        return Err(format!("the gateway refused the call: HTTP {}", response.status).into());
    }
    hand::cuan10pay_deposit(serde_json::from_slice(&response.body)?)
}

async fn cashin(base: &str, run: usize) -> Result<Status> {
    let config = gerbang_cashin::CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY).base_url(base);
    let client = gerbang_cashin::CashinClient::new(config.build()?);
    let provider: Arc<dyn PaymentProvider> = Arc::new(client.clone());
    // Cash In needs the customer's id and phone, and a page to send the customer back to.
    let request = PaymentRequest::builder(reference(ProviderId::CashIn, run), Money::idr(50_000))
        .channel(Channel::Qris)
        .customer_id("CUST-42")
        .customer_phone("081234567890")
        .return_url("https://shop.example.com/orders/42");
    let id = &create(&*provider, request.build()?).await?;
    let (client, http) = (&client, &hand::client()?);
    let typed = way(move || client.checkout_status(id));
    let hand = way(move || hand::cashin(http, base, id));
    compare("Cash In", &*provider, id, typed, hand, None).await
}

async fn qris(base: &str, run: usize) -> Result<Status> {
    let client = QrisClient::new(QrisConfig::builder(qris::API_KEY).base_url(base).build()?);
    let provider: Arc<dyn PaymentProvider> = Arc::new(client.clone());
    let request = PaymentRequest::builder(reference(ProviderId::Qris, run), Money::idr(50_000));
    let id = &create(&*provider, request.build()?).await?;
    let (client, http) = (&client, &hand::client()?);
    let typed = way(move || client.invoice_status(id));
    let hand = way(move || hand::qris(http, base, id));
    compare("QRIS", &*provider, id, typed, hand, None).await
}

async fn crypto_invoice(base: &str, run: usize) -> Result<Status> {
    let config = CryptoInvoiceConfig::builder(crypto_invoice::PUBLIC_KEY, crypto_invoice::PRIVATE_KEY).base_url(base);
    let client = CryptoInvoiceClient::new(config.build()?);
    let provider: Arc<dyn PaymentProvider> = Arc::new(client.clone());
    let request = PaymentRequest::builder(reference(ProviderId::CryptoInvoice, run), Money::idr(150_000))
        .customer_email("budi@example.com")
        .description("2 x Kopi Susu");
    let id = &create(&*provider, request.build()?).await?;
    let (client, http) = (&client, &hand::client()?);
    let typed = way(move || client.get_invoices(id));
    let hand = way(move || hand::crypto_invoice(http, base, id));
    compare("Crypto invoice", &*provider, id, typed, hand, None).await
}

async fn ciputra(base: &str, run: usize) -> Result<Status> {
    let config = CiputraConfig::builder(ciputra::API_KEY, ciputra::API_SECRET).base_url(base);
    let client = CiputraClient::new(config.build()?);
    let provider: Arc<dyn PaymentProvider> = Arc::new(client.clone());
    let request = PaymentRequest::builder(reference(ProviderId::Ciputra, run), Money::idr(350_000))
        .channel(Channel::VirtualAccount(Bank::Bca))
        .customer_name("Budi Santoso");
    let id = &create(&*provider, request.build()?).await?;
    let http = &hand::client()?;
    // Fetched once and reused, as the client caches the token it fetched to create the payment.
    let token = &hand::ciputra_token(http, base).await?;
    let client = &client;
    let typed = way(move || client.transaction_status(id));
    let hand = way(move || hand::ciputra(http, base, token, id));
    compare("Ciputra", &*provider, id, typed, hand, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_goes_first_and_follows_every_other_equally_often() {
        let orders = orders(3);
        assert_eq!(orders.len(), 6);
        for way in 0..3 {
            assert_eq!(orders.iter().filter(|order| order[0] == way).count(), 2);
            for before in (0..3).filter(|&other| other != way) {
                let follows = orders.iter().filter(|order| order.windows(2).any(|w| w == [before, way])).count();
                assert_eq!(follows, 2, "{way} after {before}");
            }
        }
        let mut distinct = orders.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 6);
    }
}
