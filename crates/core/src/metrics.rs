//! The metrics gerbang records: their names, label sets and buckets, and the one function per
//! metric that every crate records through.
//!
//! Every crate records through the [`metrics`](https://docs.rs/metrics) facade, as it logs through `tracing`:
//! unconditionally, and for next to nothing when no recorder is installed (a record then asks
//! for the recorder and gets a no-op; the keys of the series recorded per call are made once). Install one to export them: the `gerbang` facade's `metrics` feature has a Prometheus
//! recorder (`gerbang::metrics::install`) and a `GET /metrics` route; `gerbang webhook serve`
//! serves it on its port. Any other `metrics` recorder works too.
//!
//! **Label values come from closed sets only**: a gateway's [`ProviderId::as_str`], an
//! operation's `&'static str` name, an HTTP status code, the name of an enum's variant. Never a
//! payment's id, a reference, a dedup key, a URL, a store key or an error's text: each of those
//! would make a new series per payment (and some are the merchant's customers' business). The
//! functions here take only such types, so a caller cannot pass anything else.
//!
//! [`ALL`] lists every metric with its type, labels and meaning: the README's table is checked
//! against it.
//!
//! ```
//! use gerbang_core::metrics;
//!
//! for metric in metrics::ALL {
//!     assert!(metric.name.starts_with("gerbang_"));
//! }
//! assert_eq!(metrics::WEBHOOK_DELIVERIES.labels, ["gateway", "outcome"]);
//! ```

use std::fmt;
use std::time::Duration;

use crate::{KeyUsed, ProviderId};

/// What kind of series a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Only goes up (`…_total`).
    Counter,
    /// A value that goes up and down, set to the latest reading.
    Gauge,
    /// A distribution of durations, in seconds, with buckets.
    Histogram,
}

impl Kind {
    /// `counter`, `gauge` or `histogram`, as Prometheus names them.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One metric: its name, kind, label names and what it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The name, as exported.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// Its label names, in order.
    pub labels: &'static [&'static str],
    /// What it counts, and the label values it can take: the help text and the README's table.
    pub help: &'static str,
}

macro_rules! metric {
    ($(#[$doc:meta])* $id:ident, $name:literal, $kind:ident, [$($label:literal),*], $help:literal) => {
        $(#[$doc])*
        pub const $id: Metric = Metric { name: $name, kind: Kind::$kind, labels: &[$($label),*], help: $help };
    };
}

metric!(
    /// Webhook deliveries received, by what the receiver did with each.
    WEBHOOK_DELIVERIES, "gerbang_webhook_deliveries_total", Counter, ["gateway", "outcome"],
    "Webhook deliveries received, by gateway and outcome: handled, duplicate, in_flight, rejected, verify_unavailable, handler_failed, mismatch, store_failed, drained, unknown_gateway (gateway=\"unknown\"), method_not_allowed."
);
metric!(
    /// Webhooks whose signature verified, by the key that verified it.
    WEBHOOK_VERIFICATIONS, "gerbang_webhook_verifications_total", Counter, ["gateway", "key"],
    "Webhooks whose signature verified, by gateway and key (current, previous): once previous stays at its value for longer than the gateway retries, the previous key can be removed."
);
metric!(
    /// How long the handler took with a new event.
    WEBHOOK_HANDLER_DURATION, "gerbang_webhook_handler_duration_seconds", Histogram, ["gateway"],
    "How long the handler took with each new event, failed ones included, in seconds (with `--forward-to`, the write to the outbox: the application's time is not in it)."
);
metric!(
    /// Whether the receiver is draining.
    RECEIVER_DRAINING, "gerbang_receiver_draining", Gauge, [],
    "1 once the receiver drains (after SIGTERM or SIGINT), else 0."
);
metric!(
    /// Attempts of calls to the gateways, by their answer.
    GATEWAY_REQUESTS, "gerbang_gateway_requests_total", Counter, ["gateway", "operation", "status"],
    "Attempts of calls to a gateway (each retry is one more), by gateway, operation and status: the HTTP status code, or timeout, transport (nothing reached the gateway), outcome_unknown (the answer was lost), redirect, response_too_large (an answer over the size limit)."
);
metric!(
    /// How long each attempt of a gateway call took.
    GATEWAY_REQUEST_DURATION, "gerbang_gateway_request_duration_seconds", Histogram, ["gateway", "operation"],
    "How long each attempt of a call to a gateway took, answer read included, in seconds (buckets up to 120 s: gateways can take 90)."
);
metric!(
    /// Retries of gateway calls.
    GATEWAY_RETRIES, "gerbang_gateway_retries_total", Counter, ["gateway", "operation"],
    "Retries of calls that are safe to repeat (after a timeout, a connection failure, a lost answer, a 429 or a 502 to 504), by gateway and operation."
);
metric!(
    /// Failures of a shared store.
    STORE_ERRORS, "gerbang_store_errors_total", Counter, ["store", "operation"],
    "Operations on a store that failed (unreachable, timed out, refused, unreadable), by store (redis, postgres; memory never fails) and operation."
);
metric!(
    /// Payments due at the reconciler's last pass.
    RECONCILE_DUE, "gerbang_reconcile_due", Gauge, [],
    "Watched payments the reconciler's last pass took to check (at most its batch)."
);
metric!(
    /// The age of the oldest unsettled payment the last pass took.
    RECONCILE_OLDEST_PENDING_AGE, "gerbang_reconcile_oldest_pending_age_seconds", Gauge, [],
    "Age of the oldest payment still not final among those the reconciler's last pass took, in seconds since it was recorded (0 when none)."
);
metric!(
    /// Reconciler checks by what each came to.
    RECONCILE_CHECKS, "gerbang_reconcile_checks_total", Counter, ["gateway", "result"],
    "Reconciler checks of watched payments, by gateway and result: changed, unchanged, not_created, unresolvable, gave_up, failed, deferred, waiting, no_gateway."
);
metric!(
    /// What is left of a gateway's rate budget.
    RATE_BUDGET_REMAINING, "gerbang_rate_budget_remaining", Gauge, ["gateway"],
    "Calls left in the gateway's rate budget (Cuan10pay: 100 an hour, shared by every replica on a Redis store) after the last call that spent from it."
);
metric!(
    /// Calls the rate budget refused.
    RATE_BUDGET_WAITS, "gerbang_rate_budget_waits_total", Counter, ["gateway", "priority"],
    "Calls the rate budget refused, not sent, each told how long to wait, by gateway and priority (normal: the merchant's own calls; background: the reconciler's, which stop while only the reserve is left)."
);
metric!(
    /// Bearer token fetches.
    TOKEN_REFRESHES, "gerbang_token_refreshes_total", Counter, ["gateway", "result"],
    "Bearer tokens fetched from a gateway (Ciputra), by result: ok, failed."
);
metric!(
    /// Outbox messages by state.
    OUTBOX_MESSAGES, "gerbang_outbox_messages", Gauge, ["state"],
    "Messages in the outbox by state, as its deliverer last counted them: pending, delivered, failed (dead letters: every attempt failed; `gerbang events replay` sends them again), superseded."
);
metric!(
    /// Age of the oldest undelivered message.
    OUTBOX_OLDEST_PENDING_AGE, "gerbang_outbox_oldest_pending_age_seconds", Gauge, [],
    "Age of the oldest message still pending delivery, in seconds since it was enqueued (0 when none): how far the application is behind."
);
metric!(
    /// Delivery attempts by what each came to.
    OUTBOX_DELIVERIES, "gerbang_outbox_deliveries_total", Counter, ["result"],
    "Delivery attempts of outbox messages, by result: delivered, retry (failed, tried again later), failed (the last attempt failed: a dead letter), lease_lost (taken over by another replica)."
);
metric!(
    /// Route attempts by gateway and outcome.
    ROUTE_ATTEMPTS, "gerbang_route_attempts_total", Counter, ["gateway", "outcome"],
    "Gateways a route considered (`gerbang-router`), by what happened there: created, never_reached, rate_limited, circuit_open, skipped_limits, refused, unknown, found_by_reference, not_found_by_reference. A rising unknown is a gateway losing answers; circuit_open, one being skipped."
);

/// Every metric gerbang records, in the order of the README's table.
pub const ALL: &[Metric] = &[
    WEBHOOK_DELIVERIES,
    WEBHOOK_VERIFICATIONS,
    WEBHOOK_HANDLER_DURATION,
    RECEIVER_DRAINING,
    GATEWAY_REQUESTS,
    GATEWAY_REQUEST_DURATION,
    GATEWAY_RETRIES,
    STORE_ERRORS,
    RECONCILE_DUE,
    RECONCILE_OLDEST_PENDING_AGE,
    RECONCILE_CHECKS,
    RATE_BUDGET_REMAINING,
    RATE_BUDGET_WAITS,
    TOKEN_REFRESHES,
    OUTBOX_MESSAGES,
    OUTBOX_OLDEST_PENDING_AGE,
    OUTBOX_DELIVERIES,
    ROUTE_ATTEMPTS,
];

/// The buckets of [`GATEWAY_REQUEST_DURATION`], in seconds: from 50 ms to 2 minutes, since a
/// gateway may take 90 s to answer (and the default attempt timeout is 30 s).
pub const GATEWAY_DURATION_BUCKETS: &[f64] =
    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0];

/// The buckets of [`WEBHOOK_HANDLER_DURATION`], in seconds: from a millisecond (a handler that
/// writes one row) to 30 s (the default lease: a handler longer than that may run twice).
pub const HANDLER_DURATION_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The `gateway` label of a delivery for a gateway not configured here: the URL's text is never
/// a label value.
pub const UNKNOWN_GATEWAY: &str = "unknown";

impl Metric {
    /// The histogram buckets this metric is exported with, for a histogram.
    pub fn buckets(&self) -> Option<&'static [f64]> {
        match self.name {
            name if name == GATEWAY_REQUEST_DURATION.name => Some(GATEWAY_DURATION_BUCKETS),
            name if name == WEBHOOK_HANDLER_DURATION.name => Some(HANDLER_DURATION_BUCKETS),
            _ => None,
        }
    }
}

/// Gives the installed recorder every metric's help text and unit (a Prometheus recorder prints
/// them as `# HELP` lines). An exporter calls it once, after installing its recorder.
pub fn describe() {
    for metric in ALL {
        match metric.kind {
            Kind::Counter => ::metrics::describe_counter!(metric.name, metric.help),
            Kind::Gauge => ::metrics::describe_gauge!(metric.name, metric.help),
            Kind::Histogram => ::metrics::describe_histogram!(metric.name, ::metrics::Unit::Seconds, metric.help),
        }
    }
}

/// The table of every metric, in Markdown: name, type, labels, meaning (the README's).
pub fn markdown_table() -> String {
    let mut table = String::from("| metric | type | labels | meaning |\n|---|---|---|---|\n");
    for metric in ALL {
        let labels = metric.labels.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ");
        let labels = if labels.is_empty() { "–".to_owned() } else { labels };
        table.push_str(&format!("| `{}` | {} | {labels} | {} |\n", metric.name, metric.kind, metric.help));
    }
    table
}

/// The outcomes of a webhook delivery the receiver reports (its `Outcome::as_str`), the most
/// frequent first: each has its series' key made once (see [`webhook_delivery`]).
const DELIVERY_OUTCOMES: [&str; 11] = [
    "handled",
    "duplicate",
    "in_flight",
    "rejected",
    "verify_unavailable",
    "handler_failed",
    "mismatch",
    "store_failed",
    "drained",
    "unknown_gateway",
    "method_not_allowed",
];

/// Where the metadata of every gerbang metric says it was recorded, as the `metrics` macros
/// say it for a call in this module.
static METADATA: ::metrics::Metadata<'static> =
    ::metrics::Metadata::new(module_path!(), ::metrics::Level::INFO, Some(module_path!()));

/// The keys of the series recorded for each webhook, made once. The `metrics` macros, given
/// label values that are not literals, build the key (a `Vec` of labels and its hash) on every
/// call, whether or not a recorder is installed; through these, a record allocates nothing.
/// The recorder is still asked for its handle at each record, as the macros ask, so that one
/// installed later, or a thread's local recorder, gets every record.
struct WebhookKeys {
    /// By gateway ([`ProviderId::index`], then [`UNKNOWN_GATEWAY`]), then by
    /// [`DELIVERY_OUTCOMES`].
    deliveries: Vec<[::metrics::Key; DELIVERY_OUTCOMES.len()]>,
    /// By gateway, then current and previous key.
    verifications: Vec<[::metrics::Key; 2]>,
    /// By gateway.
    handler_duration: Vec<::metrics::Key>,
}

fn webhook_keys() -> &'static WebhookKeys {
    static KEYS: std::sync::OnceLock<WebhookKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |name: &'static str, labels: &[(&'static str, &'static str)]| {
            let labels: Vec<::metrics::Label> =
                labels.iter().map(|&(name, value)| ::metrics::Label::from_static_parts(name, value)).collect();
            ::metrics::Key::from_parts(name, labels)
        };
        let gateways = ProviderId::ALL.iter().map(|gateway| gateway.as_str());
        WebhookKeys {
            deliveries: gateways
                .clone()
                .chain([UNKNOWN_GATEWAY])
                .map(|gateway| {
                    DELIVERY_OUTCOMES
                        .map(|outcome| key(WEBHOOK_DELIVERIES.name, &[("gateway", gateway), ("outcome", outcome)]))
                })
                .collect(),
            verifications: gateways
                .clone()
                .map(|gateway| {
                    [KeyUsed::Current, KeyUsed::Previous]
                        .map(|used| key(WEBHOOK_VERIFICATIONS.name, &[("gateway", gateway), ("key", used.as_str())]))
                })
                .collect(),
            handler_duration: gateways
                .map(|gateway| key(WEBHOOK_HANDLER_DURATION.name, &[("gateway", gateway)]))
                .collect(),
        }
    })
}

/// A webhook delivery, by what the receiver did with it: `gateway` is `None` for a gateway not
/// configured here (label `unknown`), `outcome` the name of the receiver's outcome.
pub fn webhook_delivery(gateway: Option<ProviderId>, outcome: &'static str) {
    let row = gateway.map_or(ProviderId::ALL.len(), ProviderId::index);
    let key = DELIVERY_OUTCOMES
        .iter()
        .position(|known| *known == outcome)
        .and_then(|column| webhook_keys().deliveries.get(row)?.get(column));
    match key {
        Some(key) => ::metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA)).increment(1),
        None => {
            let gateway = gateway.map_or(UNKNOWN_GATEWAY, ProviderId::as_str);
            ::metrics::counter!(WEBHOOK_DELIVERIES.name, "gateway" => gateway, "outcome" => outcome).increment(1);
        }
    }
}

/// A webhook whose signature verified under `key`.
pub fn webhook_verified(gateway: ProviderId, key: KeyUsed) {
    let column = match key {
        KeyUsed::Current => 0,
        KeyUsed::Previous => 1,
    };
    if let Some(key) = webhook_keys().verifications.get(gateway.index()).and_then(|keys| keys.get(column)) {
        ::metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA)).increment(1);
    }
}

/// The handler's call for a new event took `took`.
pub fn webhook_handled_in(gateway: ProviderId, took: Duration) {
    if let Some(key) = webhook_keys().handler_duration.get(gateway.index()) {
        ::metrics::with_recorder(|recorder| recorder.register_histogram(key, &METADATA)).record(took.as_secs_f64());
    }
}

/// Whether the receiver drains.
pub fn receiver_draining(draining: bool) {
    ::metrics::gauge!(RECEIVER_DRAINING.name).set(if draining { 1.0 } else { 0.0 });
}

/// The keys of the two series an attempt records, for one gateway, operation and status.
struct AttemptKeys {
    gateway: ProviderId,
    operation: &'static str,
    status: AttemptStatus,
    /// Of [`GATEWAY_REQUESTS`].
    requests: ::metrics::Key,
    /// Of [`GATEWAY_REQUEST_DURATION`].
    duration: ::metrics::Key,
}

impl AttemptKeys {
    fn new(gateway: ProviderId, operation: &'static str, status: AttemptStatus) -> Self {
        let label = ::metrics::Label::from_static_parts;
        let (gateway_label, operation_label) = (label("gateway", gateway.as_str()), label("operation", operation));
        let status_label = match status {
            AttemptStatus::Http(code) => ::metrics::Label::new("status", http_status_label(code)),
            AttemptStatus::Failed(what) => label("status", what),
        };
        Self {
            gateway,
            operation,
            status,
            requests: ::metrics::Key::from_parts(
                GATEWAY_REQUESTS.name,
                vec![gateway_label.clone(), operation_label.clone(), status_label],
            ),
            duration: ::metrics::Key::from_parts(GATEWAY_REQUEST_DURATION.name, vec![gateway_label, operation_label]),
        }
    }

    fn record(&self, took: Duration) {
        ::metrics::with_recorder(|recorder| {
            recorder.register_counter(&self.requests, &METADATA).increment(1);
            recorder.register_histogram(&self.duration, &METADATA).record(took.as_secs_f64());
        });
    }
}

/// How many [`AttemptKeys`] a thread keeps: past it (a gateway answering many different codes),
/// an attempt's keys are made for it alone.
const ATTEMPT_KEYS_PER_THREAD: usize = 128;

thread_local! {
    /// The keys of the attempts recorded on this thread, made once each. Made per attempt, as the
    /// `metrics` macros make them for labels that are not literals, they cost two allocations and
    /// a hash, recorder or none (about 950 instructions of a status call). Per thread, so that
    /// finding them takes no lock; the recorder is still asked for its handles at each record,
    /// as the macros ask.
    static ATTEMPT_KEYS: std::cell::RefCell<Vec<AttemptKeys>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One attempt of a gateway call, answered with `status` (an HTTP code, or what became of it:
/// see [`GATEWAY_REQUESTS`]) after `took`.
pub(crate) fn gateway_attempt(gateway: ProviderId, operation: &'static str, status: AttemptStatus, took: Duration) {
    let cached = ATTEMPT_KEYS.try_with(|keys| {
        let mut keys = keys.try_borrow_mut().ok()?;
        let known =
            |keys: &AttemptKeys| keys.gateway == gateway && keys.status == status && keys.operation == operation;
        let index = match keys.iter().position(known) {
            Some(index) => index,
            None if keys.len() < ATTEMPT_KEYS_PER_THREAD => {
                keys.push(AttemptKeys::new(gateway, operation, status));
                keys.len() - 1
            }
            None => return None,
        };
        keys[index].record(took);
        Some(())
    });
    if !matches!(cached, Ok(Some(()))) {
        AttemptKeys::new(gateway, operation, status).record(took);
    }
}

/// The `status` label of an answer's HTTP code. The codes gateways answer most are static
/// text, so that making an attempt's keys (once per thread, see [`AttemptKeys`]) writes none.
fn http_status_label(code: u16) -> ::metrics::SharedString {
    let text = match code {
        200 => "200",
        201 => "201",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => return ::metrics::SharedString::from(other.to_string()),
    };
    ::metrics::SharedString::const_str(text)
}

/// What an attempt came to, as the `status` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptStatus {
    /// An answer with this HTTP status.
    Http(u16),
    /// No usable answer: `timeout`, `transport`, `outcome_unknown`, `redirect`,
    /// `response_too_large`, `_OTHER`.
    Failed(&'static str),
}

impl AttemptStatus {
    /// The status of an attempt that came to `result`: the answer's code, or the same word a
    /// trace's `error.type` says.
    pub(crate) fn of(result: &Result<crate::transport::HttpResponse, crate::Error>) -> Self {
        match result {
            Ok(response) => Self::Http(response.status.as_u16()),
            Err(error) => Self::Failed(crate::transport::failure_kind(error)),
        }
    }
}

/// A retry of a gateway call (the attempt that follows it is counted by itself).
pub(crate) fn gateway_retry(gateway: ProviderId, operation: &'static str) {
    ::metrics::counter!(GATEWAY_RETRIES.name, "gateway" => gateway.as_str(), "operation" => operation).increment(1);
}

/// An operation on a store that failed. `store` and `operation` are the store crate's own fixed
/// names (`redis`, `claim`).
pub fn store_error(store: &'static str, operation: &'static str) {
    ::metrics::counter!(STORE_ERRORS.name, "store" => store, "operation" => operation).increment(1);
}

/// The reconciler's pass took `due` payments, the oldest of them still not final recorded
/// `oldest_pending` ago (`None`: none).
pub fn reconcile_pass(due: usize, oldest_pending: Option<Duration>) {
    ::metrics::gauge!(RECONCILE_DUE.name).set(due as f64);
    ::metrics::gauge!(RECONCILE_OLDEST_PENDING_AGE.name).set(oldest_pending.map_or(0.0, |age| age.as_secs_f64()));
}

/// A reconciler check of a payment of `gateway` came to `result` (the check outcome's name).
pub fn reconcile_check(gateway: ProviderId, result: &'static str) {
    ::metrics::counter!(RECONCILE_CHECKS.name, "gateway" => gateway.as_str(), "result" => result).increment(1);
}

/// `remaining` calls are left in `gateway`'s rate budget.
pub fn rate_budget_remaining(gateway: ProviderId, remaining: u32) {
    ::metrics::gauge!(RATE_BUDGET_REMAINING.name, "gateway" => gateway.as_str()).set(f64::from(remaining));
}

/// `gateway`'s rate budget refused a call of `priority`: it was not sent.
pub fn rate_budget_wait(gateway: ProviderId, priority: crate::rate::Priority) {
    ::metrics::counter!(RATE_BUDGET_WAITS.name, "gateway" => gateway.as_str(), "priority" => priority.as_str())
        .increment(1);
}

/// A bearer token was fetched from `gateway` (`ok`), or the fetch failed.
pub fn token_refresh(gateway: ProviderId, ok: bool) {
    let result = if ok { "ok" } else { "failed" };
    ::metrics::counter!(TOKEN_REFRESHES.name, "gateway" => gateway.as_str(), "result" => result).increment(1);
}

/// The outbox held `stats` when its deliverer last counted.
pub fn outbox_stats(stats: &crate::outbox::Stats, now: time::OffsetDateTime) {
    for state in crate::outbox::DeliveryState::ALL {
        ::metrics::gauge!(OUTBOX_MESSAGES.name, "state" => state.as_str()).set(stats.count(state) as f64);
    }
    let age = stats.oldest_pending.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0));
    ::metrics::gauge!(OUTBOX_OLDEST_PENDING_AGE.name).set(age);
}

/// A delivery attempt of an outbox message came to `result`: `delivered`, `retry`, `failed` or
/// `lease_lost`.
pub fn outbox_delivery(result: &'static str) {
    ::metrics::counter!(OUTBOX_DELIVERIES.name, "result" => result).increment(1);
}

/// A route considered `gateway`, and `outcome` (the attempt's name) is what happened there.
pub fn route_attempt(gateway: ProviderId, outcome: &'static str) {
    ::metrics::counter!(ROUTE_ATTEMPTS.name, "gateway" => gateway.as_str(), "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_status_label_is_the_code_in_digits() {
        for code in 100..=599u16 {
            assert_eq!(http_status_label(code).as_ref(), code.to_string(), "{code}");
        }
    }
}
