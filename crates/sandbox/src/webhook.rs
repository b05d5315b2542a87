//! Webhook delivery: each gateway module builds the request a gateway would send ([`Outgoing`]);
//! this module sends it in a background task, retries it per the policy, and records every attempt.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gerbang_core::ProviderId;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::Instrument;

use crate::SandboxError;
use crate::state::{Shared, lock};

/// **Decision**: how many times the sandbox sends a Cuan10pay webhook that is not answered with a
/// 2xx. Cuan10pay's document (`seeds/000_b443c682d4d25840.txt`) says only "We will send POST
/// requests to your webhook URL on status changes", nothing about retries: this is an assumption,
/// the usual practice of gateways, so that a merchant's handler is tested for idempotency.
pub const CUAN10PAY_WEBHOOK_ATTEMPTS: u32 = 3;

/// **Decision**: the wait between two Cuan10pay webhook attempts; see
/// [`CUAN10PAY_WEBHOOK_ATTEMPTS`]. Short, so that a sandbox run shows the retries at once.
pub const CUAN10PAY_WEBHOOK_INTERVAL: Duration = Duration::from_secs(2);

/// How long one webhook attempt may take before it is recorded as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times, and how far apart, a webhook is sent until the receiver answers 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WebhookRetry {
    /// Attempts in all, the first included (at least 1).
    pub(crate) attempts: u32,
    /// The wait after a failed attempt.
    pub(crate) interval: Duration,
}

/// The retry policy of each gateway, when the builder does not override it.
pub(crate) fn default_retry(provider: ProviderId) -> WebhookRetry {
    match provider {
        ProviderId::Cuan10pay => {
            WebhookRetry { attempts: CUAN10PAY_WEBHOOK_ATTEMPTS, interval: CUAN10PAY_WEBHOOK_INTERVAL }
        }
        ProviderId::CashIn => crate::cashin::WEBHOOK_RETRY,
        ProviderId::Qris => crate::qris::WEBHOOK_RETRY,
        ProviderId::CryptoInvoice => crate::crypto_invoice::WEBHOOK_RETRY,
        ProviderId::Ciputra => crate::ciputra::WEBHOOK_RETRY,
        _ => WebhookRetry { attempts: 1, interval: CUAN10PAY_WEBHOOK_INTERVAL },
    }
}

/// One webhook delivery attempt, as recorded by the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Delivery {
    /// The gateway that sent it.
    pub provider: ProviderId,
    /// The payment or order it is about (the reference inside the body).
    pub reference: String,
    /// Where it was sent.
    pub url: String,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why no answer came (connection refused, timeout), when none did.
    pub error: Option<String>,
    /// The body sent, exactly.
    pub body: String,
}

impl Delivery {
    /// Whether the receiver accepted it (answered 2xx).
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A webhook request as a gateway would send it.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) provider: ProviderId,
    pub(crate) reference: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: String,
}

/// The latest delivery attempts (at most `limit`, the oldest forgotten first), and a counter of
/// every attempt ever recorded, to wait on.
pub(crate) struct DeliveryLog {
    attempts: Mutex<VecDeque<Delivery>>,
    count: watch::Sender<usize>,
    limit: usize,
}

impl fmt::Debug for DeliveryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryLog").field("count", &*self.count.borrow()).finish_non_exhaustive()
    }
}

impl DeliveryLog {
    pub(crate) fn new(limit: usize) -> Self {
        Self { attempts: Mutex::new(VecDeque::new()), count: watch::Sender::new(0), limit: limit.max(1) }
    }

    /// The attempts kept, oldest first.
    pub(crate) fn all(&self) -> Vec<Delivery> {
        lock(&self.attempts).iter().cloned().collect()
    }

    fn push(&self, delivery: Delivery) {
        {
            let mut attempts = lock(&self.attempts);
            if attempts.len() >= self.limit {
                attempts.pop_front();
            }
            attempts.push_back(delivery);
        }
        self.count.send_modify(|count| *count += 1);
    }

    /// Waits until at least `count` attempts have been recorded since the sandbox started
    /// (forgotten ones included), or `timeout` passes.
    pub(crate) async fn wait_for(&self, count: usize, timeout: Duration) -> Result<Vec<Delivery>, SandboxError> {
        let mut receiver = self.count.subscribe();
        let reached = tokio::time::timeout(timeout, receiver.wait_for(|n| *n >= count)).await;
        match reached {
            Ok(Ok(_)) => Ok(self.all()),
            _ => Err(SandboxError::DeliveriesTimeout { expected: count, seen: *self.count.borrow() }),
        }
    }
}

/// Sends `outgoing` in a background task, with the gateway's retry policy. Every caller is an
/// async handler or control method, so a Tokio runtime is there; should one be driven by another
/// executor, the webhook is skipped with a warning rather than a panic.
pub(crate) fn dispatch(shared: &Arc<Shared>, outgoing: Outgoing) {
    let retry = shared.webhook_retry(outgoing.provider);
    let span = tracing::info_span!("sandbox.webhook", provider = %outgoing.provider, reference = %outgoing.reference);
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(deliver(Arc::clone(shared), outgoing, retry).instrument(span));
        }
        Err(_) => tracing::warn!(parent: &span, "no Tokio runtime to send the webhook from: not sent"),
    }
}

async fn deliver(shared: Arc<Shared>, outgoing: Outgoing, retry: WebhookRetry) {
    let attempts = retry.attempts.max(1);
    for attempt in 1..=attempts {
        let mut request = shared.http.post(&outgoing.url).timeout(ATTEMPT_TIMEOUT).body(outgoing.body.clone());
        for (name, value) in &outgoing.headers {
            request = request.header(*name, value);
        }
        let (status, error) = match request.send().await {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(e) => (None, Some(describe(&e))),
        };
        let delivery = Delivery {
            provider: outgoing.provider,
            reference: outgoing.reference.clone(),
            url: outgoing.url.clone(),
            attempt,
            status,
            error,
            body: outgoing.body.clone(),
        };
        let succeeded = delivery.succeeded();
        tracing::info!(attempt, status = ?delivery.status, error = ?delivery.error, "webhook attempt");
        shared.deliveries.push(delivery);
        if succeeded {
            return;
        }
        if attempt < attempts {
            tokio::time::sleep(retry.interval).await;
        }
    }
    tracing::warn!(attempts, "webhook not accepted after every attempt");
}

/// The error and its causes, without the URL (recorded beside it already).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() { "timed out".to_owned() } else { "could not send".to_owned() };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
