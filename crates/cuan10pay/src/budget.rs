//! The client-side rate budget.
//!
//! The Cuan10pay document (`seeds/000_b443c682d4d25840.txt`) says: "API requests are limited to
//! 100 requests per hour per IP address. If you exceed this limit, you'll receive a 429 status
//! code." Rather than send a call that is bound to be refused (and that counts against the hour
//! anyway), the client keeps its own count and says how long to wait.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use gerbang_core::Error;
use governor::clock::Clock as _;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A budget of requests per hour, shared by every clone (GCRA, as a token bucket of `N` per hour
/// with a burst of `N`).
///
/// Every clone of a [`Cuan10payClient`](crate::Cuan10payClient) shares its budget; to share one
/// between clients built separately (the gateway counts per IP address), build it once and give
/// it to each config with
/// [`Cuan10payConfigBuilder::rate_budget`](crate::Cuan10payConfigBuilder::rate_budget).
///
/// ```
/// use gerbang_cuan10pay::RateBudget;
/// use gerbang_core::Error;
/// use std::num::NonZeroU32;
///
/// let budget = RateBudget::per_hour(NonZeroU32::MIN); // one call per hour
/// assert!(budget.try_acquire().is_ok());
/// assert!(matches!(budget.try_acquire(), Err(Error::RateLimited { retry_after: Some(_) })));
/// assert!(RateBudget::unlimited().try_acquire().is_ok());
/// ```
#[derive(Clone)]
pub struct RateBudget {
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    per_hour: Option<NonZeroU32>,
}

impl RateBudget {
    /// `per_hour` requests per hour, all of which may be spent at once.
    pub fn per_hour(per_hour: NonZeroU32) -> Self {
        let quota = Quota::per_hour(per_hour).allow_burst(per_hour);
        Self { limiter: Some(Arc::new(RateLimiter::direct(quota))), per_hour: Some(per_hour) }
    }

    /// No budget: every call is sent.
    pub fn unlimited() -> Self {
        Self { limiter: None, per_hour: None }
    }

    /// The number of requests per hour, or `None` when unlimited.
    pub fn limit_per_hour(&self) -> Option<u32> {
        self.per_hour.map(NonZeroU32::get)
    }

    /// Spends one request, or says how long until one is available:
    /// [`Error::RateLimited`] with `retry_after`.
    pub fn try_acquire(&self) -> Result<(), Error> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            tracing::debug!(
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "client-side rate budget spent; call not sent"
            );
            Error::RateLimited { retry_after: Some(wait) }
        })
    }
}

impl Default for RateBudget {
    /// The gateway's own limit: 100 requests per hour.
    fn default() -> Self {
        Self::per_hour(NonZeroU32::new(crate::config::DEFAULT_RATE_BUDGET_PER_HOUR).unwrap_or(NonZeroU32::MIN))
    }
}

impl fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.per_hour {
            Some(n) => write!(f, "RateBudget({n} per hour)"),
            None => f.write_str("RateBudget(unlimited)"),
        }
    }
}
