//! The status calls that confirm callbacks: one per transaction at a time, and no more than a
//! budget allows.
//!
//! The callback is unsigned (`callback.rs`), so anyone who can reach the merchant's URL can make
//! it spend an authenticated status call. Two things bound what that costs:
//!
//! - **single flight**: callbacks for one `external_id` that arrive while its status call is
//!   out share that call's answer; nothing is kept once it is given (a later callback asks
//!   again, as it should: the state may have moved);
//! - **a budget** ([`CiputraConfigBuilder::callback_checks`](crate::CiputraConfigBuilder::callback_checks)):
//!   past it a callback is answered [`Error::BudgetSpent`], which the receiver turns into a 503,
//!   so the genuine gateway delivers it again later and nothing is lost.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gerbang_core::rate::{MemoryRateStore, Priority, Quota, RateStore};
use gerbang_core::{Error, RawJson};
use tokio::sync::OnceCell;

use crate::wire::TransactionStatus;

/// The default budget of callback-driven status calls: 20 per 2 seconds, that is 10 a second on
/// average with bursts of up to 20. Far above what a merchant's genuine callbacks need (one per
/// change of a payment), far below what would trouble the gateway or the token.
pub const DEFAULT_CALLBACK_CHECKS: Quota = Quota::new(TWENTY, Duration::from_secs(2));

const TWENTY: NonZeroU32 = match NonZeroU32::new(20) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// The one key of the budget in its store: the budget is the client's own.
const BUDGET_KEY: &str = "ciputra:callback-checks";

/// A confirming status call's answer, as it is shared.
pub(crate) type Answer = Result<(TransactionStatus, RawJson), Error>;

/// The status calls being made for callbacks, by `external_id`, and their budget. One per client,
/// shared by its clones.
pub(crate) struct Confirmations {
    in_flight: Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
    budget: MemoryRateStore,
    quota: Quota,
}

impl Confirmations {
    pub(crate) fn new(quota: Quota) -> Self {
        Self { in_flight: Mutex::default(), budget: MemoryRateStore::new(), quota }
    }

    /// The status of `external_id` from `fetch`, unless a call for it is already out: then that
    /// call's answer. Only the call that is made spends from the budget; refused, every callback
    /// that was waiting on it gets the refusal.
    pub(crate) async fn confirm<F, Fut>(&self, external_id: &str, fetch: F) -> Answer
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Answer>,
    {
        let cell = Arc::clone(self.lock().entry(external_id.to_owned()).or_default());
        let _leave = Leave { owner: self, external_id, cell: &cell };
        cell.get_or_init(|| async {
            self.budget.acquire(BUDGET_KEY, self.quota, Priority::Normal).await.map_err(|error| {
                tracing::warn!(gateway = "ciputra", outcome = "budget_spent", %error, "Ciputra callbacks over their budget of status calls: asking for a later delivery");
                error
            })?;
            fetch().await
        })
        .await
        .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<OnceCell<Answer>>>> {
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Takes the call out of the in-flight map when its first caller is done with it (answered, or
/// gone: a dropped request must not leave its id there for ever). Callers that joined it keep
/// their own handle and still get its answer; callers after that make a new call.
struct Leave<'a> {
    owner: &'a Confirmations,
    external_id: &'a str,
    cell: &'a Arc<OnceCell<Answer>>,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.owner.lock();
        if in_flight.get(self.external_id).is_some_and(|current| Arc::ptr_eq(current, self.cell)) {
            in_flight.remove(self.external_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn answer() -> Answer {
        Err(Error::NotFound { message: "no such transaction".into() })
    }

    #[tokio::test]
    async fn past_the_budget_no_call_is_made() {
        let quota = Quota::new(NonZeroU32::MIN.saturating_add(1), Duration::from_secs(3600));
        let confirmations = Confirmations::new(quota);
        let calls = AtomicUsize::new(0);
        for id in ["A", "B", "C", "D"] {
            let _ = confirmations
                .confirm(id, || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    answer()
                })
                .await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let refused = confirmations.confirm("E", || async { answer() }).await;
        assert!(matches!(refused, Err(Error::BudgetSpent { retry_after: Some(_) })), "{refused:?}");
    }
}
