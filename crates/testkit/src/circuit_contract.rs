//! The contract every [`CircuitStore`] keeps, checked the same way on memory and on Redis (one
//! server, TLS, a cluster): the rules of [`gerbang_core::circuit`].

use std::time::{Duration, Instant};

use gerbang_core::ProviderId;
use gerbang_core::circuit::{Admission, CircuitPolicy, CircuitStore, Health};

/// The contract's cool-down and probe timeout: short, so that the whole takes about two
/// seconds, yet long enough that a check made just after a circuit opens sees it open on a
/// loaded machine.
const COOL_DOWN: Duration = Duration::from_millis(150);
/// Past a cool-down (or a probe timeout) with a margin for the store's round trip.
const PAST: Duration = Duration::from_millis(200);

fn policy() -> CircuitPolicy {
    CircuitPolicy::default().failures(3).cool_down(COOL_DOWN).probe_timeout(COOL_DOWN)
}

async fn admit(store: &dyn CircuitStore, gateway: ProviderId) -> Admission {
    store.admit(gateway, policy()).await.unwrap_or_else(|e| panic!("admit {gateway}: {e}"))
}

async fn record(store: &dyn CircuitStore, gateway: ProviderId, health: Health) {
    store.record(gateway, policy(), health).await.unwrap_or_else(|e| panic!("record {health:?} for {gateway}: {e}"));
}

/// Opens `gateway`'s circuit from a clean state: closed, then the threshold's failures.
async fn open(store: &dyn CircuitStore, gateway: ProviderId) {
    record(store, gateway, Health::Healthy).await;
    for _ in 0..policy().failure_threshold {
        record(store, gateway, Health::Unhealthy).await;
    }
    assert_eq!(admit(store, gateway).await, Admission::Open, "{gateway}: the threshold's failures open the circuit");
}

/// Checks a [`CircuitStore`] against its contract. `a` and `b` are two handles on the **same
/// circuits**, as two replicas would hold (the same memory store twice; two connections to one
/// Redis with one prefix), used by nobody else while it runs. It uses every gateway's circuit,
/// and leaves them all closed. Takes about two seconds (cool-downs of 150 ms). Panics, naming
/// the broken rule.
pub async fn check_circuit_contract(a: &dyn CircuitStore, b: &dyn CircuitStore) {
    let [g, other, third, fourth, fifth] = ProviderId::ALL;

    // The threshold: failures below it keep the circuit closed; a healthy call forgets them.
    record(a, g, Health::Healthy).await;
    assert_eq!(admit(a, g).await, Admission::Closed, "a circuit never written to is closed");
    for _ in 1..policy().failure_threshold {
        record(a, g, Health::Unhealthy).await;
    }
    assert_eq!(admit(a, g).await, Admission::Closed, "failures below the threshold keep it closed");
    record(a, g, Health::Healthy).await;
    record(a, g, Health::Unhealthy).await;
    assert_eq!(admit(a, g).await, Admission::Closed, "a healthy call resets the count: one failure after it");
    record(a, g, Health::Unproven).await;
    record(a, g, Health::Unhealthy).await;
    assert_eq!(admit(a, g).await, Admission::Closed, "an unproven call neither counts nor resets");
    record(a, g, Health::Unhealthy).await;
    assert_eq!(admit(a, g).await, Admission::Open, "the threshold of consecutive failures opens it");
    assert_eq!(admit(a, g).await, Admission::Open, "open for the cool-down");

    // Two replicas see one circuit; gateways are independent.
    assert_eq!(admit(b, g).await, Admission::Open, "another replica sees the circuit open");
    assert_eq!(admit(b, other).await, Admission::Closed, "another gateway's circuit is its own");
    tokio::time::sleep(PAST).await;
    assert_eq!(admit(b, g).await, Admission::Probe, "after the cool-down, the other replica's call is the probe");
    assert_eq!(admit(a, g).await, Admission::Open, "while the probe is out, every other call is skipped");
    record(b, g, Health::Healthy).await;
    assert_eq!(admit(a, g).await, Admission::Closed, "a healthy probe closes it, for every replica");
    record(a, g, Health::Unhealthy).await;
    assert_eq!(admit(a, g).await, Admission::Closed, "closing forgot the failures: one is below the threshold");

    // An unproven probe gives the slot back: the next call is the probe.
    open(a, other).await;
    tokio::time::sleep(PAST).await;
    assert_eq!(admit(a, other).await, Admission::Probe);
    record(a, other, Health::Unproven).await;
    assert_eq!(admit(b, other).await, Admission::Probe, "an unproven probe gives its slot back");
    assert_eq!(admit(a, other).await, Admission::Open);

    // A failed probe opens the circuit for a fresh cool-down.
    record(b, other, Health::Unhealthy).await;
    assert_eq!(admit(a, other).await, Admission::Open, "a failed probe opens it again");
    tokio::time::sleep(COOL_DOWN / 2).await;
    assert_eq!(admit(a, other).await, Admission::Open, "for a fresh cool-down, counted from the probe's failure");
    tokio::time::sleep(PAST).await;
    assert_eq!(admit(a, other).await, Admission::Probe, "and a probe after it");
    record(a, other, Health::Healthy).await;

    // A straggler (a call admitted before the circuit opened) failing late does not extend it.
    open(a, third).await;
    let opened = Instant::now();
    tokio::time::sleep(PAST / 2).await;
    record(b, third, Health::Unhealthy).await;
    // Had it opened the circuit again, the cool-down would have a third of it left here.
    tokio::time::sleep_until((opened + PAST).into()).await;
    assert_eq!(admit(a, third).await, Admission::Probe, "a failure while open and no probe out changes nothing");
    record(a, third, Health::Healthy).await;

    // Of many concurrent admits after the cool-down, exactly one is the probe, across replicas.
    open(a, fourth).await;
    tokio::time::sleep(PAST).await;
    let admits = futures_util::future::join_all((0..16).map(|n| {
        let store = if n % 2 == 0 { a } else { b };
        store.admit(fourth, policy())
    }))
    .await;
    let probes = admits.iter().filter(|r| matches!(r, Ok(Admission::Probe))).count();
    let open_answers = admits.iter().filter(|r| matches!(r, Ok(Admission::Open))).count();
    assert_eq!((probes, open_answers), (1, 15), "of 16 concurrent admits exactly one is the probe: {admits:?}");

    // A probe whose holder died (it never reports) frees its slot after the probe timeout.
    tokio::time::sleep(COOL_DOWN / 2).await;
    assert_eq!(admit(b, fourth).await, Admission::Open, "the probe slot is held within the probe timeout");
    tokio::time::sleep(PAST).await;
    assert_eq!(admit(b, fourth).await, Admission::Probe, "a dead probe's slot expires: the next call is the probe");
    assert_eq!(admit(a, fourth).await, Admission::Open, "one probe at a time still");
    // The first probe reporting late is taken as a probe's answer: it opens the circuit again.
    record(a, fourth, Health::Unhealthy).await;
    assert_eq!(admit(a, fourth).await, Admission::Open);
    record(a, fourth, Health::Healthy).await;

    // An idle circuit is forgotten: nobody wrote for forget_after.
    open(a, fifth).await;
    tokio::time::sleep(policy().forget_after() + PAST).await;
    assert_eq!(admit(b, fifth).await, Admission::Closed, "an idle circuit is forgotten after forget_after");
    for _ in 1..policy().failure_threshold {
        record(a, fifth, Health::Unhealthy).await;
    }
    assert_eq!(admit(a, fifth).await, Admission::Closed, "with its failures");

    for gateway in ProviderId::ALL {
        record(a, gateway, Health::Healthy).await;
        assert_eq!(admit(b, gateway).await, Admission::Closed);
    }
}
