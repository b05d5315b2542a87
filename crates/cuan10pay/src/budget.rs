//! The client-side rate budget.
//!
//! The Cuan10pay document (`seeds/000_b443c682d4d25840.txt`) says: "API requests are limited to
//! 100 requests per hour per IP address. If you exceed this limit, you'll receive a 429 status
//! code." Rather than send a call that is bound to be refused (and that counts against the hour
//! anyway), the client keeps its own count and says how long to wait. The count lives in a
//! [`RateStore`]: in memory by default, in Redis (`gerbang-redis`) to share one budget between
//! replicas.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use gerbang_core::rate::{MemoryRateStore, Priority, Quota, RateStore};
use gerbang_core::{Error, ProviderId, metrics};

/// The key of a budget that is not an account's (one made by [`RateBudget::per_hour`], in its
/// own store): every client given it shares it, whatever its account.
const OWN_STORE_KEY: &str = "cuan10pay:shared";

/// A budget of requests per hour (GCRA, as a token bucket of `N` per hour with a burst of `N`),
/// kept in a [`RateStore`] under a key.
///
/// Every clone of a [`Cuan10payClient`](crate::Cuan10payClient) shares its budget. The budget a
/// config builds by itself is kept under the account's key (`cuan10pay:` and 16 hex digits of a
/// hash of the API key, never the key), in the config's
/// [`rate_store`](crate::Cuan10payConfigBuilder::rate_store): give every replica the same shared
/// store (Redis) and they spend one budget together. To share a budget between clients of one
/// process whatever their keys (the gateway counts per IP address), build it once with
/// [`per_hour`](Self::per_hour) and give it to each config with
/// [`Cuan10payConfigBuilder::rate_budget`](crate::Cuan10payConfigBuilder::rate_budget).
///
/// Every attempt spends one request before it is sent, as the gateway counts every request; one
/// over the budget is refused and not sent. That holds for the retries of a look-up that the
/// [`HttpClient`](gerbang_core::HttpClient) makes (after a 429, a 502–504 or a timeout) too,
/// whatever the store ([`HttpClient::send_gated`](gerbang_core::HttpClient::send_gated) awaits
/// the budget before each attempt). A retry spends at [`Priority::Normal`] whatever the call's
/// priority: a call that has started should finish rather than be starved halfway.
///
/// **When the store fails** (Redis unreachable) the call is refused, not sent:
/// [`Error::Store`], which is [transient](Error::is_transient). A replica cannot know how many
/// others there are, so no local share of the budget could keep the replicas together under the
/// gateway's limit; a refused call has done nothing at the gateway, so it is safe to make again
/// once the store is back.
///
/// ```
/// use gerbang_cuan10pay::RateBudget;
/// use gerbang_core::Error;
/// use std::num::NonZeroU32;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let budget = RateBudget::per_hour(NonZeroU32::MIN); // one call per hour
/// assert!(budget.acquire().await.is_ok());
/// assert!(matches!(budget.acquire().await, Err(Error::BudgetSpent { retry_after: Some(_) })));
/// assert!(RateBudget::unlimited().acquire().await.is_ok());
/// # }
/// ```
#[derive(Clone)]
pub struct RateBudget {
    spend: Option<Spend>,
}

#[derive(Clone)]
struct Spend {
    store: Arc<dyn RateStore>,
    key: String,
    quota: Quota,
}

impl RateBudget {
    /// `per_hour` requests per hour, all of which may be spent at once, kept in memory by this
    /// budget: every client given it (and every clone) shares it.
    pub fn per_hour(per_hour: NonZeroU32) -> Self {
        Self::new(Arc::new(MemoryRateStore::new()), OWN_STORE_KEY, Quota::per_hour(per_hour))
    }

    /// `quota` under `key` in `store`: shared with every client, in any process, spending from
    /// the same store under the same key.
    ///
    /// ```
    /// use gerbang_cuan10pay::RateBudget;
    /// use gerbang_core::rate::{MemoryRateStore, Quota};
    /// use std::num::NonZeroU32;
    /// use std::sync::Arc;
    ///
    /// let budget = RateBudget::new(Arc::new(MemoryRateStore::new()), "cuan10pay:egress-ip-1", Quota::per_hour(NonZeroU32::new(100).unwrap()));
    /// assert_eq!(budget.limit_per_hour(), Some(100));
    /// ```
    pub fn new(store: Arc<dyn RateStore>, key: impl Into<String>, quota: Quota) -> Self {
        Self { spend: Some(Spend { store, key: key.into(), quota }) }
    }

    /// No budget: every call is sent.
    pub fn unlimited() -> Self {
        Self { spend: None }
    }

    /// The number of requests per hour, or `None` when unlimited.
    pub fn limit_per_hour(&self) -> Option<u32> {
        let quota = self.spend.as_ref()?.quota;
        let hours = quota.period.as_secs_f64() / 3600.0;
        Some((f64::from(quota.limit.get()) / hours).round() as u32)
    }

    /// The quota, or `None` when unlimited.
    pub fn quota(&self) -> Option<Quota> {
        self.spend.as_ref().map(|s| s.quota)
    }

    /// The key the budget is kept under in its store, or `None` when unlimited. Never holds a
    /// credential.
    pub fn key(&self) -> Option<&str> {
        self.spend.as_ref().map(|s| s.key.as_str())
    }

    /// Spends one request at [`Priority::Normal`]: see [`acquire_at`](Self::acquire_at).
    pub async fn acquire(&self) -> Result<(), Error> {
        self.acquire_at(Priority::Normal).await
    }

    /// Spends one request at `priority`, or says how long until one is available:
    /// [`Error::BudgetSpent`] with `retry_after` (for [`Priority::Background`], until more than
    /// the reserve is back: see [`gerbang_core::rate`]). A store that fails is [`Error::Store`].
    ///
    /// What is left is the `gerbang_rate_budget_remaining{gateway="cuan10pay"}` gauge, and each
    /// refusal counts in `gerbang_rate_budget_waits_total{gateway="cuan10pay", priority}`.
    pub async fn acquire_at(&self, priority: Priority) -> Result<(), Error> {
        let Some(spend) = &self.spend else { return Ok(()) };
        let spent = spend.store.acquire_with_remaining(&spend.key, spend.quota, priority).await;
        match spent {
            Ok(remaining) => {
                if let Some(remaining) = remaining {
                    metrics::rate_budget_remaining(ProviderId::Cuan10pay, remaining);
                }
                Ok(())
            }
            Err(error) => {
                match &error {
                    Error::BudgetSpent { retry_after } => {
                        metrics::rate_budget_wait(ProviderId::Cuan10pay, priority);
                        if priority == Priority::Normal {
                            // Refused to the merchant's own call: nothing is left.
                            metrics::rate_budget_remaining(ProviderId::Cuan10pay, 0);
                        }
                        tracing::debug!(
                            gateway = "cuan10pay",
                            outcome = "budget_spent",
                            wait_ms = retry_after.map(|w| u64::try_from(w.as_millis()).unwrap_or(u64::MAX)),
                            ?priority,
                            "client-side rate budget spent; call not sent"
                        );
                    }
                    other => tracing::warn!(gateway = "cuan10pay", outcome = "store_failed", error = %other,
                        "the rate budget's store failed; call not sent"),
                }
                Err(error)
            }
        }
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
        match &self.spend {
            Some(spend) => f
                .debug_struct("RateBudget")
                .field("limit", &spend.quota.limit)
                .field("period", &spend.quota.period)
                .field("key", &spend.key)
                .field("store", &spend.store)
                .finish(),
            None => f.write_str("RateBudget(unlimited)"),
        }
    }
}

/// The key of the account with this API key: `cuan10pay:` and the first 8 bytes, in hex, of
/// HMAC-SHA256 keyed with a fixed label over the API key. Stable across processes and versions
/// (replicas must agree on it), and no way back to the key.
pub(crate) fn account_key(api_key: &str) -> String {
    let digest = gerbang_signing::hmac_sha256(b"gerbang rate budget v1", &[api_key.as_bytes()]);
    let mut key = String::from("cuan10pay:");
    for byte in &digest[..8] {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_key_is_stable_short_and_not_the_api_key() {
        let key = account_key("test-api-key-AK9f3xQ");
        // Fixed: every replica, of any version, must compute the same.
        assert_eq!(key, "cuan10pay:4f2a27b23b7c18df");
        assert_eq!(key.len(), "cuan10pay:".len() + 16);
        assert!(!key.contains("AK9f3xQ"));
        assert_ne!(key, account_key("another-key"));
    }
}
