//! The memory inbox against a model of what it forgets, and its marks kept in step.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;

use super::*;

fn key(n: u32) -> EventKey {
    EventKey { provider: ProviderId::Qris, key: format!("k{n}") }
}

/// The lease of `key(n)` a claim grants, as `MemoryInbox::claim` makes it.
fn grant(n: u32, duration: Duration) -> impl FnOnce() -> (u64, Lease) {
    move || {
        let (number, holder) = numbered_holder();
        (number, Lease { key: key(n), holder, duration })
    }
}

fn number(lease: &Lease) -> u64 {
    holder_number(&lease.holder).expect("a holder token of this process")
}

/// Every key has one slot and one live mark, in its state's queue, at its state's instant;
/// no queue holds more stale marks than [`Slots::drop_stale`] allows.
fn check_marks(slots: &Slots) {
    assert_eq!(slots.index.len(), slots.keys(), "one index entry per slot");
    for &place in &slots.index {
        let slot = slots.slab[place].as_ref().expect("an indexed place has a slot");
        let key = &slot.key;
        assert_eq!(slot.hash, slots.hasher.hash_one((slot.gateway, &**key)), "key {key}: its hash");
        assert_eq!(slots.find(slot.hash, slot.gateway, key), Some(place), "key {key}: found");
        let live: Vec<Mark> = match slot.state {
            State::Held { .. } => slots.held.iter().map(|Reverse(mark)| *mark).collect(),
            State::Done { .. } => slots.done.iter().copied().collect(),
        };
        let live: Vec<Mark> =
            live.into_iter().filter(|mark| mark.slot == place && is_live(&slots.slab, mark)).collect();
        assert_eq!(live.len(), 1, "key {key}: one live mark");
        assert_eq!(live[0].at, slot.state.instant(), "key {key}: its mark's instant");
    }
    let bound = 2 * slots.keys() + 64;
    assert!(slots.held.len() <= bound && slots.done.len() <= bound, "stale marks are dropped");
    assert!(slots.done.iter().zip(slots.done.iter().skip(1)).all(|(a, b)| a < b), "done in order");
}

#[tokio::test]
async fn done_markers_past_retention_or_capacity_are_forgotten() {
    let inbox = MemoryInbox::with_limits(Duration::from_millis(100), 3);
    for n in 0..3 {
        let Claim::New(lease) = inbox.claim(&key(n), Duration::from_secs(5)).await.unwrap() else { panic!() };
        inbox.complete(&lease).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A fourth key evicts the oldest marker.
    assert!(matches!(inbox.claim(&key(3), Duration::from_secs(5)).await.unwrap(), Claim::New(_)));
    assert!(matches!(inbox.claim(&key(0), Duration::from_secs(5)).await.unwrap(), Claim::New(_)));
    tokio::time::sleep(Duration::from_millis(150)).await;
    let fresh = MemoryInbox::with_limits(Duration::from_millis(50), 10);
    let Claim::New(lease) = fresh.claim(&key(9), Duration::from_secs(5)).await.unwrap() else { panic!() };
    fresh.complete(&lease).await.unwrap();
    assert_eq!(fresh.claim(&key(9), Duration::from_secs(5)).await.unwrap(), Claim::Done);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(matches!(fresh.claim(&key(9), Duration::from_secs(5)).await.unwrap(), Claim::New(_)));
}

#[tokio::test]
async fn a_full_inbox_keeps_the_newest_keys_and_its_marks_in_step() {
    let inbox = MemoryInbox::with_limits(Duration::from_secs(3600), 100);
    for n in 0..1_000 {
        let Claim::New(lease) = inbox.claim(&key(n), Duration::from_secs(5)).await.unwrap() else { panic!() };
        if n % 10 == 0 {
            assert!(inbox.release(&lease).await.unwrap());
        } else {
            assert!(inbox.complete(&lease).await.unwrap());
        }
    }
    {
        let slots = inbox.lock();
        assert!(slots.keys() <= 100, "{} keys kept", slots.keys());
        check_marks(&slots);
    }
    // The newest markers are still there; the oldest were forgotten; released keys are new.
    for n in 990..1_000 {
        let expected = if n % 10 == 0 { "new" } else { "done" };
        let found = match inbox.claim(&key(n), Duration::from_secs(5)).await.unwrap() {
            Claim::New(_) => "new",
            Claim::Done => "done",
            Claim::InFlight => "in flight",
        };
        assert_eq!(found, expected, "key {n}");
    }
    assert!(matches!(inbox.claim(&key(1), Duration::from_secs(5)).await.unwrap(), Claim::New(_)));
}

#[test]
fn claims_held_long_past_many_completions_leave_no_pile_of_stale_marks() {
    // A claim never completed sits at the front of the claims' queue; the completions
    // behind it leave stale marks there, which must not pile up without bound.
    let start = Instant::now();
    let mut slots = Slots::new(Duration::from_secs(3600), 1_000_000);
    let stuck = slots.claim(ProviderId::Qris, "stuck", start, start, grant(0, Duration::ZERO));
    assert!(matches!(stuck, Claim::New(_)));
    for n in 1..10_000 {
        let at = start + Duration::from_millis(n.into());
        let Claim::New(lease) = slots.claim(
            ProviderId::Qris,
            &format!("k{n}"),
            at,
            at + Duration::from_secs(30),
            grant(n, Duration::from_secs(30)),
        ) else {
            panic!()
        };
        assert!(slots.complete(ProviderId::Qris, &format!("k{n}"), number(&lease), at));
    }
    check_marks(&slots);
    assert!(slots.held.len() <= 2 * slots.keys() + 64);
}

/// One step of the model test.
#[derive(Debug, Clone)]
enum Step {
    Claim { key: u8, lease_ms: u64 },
    Complete { key: u8 },
    Release { key: u8 },
    Wait { ms: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..10u8, prop::sample::select(vec![0u64, 5, 40, 400])).prop_map(|(key, lease_ms)| Step::Claim { key, lease_ms }),
        3 => (0..10u8).prop_map(|key| Step::Complete { key }),
        1 => (0..10u8).prop_map(|key| Step::Release { key }),
        2 => (0..60u64).prop_map(|ms| Step::Wait { ms }),
    ]
}

/// What the inbox did with a sorted index of `(instant, number)`, before the queues: the
/// same answers, the same keys kept.
#[derive(Default)]
struct Model {
    keys: HashMap<String, (State, u64)>,
    next: u64,
}

impl Model {
    fn set(&mut self, key: &str, state: State) {
        self.keys.insert(key.to_owned(), (state, self.next));
        self.next += 1;
    }

    fn oldest(&self) -> Option<String> {
        let order: BTreeMap<(Instant, u64), &String> =
            self.keys.iter().map(|(key, (state, number))| ((state.instant(), *number), key)).collect();
        order.into_values().next().cloned()
    }

    fn claim(
        &mut self,
        key: &str,
        now: Instant,
        until: Instant,
        retention: Duration,
        capacity: usize,
        holder: u64,
    ) -> &'static str {
        match self.keys.get(key).map(|(state, _)| state) {
            Some(State::Done { at }) if now.saturating_duration_since(*at) < retention => return "done",
            Some(State::Held { until, .. }) if *until > now => return "in flight",
            Some(_) => {}
            None => {
                if self.keys.len() >= capacity {
                    if let Some(cutoff) = now.checked_sub(retention) {
                        self.keys.retain(|_, (state, _)| !matches!(state, State::Done { at } if *at <= cutoff));
                    }
                    while self.keys.len() >= capacity {
                        let Some(oldest) = self.oldest() else { break };
                        self.keys.remove(&oldest);
                    }
                }
            }
        }
        self.set(key, State::Held { holder, until });
        "new"
    }

    fn held_by(&self, key: &str, holder: u64) -> bool {
        matches!(self.keys.get(key), Some((State::Held { holder: held, .. }, _)) if *held == holder)
    }

    fn claimed(&self, key: &str) -> bool {
        matches!(self.keys.get(key), Some((State::Held { .. }, _)))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The queues answer every claim, completion and release as a sorted index does, keep
    /// the same keys, and keep one live mark per key.
    #[test]
    fn the_queues_forget_what_a_sorted_index_forgets(
        retention_ms in prop::sample::select(vec![0u64, 30, 200, 10_000]),
        capacity in 1..8usize,
        steps in prop::collection::vec(step(), 1..120),
    ) {
        let retention = Duration::from_millis(retention_ms);
        let (mut slots, mut model) = (Slots::new(retention, capacity), Model::default());
        let mut now = Instant::now();
        let mut leases: HashMap<u8, Lease> = HashMap::new();
        for step in steps {
            match step {
                Step::Claim { key: n, lease_ms } => {
                    let (name, lease) = (format!("k{n}"), Duration::from_millis(lease_ms));
                    let claim = slots.claim(ProviderId::Qris, &name, now, now + lease, grant(n.into(), lease));
                    let holder = match &claim { Claim::New(lease) => number(lease), _ => u64::MAX };
                    let expected = model.claim(&name, now, now + lease, retention, capacity, holder);
                    let found = match claim {
                        Claim::New(lease) => { leases.insert(n, lease); "new" }
                        Claim::Done => "done",
                        Claim::InFlight => "in flight",
                    };
                    prop_assert_eq!(found, expected, "claim of k{}", n);
                }
                Step::Complete { key: n } | Step::Release { key: n } => {
                    let Some(lease) = leases.get(&n) else { continue };
                    let name = format!("k{n}");
                    let expected = model.held_by(&name, number(lease));
                    let found = if matches!(step, Step::Complete { .. }) {
                        // Whoever holds it: the handler ran.
                        if model.claimed(&name) { model.set(&name, State::Done { at: now }); }
                        slots.complete(ProviderId::Qris, &name, number(lease), now)
                    } else {
                        if expected { model.keys.remove(&name); }
                        slots.release(ProviderId::Qris, &name, number(lease))
                    };
                    prop_assert_eq!(found, expected, "{:?}", step);
                }
                Step::Wait { ms } => now += Duration::from_millis(ms),
            }
            let kept: HashMap<String, State> = slots.slab.iter().flatten()
                .map(|slot| (slot.key.to_string(), slot.state.clone()))
                .collect();
            let expected: HashMap<String, State> = model.keys.iter().map(|(key, (state, _))| (key.clone(), state.clone())).collect();
            prop_assert_eq!(kept, expected);
            check_marks(&slots);
        }
    }
}
