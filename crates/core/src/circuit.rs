//! A circuit breaker per gateway: opened by consecutive failures that prove the gateway
//! unhealthy, skipped while open, one probe after a cool-down.
//!
//! The state lives in a [`CircuitStore`] so that replicas can share it: [`MemoryCircuitStore`]
//! keeps it for one process, `gerbang_redis::RedisCircuitStore` for every replica sharing a
//! Redis. The router (`gerbang_router`) asks the store before each call to a gateway
//! ([`admit`](CircuitStore::admit)) and tells it what the call proved
//! ([`record`](CircuitStore::record)).
//!
//! # The rules every store keeps
//!
//! One gateway's circuit is **closed** (calls go), **open** (calls are skipped), or open with a
//! **probe** out (one call let through to see whether the gateway is back):
//!
//! - Closed: each [`Health::Unhealthy`] adds one to a count of consecutive failures; at the
//!   policy's [`failure_threshold`](CircuitPolicy::failure_threshold) the circuit opens. Any
//!   [`Health::Healthy`] closes the circuit and forgets the count.
//! - Open: every [`admit`](CircuitStore::admit) answers [`Admission::Open`] for the
//!   [`cool_down`](CircuitPolicy::cool_down); the first after it gets [`Admission::Probe`], and
//!   holds the **probe slot**: the others get [`Admission::Open`] while it is held. The probe's
//!   [`Health::Healthy`] closes the circuit; its [`Health::Unhealthy`] opens it for a fresh
//!   cool-down; its [`Health::Unproven`] (the call was not sent) gives the slot back, and the
//!   next call is the probe.
//! - **A probe whose holder died** (a replica killed mid-call) never reports: its slot is held
//!   for at most the policy's [`probe_timeout`](CircuitPolicy::probe_timeout) (default 60 s,
//!   twice the HTTP transport's default timeout for a create, so that a slow probe that is
//!   still running is rarely joined by a second), after which the next call is the probe. A
//!   dead probe therefore keeps the gateway skipped for at most that long, never for ever.
//! - **An idle circuit is forgotten**: a circuit written to by nobody for
//!   [`CircuitPolicy::forget_after`] (three times the cool-down and the probe timeout together)
//!   is closed with no failures counted. Failures further apart than that are not consecutive;
//!   on Redis the key expires, so that gateways nobody calls any more leave nothing behind.
//!
//! The store has no notion of who holds the probe (the [`CircuitStore`] calls carry no token):
//! an `Unproven` or `Unhealthy` reported by a call admitted before the circuit opened is taken
//! for the probe's. At worst that lets one more call through, or opens the circuit for one
//! more cool-down; it never keeps a circuit open for good.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), gerbang_core::Error> {
//! use std::time::Duration;
//! use gerbang_core::ProviderId;
//! use gerbang_core::circuit::{Admission, CircuitPolicy, CircuitStore, Health, MemoryCircuitStore};
//!
//! let store = MemoryCircuitStore::new();
//! let policy = CircuitPolicy::default().failures(2).cool_down(Duration::from_millis(20));
//! store.record(ProviderId::Qris, policy, Health::Unhealthy).await?;
//! store.record(ProviderId::Qris, policy, Health::Unhealthy).await?;
//! assert_eq!(store.admit(ProviderId::Qris, policy).await?, Admission::Open);
//! tokio::time::sleep(Duration::from_millis(30)).await;
//! assert_eq!(store.admit(ProviderId::Qris, policy).await?, Admission::Probe);
//! store.record(ProviderId::Qris, policy, Health::Healthy).await?;
//! assert_eq!(store.admit(ProviderId::Qris, policy).await?, Admission::Closed);
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::{Error, ProviderId};

/// When a circuit opens, how long it stays open, and how long a probe may take.
///
/// ```
/// use gerbang_core::circuit::CircuitPolicy;
/// use std::time::Duration;
/// let policy = CircuitPolicy::default().failures(3).cool_down(Duration::from_millis(200));
/// assert_eq!(policy.failure_threshold, 3);
/// assert_eq!(policy.probe_timeout, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CircuitPolicy {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit skips its gateway before one probe is let through.
    pub cool_down: Duration,
    /// How long the probe slot is held for a probe that does not report (its holder died):
    /// after it, the next call is the probe.
    pub probe_timeout: Duration,
}

impl Default for CircuitPolicy {
    /// Five consecutive failures; thirty seconds open; a probe's slot held for at most sixty
    /// seconds.
    fn default() -> Self {
        Self { failure_threshold: 5, cool_down: Duration::from_secs(30), probe_timeout: Duration::from_secs(60) }
    }
}

impl CircuitPolicy {
    /// The same, opened after `n` consecutive failures (at least 1).
    #[must_use]
    pub fn failures(mut self, n: u32) -> Self {
        self.failure_threshold = n.max(1);
        self
    }

    /// The same, open for `cool_down` before a probe.
    #[must_use]
    pub fn cool_down(mut self, cool_down: Duration) -> Self {
        self.cool_down = cool_down;
        self
    }

    /// The same, with a probe's slot held for at most `timeout` (at least 1 ms) when the
    /// probe does not report. Keep it longer than a create may take (the transport's timeout),
    /// or a slow probe is joined by a second.
    #[must_use]
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a circuit nobody writes to is kept: three times the cool-down and the probe
    /// timeout together (4 min 30 s by default), at least 1 ms. Longer than an open circuit
    /// needs to be probed, so that only an idle one is forgotten.
    ///
    /// ```
    /// use gerbang_core::circuit::CircuitPolicy;
    /// use std::time::Duration;
    /// assert_eq!(CircuitPolicy::default().forget_after(), Duration::from_secs(270));
    /// ```
    pub fn forget_after(&self) -> Duration {
        self.cool_down.saturating_add(self.probe_timeout).saturating_mul(3).max(Duration::from_millis(1))
    }
}

/// Whether a call may go to a gateway now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// The circuit is closed: call.
    Closed,
    /// The circuit was open and its cool-down is over: this call is the one probe; its
    /// [`Health`] closes or re-opens the circuit.
    Probe,
    /// The circuit is open (or another call is the probe): skip the gateway.
    Open,
}

/// What a call proved about its gateway's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// It answered (a payment, or a refusal of its own): the gateway works.
    Healthy,
    /// Never reached, a 5xx, an answer lost or a look-up timed out.
    Unhealthy,
    /// Nothing was learnt (the call was not sent: our own budget refused it); a probe is given
    /// back.
    Unproven,
}

impl Health {
    /// `healthy`, `unhealthy` or `unproven`: how a store that keeps state outside the process
    /// names it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Unproven => "unproven",
        }
    }
}

/// Where circuits are kept: in memory for one process ([`MemoryCircuitStore`]), or a shared
/// store for replicas (`gerbang_redis::RedisCircuitStore`). Keyed by gateway; the rules each
/// keeps are in the [module's documentation](self). A store failure is [`Error::Store`], and the
/// router then calls the gateway as if closed (a broken breaker must not stop payments).
#[async_trait]
pub trait CircuitStore: Send + Sync + fmt::Debug {
    /// Whether a call to `gateway` may go now.
    async fn admit(&self, gateway: ProviderId, policy: CircuitPolicy) -> Result<Admission, Error>;

    /// Records what a call to `gateway` proved.
    async fn record(&self, gateway: ProviderId, policy: CircuitPolicy, health: Health) -> Result<(), Error>;

    /// Whether the store answers now (a health check); a memory store always does.
    ///
    /// # Errors
    ///
    /// The store's error when it cannot be reached or fails ([`Error::Store`]), or refuses the
    /// connection ([`Error::Config`]).
    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    failures: u32,
    opened_at: Option<Instant>,
    /// When the probe slot was given, while it is held.
    probe_at: Option<Instant>,
    /// The last write: a state untouched for [`CircuitPolicy::forget_after`] is forgotten.
    touched: Instant,
}

impl State {
    fn closed(now: Instant) -> Self {
        Self { failures: 0, opened_at: None, probe_at: None, touched: now }
    }
}

/// Circuits in this process's memory (one entry per gateway).
#[derive(Debug, Default)]
pub struct MemoryCircuitStore {
    states: Mutex<HashMap<ProviderId, State>>,
}

impl MemoryCircuitStore {
    /// Every circuit closed.
    pub fn new() -> Self {
        Self::default()
    }

    /// `gateway`'s state now, a fresh closed one when it was never written or is forgotten.
    fn with_state<T>(&self, gateway: ProviderId, policy: CircuitPolicy, f: impl FnOnce(&mut State, Instant) -> T) -> T {
        let now = Instant::now();
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let state = states.entry(gateway).or_insert_with(|| State::closed(now));
        if now.duration_since(state.touched) >= policy.forget_after() {
            *state = State::closed(now);
        }
        f(state, now)
    }
}

#[async_trait]
impl CircuitStore for MemoryCircuitStore {
    async fn admit(&self, gateway: ProviderId, policy: CircuitPolicy) -> Result<Admission, Error> {
        Ok(self.with_state(gateway, policy, |state, now| match state.opened_at {
            None => Admission::Closed,
            Some(opened) if now.duration_since(opened) < policy.cool_down => Admission::Open,
            Some(_) if state.probe_at.is_some_and(|p| now.duration_since(p) < policy.probe_timeout) => Admission::Open,
            Some(_) => {
                state.probe_at = Some(now);
                state.touched = now;
                Admission::Probe
            }
        }))
    }

    async fn record(&self, gateway: ProviderId, policy: CircuitPolicy, health: Health) -> Result<(), Error> {
        self.with_state(gateway, policy, |state, now| match health {
            Health::Healthy => {
                if state.opened_at.is_some() {
                    tracing::info!(gateway = gateway.as_str(), "circuit closed");
                }
                *state = State::closed(now);
            }
            Health::Unproven => state.probe_at = None,
            Health::Unhealthy if state.opened_at.is_some() => {
                if state.probe_at.take().is_some() {
                    // The probe failed: open for another cool-down.
                    state.opened_at = Some(now);
                    state.touched = now;
                    tracing::warn!(gateway = gateway.as_str(), "circuit probe failed; open again");
                }
            }
            Health::Unhealthy => {
                state.failures = state.failures.saturating_add(1);
                state.touched = now;
                if state.failures >= policy.failure_threshold {
                    state.opened_at = Some(now);
                    tracing::warn!(gateway = gateway.as_str(), failures = state.failures, "circuit opened");
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_after_the_threshold_and_lets_one_probe_through_after_the_cool_down() {
        let store = MemoryCircuitStore::new();
        let policy = CircuitPolicy::default().failures(2).cool_down(Duration::from_millis(50));
        let g = ProviderId::Qris;
        store.record(g, policy, Health::Unhealthy).await.unwrap();
        assert_eq!(store.admit(g, policy).await.unwrap(), Admission::Closed);
        store.record(g, policy, Health::Unhealthy).await.unwrap();
        assert_eq!(store.admit(g, policy).await.unwrap(), Admission::Open);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.admit(g, policy).await.unwrap(), Admission::Probe);
        assert_eq!(store.admit(g, policy).await.unwrap(), Admission::Open, "one probe at a time");
        store.record(g, policy, Health::Unhealthy).await.unwrap();
        assert_eq!(store.admit(g, policy).await.unwrap(), Admission::Open, "a failed probe re-opens");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.admit(g, policy).await.unwrap(), Admission::Probe);
        store.record(g, policy, Health::Healthy).await.unwrap();
        assert_eq!(store.admit(g, policy).await.unwrap(), Admission::Closed);
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        let policy = CircuitPolicy::default().cool_down(Duration::MAX).probe_timeout(Duration::MAX);
        assert_eq!(policy.forget_after(), Duration::MAX);
        assert_eq!(CircuitPolicy::default().probe_timeout(Duration::ZERO).probe_timeout, Duration::from_millis(1));
    }
}
