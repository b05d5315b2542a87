//! A circuit breaker per gateway: opened by consecutive failures that prove the gateway
//! unhealthy, skipped while open, one probe after a cool-down.
//!
//! The state lives in a [`CircuitStore`] so that replicas can share it; [`MemoryCircuitStore`]
//! keeps it for one process. (A Redis store is a later addition: the trait is all it needs.)

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use gerbang_core::{Error, ProviderId, async_trait};

/// When a circuit opens and how long it stays open.
///
/// ```
/// use gerbang_router::CircuitPolicy;
/// use std::time::Duration;
/// let policy = CircuitPolicy::default().failures(3).cool_down(Duration::from_millis(200));
/// assert_eq!(policy.failure_threshold, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CircuitPolicy {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit skips its gateway before one probe is let through.
    pub cool_down: Duration,
}

impl Default for CircuitPolicy {
    /// Five consecutive failures; thirty seconds open.
    fn default() -> Self {
        Self { failure_threshold: 5, cool_down: Duration::from_secs(30) }
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

/// Where circuits are kept: in memory for one process ([`MemoryCircuitStore`]), or a shared
/// store for replicas. Keyed by gateway; a store failure is [`Error::Store`], and the router then
/// calls the gateway as if closed (a broken breaker must not stop payments).
#[async_trait]
pub trait CircuitStore: Send + Sync + fmt::Debug {
    /// Whether a call to `gateway` may go now.
    async fn admit(&self, gateway: ProviderId, policy: CircuitPolicy) -> Result<Admission, Error>;

    /// Records what a call to `gateway` proved.
    async fn record(&self, gateway: ProviderId, policy: CircuitPolicy, health: Health) -> Result<(), Error>;
}

#[derive(Debug, Default, Clone, Copy)]
struct State {
    failures: u32,
    opened_at: Option<Instant>,
    probing: bool,
}

/// Circuits in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryCircuitStore {
    states: Mutex<HashMap<ProviderId, State>>,
}

impl MemoryCircuitStore {
    /// Every circuit closed.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CircuitStore for MemoryCircuitStore {
    async fn admit(&self, gateway: ProviderId, policy: CircuitPolicy) -> Result<Admission, Error> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let state = states.entry(gateway).or_default();
        Ok(match state.opened_at {
            None => Admission::Closed,
            Some(opened) if opened.elapsed() < policy.cool_down || state.probing => Admission::Open,
            Some(_) => {
                state.probing = true;
                Admission::Probe
            }
        })
    }

    async fn record(&self, gateway: ProviderId, policy: CircuitPolicy, health: Health) -> Result<(), Error> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let state = states.entry(gateway).or_default();
        match health {
            Health::Healthy => *state = State::default(),
            Health::Unproven => state.probing = false,
            Health::Unhealthy if state.probing => {
                // The probe failed: open for another cool-down.
                state.probing = false;
                state.opened_at = Some(Instant::now());
            }
            Health::Unhealthy => {
                state.failures = state.failures.saturating_add(1);
                if state.failures >= policy.failure_threshold && state.opened_at.is_none() {
                    state.opened_at = Some(Instant::now());
                    tracing::warn!(gateway = gateway.as_str(), failures = state.failures, "circuit opened");
                }
            }
        }
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
}
