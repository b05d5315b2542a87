//! The contracts every store implementation keeps, checked the same way for each engine.

use std::time::Duration;

use gerbang_core::inbox::{Claim, EventKey, Inbox};
use gerbang_core::ledger::{Begin, Ledger, WatchState, WatchedPayment};
use gerbang_core::time::{self, OffsetDateTime};
use gerbang_core::{Money, ProviderId};

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

    // A released claim can be claimed again, and a former holder cannot release it.
    let b = key("b");
    let Ok(Claim::New(first)) = inbox.claim(&b, long).await else { panic!("new") };
    assert_eq!(inbox.release(&first).await.ok(), Some(true), "the holder releases");
    let Ok(Claim::New(second)) = inbox.claim(&b, long).await else { panic!("a released key is new again") };
    assert_eq!(inbox.release(&first).await.ok(), Some(false), "a former holder cannot release");
    assert_eq!(inbox.claim(&b, long).await.ok(), Some(Claim::InFlight), "the new claim stands");
    assert_eq!(inbox.complete(&second).await.ok(), Some(true));

    // A lease that runs out lets the next claim in. The dead holder cannot release it; if it
    // finishes after all, it is told the claim was not its own, and the event is done (its
    // handler ran): the holder that took over is told so when it finishes.
    let (c, f) = (key("c"), key("f"));
    let Ok(Claim::New(dead)) = inbox.claim(&c, Duration::from_millis(300)).await else { panic!("new") };
    let Ok(Claim::New(late)) = inbox.claim(&f, Duration::from_millis(300)).await else { panic!("new") };
    tokio::time::sleep(Duration::from_millis(600)).await;
    let Ok(Claim::New(next)) = inbox.claim(&c, long).await else { panic!("an expired lease lets the next claim in") };
    assert_eq!(inbox.release(&dead).await.ok(), Some(false), "an expired holder cannot release");
    assert_eq!(inbox.claim(&c, long).await.ok(), Some(Claim::InFlight));
    assert_eq!(inbox.complete(&dead).await.ok(), Some(false), "an expired holder is told it was taken over");
    assert_eq!(inbox.claim(&c, long).await.ok(), Some(Claim::Done), "the event is done: a handler ran");
    assert_eq!(inbox.complete(&next).await.ok(), Some(false), "the holder that took over is told");
    assert_eq!(inbox.release(&next).await.ok(), Some(false), "and cannot give a done event back");
    assert_eq!(inbox.claim(&c, long).await.ok(), Some(Claim::Done));

    // An expired lease nobody took over still completes: the event was handled once.
    assert_eq!(inbox.complete(&late).await.ok(), Some(true), "a late holder nobody replaced completes");
    assert_eq!(inbox.claim(&f, long).await.ok(), Some(Claim::Done));
    assert_eq!(inbox.complete(&late).await.ok(), Some(false), "a done event is not completed twice");

    // Many claims at once: exactly one wins.
    let d = key("d");
    let claims = futures_util::future::join_all((0..32).map(|_| inbox.claim(&d, long))).await;
    let won = claims.iter().filter(|c| matches!(c, Ok(Claim::New(_)))).count();
    assert_eq!(won, 1, "of 32 concurrent claims exactly one wins: {claims:?}");

    // An inbox that answers at once (`claim_now`, `complete_now`) answers as it does otherwise.
    let e = key("e");
    if let Some(first) = inbox.claim_now(&e, long) {
        let Ok(Claim::New(lease)) = first else { panic!("a first claim_now must be new: {first:?}") };
        assert_eq!(inbox.claim(&e, long).await.ok(), Some(Claim::InFlight), "claim sees what claim_now claimed");
        assert_eq!(inbox.claim_now(&e, long).and_then(Result::ok), Some(Claim::InFlight), "held: in flight");
        assert_eq!(inbox.complete_now(&lease).and_then(Result::ok), Some(true), "the holder completes at once");
        assert_eq!(inbox.claim_now(&e, long).and_then(Result::ok), Some(Claim::Done), "done at once");
        assert_eq!(inbox.claim(&e, long).await.ok(), Some(Claim::Done), "and done for claim");
    }

    check_odd_keys(inbox, unique).await;
}

/// Keys no gateway should send but some do, or an attacker may: each is claimed, completed and
/// then done, on every store alike (none may answer an error for ever, which would have the
/// gateway retry a genuine payment until it gives up).
async fn check_odd_keys(inbox: &dyn Inbox, unique: &str) {
    let key = |k: String| EventKey { provider: ProviderId::Cuan10pay, key: k };
    let long = Duration::from_secs(60);
    // Incompressible: what a store that compresses long text cannot shrink below its limits.
    let random = random_printable(unique, 10 * 1024);
    let mut long_a = format!("contract:{unique}:long:{}", "L".repeat(4096));
    let mut long_b = long_a.clone();
    long_a.push('a');
    long_b.push('b');
    let odd = [
        ("a key with a NUL byte", key(format!("contract:{unique}:nul\0byte:paid"))),
        ("a 10 KB random key", key(format!("contract:{unique}:{random}"))),
        ("a key of only multibyte unicode", key(format!("\u{1F4B8}\u{20B9}{}", unique_unicode(unique)))),
        ("a key of control characters", key(format!("contract:{unique}:\r\n\t\u{7f}"))),
        ("a key starting with #", key(format!("#contract:{unique}"))),
        ("a long key", key(long_a)),
    ];
    for (what, odd) in &odd {
        let claimed = inbox.claim(odd, long).await;
        let Ok(Claim::New(lease)) = claimed else { panic!("{what}: a first claim must be new, not {claimed:?}") };
        assert_eq!(inbox.claim(odd, long).await.ok(), Some(Claim::InFlight), "{what}: held, so in flight");
        assert_eq!(inbox.complete(&lease).await.ok(), Some(true), "{what}: the holder completes");
        assert_eq!(inbox.claim(odd, long).await.ok(), Some(Claim::Done), "{what}: done stays done");
    }
    // Two long keys that differ only in their last byte are two events.
    let other = key(long_b);
    let Ok(Claim::New(lease)) = inbox.claim(&other, long).await else {
        panic!("two long keys differing in their last byte must stay distinct")
    };
    assert_eq!(inbox.complete(&lease).await.ok(), Some(true));
    assert_eq!(inbox.claim(&other, long).await.ok(), Some(Claim::Done));
}

/// `len` printable ASCII characters from a generator seeded by `unique` and the clock
/// (splitmix64: no dependency, and random enough that no compressor shrinks it).
fn random_printable(unique: &str, len: usize) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    // Only the low bits vary: the truncation is the point.
    #[allow(clippy::cast_possible_truncation)]
    let mut state = unique.bytes().fold(nanos as u64, |s, b| s.rotate_left(5) ^ u64::from(b));
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE5_E9B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..len).map(|_| char::from(b'!' + u8::try_from(next() % 94).unwrap_or(0))).collect()
}

/// `unique` spelt in multibyte characters only (each byte moved into the CJK block), so that
/// the unicode-only key differs between stores sharing a table.
fn unique_unicode(unique: &str) -> String {
    unique.bytes().filter_map(|b| char::from_u32(0x4E00 + u32::from(b))).collect()
}

/// Checks a [`Ledger`] implementation against its contract: the memory one here, the Redis and
/// Postgres ones on real servers, each on a store of its own (`due` hands out every due record
/// of the store). Panics, naming the broken rule.
pub async fn check_ledger_contract(ledger: &dyn Ledger, unique: &str) {
    let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_900_000_000);
    let at = |s: i64| t0 + time::Duration::seconds(s);
    let far = at(1_000_000_000);
    let reference = |n: &str| format!("{unique}-{n}");
    let minute = Duration::from_secs(60);
    let record = |n: &str, state: WatchState, next: Option<OffsetDateTime>| {
        let mut r = WatchedPayment::new(ProviderId::Qris, reference(n), Money::idr(150_000), state, t0);
        r.next_check = next;
        r
    };
    let names = |due: &[WatchedPayment]| due.iter().map(|r| r.reference.clone()).collect::<Vec<_>>();

    // Every field round-trips; a record is found by its reference and by its gateway id, each in
    // its own namespace, only at its gateway.
    let mut a = record("a", WatchState::Pending, Some(far));
    a.provider_reference = Some(format!("GW-{unique}-a"));
    a.amount = Money::new("1234.56".parse().expect("decimal"), gerbang_core::Currency::new("USD").expect("code"))
        .expect("money");
    a.provider_status = Some("UNPAID".into());
    a.expires_at = Some(at(3600));
    a.checks = 3;
    a.note = Some("the last check timed out".into());
    assert_eq!(ledger.record(&a).await.ok(), Some(true), "a new record is written");
    let found = ledger.find_by_reference(ProviderId::Qris, &a.reference).await.expect("find");
    assert_eq!(found.as_ref(), Some(&a), "a record reads back as written");
    let by_gateway_id = ledger.find_by_gateway_id(ProviderId::Qris, &format!("GW-{unique}-a")).await.expect("find");
    assert_eq!(by_gateway_id.as_ref(), Some(&a), "a record is found by the gateway's id");
    let none = Some(None);
    assert_eq!(ledger.find_by_reference(ProviderId::CashIn, &a.reference).await.ok(), none, "only at its gateway");
    let other_gateway = ledger.find_by_gateway_id(ProviderId::CashIn, &format!("GW-{unique}-a")).await.ok();
    assert_eq!(other_gateway, none, "a gateway id only at its gateway");
    let crossed = ledger.find_by_gateway_id(ProviderId::Qris, &a.reference).await.ok();
    assert_eq!(crossed, none, "a reference is not a gateway id");
    let crossed = ledger.find_by_reference(ProviderId::Qris, &format!("GW-{unique}-a")).await.ok();
    assert_eq!(crossed, none, "a gateway id is not a reference");
    assert_eq!(ledger.find_by_reference(ProviderId::Qris, &reference("none")).await.ok(), none, "unknown: none");

    // Never back: a final state is not replaced by pending; a mismatch by nothing but itself.
    let mut paid = a.clone();
    paid.state = WatchState::Paid;
    paid.next_check = None;
    assert_eq!(ledger.record(&paid).await.ok(), Some(true), "pending moves on to paid");
    assert_eq!(ledger.record(&a).await.ok(), Some(false), "paid is not moved back to pending");
    let state = |r: Option<WatchedPayment>| r.map(|r| r.state);
    let found = ledger.find_by_reference(ProviderId::Qris, &a.reference).await.expect("find");
    assert_eq!(state(found), Some(WatchState::Paid));
    let mut mismatch = paid.clone();
    mismatch.state = WatchState::Mismatch;
    assert_eq!(ledger.record(&mismatch).await.ok(), Some(true), "paid moves on to mismatch");
    assert_eq!(ledger.record(&paid).await.ok(), Some(false), "a mismatch stays");
    let mut unknown = record("u", WatchState::Unknown, Some(far));
    assert_eq!(ledger.record(&unknown).await.ok(), Some(true));
    unknown.state = WatchState::NotCreated;
    unknown.next_check = None;
    assert_eq!(ledger.record(&unknown).await.ok(), Some(true), "unknown may be resolved as not created");
    unknown.state = WatchState::Pending;
    unknown.next_check = Some(far);
    assert_eq!(ledger.record(&unknown).await.ok(), Some(true), "not created may turn out pending");

    // Due: watched records whose check has come, earliest first, each handed out once per lease.
    for (n, state, next) in [
        ("b", WatchState::Pending, Some(at(10))),
        ("c", WatchState::Unknown, Some(at(5))),
        ("d", WatchState::Creating, Some(at(20))),
        ("e", WatchState::Expired, Some(at(1))),
        ("f", WatchState::Pending, Some(at(100))),
        ("g", WatchState::Pending, None),
    ] {
        ledger.record(&record(n, state, next)).await.expect("record");
    }
    let due = ledger.due(at(30), 10, minute).await.expect("due");
    assert_eq!(names(&due), [reference("c"), reference("b"), reference("d")], "due: watched, come, earliest first");
    assert_eq!(due[1], record("b", WatchState::Pending, Some(at(10))), "a due record is the record as it was");
    assert!(ledger.due(at(30), 10, minute).await.expect("due").is_empty(), "a handed-out record is not due again");
    // (All three leases end at once: the order among them is free.)
    let mut after_lease = names(&ledger.due(at(91), 10, minute).await.expect("due"));
    after_lease.sort();
    assert_eq!(after_lease, [reference("b"), reference("c"), reference("d")], "the lease ran out");
    let one = ledger.due(at(200), 1, minute).await.expect("due");
    assert_eq!(names(&one), [reference("f")], "at most `limit`, earliest first");
    // Recording the outcome of a check sets the next one.
    let mut checked = record("b", WatchState::Pending, Some(at(500)));
    checked.checks = 1;
    assert_eq!(ledger.record(&checked).await.ok(), Some(true));
    let mut due = names(&ledger.due(at(400), 10, minute).await.expect("due"));
    due.sort();
    assert_eq!(due, [reference("c"), reference("d"), reference("f")], "b waits for its next check");
    for n in ["b", "c", "d", "f"] {
        ledger.record(&record(n, WatchState::Pending, Some(far))).await.expect("record");
    }

    // Many replicas at once: each due record goes to exactly one of them.
    for n in 0..20 {
        ledger.record(&record(&format!("h{n}"), WatchState::Pending, Some(at(1000 + n)))).await.expect("record");
    }
    let rounds = futures_util::future::join_all((0..8).map(|_| ledger.due(at(2000), 5, minute))).await;
    let mut handed: Vec<String> = rounds.into_iter().flat_map(|r| names(&r.expect("due"))).collect();
    let total = handed.len();
    handed.sort();
    handed.dedup();
    assert_eq!((total, handed.len()), (20, 20), "20 due records, 8 callers: each handed out exactly once");

    // The list shows the newest records first.
    let mut newest = record("z", WatchState::Pending, None);
    newest.recorded_at = at(5000);
    ledger.record(&newest).await.expect("record");
    let listed = ledger.list(3).await.expect("list");
    assert_eq!(listed.len(), 3, "list takes at most `limit`");
    assert_eq!(listed[0].reference, reference("z"), "newest first");

    check_namespaces(ledger, unique, far).await;
    check_begin_create(ledger, unique, far).await;
    check_other_gateways(ledger, unique, far).await;
}

/// A reference routed through several gateways has a record at each: the look-up for one of
/// them finds the others, in `ProviderId::ALL`'s order, never its own, never another
/// reference's, never a record whose gateway id is that reference.
async fn check_other_gateways(ledger: &dyn Ledger, unique: &str, far: OffsetDateTime) {
    let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_900_000_000);
    let routed = format!("{unique}-ROUTED");
    let at = |provider: ProviderId, reference: &str, state: WatchState| {
        let mut r = WatchedPayment::new(provider, reference, Money::idr(75_000), state, t0);
        r.next_check = state.is_watched().then_some(far);
        r
    };
    let lost = at(ProviderId::Cuan10pay, &routed, WatchState::Unknown);
    let paid = at(ProviderId::CashIn, &routed, WatchState::Paid);
    let mut routed_here = at(ProviderId::Qris, &routed, WatchState::Pending);
    routed_here.provider_reference = Some(format!("{unique}-INV-1"));
    // Another order whose gateway id is the routed reference, and another reference.
    let mut impostor = at(ProviderId::Ciputra, &format!("{unique}-OTHER"), WatchState::Paid);
    impostor.provider_reference = Some(routed.clone());
    let elsewhere = at(ProviderId::CryptoInvoice, &format!("{unique}-ROUTED-2"), WatchState::Paid);
    for record in [&lost, &paid, &routed_here, &impostor, &elsewhere] {
        assert_eq!(ledger.record(record).await.ok(), Some(true));
    }
    let others = ledger.find_at_other_gateways(ProviderId::Qris, &routed).await.expect("find at other gateways");
    assert_eq!(others, [lost.clone(), paid.clone()], "the reference's records at the other gateways, in order");
    let others = ledger.find_at_other_gateways(ProviderId::Cuan10pay, &routed).await.expect("find");
    assert_eq!(others, [paid, routed_here], "never the asking gateway's own record");
    let none = ledger.find_at_other_gateways(ProviderId::Qris, &format!("{unique}-NOWHERE")).await.expect("find");
    assert!(none.is_empty(), "a reference held nowhere else: {none:?}");
}

/// The attack of a merchant reference that is another payment's gateway id: invoice `ORD-A`,
/// numbered `100000` by the gateway, and another order whose reference is `100000`. Each look-up
/// finds the record that holds the value in its own namespace.
async fn check_namespaces(ledger: &dyn Ledger, unique: &str, far: OffsetDateTime) {
    let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_900_000_000);
    let provider = ProviderId::CryptoInvoice;
    let (order_a, number) = (format!("{unique}-ORD-A"), format!("{unique}-100000"));
    let mut a = WatchedPayment::new(provider, &order_a, Money::idr(150_000), WatchState::Pending, t0);
    a.provider_reference = Some(number.clone());
    a.next_check = Some(far);
    let mut b = WatchedPayment::new(provider, &number, Money::idr(990_000), WatchState::Pending, t0);
    b.provider_reference = Some(format!("{unique}-100001"));
    b.next_check = Some(far);
    for record in [&a, &b] {
        assert_eq!(ledger.record(record).await.ok(), Some(true));
    }
    let by_id = ledger.find_by_gateway_id(provider, &number).await.expect("find");
    assert_eq!(by_id.as_ref(), Some(&a), "gateway id {number} is ORD-A's, not the order whose reference is {number}");
    let by_reference = ledger.find_by_reference(provider, &number).await.expect("find");
    assert_eq!(by_reference.as_ref(), Some(&b), "reference {number} is the other order's");
    let by_reference = ledger.find_by_reference(provider, &order_a).await.expect("find");
    assert_eq!(by_reference.as_ref(), Some(&a));
    let by_id = ledger.find_by_gateway_id(provider, &format!("{unique}-100001")).await.expect("find");
    assert_eq!(by_id.as_ref(), Some(&b));
    assert_eq!(ledger.find_by_gateway_id(provider, &order_a).await.ok(), Some(None), "ORD-A is no gateway id");

    // A record without a gateway id is found by reference only, even when an id key of that
    // value was once written elsewhere.
    let mut c = WatchedPayment::new(provider, format!("{unique}-ORD-C"), Money::idr(1), WatchState::Unknown, t0);
    c.next_check = Some(far);
    assert_eq!(ledger.record(&c).await.ok(), Some(true));
    assert_eq!(ledger.find_by_gateway_id(provider, &c.reference).await.ok(), Some(None));
}

/// A create begins only where the reference is new or its create was refused by the gateway;
/// every other state is returned as it is and left unchanged; of concurrent beginnings of one
/// reference exactly one starts.
async fn check_begin_create(ledger: &dyn Ledger, unique: &str, far: OffsetDateTime) {
    let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_900_000_000);
    let provider = ProviderId::CashIn;
    let creating = |reference: &str, amount: i64| {
        let mut r = WatchedPayment::new(provider, reference, Money::idr(amount), WatchState::Creating, t0);
        r.next_check = Some(far);
        r
    };

    let fresh = format!("{unique}-begin-new");
    assert_eq!(ledger.begin_create(&creating(&fresh, 10_000)).await.ok(), Some(Begin::Started), "a new reference");
    assert_eq!(stored(ledger, provider, &fresh).await, Some(creating(&fresh, 10_000)), "written as given");

    for state in WatchState::ALL {
        let reference = format!("{unique}-begin-{state}");
        let mut existing = WatchedPayment::new(provider, &reference, Money::idr(150_000), state, t0);
        existing.provider_reference = Some(format!("{unique}-GW-{state}"));
        existing.provider_status = Some("AS-RECORDED".into());
        existing.next_check = state.is_watched().then_some(far);
        assert_eq!(ledger.record(&existing).await.ok(), Some(true));
        let again = creating(&reference, 990_000);
        let begun = ledger.begin_create(&again).await.expect("begin_create");
        if state == WatchState::NotCreated {
            assert_eq!(begun, Begin::Started, "a create the gateway refused may be tried again");
            assert_eq!(
                stored(ledger, provider, &reference).await,
                Some(again.clone()),
                "the refused record is replaced"
            );
            let by_id = ledger.find_by_gateway_id(provider, &format!("{unique}-GW-{state}")).await.expect("find");
            assert_eq!(by_id, None, "the replaced record's gateway id names nothing now");
        } else {
            assert_eq!(begun, Begin::Exists(Box::new(existing.clone())), "{state}: the record is returned as it is");
            assert_eq!(stored(ledger, provider, &reference).await, Some(existing), "{state}: the record is unchanged");
        }
    }

    // Replicas beginning one reference at once: exactly one starts, whether the reference is new
    // or its create was refused.
    let refused = format!("{unique}-begin-race-refused");
    let mut not_created = WatchedPayment::new(provider, &refused, Money::idr(1), WatchState::NotCreated, t0);
    not_created.next_check = None;
    assert_eq!(ledger.record(&not_created).await.ok(), Some(true));
    for reference in [format!("{unique}-begin-race-new"), refused] {
        let attempts: Vec<WatchedPayment> = (0..32).map(|n| creating(&reference, 1_000 + n)).collect();
        let begun = futures_util::future::join_all(attempts.iter().map(|r| ledger.begin_create(r))).await;
        let started: Vec<usize> = (0..begun.len()).filter(|n| matches!(begun[*n], Ok(Begin::Started))).collect();
        assert_eq!(started.len(), 1, "of 32 concurrent creates of {reference} exactly one starts: {begun:?}");
        let winner = &attempts[started[0]];
        for outcome in &begun {
            match outcome {
                Ok(Begin::Started) => {}
                Ok(Begin::Exists(found)) => assert_eq!(**found, *winner, "the others see the winner's record"),
                other => panic!("begin_create of {reference} failed: {other:?}"),
            }
        }
        assert_eq!(stored(ledger, provider, &reference).await.as_ref(), Some(winner), "the winner's record stays");
    }
}

/// The record of `reference` at `provider`, which must be readable.
async fn stored(ledger: &dyn Ledger, provider: ProviderId, reference: &str) -> Option<WatchedPayment> {
    ledger.find_by_reference(provider, reference).await.expect("find")
}
