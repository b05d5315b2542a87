//! The open connections, what each is doing, and which one to shed at the cap (see the crate
//! documentation for the policy).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

/// A connection's state, in one atomic so that shedding and a request's start cannot both win:
/// [`BUSY`], [`SHED`], or waiting for a request head since this many milliseconds after the
/// registry's epoch, plus one.
const BUSY: u64 = 0;
const SHED: u64 = u64::MAX;

/// Every open connection.
#[derive(Debug)]
pub(crate) struct Registry {
    connections: Mutex<Connections>,
    /// Signalled whenever a connection closes or starts waiting for a request head: the accept
    /// loop, held at the cap, looks again.
    changed: Notify,
    epoch: Instant,
    /// Tests set the clock by hand, in milliseconds: a sequence of events, no sleeping.
    #[cfg(test)]
    manual_ms: Option<AtomicU64>,
}

#[derive(Debug, Default)]
struct Connections {
    next_id: u64,
    open: HashMap<u64, Arc<SlotState>>,
    /// Connections told to close to make room, not closed yet.
    shedding: usize,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            connections: Mutex::new(Connections::default()),
            changed: Notify::new(),
            epoch: Instant::now(),
            #[cfg(test)]
            manual_ms: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connections> {
        // Nothing panics while holding the lock; if something did, the map is still whole.
        self.connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A future that completes at the next change (see [`Registry::changed`]'s field).
    pub(crate) fn changed(&self) -> Notified<'_> {
        self.changed.notified()
    }

    /// Whether a new connection may be accepted now: below the cap, or an idle connection can be
    /// shed for it and none is already being shed (so at most one connection over the cap).
    pub(crate) fn can_admit(&self, cap: usize) -> bool {
        let connections = self.lock();
        connections.open.len() < cap
            || (connections.shedding == 0 && connections.open.values().any(|slot| slot.waiting_since().is_some()))
    }

    /// Registers an accepted connection if there is room; at the cap, first tells the connection
    /// that has waited longest for a request head to close (unless one is already closing for
    /// another). `None` if neither: a request began on every idle one since
    /// [`can_admit`](Self::can_admit) said yes; the caller holds the connection until
    /// [`changed`](Self::changed) and asks again.
    pub(crate) fn try_admit(self: &Arc<Self>, cap: usize) -> Option<Slot> {
        let mut connections = self.lock();
        if connections.open.len() >= cap {
            if connections.shedding > 0 {
                return None;
            }
            let mut idle: Vec<(u64, &Arc<SlotState>)> =
                connections.open.values().filter_map(|slot| slot.waiting_since().map(|since| (since, slot))).collect();
            idle.sort_unstable_by_key(|(since, _)| *since);
            // The oldest that is still idle now: a request may have begun meanwhile.
            let shed = idle.into_iter().find(|(since, slot)| slot.try_shed(*since)).is_some();
            if !shed {
                return None;
            }
            connections.shedding += 1;
        }
        let id = connections.next_id;
        connections.next_id += 1;
        let state = Arc::new(SlotState { state: AtomicU64::new(self.now_waiting()), shed: Notify::new() });
        connections.open.insert(id, Arc::clone(&state));
        Some(Slot { id, state, registry: Arc::clone(self) })
    }

    /// Resolves once every connection has closed.
    pub(crate) async fn all_closed(&self) {
        loop {
            let changed = self.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.lock().open.is_empty() {
                return;
            }
            changed.await;
        }
    }

    /// The state "waiting since now".
    fn now_waiting(&self) -> u64 {
        #[cfg(test)]
        let elapsed = match &self.manual_ms {
            Some(ms) => u128::from(ms.load(Ordering::Relaxed)),
            None => self.epoch.elapsed().as_millis(),
        };
        #[cfg(not(test))]
        let elapsed = self.epoch.elapsed().as_millis();
        u64::try_from(elapsed).unwrap_or(SHED - 1).saturating_add(1).min(SHED - 1)
    }
}

/// One connection's shared state.
#[derive(Debug)]
struct SlotState {
    state: AtomicU64,
    /// Signalled (once) when the connection is shed.
    shed: Notify,
}

impl SlotState {
    /// When it started waiting for a request head; `None` while a request is in progress or once
    /// it is shed.
    fn waiting_since(&self) -> Option<u64> {
        match self.state.load(Ordering::Acquire) {
            BUSY | SHED => None,
            since => Some(since),
        }
    }

    /// Sheds the connection if it is still waiting since `since` (no request began meanwhile).
    fn try_shed(&self, since: u64) -> bool {
        let shed = self.state.compare_exchange(since, SHED, Ordering::AcqRel, Ordering::Acquire).is_ok();
        if shed {
            self.shed.notify_one();
        }
        shed
    }
}

/// A connection's place in the registry, held by its task; closing the connection (dropping the
/// slot) frees it.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    state: Arc<SlotState>,
    registry: Arc<Registry>,
}

impl Slot {
    /// Completes when the connection has been shed to admit another: it must close now.
    pub(crate) async fn shed(&self) {
        self.state.shed.notified().await;
    }

    /// A request head has arrived: the connection may not be shed until the answer is sent (the
    /// returned guard dropped). `None` if it was shed just before: then it is closing anyway.
    pub(crate) fn begin_request(&self) -> Option<InFlight> {
        let mut current = self.state.state.load(Ordering::Acquire);
        loop {
            if current == SHED {
                return None;
            }
            match self.state.state.compare_exchange(current, BUSY, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    return Some(InFlight { state: Arc::clone(&self.state), registry: Arc::clone(&self.registry) });
                }
                Err(now) => current = now,
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut connections = self.registry.lock();
            connections.open.remove(&self.id);
            if self.state.state.load(Ordering::Acquire) == SHED {
                connections.shedding = connections.shedding.saturating_sub(1);
            }
        }
        self.registry.changed.notify_waiters();
    }
}

/// A request in progress on a connection: while it lives, the connection is not shed.
#[derive(Debug)]
pub(crate) struct InFlight {
    state: Arc<SlotState>,
    registry: Arc<Registry>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // Waiting for the next request head from now on, unless shed meanwhile (it cannot be:
        // only a waiting connection is shed; kept as a compare for safety).
        let waiting = self.registry.now_waiting();
        if self.state.state.compare_exchange(BUSY, waiting, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.registry.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_waiting_idle_connection_is_shed_and_a_busy_one_never() {
        let registry = Arc::new(Registry::new());
        let busy = registry.try_admit(3).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let oldest_idle = registry.try_admit(3).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let newer_idle = registry.try_admit(3).unwrap();
        let request = busy.begin_request().unwrap();
        assert!(registry.can_admit(3), "two idle connections to shed");

        let _fourth = registry.try_admit(3).unwrap();
        assert_eq!(oldest_idle.state.state.load(Ordering::Acquire), SHED);
        assert!(newer_idle.state.waiting_since().is_some());
        assert_eq!(busy.state.state.load(Ordering::Acquire), BUSY);
        assert!(!registry.can_admit(3), "one shed not yet closed: the next waits");
        assert!(registry.try_admit(3).is_none(), "at most one over the cap");
        assert!(oldest_idle.begin_request().is_none(), "a shed connection takes no request");

        drop(oldest_idle);
        assert!(registry.can_admit(3), "the newer idle one can go next");
        drop(request);
        assert!(busy.state.waiting_since().is_some(), "idle again once answered");
    }

    #[test]
    fn at_the_cap_with_every_connection_busy_nothing_is_admitted() {
        let registry = Arc::new(Registry::new());
        let a = registry.try_admit(2).unwrap();
        let b = registry.try_admit(2).unwrap();
        let _ra = a.begin_request().unwrap();
        let _rb = b.begin_request().unwrap();
        assert!(!registry.can_admit(2));
        assert!(registry.try_admit(2).is_none());
        drop(b);
        assert!(registry.can_admit(2));
    }

    /// One step of what connections do, for the property test below.
    #[derive(Debug, Clone)]
    enum Step {
        /// A new connection is accepted (if the registry admits it).
        Connect,
        /// A request head arrives on the n-th open connection (modulo how many are open).
        Request(usize),
        /// The answer on the n-th open connection has been sent.
        Answer(usize),
        /// The n-th open connection closes (its client left, or it was shed and ends).
        Close(usize),
        /// Time passes.
        Wait(u64),
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            3 => Just(Step::Connect),
            2 => any::<usize>().prop_map(Step::Request),
            1 => any::<usize>().prop_map(Step::Answer),
            1 => any::<usize>().prop_map(Step::Close),
            2 => (1_u64..50).prop_map(Step::Wait),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2_000, ..Default::default() })]

        /// The attack: any interleaving of connections, requests, answers and time. Whatever
        /// happens, a connection answering a request is never shed, the one shed is one that has
        /// waited longest for a request head, at most one connection is over the cap, and a
        /// connection is refused only when every slot holds a request (or one is already closing
        /// to make room).
        #[test]
        fn a_request_in_progress_is_never_shed_and_the_longest_waiting_goes_first(
            cap in 1_usize..6,
            steps in proptest::collection::vec(step(), 1..80),
        ) {
            let mut registry = Registry::new();
            registry.manual_ms = Some(AtomicU64::new(0));
            let registry = Arc::new(registry);
            // Open connections, with the request each is answering, if any.
            let mut open: Vec<(Slot, Option<InFlight>)> = Vec::new();
            for step in steps {
                match step {
                    Step::Connect => {
                        let before: Vec<(u64, Option<u64>)> =
                            open.iter().map(|(slot, _)| (slot.id, slot.state.waiting_since())).collect();
                        let (open_before, shedding_before) = {
                            let connections = registry.lock();
                            (connections.open.len(), connections.shedding)
                        };
                        let Some(slot) = registry.try_admit(cap) else {
                            let any_idle = before.iter().any(|(_, since)| since.is_some());
                            proptest::prop_assert!(open_before >= cap && (shedding_before > 0 || !any_idle));
                            continue;
                        };
                        let shed: Vec<_> = open
                            .iter()
                            .filter(|(slot, _)| slot.state.state.load(Ordering::Acquire) == SHED)
                            .map(|(slot, _)| slot.id)
                            .collect();
                        for id in &shed {
                            let was = before.iter().find(|(before_id, _)| before_id == id).and_then(|(_, since)| *since);
                            // Shed by this admission (it was waiting just before), or earlier.
                            if let Some(since) = was {
                                proptest::prop_assert!(open_before >= cap, "shed below the cap");
                                let oldest = before.iter().filter_map(|(_, since)| *since).min();
                                proptest::prop_assert_eq!(Some(since), oldest, "not the longest-waiting one");
                            }
                        }
                        open.push((slot, None));
                    }
                    Step::Request(n) if !open.is_empty() => {
                        let i = n % open.len();
                        if open[i].1.is_none() {
                            open[i].1 = open[i].0.begin_request();
                        }
                    }
                    Step::Answer(n) if !open.is_empty() => {
                        let i = n % open.len();
                        open[i].1 = None;
                    }
                    Step::Close(n) if !open.is_empty() => {
                        let i = n % open.len();
                        open.remove(i);
                    }
                    Step::Wait(ms) => {
                        if let Some(clock) = &registry.manual_ms {
                            clock.fetch_add(ms, Ordering::Relaxed);
                        }
                    }
                    _ => {}
                }
                for (slot, request) in &open {
                    let state = slot.state.state.load(Ordering::Acquire);
                    if request.is_some() {
                        proptest::prop_assert_eq!(state, BUSY, "a connection answering a request was shed");
                    }
                }
                let connections = registry.lock();
                proptest::prop_assert_eq!(connections.open.len(), open.len());
                proptest::prop_assert!(connections.open.len() <= cap + 1, "{} open, cap {}", connections.open.len(), cap);
                let shed = open.iter().filter(|(slot, _)| slot.state.state.load(Ordering::Acquire) == SHED).count();
                proptest::prop_assert_eq!(connections.shedding, shed);
            }
        }
    }
}
