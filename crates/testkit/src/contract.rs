//! The contracts every store implementation keeps, checked the same way for each engine.

use std::time::Duration;

use gerbang_core::ProviderId;
use gerbang_core::inbox::{Claim, EventKey, Inbox};

/// Checks an [`Inbox`] implementation against its contract: the memory one here, the Redis and
/// Postgres ones on real servers. Panics, naming the broken rule.
pub async fn check_inbox_contract(inbox: &dyn Inbox, unique: &str) {
    let key = |n: &str| EventKey { provider: ProviderId::Cuan10pay, key: format!("contract:{unique}:{n}") };
    let long = Duration::from_secs(60);

    // First claim wins; a second is in flight; done is done.
    let a = key("a");
    let Ok(Claim::New(lease)) = inbox.claim(&a, long).await else { panic!("a first claim must be new") };
    assert_eq!(inbox.claim(&a, long).await.ok(), Some(Claim::InFlight), "a held key is in flight");
    assert_eq!(inbox.complete(&lease).await.ok(), Some(true), "the holder completes");
    assert_eq!(inbox.claim(&a, long).await.ok(), Some(Claim::Done), "a done key stays done");
    assert_eq!(inbox.release(&lease).await.ok(), Some(false), "a done key cannot be released");

    // A released claim can be claimed again.
    let b = key("b");
    let Ok(Claim::New(first)) = inbox.claim(&b, long).await else { panic!("new") };
    assert_eq!(inbox.release(&first).await.ok(), Some(true), "the holder releases");
    let Ok(Claim::New(second)) = inbox.claim(&b, long).await else { panic!("a released key is new again") };
    assert_eq!(inbox.complete(&first).await.ok(), Some(false), "a former holder cannot complete");
    assert_eq!(inbox.complete(&second).await.ok(), Some(true));

    // A lease that runs out lets the next claim in; the dead holder can no longer complete.
    let c = key("c");
    let Ok(Claim::New(dead)) = inbox.claim(&c, Duration::from_millis(300)).await else { panic!("new") };
    tokio::time::sleep(Duration::from_millis(600)).await;
    let Ok(Claim::New(next)) = inbox.claim(&c, long).await else { panic!("an expired lease lets the next claim in") };
    assert_eq!(inbox.complete(&dead).await.ok(), Some(false), "an expired holder cannot complete");
    assert_eq!(inbox.release(&dead).await.ok(), Some(false), "an expired holder cannot release");
    assert_eq!(inbox.claim(&c, long).await.ok(), Some(Claim::InFlight));
    assert_eq!(inbox.complete(&next).await.ok(), Some(true));

    // Many claims at once: exactly one wins.
    let d = key("d");
    let claims = futures_util::future::join_all((0..32).map(|_| inbox.claim(&d, long))).await;
    let won = claims.iter().filter(|c| matches!(c, Ok(Claim::New(_)))).count();
    assert_eq!(won, 1, "of 32 concurrent claims exactly one wins: {claims:?}");
}
