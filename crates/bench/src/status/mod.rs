//! Every gateway's status call, against the same sandbox on loopback, three ways interleaved call
//! by call: through [`payment_status`](gerbang_core::PaymentProvider::payment_status) on an `Arc<dyn PaymentProvider>` (as a
//! merchant using the facade calls it), through the gateway's typed client method, and written by
//! hand ([`hand`]: reqwest, the bare signing crates, the answer parsed into `serde_json::Value`).
//! Cuan10pay has a fourth way, gerbang-core's transport with the hand-written signing and
//! parsing, for what the transport alone adds; and [`parsing()`], its answer parse alone.
//!
//! Each gateway's payment is created once, through the SDK, and then looked up: the status of
//! the same payment every call. The SDK's clients have no rate budget, so that the figures are
//! the SDK's, not the budget's.

pub(crate) mod cpu;
mod gateways;
mod hand;
mod parsing;

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::time::{Duration, Instant};

use gerbang_core::http::Method;
use gerbang_core::transport::{Call, HttpRequest};
use gerbang_core::{HttpClient, ProviderId};
use gerbang_sandbox::cuan10pay;
use serde_json::Value;

use self::gateways::Gateway;

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

/// The trait way, then `typed`, the hand-written call and any `more`, interleaved.
async fn compare<'a, C>(gateway: &'a Gateway<C>, typed: Way<'a>, more: Option<Way<'a>>) -> Result<Status> {
    let (provider, id, hand) = (&*gateway.provider, &*gateway.id, &gateway.hand);
    let mut ways = vec![way(move || provider.payment_status(id)), typed, way(move || hand())];
    ways.extend(more);
    let medians = interleave(&mut ways).await?;
    Ok(Status {
        gateway: gateway.name,
        via_trait: medians[0],
        typed: medians[1],
        hand: medians[2],
        transport: medians.get(3).copied(),
    })
}

/// Every gateway's medians, in the project's order; `base_url` gives each one's sandbox URL.
pub(crate) fn status_calls(base_url: impl Fn(ProviderId) -> String, run: usize) -> Result<Vec<Status>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let cuan10pay = gateways::cuan10pay(&base_url(ProviderId::Cuan10pay), run).await?;
        let transport = &HttpClient::new();
        let (client, id, base) = (&cuan10pay.client, &*cuan10pay.id, &*cuan10pay.base);
        let on_transport = way(move || transport_only(transport, base, id));
        let cuan10pay = compare(&cuan10pay, way(move || client.deposit_status(id)), Some(on_transport)).await?;

        let cashin = gateways::cashin(&base_url(ProviderId::CashIn), run).await?;
        let (client, id) = (&cashin.client, &*cashin.id);
        let cashin = compare(&cashin, way(move || client.checkout_status(id)), None).await?;

        let qris = gateways::qris(&base_url(ProviderId::Qris), run).await?;
        let (client, id) = (&qris.client, &*qris.id);
        let qris = compare(&qris, way(move || client.invoice_status(id)), None).await?;

        let crypto_invoice = gateways::crypto_invoice(&base_url(ProviderId::CryptoInvoice), run).await?;
        let (client, id) = (&crypto_invoice.client, &*crypto_invoice.id);
        let crypto_invoice = compare(&crypto_invoice, way(move || client.get_invoices(id)), None).await?;

        let ciputra = gateways::ciputra(&base_url(ProviderId::Ciputra), run).await?;
        let (client, id) = (&ciputra.client, &*ciputra.id);
        let ciputra = compare(&ciputra, way(move || client.transaction_status(id)), None).await?;
        Ok(vec![cuan10pay, cashin, qris, crypto_invoice, ciputra])
    })
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
