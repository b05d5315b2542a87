//! The deliveries a receiver is working on, and how it stops: wait for them up to a deadline,
//! then stop the ones still running and give their claims back, so that another replica handles
//! the gateway's next copy at once instead of after the lease.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};

use gerbang_core::inbox::Lease;
use tokio::sync::{Notify, watch};

/// Where a receiver stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Handling deliveries.
    Serving,
    /// [`Receiver::drain`](crate::Receiver::drain) was called: deliveries under way go on.
    Draining,
    /// The drain's deadline came: a delivery still running stops where it is.
    Cut,
}

/// What [`Receiver::drain`](crate::Receiver::drain) came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Drained {
    /// Deliveries still running at the deadline: each was stopped and answered 503.
    pub stopped: usize,
    /// Claims given back in the inbox for them (a delivery that had not claimed its event yet,
    /// still verifying it, holds none).
    pub released: usize,
}

/// Every delivery under way, with the lease it holds once it has claimed its event.
#[derive(Debug)]
pub(crate) struct Deliveries {
    running: Mutex<Running>,
    /// Woken each time a delivery ends.
    ended: Notify,
    phase: watch::Sender<Phase>,
}

#[derive(Debug, Default)]
struct Running {
    next: u64,
    leases: HashMap<u64, Option<Lease>>,
}

/// One delivery under way: it counts until dropped.
pub(crate) struct Ticket<'a> {
    id: u64,
    deliveries: &'a Deliveries,
}

impl Deliveries {
    pub(crate) fn new() -> Self {
        Self {
            running: Mutex::new(Running::default()),
            ended: Notify::new(),
            phase: watch::Sender::new(Phase::Serving),
        }
    }

    fn running(&self) -> MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn begin(&self) -> Ticket<'_> {
        let mut running = self.running();
        let id = running.next;
        running.next += 1;
        running.leases.insert(id, None);
        Ticket { id, deliveries: self }
    }

    pub(crate) fn count(&self) -> usize {
        self.running().leases.len()
    }

    pub(crate) fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub(crate) fn start_draining(&self) {
        self.phase.send_if_modified(|phase| {
            let serving = *phase == Phase::Serving;
            if serving {
                *phase = Phase::Draining;
            }
            serving
        });
    }

    /// Waits until no delivery is under way (true), or until `deadline` (false).
    pub(crate) async fn idle_by(&self, deadline: tokio::time::Instant) -> bool {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.count() == 0 {
                return true;
            }
            tokio::select! {
                () = ended => {}
                () = tokio::time::sleep_until(deadline) => return self.count() == 0,
            }
        }
    }

    /// The deadline came: takes every lease held (their deliveries no longer release them),
    /// and tells every delivery to stop. Returns how many deliveries were under way, and the
    /// leases to give back.
    pub(crate) fn cut(&self) -> (usize, Vec<Lease>) {
        let taken = {
            let mut running = self.running();
            let under_way = running.leases.len();
            (under_way, running.leases.values_mut().filter_map(Option::take).collect())
        };
        self.phase.send_replace(Phase::Cut);
        taken
    }

    /// `work`'s output, or `None` if the drain's deadline comes first (then `work` is dropped
    /// where it stands). Work that finishes as the deadline comes counts as finished.
    pub(crate) async fn unless_cut<F: Future>(&self, work: F) -> Option<F::Output> {
        let mut phase = self.phase.subscribe();
        tokio::select! {
            biased;
            output = work => Some(output),
            _ = phase.wait_for(|phase| *phase == Phase::Cut) => None,
        }
    }
}

impl Ticket<'_> {
    /// The delivery claimed its event: a drain that reaches its deadline gives `lease` back.
    pub(crate) fn hold(&self, lease: Lease) {
        if let Some(slot) = self.deliveries.running().leases.get_mut(&self.id) {
            *slot = Some(lease);
        }
    }

    /// The delivery is done with its lease (it completes or releases it itself): the lease,
    /// unless a drain took it to give it back.
    pub(crate) fn settle(&self) -> Option<Lease> {
        self.deliveries.running().leases.get_mut(&self.id).and_then(Option::take)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.deliveries.running().leases.remove(&self.id);
        self.deliveries.ended.notify_waiters();
    }
}
