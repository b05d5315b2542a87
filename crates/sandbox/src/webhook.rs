//! Webhook delivery: each gateway module builds the request a gateway would send ([`Outgoing`]);
//! this module sends it in a background task, retries it per the policy, and records every attempt.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gerbang_core::ProviderId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::watch;
use tracing::Instrument;

use crate::state::{Shared, lock};
use crate::{DeliveryPlan, SandboxError};

/// How long one webhook attempt may take before it is recorded as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a receiver's answer is recorded.
const ANSWER_LIMIT: usize = 4096;

/// How many times, and how far apart, a webhook is sent until the receiver answers 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WebhookRetry {
    /// Attempts in all, the first included (at least 1).
    pub(crate) attempts: u32,
    /// The wait after a failed attempt.
    pub(crate) interval: Duration,
}

/// One webhook delivery attempt, as recorded by the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Delivery {
    /// The gateway that sent it.
    pub provider: ProviderId,
    /// The payment or order it is about (the reference inside the body).
    pub reference: String,
    /// Where it was sent (or would have been, when [`dropped`](Self::dropped)).
    pub url: String,
    /// 1 for the first attempt of a copy, 2 for its first retry, …
    pub attempt: u32,
    /// Which copy of the webhook this attempt is of, 1 for the first; more than 1 only with a
    /// [`DeliveryPlan`](crate::DeliveryPlan) of several copies.
    #[serde(default = "first")]
    pub copy: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The body of the receiver's answer (its first 4 KiB, invalid UTF-8 replaced), when it
    /// answered: the acknowledgement a gateway expects, such as Cash In's
    /// `{"responseCode":"2005600",…}`.
    #[serde(default)]
    pub answer: Option<String>,
    /// Why no answer came (connection refused, timeout, dropped by the plan), when none did.
    pub error: Option<String>,
    /// Whether the plan dropped it: nothing was sent, as when a gateway loses a webhook.
    #[serde(default)]
    pub dropped: bool,
    /// The body sent (or that would have been), exactly.
    pub body: String,
    /// The request's headers, as sent (or as they would have been), in order; names in lower
    /// case. Signatures, never secrets: no gateway sends its key in a header.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// When the attempt was made (or dropped), on the sandbox clock.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
}

const fn first() -> u32 {
    1
}

/// The error text of a dropped copy.
pub(crate) const DROPPED: &str = "dropped by the delivery plan: not sent";

impl Delivery {
    /// Whether the receiver accepted it (answered 2xx).
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A webhook request for one URL, as a gateway would send it there.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: String,
}

/// Where a webhook goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The URLs configured for the gateway (its dashboard), in turn.
    Configured,
    /// The one URL the payment was created with (a `callback_url` field).
    Url(String),
}

/// Makes the request for a URL; `None` when it cannot be made for that URL (Cash In signs the
/// URL's path, and a URL without one cannot be signed).
type Render = dyn Fn(&str) -> Option<Outgoing> + Send + Sync;

/// A webhook, as the gateway module made it when the payment changed: to be delivered by
/// [`dispatch`] to its target, any number of times.
pub(crate) struct Webhook {
    pub(crate) provider: ProviderId,
    pub(crate) reference: String,
    pub(crate) target: Target,
    render: Box<Render>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("provider", &self.provider)
            .field("reference", &self.reference)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// A webhook whose request is the same whatever the URL.
    pub(crate) fn new(provider: ProviderId, reference: impl Into<String>, target: Target, outgoing: Outgoing) -> Self {
        Self::per_url(provider, reference, target, move |_| Some(outgoing.clone()))
    }

    /// A webhook whose request depends on the URL it goes to; `render` must make the same
    /// request for the same URL every time, so that a retry or a copy is the same webhook.
    pub(crate) fn per_url(
        provider: ProviderId,
        reference: impl Into<String>,
        target: Target,
        render: impl Fn(&str) -> Option<Outgoing> + Send + Sync + 'static,
    ) -> Self {
        Self { provider, reference: reference.into(), target, render: Box::new(render) }
    }
}

/// The webhook URLs of a gateway, taken in turn by each delivery attempt (round robin), as a
/// load balancer in front of several receivers would spread them.
#[derive(Debug, Default)]
pub(crate) struct WebhookUrls {
    urls: Vec<String>,
    next: AtomicUsize,
}

impl WebhookUrls {
    pub(crate) fn push(&mut self, url: String) {
        self.urls.push(url);
    }

    /// Every URL, in the order the attempts take them.
    pub(crate) fn all(&self) -> &[String] {
        &self.urls
    }

    pub(crate) fn first(&self) -> Option<&str> {
        self.urls.first().map(String::as_str)
    }

    /// Takes `count` turns; the first one's index.
    fn take(&self, count: usize) -> usize {
        self.next.fetch_add(count, Ordering::Relaxed)
    }

    fn at(&self, turn: usize) -> Option<&str> {
        // `turn % len` is in range whenever the list is not empty.
        self.urls.get(turn.checked_rem(self.urls.len())?).map(String::as_str)
    }
}

/// The latest delivery attempts (at most `limit`, the oldest forgotten first), and a counter of
/// every attempt ever recorded, to wait on.
pub(crate) struct DeliveryLog {
    attempts: Mutex<VecDeque<Delivery>>,
    count: watch::Sender<usize>,
    /// Each attempt as it is recorded, for whoever listens ([`Sandbox::subscribe_deliveries`](crate::Sandbox::subscribe_deliveries)).
    recorded: tokio::sync::broadcast::Sender<Delivery>,
    limit: usize,
}

impl fmt::Debug for DeliveryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryLog").field("count", &*self.count.borrow()).finish_non_exhaustive()
    }
}

impl DeliveryLog {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            attempts: Mutex::new(VecDeque::new()),
            count: watch::Sender::new(0),
            recorded: tokio::sync::broadcast::Sender::new(256),
            limit: limit.max(1),
        }
    }

    /// The attempts kept, oldest first.
    pub(crate) fn all(&self) -> Vec<Delivery> {
        lock(&self.attempts).iter().cloned().collect()
    }

    /// The attempts kept of one payment's (or order's) webhooks, oldest first.
    pub(crate) fn of(&self, provider: ProviderId, reference: &str) -> Vec<Delivery> {
        lock(&self.attempts).iter().filter(|d| d.provider == provider && d.reference == reference).cloned().collect()
    }

    /// How many attempts have been recorded since the sandbox started, forgotten ones included.
    pub(crate) fn recorded(&self) -> usize {
        *self.count.borrow()
    }

    /// Every attempt recorded from now on.
    pub(crate) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Delivery> {
        self.recorded.subscribe()
    }

    fn push(&self, delivery: Delivery) {
        // Nobody listening is fine: the log keeps it.
        let _ = self.recorded.send(delivery.clone());
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

/// Delivers `webhook` in background tasks, one per copy of the plan, each copy retried per the
/// gateway's policy; every attempt is recorded. Returns whether there was anywhere to send it
/// (a URL configured or given). Every caller is an async handler or control method, so a Tokio
/// runtime is there; should one be driven by another executor, the webhook is skipped with a
/// warning rather than a panic.
pub(crate) fn dispatch(shared: &Arc<Shared>, webhook: Webhook, plan: DeliveryPlan) -> bool {
    let provider = webhook.provider;
    let span = tracing::info_span!("sandbox.webhook", %provider, reference = %webhook.reference);
    let urls = match &webhook.target {
        Target::Url(url) => Urls::One(url.clone()),
        Target::Configured => match shared.settings.webhook_urls.get(&provider) {
            Some(urls) if urls.first().is_some() => Urls::Configured(provider),
            _ => {
                tracing::info!(parent: &span, "no webhook URL configured: no webhook sent");
                return false;
            }
        },
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(parent: &span, "no Tokio runtime to send the webhook from: not sent");
        return true;
    };
    let retry = shared.webhook_retry(provider);
    // Each copy's first attempt takes the next URL in turn, in the order of the copies.
    let copies = usize::try_from(plan.copies).unwrap_or(1);
    let first_turn = urls.take(shared, copies);
    let planned = tokio::time::Instant::now();
    let webhook = Arc::new(webhook);
    for copy in 1..=plan.copies {
        let delivery = OneCopy {
            shared: Arc::clone(shared),
            webhook: Arc::clone(&webhook),
            urls: urls.clone(),
            number: copy,
            first_turn: first_turn.wrapping_add(usize::try_from(copy - 1).unwrap_or(0)),
            retry,
            dropped: plan.drop,
        };
        let start = planned + plan.start_of(copy);
        let span = tracing::info_span!(parent: &span, "copy", copy);
        runtime.spawn(delivery.deliver(start).instrument(span));
    }
    true
}

/// The URLs a webhook is sent to.
#[derive(Debug, Clone)]
enum Urls {
    One(String),
    /// The gateway's configured list (kept in `Shared`, with its turn counter).
    Configured(ProviderId),
}

impl Urls {
    fn take(&self, shared: &Shared, count: usize) -> usize {
        match self {
            Self::One(_) => 0,
            Self::Configured(provider) => shared.settings.webhook_urls.get(provider).map_or(0, |u| u.take(count)),
        }
    }

    fn at(&self, shared: &Shared, turn: usize) -> Option<String> {
        match self {
            Self::One(url) => Some(url.clone()),
            Self::Configured(provider) => {
                shared.settings.webhook_urls.get(provider).and_then(|u| u.at(turn)).map(str::to_owned)
            }
        }
    }
}

/// One copy of a webhook, with what it needs to be sent and retried.
struct OneCopy {
    shared: Arc<Shared>,
    webhook: Arc<Webhook>,
    urls: Urls,
    number: u32,
    first_turn: usize,
    retry: WebhookRetry,
    dropped: bool,
}

impl OneCopy {
    async fn deliver(self, start: tokio::time::Instant) {
        if start > tokio::time::Instant::now() {
            tokio::time::sleep_until(start).await;
        }
        let attempts = if self.dropped { 1 } else { self.retry.attempts.max(1) };
        for attempt in 1..=attempts {
            // The first attempt's URL was chosen with the plan; a retry takes the next turn then.
            let turn = if attempt == 1 { self.first_turn } else { self.urls.take(&self.shared, 1) };
            let Some(url) = self.urls.at(&self.shared, turn) else { return };
            let rendered = (self.webhook.render)(&url);
            let body = rendered.as_ref().map(|o| o.body.clone()).unwrap_or_default();
            let headers = rendered
                .as_ref()
                .map(|o| o.headers.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect())
                .unwrap_or_default();
            let at = Some(self.shared.now());
            let (status, answer, error) = match rendered {
                _ if self.dropped => (None, None, Some(DROPPED.to_owned())),
                None => (None, None, Some("not sent: the URL has no path to sign".to_owned())),
                Some(outgoing) => self.send(&url, outgoing).await,
            };
            let delivery = Delivery {
                provider: self.webhook.provider,
                reference: self.webhook.reference.clone(),
                url,
                attempt,
                copy: self.number,
                status,
                answer,
                error,
                dropped: self.dropped,
                body,
                headers,
                at,
            };
            let succeeded = delivery.succeeded();
            tracing::info!(attempt, status = ?delivery.status, error = ?delivery.error, "webhook attempt");
            self.shared.deliveries.push(delivery);
            if succeeded || self.dropped {
                return;
            }
            if attempt < attempts {
                tokio::time::sleep(self.retry.interval).await;
            }
        }
        tracing::warn!(attempts, "webhook not accepted after every attempt");
    }

    /// Sends one attempt: the receiver's status and the start of its answer, or why none came.
    async fn send(&self, url: &str, outgoing: Outgoing) -> (Option<u16>, Option<String>, Option<String>) {
        let mut request = self.shared.http.post(url).timeout(ATTEMPT_TIMEOUT).body(outgoing.body);
        for (name, value) in &outgoing.headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                // Read (within the attempt's timeout) so that the connection can be reused, up
                // to the limit: past it, the rest is not waited for.
                let mut kept = Vec::new();
                while kept.len() < ANSWER_LIMIT {
                    match response.chunk().await {
                        Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                        Ok(None) | Err(_) => break,
                    }
                }
                kept.truncate(ANSWER_LIMIT);
                (Some(status), Some(String::from_utf8_lossy(&kept).into_owned()), None)
            }
            Err(e) => (None, None, Some(describe(&e))),
        }
    }
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
