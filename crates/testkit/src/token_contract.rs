//! The rule every shared [`TokenStore`] keeps for [`get_or_refresh`]: however many callers, on
//! however many connections, find the token missing at once, one fetches it and the others get
//! that one token.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang_core::secrecy::ExposeSecret;
use gerbang_core::time::{self, OffsetDateTime};
use gerbang_core::token_store::{RefreshOptions, Source, StoredToken, TokenStore, get_or_refresh};

/// A token `secret` that expires in an hour and is refreshed a minute before.
pub fn stored_token(secret: &str) -> StoredToken {
    let now = OffsetDateTime::now_utc();
    StoredToken::new(secret, now + time::Duration::hours(1), now + time::Duration::minutes(59))
}

/// Fifty callers of [`get_or_refresh`] for `key` (missing from the store), alternating between
/// `a` and `b` (two connections to one store), each fetch taking 200 ms: checks that one fetched
/// and every caller got its token. Panics, naming the broken rule.
pub async fn check_one_fetch_for_many_callers(a: Arc<dyn TokenStore>, b: Arc<dyn TokenStore>, key: &str) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let calls: Vec<_> = (0..50)
        .map(|n| {
            let store = if n % 2 == 0 { Arc::clone(&a) } else { Arc::clone(&b) };
            let fetches = Arc::clone(&fetches);
            let key = key.to_owned();
            tokio::spawn(async move {
                let fetch = || async {
                    let n = fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Ok(stored_token(&format!("shared-{n}")))
                };
                get_or_refresh(&*store, &key, RefreshOptions::default(), OffsetDateTime::now_utc, None, fetch).await
            })
        })
        .collect();
    let mut sources = Vec::new();
    for call in calls {
        let (got, source) = match call.await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => panic!("get_or_refresh failed: {e}"),
            Err(e) => panic!("a caller panicked: {e}"),
        };
        assert_eq!(got.secret.expose_secret(), "shared-0", "every caller gets the one token fetched");
        sources.push(source);
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "one fetch for 50 callers");
    assert_eq!(sources.iter().filter(|s| **s == Source::Fetched).count(), 1, "{sources:?}");
}
