//! The webhook receiver's cost per event over the bare verifier, per inbox.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::Inbox;
use gerbang_core::{FixedClock, PaymentProvider, WebhookRequest};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, WebhookVerifier};
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};
use gerbang_webhooks::{Outcome, Receiver, handler_fn};

const NOW: i64 = 1_700_000_000;
const PATH: &str = "/webhooks/cuan10pay";

/// Per-event latencies, sorted, and the events per second they add up to.
pub(crate) struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    pub(crate) fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self { sorted: samples }
    }

    /// `p50 … µs, p99 … µs`, as the table shows it.
    pub(crate) fn summary(&self) -> String {
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        format!("p50 {:.2} µs, p99 {:.2} µs", micros(self.percentile(0.5)), micros(self.percentile(0.99)))
    }

    pub(crate) fn percentile(&self, p: f64) -> Duration {
        let index = ((self.sorted.len() as f64 - 1.0) * p).round() as usize;
        self.sorted.get(index).copied().unwrap_or_default()
    }
}

/// `n` distinct genuine Cuan10pay webhooks (one event each), distinct from every other run's too,
/// so that a shared inbox of a later run does not find them done already.
pub(crate) fn bodies(run: usize, n: usize) -> Vec<String> {
    let signer = WebhookVerifier::new(PRIVATE_KEY);
    (0..n).map(|i| signer.signed_body(&format!("CP-20251121-{run:02X}{i:06X}"), "PAID", 150_000, NOW)).collect()
}

/// The bare verifier on each body.
pub(crate) fn bare(bodies: &[String]) -> Result<Latencies, gerbang_core::Error> {
    let verifier = WebhookVerifier::new(PRIVATE_KEY).with_clock(Arc::new(FixedClock::at_unix(NOW)));
    let headers = HeaderMap::new();
    let mut samples = Vec::with_capacity(bodies.len());
    for body in bodies {
        let started = Instant::now();
        black_box(verifier.verify(&WebhookRequest::new(Method::POST, PATH, &headers, body.as_bytes()))?);
        samples.push(started.elapsed());
    }
    Ok(Latencies::new(samples))
}

/// The whole receiver (verify, claim, handler, complete) on each body, with `inbox`.
pub(crate) async fn receiver(bodies: &[String], inbox: Arc<dyn Inbox>) -> Result<Latencies, String> {
    let config = Cuan10payConfig::builder(API_KEY, PRIVATE_KEY)
        .clock(Arc::new(FixedClock::at_unix(NOW)))
        .build()
        .map_err(|e| e.to_string())?;
    let gateway: Arc<dyn PaymentProvider> = Arc::new(Cuan10payClient::new(config));
    let receiver = Receiver::builder(inbox)
        .provider(gateway)
        .build(handler_fn(|event| async move { black_box(event).status.is_final().then_some(()).ok_or("not final") }));
    let headers = HeaderMap::new();
    let mut samples = Vec::with_capacity(bodies.len());
    for body in bodies {
        let started = Instant::now();
        let delivery = receiver.receive("cuan10pay", Method::POST, PATH, &headers, body.as_bytes()).await;
        samples.push(started.elapsed());
        if !matches!(delivery.outcome, Outcome::Handled(_)) {
            return Err(format!("an event was not handled: {:?}", delivery.outcome));
        }
    }
    Ok(Latencies::new(samples))
}
