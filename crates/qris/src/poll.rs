//! Polling an invoice until it is paid or expired: the gateway has no webhook
//! (`seeds/002_70371d71cc9c4025.txt` documents none), so this is how a merchant learns of a payment.

use std::future::Future;
use std::time::Duration;

use gerbang_core::Error;

use crate::types::{Invoice, InvoiceStatus};

/// How [`QrisClient::wait_for_payment`](crate::QrisClient::wait_for_payment) spaces its status
/// look-ups: the first wait is about `initial`, each next one about twice the last, never more
/// than `max`. Each wait is jittered, drawn evenly between half and all of that figure, so that
/// many waiting clients do not poll the gateway in step.
///
/// ```
/// use gerbang_qris::PollPolicy;
/// use std::time::Duration;
///
/// let eager = PollPolicy::new(Duration::from_millis(500), Duration::from_secs(5));
/// assert_eq!(eager.max(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    initial: Duration,
    max: Duration,
}

impl Default for PollPolicy {
    /// **Decision**: 2 s doubling to at most 15 s. A customer takes tens of seconds to scan and
    /// pay; a first look after a couple of seconds and then every 15 s at most keeps the delay
    /// noticed by a waiting customer short and the load on the gateway low (it publishes no rate
    /// limit).
    fn default() -> Self {
        Self { initial: Duration::from_secs(2), max: Duration::from_secs(15) }
    }
}

impl PollPolicy {
    /// Waits from `initial`, doubling, up to `max` (raised to `initial` if smaller). A zero
    /// `initial` is taken as 1 ms, so that polling never spins.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        Self { initial, max: max.max(initial) }
    }

    /// The first wait, before jitter.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The wait after look-up number `attempt` (from 0): `min(initial × 2^attempt, max)`, scaled by
    /// `0.5 + unit / 2` where `unit` is a random draw in `[0, 1]`.
    pub(crate) fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let doubled = self.initial.saturating_mul(2u32.saturating_pow(attempt.min(31)));
        doubled.min(self.max).mul_f64(0.5 + unit.clamp(0.0, 1.0) / 2.0)
    }
}

/// Whether polling can stop: the invoice is paid or expired. A status word the document does
/// not list is not final: polling goes on until the timeout.
fn is_final(status: &InvoiceStatus) -> bool {
    matches!(status, InvoiceStatus::Paid | InvoiceStatus::Expired)
}

/// Looks the invoice up with `fetch` until it is final, waiting per `policy` (with `unit()` as
/// the jitter draw) between look-ups, for at most `timeout` in all.
///
/// A transient error of one look-up (network, timeout, 5xx, rate limit) is logged and the next
/// look-up is tried; any other error ends the wait with it. Nothing is spawned: dropping the
/// returned future stops the polling at once.
pub(crate) async fn wait_until_final<F, Fut>(
    policy: PollPolicy,
    timeout: Duration,
    mut fetch: F,
    mut unit: impl FnMut() -> f64,
) -> Result<Invoice, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Invoice, Error>>,
{
    let poll = async {
        let mut attempt = 0u32;
        loop {
            match fetch().await {
                Ok(invoice) if is_final(&invoice.status) => return Ok(invoice),
                Ok(invoice) => tracing::debug!(status = %invoice.status, attempt, "invoice not paid yet"),
                Err(error) if error.is_transient() => {
                    tracing::debug!(%error, attempt, "invoice look-up failed; trying again");
                }
                Err(error) => return Err(error),
            }
            tokio::time::sleep(policy.delay(attempt, unit())).await;
            attempt = attempt.saturating_add(1);
        }
    };
    tokio::time::timeout(timeout, poll)
        .await
        .map_err(|_| Error::Timeout { operation: "wait_for_payment".to_owned() })?
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::time::Instant;

    use super::*;

    fn invoice(status: &str) -> Invoice {
        serde_json::from_value(serde_json::json!({"invoice_id": "64c8d9e", "amount": 10000, "status": status})).unwrap()
    }

    /// A fake gateway answering `script` in turn (then its last answer forever), recording when
    /// each look-up came.
    #[derive(Clone)]
    struct Script {
        answers: Arc<Mutex<Vec<Result<Invoice, Error>>>>,
        seen: Arc<Mutex<Vec<Instant>>>,
    }

    impl Script {
        fn new(answers: Vec<Result<Invoice, Error>>) -> Self {
            let mut answers = answers;
            answers.reverse();
            Self { answers: Arc::new(Mutex::new(answers)), seen: Arc::default() }
        }

        fn fetch(&self) -> impl Future<Output = Result<Invoice, Error>> + use<> {
            self.seen.lock().unwrap().push(Instant::now());
            let mut answers = self.answers.lock().unwrap();
            let answer = if answers.len() > 1 { answers.pop().unwrap() } else { answers[0].clone() };
            async move { answer }
        }

        /// The waits between look-ups.
        fn gaps(&self) -> Vec<Duration> {
            self.seen.lock().unwrap().windows(2).map(|w| w[1] - w[0]).collect()
        }

        fn calls(&self) -> usize {
            self.seen.lock().unwrap().len()
        }
    }

    const SECOND: Duration = Duration::from_secs(1);
    const HOUR: Duration = Duration::from_secs(3600);

    fn policy() -> PollPolicy {
        PollPolicy::new(SECOND, 5 * SECOND)
    }

    #[tokio::test(start_paused = true)]
    async fn polls_with_doubling_capped_waits_until_paid() {
        let mut answers: Vec<_> = (0..6).map(|_| Ok(invoice("pending"))).collect();
        answers.push(Ok(invoice("paid")));
        let script = Script::new(answers);
        let s = script.clone();
        // The longest draw: each wait is the whole doubled figure.
        let paid = wait_until_final(policy(), HOUR, move || s.fetch(), || 1.0).await.unwrap();
        assert_eq!(paid.status, InvoiceStatus::Paid);
        assert_eq!(script.calls(), 7);
        let expected: Vec<_> = [1, 2, 4, 5, 5, 5].into_iter().map(|s| s * SECOND).collect();
        assert_eq!(script.gaps(), expected);
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_draws_between_half_and_all_of_each_wait() {
        let script = Script::new(vec![Ok(invoice("pending")), Ok(invoice("pending")), Ok(invoice("expired"))]);
        let s = script.clone();
        let expired = wait_until_final(policy(), HOUR, move || s.fetch(), || 0.0).await.unwrap();
        assert_eq!(expired.status, InvoiceStatus::Expired);
        assert_eq!(script.gaps(), vec![SECOND / 2, SECOND]);
        for attempt in 0..40 {
            for unit in [0.0, 0.3, 0.999, 1.0, -1.0, 7.0] {
                let wait = policy().delay(attempt, unit);
                let full = (SECOND * 2u32.pow(attempt.min(10))).min(5 * SECOND);
                assert!(wait >= full / 2 && wait <= full, "attempt {attempt}, unit {unit}: {wait:?}");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_with_a_timeout_error() {
        let script = Script::new(vec![Ok(invoice("pending"))]);
        let s = script.clone();
        let started = Instant::now();
        let err = wait_until_final(policy(), 30 * SECOND, move || s.fetch(), || 1.0).await.unwrap_err();
        assert_eq!(err, Error::Timeout { operation: "wait_for_payment".into() });
        assert_eq!(started.elapsed(), 30 * SECOND);
        // 0, 1, 3, 7, 12, 17, 22, 27 s.
        assert_eq!(script.calls(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_polled_through_and_others_end_the_wait() {
        let busy = Error::Api { status: Some(503), code: None, message: "Service Unavailable".into() };
        let script = Script::new(vec![Err(busy), Ok(invoice("pending")), Ok(invoice("paid"))]);
        let s = script.clone();
        let paid = wait_until_final(policy(), HOUR, move || s.fetch(), || 1.0).await.unwrap();
        assert_eq!(paid.status, InvoiceStatus::Paid);

        let gone = Error::NotFound { message: "Invoice tidak ditemukan".into() };
        let script = Script::new(vec![Ok(invoice("pending")), Err(gone.clone())]);
        let s = script.clone();
        assert_eq!(wait_until_final(policy(), HOUR, move || s.fetch(), || 1.0).await.unwrap_err(), gone);
        assert_eq!(script.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_status_is_not_final() {
        let script = Script::new(vec![Ok(invoice("processing")), Ok(invoice("paid"))]);
        let s = script.clone();
        let paid = wait_until_final(policy(), HOUR, move || s.fetch(), || 1.0).await.unwrap();
        assert_eq!(paid.status, InvoiceStatus::Paid);
        assert_eq!(script.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_wait_stops_the_polling() {
        let script = Script::new(vec![Ok(invoice("pending"))]);
        let s = script.clone();
        let waiting = tokio::spawn(wait_until_final(policy(), HOUR, move || s.fetch(), || 1.0));
        tokio::time::sleep(4 * SECOND).await;
        let before = script.calls();
        assert_eq!(before, 3, "look-ups at 0, 1 and 3 s");
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        tokio::time::sleep(HOUR).await;
        assert_eq!(script.calls(), before, "no look-up after the future was dropped");
    }
}
