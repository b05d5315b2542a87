//! The deliveries a receiver is working on, and how it stops: wait for them up to a deadline,
//! then stop the ones still running and give their claims back, so that another replica handles
//! the gateway's next copy at once instead of after the lease.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Poll;

use gerbang_core::Ack;
use gerbang_core::inbox::{EventKey, Inbox, Lease};
use tokio::sync::{Notify, watch};

use crate::health::Readiness;
use crate::{Delivery, Outcome, Receiver};

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

/// Every delivery under way, and the lease each holds while its handler runs.
///
/// A delivery counts itself in and out with an atomic counter, and takes the lock only to
/// leave its lease with the leases and take it back: every delivery does both, and the lock
/// is the one thing deliveries share.
#[derive(Debug)]
pub(crate) struct Deliveries {
    /// How many deliveries are under way.
    under_way: AtomicUsize,
    /// The number of the next delivery.
    next: AtomicU64,
    /// The leases held, by delivery number.
    leases: Mutex<Leases>,
    /// Whether a drain began: from then on, each delivery that ends wakes it (`ended`).
    draining: AtomicBool,
    /// Woken each time a delivery ends, once a drain began.
    ended: Notify,
    phase: watch::Sender<Phase>,
}

type Leases = HashMap<u64, Lease, BuildHasherDefault<NumberHasher>>;

/// Hashes the deliveries' own numbers, which count up from 0 and are never a sender's: one
/// multiplication (its high bits are well mixed), where SipHash guards maps keyed by what
/// others choose. Each delivery looks its number up twice.
#[derive(Debug, Default)]
struct NumberHasher(u64);

impl Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for a `u64` key; any bytes still hash.
        for &byte in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// One delivery under way: it counts until dropped.
pub(crate) struct Ticket<'a> {
    id: u64,
    /// Whether its lease is with the [leases](Deliveries::leases) (or was, and a drain took it).
    holds: AtomicBool,
    deliveries: &'a Deliveries,
}

impl Deliveries {
    pub(crate) fn new() -> Self {
        Self {
            under_way: AtomicUsize::new(0),
            next: AtomicU64::new(0),
            leases: Mutex::new(Leases::default()),
            draining: AtomicBool::new(false),
            ended: Notify::new(),
            phase: watch::Sender::new(Phase::Serving),
        }
    }

    fn leases(&self) -> MutexGuard<'_, Leases> {
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn begin(&self) -> Ticket<'_> {
        // Sequentially consistent, as `draining` and the count's other reads and writes: a
        // drain that counts none left has set `draining` first, so the last delivery to end
        // either is counted out before the drain counts, or sees `draining` and wakes it.
        self.under_way.fetch_add(1, Ordering::SeqCst);
        Ticket { id: self.next.fetch_add(1, Ordering::Relaxed), holds: AtomicBool::new(false), deliveries: self }
    }

    pub(crate) fn count(&self) -> usize {
        self.under_way.load(Ordering::SeqCst)
    }

    pub(crate) fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
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
        let taken = (self.count(), self.leases().drain().map(|(_, lease)| lease).collect());
        self.phase.send_replace(Phase::Cut);
        taken
    }

    /// `work`'s output, or `None` if the drain's deadline comes first (then `work` is dropped
    /// where it stands). Work that finishes as the deadline comes counts as finished.
    pub(crate) async fn unless_cut<F: Future>(&self, work: F) -> Option<F::Output> {
        let mut work = std::pin::pin!(work);
        // Work done at its first poll (a signature checked, a handler that writes to memory) needs
        // no watch on the phase: it counts as finished, as below.
        if let Poll::Ready(output) = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await {
            return Some(output);
        }
        let mut phase = self.phase.subscribe();
        tokio::select! {
            biased;
            output = work => Some(output),
            _ = phase.wait_for(|phase| *phase == Phase::Cut) => None,
        }
    }
}

impl Ticket<'_> {
    /// The delivery claimed its event: the ticket keeps `lease` while the handler runs, so that
    /// a drain that reaches its deadline gives it back; [`settle`](Self::settle) returns it.
    pub(crate) fn hold(&self, lease: Lease) {
        self.holds.store(true, Ordering::Relaxed);
        self.deliveries.leases().insert(self.id, lease);
    }

    /// The delivery is done with its lease (it completes or releases it itself): the lease,
    /// unless a drain took it to give it back.
    pub(crate) fn settle(&self) -> Option<Lease> {
        if !self.holds.swap(false, Ordering::Relaxed) {
            return None;
        }
        self.deliveries.leases().remove(&self.id)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let deliveries = self.deliveries;
        if *self.holds.get_mut() {
            deliveries.leases().remove(&self.id);
        }
        deliveries.under_way.fetch_sub(1, Ordering::SeqCst);
        if deliveries.draining.load(Ordering::SeqCst) {
            deliveries.ended.notify_waiters();
        }
    }
}

impl Receiver {
    /// Stops receiving, in steps, for a graceful shutdown:
    ///
    /// 1. from the call on, [`readiness`](Self::readiness) says `draining`: take the receiver
    ///    out of the load balancer (stop accepting connections, if it is your server);
    /// 2. the deliveries under way (webhooks, and events a reconciler
    ///    [dispatches](Self::dispatch)) go on; it returns as soon as none is left;
    /// 3. at `deadline`, each delivery still under way is stopped where it stands (its handler
    ///    dropped), the claim it holds is **released in the inbox**, and it is answered 503.
    ///    The gateway's next copy is then handled at once by another replica, instead of
    ///    waiting out the [lease](crate::ReceiverBuilder::lease). A delivery that begins after the
    ///    deadline is answered 503 the same way.
    ///
    /// Close the server's remaining connections after it returns, not before: a delivery whose
    /// connection is dropped first keeps its claim until the lease runs out. Calling it again
    /// (say with `Instant::now()` on a second Ctrl-C) moves the deadline nearer.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use gerbang_core::inbox::MemoryInbox;
    /// use gerbang_webhooks::{Receiver, handler_fn, health, router};
    ///
    /// # async fn run(gateways: Vec<Arc<dyn gerbang_core::PaymentProvider>>) -> std::io::Result<()> {
    /// let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
    ///     .providers(gateways)
    ///     .build(handler_fn(|_event| async move { Ok::<(), std::io::Error>(()) }));
    /// let app = router(receiver.clone()).merge(health(receiver.clone()));
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    /// let (signalled, signal) = tokio::sync::watch::channel(false);
    /// tokio::spawn(async move {
    ///     gerbang_server::shutdown_signal().await; // SIGTERM or Ctrl-C
    ///     let _ = signalled.send(true);
    /// });
    /// let stopping = {
    ///     let mut signal = signal.clone();
    ///     async move { let _ = signal.wait_for(|s| *s).await; }
    /// };
    /// // The drain in a task of its own: the server returns as soon as its last connection
    /// // closes, and the claims must still be released then.
    /// let (drained, mut drained_seen) = tokio::sync::watch::channel(false);
    /// let draining = tokio::spawn(async move {
    ///     let mut signal = signal;
    ///     let _ = signal.wait_for(|s| *s).await;
    ///     let done = receiver.drain(tokio::time::Instant::now() + Duration::from_secs(25)).await;
    ///     let _ = drained.send(true);
    ///     done
    /// });
    /// // Stops accepting on the signal; connections still open once the drain is done are closed.
    /// let closing = async move { let _ = drained_seen.wait_for(|d| *d).await; };
    /// gerbang_server::serve_with_deadline(listener, app, Default::default(), stopping, closing).await?;
    /// if let Ok(done) = draining.await {
    ///     eprintln!("{} deliveries stopped, {} claims released", done.stopped, done.released);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn drain(&self, deadline: tokio::time::Instant) -> Drained {
        let deliveries = &self.inner.deliveries;
        deliveries.start_draining();
        gerbang_core::metrics::receiver_draining(true);
        let under_way = deliveries.count();
        tracing::info!(
            outcome = "draining",
            in_flight = under_way,
            "receiver draining: no new work, the deliveries under way go on"
        );
        if deliveries.idle_by(deadline).await {
            tracing::info!(outcome = "drained", "receiver drained: every delivery finished");
            return Drained::default();
        }
        let (stopped, leases) = deliveries.cut();
        let releases = leases.iter().map(|lease| release_for_drain(self.inner.inbox.as_ref(), lease));
        let released = futures_util::future::join_all(releases).await.into_iter().filter(|released| *released).count();
        tracing::info!(
            outcome = "drain_deadline",
            stopped,
            released,
            "drain deadline: deliveries still under way stopped, their claims released"
        );
        Drained { stopped, released }
    }

    /// Whether [`drain`](Self::drain) was called.
    pub fn is_draining(&self) -> bool {
        self.inner.deliveries.phase() != Phase::Serving
    }

    /// How many deliveries are under way now.
    pub fn in_flight(&self) -> usize {
        self.inner.deliveries.count()
    }

    /// Whether it is ready for deliveries: its inbox answered within
    /// [`READINESS_TIMEOUT`](crate::READINESS_TIMEOUT) and it is not draining. What `GET
    /// /readyz` of [`health`](crate::health) answers. The inbox is asked at most once per
    /// [`READINESS_CACHE`](crate::READINESS_CACHE), however many ask at once, so that a flood of
    /// probes never costs more than a trickle of store calls.
    pub async fn readiness(&self) -> Readiness {
        let store = self.inner.health.check(self.inner.inbox.as_ref()).await;
        Readiness::new(store, self.is_draining())
    }

    /// The answer to a delivery stopped by a drain's deadline; gives its claim back if the drain
    /// did not take it (it began after the deadline).
    pub(crate) async fn drained(&self, ticket: &Ticket<'_>, key: Option<EventKey>) -> Delivery {
        if let Some(lease) = ticket.settle() {
            release_for_drain(self.inner.inbox.as_ref(), &lease).await;
        }
        tracing::info!(
            gateway = key.as_ref().map(|key| key.provider.as_str()),
            dedup_key = key.as_ref().map(|key| key.key.as_str()),
            outcome = "drained",
            "delivery stopped by the drain's deadline: asking for a later delivery"
        );
        Delivery::new(Ack::text(503, "this receiver is shutting down; deliver it again"), Outcome::Drained(key))
    }
}

/// Releases `lease` for a drain; whether it was still held.
async fn release_for_drain(inbox: &dyn Inbox, lease: &Lease) -> bool {
    match inbox.release(lease).await {
        Ok(released) => released,
        Err(error) => {
            tracing::warn!(gateway = %lease.key.provider, dedup_key = %lease.key.key, outcome = "release_failed", %error,
                "drain: could not release the claim: it expires with its lease");
            false
        }
    }
}
