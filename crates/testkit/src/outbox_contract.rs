//! The contract every [`Outbox`] keeps, checked the same way on memory, Redis and Postgres.

use std::collections::HashSet;
use std::time::Duration;

use gerbang_core::outbox::{Attempt, DeliveryState, Enqueued, Message, Outbox, Query, Replay, Taken};
use gerbang_core::time::OffsetDateTime;
use gerbang_core::{Ack, PaymentStatus, ProviderId, WebhookEvent};

/// A message of payment `payment` in `status`, its id derived from both and `unique`.
pub fn outbox_message(unique: &str, payment: &str, status: PaymentStatus) -> Message {
    let mut event = WebhookEvent::new(ProviderId::Cuan10pay, status.clone(), "word", Ack::text(200, "ok"));
    event.provider_reference = Some(format!("{unique}-{payment}"));
    event.reference = Some(format!("ORDER-{payment}"));
    let id = format!("msg_{unique}_{payment}_{}", status.as_str());
    let body = format!(r#"{{"payment":"{payment}","status":"{}"}}"#, status.as_str());
    Message::of(&event, id, body).unwrap_or_else(|e| panic!("a message of {payment}: {e}"))
}

fn delivered() -> Attempt {
    Attempt::Delivered { answer: "200 OK".into() }
}

async fn take(outbox: &dyn Outbox, lease: Duration) -> Vec<Taken> {
    outbox.take(100, lease).await.unwrap_or_else(|e| panic!("take: {e}"))
}

fn ids(taken: &[Taken]) -> Vec<&str> {
    taken.iter().map(|t| t.record.message.id.as_str()).collect()
}

async fn state_of(outbox: &dyn Outbox, id: &str) -> (DeliveryState, u32) {
    let all = outbox.list(&Query { limit: 10_000, ..Query::default() }).await.unwrap_or_else(|e| panic!("list: {e}"));
    let record = all.iter().find(|r| r.message.id == id).unwrap_or_else(|| panic!("{id} is listed"));
    (record.state, record.attempts)
}

/// Checks an [`Outbox`] against its contract. The outbox must be **fresh and used by no one
/// else** (its own key prefix, table or schema): the contract asserts exactly what `take`
/// returns. Takes a few seconds (leases and retries of a few hundred milliseconds). Panics,
/// naming the broken rule.
pub async fn check_outbox_contract(outbox: &dyn Outbox, unique: &str) {
    let long = Duration::from_secs(60);
    let msg = |payment: &str, status: PaymentStatus| outbox_message(unique, payment, status);

    // Once per id; taken once while leased; delivered for good.
    let a = msg("a", PaymentStatus::Paid);
    assert_eq!(outbox.enqueue(&a).await.ok(), Some(Enqueued::New), "a first enqueue is new");
    assert_eq!(outbox.enqueue(&a).await.ok(), Some(Enqueued::Already), "a second enqueue of an id changes nothing");
    let taken = take(outbox, long).await;
    assert_eq!(ids(&taken), [a.id.as_str()], "the due message is taken");
    assert_eq!(taken[0].record.message, a, "the message comes back as enqueued");
    assert_eq!(taken[0].record.attempts, 0);
    assert!(take(outbox, long).await.is_empty(), "a leased message is not taken again");
    assert_eq!(outbox.settle(&taken[0], delivered()).await.ok(), Some(true), "the holder settles");
    assert_eq!(outbox.settle(&taken[0], delivered()).await.ok(), Some(false), "a settled message is settled once");
    assert_eq!(state_of(outbox, &a.id).await, (DeliveryState::Delivered, 1));
    assert!(take(outbox, long).await.is_empty(), "a delivered message is not taken");
    assert_eq!(outbox.enqueue(&a).await.ok(), Some(Enqueued::Already), "a delivered id is not enqueued again");

    // A retry waits for its time, and counts its attempts.
    let b = msg("b", PaymentStatus::Paid);
    outbox.enqueue(&b).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
    let taken = take(outbox, long).await;
    let at = OffsetDateTime::now_utc() + Duration::from_millis(700);
    let retry = Attempt::Retry { answer: "503 Service Unavailable".into(), at };
    assert_eq!(outbox.settle(&taken[0], retry).await.ok(), Some(true));
    assert!(take(outbox, long).await.is_empty(), "a retry is not due before its time");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let again = take(outbox, long).await;
    assert_eq!(ids(&again), [b.id.as_str()], "a retry is due at its time");
    assert_eq!(again[0].record.attempts, 1, "the first attempt was counted");
    assert_eq!(again[0].record.last_answer.as_deref(), Some("503 Service Unavailable"));

    // The last attempt fails: a dead letter, listed; replayed, it goes out again.
    let failed = Attempt::Failed { answer: "the application could not be reached".into() };
    assert_eq!(outbox.settle(&again[0], failed).await.ok(), Some(true));
    assert_eq!(state_of(outbox, &b.id).await, (DeliveryState::Failed, 2));
    let dead = outbox.list(&Query { state: Some(DeliveryState::Failed), ..Query::default() }).await.ok();
    assert_eq!(dead.map(|d| d.into_iter().map(|r| r.message.id).collect::<Vec<_>>()), Some(vec![b.id.clone()]));
    assert!(take(outbox, long).await.is_empty(), "a failed message is not taken");
    assert_eq!(outbox.replay(&Replay::Ids(vec![b.id.clone(), "msg_none".into()])).await.ok(), Some(1));
    let replayed = take(outbox, long).await;
    assert_eq!(ids(&replayed), [b.id.as_str()], "a replayed message is taken");
    assert_eq!(replayed[0].record.attempts, 0, "a replay counts attempts from zero");
    outbox.settle(&replayed[0], delivered()).await.unwrap_or_else(|e| panic!("settle: {e}"));

    // A payment's messages go out lowest rank first, one at a time.
    let c_paid = msg("c", PaymentStatus::Paid);
    let c_pending = msg("c", PaymentStatus::Pending);
    outbox.enqueue(&c_paid).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
    outbox.enqueue(&c_pending).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
    let first = take(outbox, long).await;
    assert_eq!(ids(&first), [c_pending.id.as_str()], "pending goes out before paid, learnt first or not");
    assert!(take(outbox, long).await.is_empty(), "paid waits while its pending is being delivered");
    let retry = Attempt::Retry { answer: "500".into(), at: OffsetDateTime::now_utc() + Duration::from_millis(500) };
    outbox.settle(&first[0], retry).await.unwrap_or_else(|e| panic!("settle: {e}"));
    assert!(take(outbox, long).await.is_empty(), "paid waits while its pending waits for its retry");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let first = take(outbox, long).await;
    assert_eq!(ids(&first), [c_pending.id.as_str()]);
    outbox.settle(&first[0], delivered()).await.unwrap_or_else(|e| panic!("settle: {e}"));
    let second = take(outbox, long).await;
    assert_eq!(ids(&second), [c_paid.id.as_str()], "paid goes out once its pending is delivered");
    outbox.settle(&second[0], delivered()).await.unwrap_or_else(|e| panic!("settle: {e}"));

    // An earlier state learnt after a later one was delivered is superseded, never sent.
    let d_paid = msg("d", PaymentStatus::Paid);
    outbox.enqueue(&d_paid).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
    let taken = take(outbox, long).await;
    outbox.settle(&taken[0], delivered()).await.unwrap_or_else(|e| panic!("settle: {e}"));
    let d_pending = msg("d", PaymentStatus::Pending);
    assert_eq!(outbox.enqueue(&d_pending).await.ok(), Some(Enqueued::Superseded));
    assert!(take(outbox, long).await.is_empty(), "a superseded message is not taken");
    assert_eq!(state_of(outbox, &d_pending.id).await.0, DeliveryState::Superseded);
    // A refund after the paid one goes out.
    let d_refunded = msg("d", PaymentStatus::Refunded);
    assert_eq!(outbox.enqueue(&d_refunded).await.ok(), Some(Enqueued::New));
    let taken = take(outbox, long).await;
    assert_eq!(ids(&taken), [d_refunded.id.as_str()]);
    outbox.settle(&taken[0], delivered()).await.unwrap_or_else(|e| panic!("settle: {e}"));

    // Learnt while its later state was being delivered: superseded once that one is delivered.
    let e_paid = msg("e", PaymentStatus::Paid);
    outbox.enqueue(&e_paid).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
    let in_flight = take(outbox, long).await;
    let e_pending = msg("e", PaymentStatus::Pending);
    assert_eq!(outbox.enqueue(&e_pending).await.ok(), Some(Enqueued::New), "nothing of it was delivered yet");
    assert!(take(outbox, long).await.is_empty(), "nothing of a payment is taken while one of its messages is leased");
    outbox.settle(&in_flight[0], delivered()).await.unwrap_or_else(|e| panic!("settle: {e}"));
    assert!(take(outbox, long).await.is_empty(), "the pending learnt late is not sent after its paid");
    assert_eq!(state_of(outbox, &e_pending.id).await.0, DeliveryState::Superseded);

    // A lease that runs out lets the message be taken again; the old holder can no longer settle.
    let f = msg("f", PaymentStatus::Paid);
    outbox.enqueue(&f).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
    let dead_taker = take(outbox, Duration::from_millis(300)).await;
    assert_eq!(ids(&dead_taker), [f.id.as_str()]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let next = take(outbox, long).await;
    assert_eq!(ids(&next), [f.id.as_str()], "an expired lease lets the message be taken again");
    assert_eq!(outbox.settle(&dead_taker[0], delivered()).await.ok(), Some(false), "an expired holder cannot settle");
    assert_eq!(outbox.settle(&next[0], delivered()).await.ok(), Some(true));

    // Many takers at once: each message is taken by exactly one.
    let many: Vec<Message> = (0..24).map(|n| msg(&format!("g{n}"), PaymentStatus::Paid)).collect();
    for message in &many {
        outbox.enqueue(message).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
    }
    let takes = futures_util::future::join_all((0..8).map(|_| outbox.take(5, long))).await;
    let mut seen = HashSet::new();
    for taken in takes.into_iter().flat_map(|t| t.unwrap_or_else(|e| panic!("take: {e}"))) {
        assert!(seen.insert(taken.record.message.id.clone()), "{} was taken twice", taken.record.message.id);
        outbox.settle(&taken, delivered()).await.unwrap_or_else(|e| panic!("settle: {e}"));
    }
    let rest = take(outbox, long).await;
    for taken in &rest {
        assert!(seen.insert(taken.record.message.id.clone()), "{} was taken twice", taken.record.message.id);
        outbox.settle(taken, delivered()).await.unwrap_or_else(|e| panic!("settle: {e}"));
    }
    assert_eq!(seen.len(), many.len(), "every message was taken once");

    // A limit is kept; the list is in the order enqueued; since and state filter it.
    let listed = outbox.list(&Query { limit: 3, ..Query::default() }).await.unwrap_or_else(|e| panic!("list: {e}"));
    assert_eq!(listed.iter().map(|r| r.message.id.as_str()).collect::<Vec<_>>(), [&a.id, &b.id, &c_paid.id]);
    let later = OffsetDateTime::now_utc() + Duration::from_secs(3600);
    let none = outbox.list(&Query { since: Some(later), ..Query::default() }).await.ok().map(|l| l.len());
    assert_eq!(none, Some(0), "nothing was received in an hour's time");
    let superseded = outbox.list(&Query { state: Some(DeliveryState::Superseded), ..Query::default() }).await.ok();
    let superseded: Option<Vec<_>> = superseded.map(|l| l.into_iter().map(|r| r.message.id).collect());
    assert_eq!(superseded, Some(vec![d_pending.id.clone(), e_pending.id.clone()]));

    // Stats count each state.
    let h = msg("h", PaymentStatus::Paid);
    outbox.enqueue(&h).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
    let stats = outbox.stats().await.unwrap_or_else(|e| panic!("stats: {e}"));
    assert_eq!((stats.pending, stats.failed, stats.superseded), (1, 0, 2), "{stats:?}");
    assert_eq!(stats.delivered, 8 + 24, "{stats:?}");
    assert!(stats.oldest_pending.is_some_and(|at| at <= OffsetDateTime::now_utc()), "{stats:?}");

    // Replay since a time sends again everything received since, in each payment's order, the
    // superseded ones included: the operator asked for them.
    let all = outbox.replay(&Replay::Since(OffsetDateTime::UNIX_EPOCH)).await.ok();
    assert_eq!(all, Some(35), "every message is replayed");
    let taken = take(outbox, long).await;
    // One per payment (a, b, c, d, e, f, g0..g23, h), each its first: c's, d's and e's pending.
    assert_eq!(taken.len(), 6 + 24 + 1, "one message per payment");
    for first in [&c_pending, &d_pending, &e_pending] {
        assert!(ids(&taken).contains(&first.id.as_str()), "{} is replayed first", first.id);
    }
    for taken in &taken {
        outbox.settle(taken, delivered()).await.unwrap_or_else(|e| panic!("settle: {e}"));
    }

    // Pruning forgets delivered and superseded messages settled before the cut, nothing else.
    let failed = take(outbox, long).await;
    let failing = failed.first().unwrap_or_else(|| panic!("the payments' later messages are due"));
    outbox.settle(failing, Attempt::Failed { answer: "gone".into() }).await.unwrap_or_else(|e| panic!("settle: {e}"));
    for taken in &failed[1..] {
        outbox
            .settle(taken, Attempt::Retry { answer: "later".into(), at: later })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // c's, d's and e's paid were taken; d's refund waits behind its paid.
    assert_eq!(failed.len(), 3, "{:?}", ids(&failed));
    let kept: u64 = failed.len() as u64 + 1;
    let before = outbox.stats().await.unwrap_or_else(|e| panic!("stats: {e}"));
    let pruned = outbox.prune(OffsetDateTime::now_utc() + Duration::from_secs(1)).await.ok();
    let after = outbox.stats().await.unwrap_or_else(|e| panic!("stats: {e}"));
    assert_eq!(pruned, Some(before.delivered + before.superseded), "{before:?}");
    assert_eq!((after.delivered, after.superseded), (0, 0), "{after:?}");
    assert_eq!(after.failed + after.pending, kept, "pending and failed messages are kept: {after:?}");
    assert_eq!(outbox.prune(OffsetDateTime::UNIX_EPOCH).await.ok(), Some(0));
}
