//! When and how long to wait before repeating a call.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use http::{HeaderMap, StatusCode};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// Retries for calls that are safe to repeat (status look-ups, token fetches).
///
/// Waits grow exponentially from `initial_backoff` up to `max_backoff`, with full jitter so that
/// many clients do not retry in step. A `Retry-After` on a 429 or 503 replaces the computed wait;
/// one longer than `max_retry_after` is not waited out: the error goes back to the caller with
/// the wait in it ([`Error::RateLimited`](crate::Error::RateLimited)).
///
/// ```
/// use gerbang_core::RetryPolicy;
/// use std::time::Duration;
/// let patient = RetryPolicy::default().max_retries(5).max_backoff(Duration::from_secs(10));
/// let never = RetryPolicy::none();
/// # let _ = (patient, never);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, 200 ms doubling to at most 5 s, `Retry-After` honoured up to 60 s.
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self { max_retries: 0, ..Self::default() }
    }

    /// How many times a call may be repeated after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first wait.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// The longest computed wait.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// The longest `Retry-After` that is waited out.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// The computed waits, one per retry.
    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(self.max_retries as usize)
            .with_jitter()
            .build()
    }
}

/// Statuses worth repeating a safe call for: throttling and the gateway or its proxy being down.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` as a wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    let wait = at - OffsetDateTime::now_utc();
    Some(wait.try_into().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_seconds_and_http_dates() {
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(http::header::RETRY_AFTER, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date in the past means now");
        h.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_is_capped_and_bounded_in_count() {
        let policy = RetryPolicy::default().max_retries(6).max_backoff(Duration::from_millis(500));
        let waits: Vec<_> = policy.backoff().collect();
        assert_eq!(waits.len(), 6);
        // Full jitter may add up to the delay itself on top.
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(1000)), "{waits:?}");
    }
}
