//! Fault injection: for a gateway and one of its operations (or `any`), answer with a given
//! status and body, wait first, never answer, close the connection without an answer, or refuse
//! with a 429, for a number of calls or until cleared. What a merchant's error handling has to
//! survive, played on purpose: one layer in front of every gateway's router ([`inject`]), so
//! every gateway has it.
//!
//! | action | what the client gets |
//! |---|---|
//! | `status` | HTTP `status` with `body` (default: the gateway's own error shape, saying a fault was injected); JSON when the body is JSON |
//! | `delay` | the real answer, `delay_ms` late |
//! | `hang` | nothing: the request is read and never answered (until the client gives up, or the sandbox's idle timeout closes it) |
//! | `cut` | the request is read, not handled, and the connection closed without an answer |
//! | `cut_after` | the request is handled (a create creates), then the connection closed before the answer: the outcome a client cannot know |
//! | `rate_limit` | 429 with `Retry-After` (`retry_after` seconds, default an hour) and the gateway's error shape |
//!
//! `delay_ms` holds any action back first. A rule serves `times` calls (default: until cleared),
//! the oldest rule first; a rule used up is removed.

mod inject;
pub(crate) mod operations;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gerbang_core::ProviderId;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::SandboxError;
use crate::state::{Shared, lock};

pub(crate) use inject::inject;

/// The longest a `delay` (or the `delay_ms` before another action) waits: ten minutes. A wait
/// longer than the sandbox's idle timeout (60 s by default) is cut short by it.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(600);

/// How long a `hang` holds a request when nothing closes it first: ten minutes, then a 504.
const HANG: Duration = Duration::from_secs(600);

/// The `Retry-After` of a `rate_limit` fault without `retry_after`: an hour, the window of
/// Cuan10pay's documented limit. Longer than the SDK waits by itself (a minute), so the client
/// returns `Error::RateLimited` at once instead of sleeping.
pub const DEFAULT_FAULT_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What a [`Fault`] does to the calls it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultAction {
    /// Answers with [`Fault::status`] and [`Fault::body`] instead of the gateway.
    Status,
    /// Answers as the gateway does, [`Fault::delay_ms`] late.
    Delay,
    /// Reads the request and never answers.
    Hang,
    /// Reads the request, does not handle it, and closes the connection without an answer.
    Cut,
    /// Handles the request, then closes the connection before the answer.
    CutAfter,
    /// Answers 429 with `Retry-After` ([`Fault::retry_after`]).
    RateLimit,
}

impl FaultAction {
    /// The name the control API takes: `status`, `delay`, `hang`, `cut`, `cut_after`,
    /// `rate_limit`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Delay => "delay",
            Self::Hang => "hang",
            Self::Cut => "cut",
            Self::CutAfter => "cut_after",
            Self::RateLimit => "rate_limit",
        }
    }

    /// Every action, in the order the docs list them.
    pub const ALL: [Self; 6] = [Self::Status, Self::Delay, Self::Hang, Self::Cut, Self::CutAfter, Self::RateLimit];
}

/// A fault to inject: the control API's `POST /_sandbox/faults` body, `{gateway, operation,
/// action, status?, body?, delay_ms?, retry_after?, times?}`, or
/// [`Sandbox::inject_fault`](crate::Sandbox::inject_fault).
///
/// ```
/// use gerbang_core::ProviderId;
/// use gerbang_sandbox::{Fault, FaultAction};
///
/// // The next Cash In create is read and its connection closed: the outcome is unknown.
/// let cut = Fault::new(ProviderId::CashIn, "create", FaultAction::Cut).times(1);
/// // Every QRIS status call answers 503 until the faults are cleared.
/// let down = Fault::new(ProviderId::Qris, "status", FaultAction::Status).status(503);
/// # let _ = (cut, down);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Fault {
    /// The gateway whose calls it matches.
    pub gateway: ProviderId,
    /// The operation it matches (`create`, `status`, `cancel`, … as each gateway names them; see
    /// the control API's docs), or `any`.
    pub operation: String,
    /// What it does.
    pub action: FaultAction,
    /// The HTTP status a `status` fault answers with (200 to 599).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The body a `status` or `rate_limit` fault answers with; default the gateway's own error
    /// shape, saying a fault was injected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// How long to wait before the action (for `delay`, the delay itself; required there); at
    /// most [`MAX_FAULT_DELAY`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// The `Retry-After` of a `rate_limit` fault, in seconds (default
    /// [`DEFAULT_FAULT_RETRY_AFTER`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// How many calls it serves (at least 1); `None`: until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl Fault {
    /// A fault of `action` on `gateway`'s `operation`, for every call until cleared.
    pub fn new(gateway: ProviderId, operation: impl Into<String>, action: FaultAction) -> Self {
        Self {
            gateway,
            operation: operation.into(),
            action,
            status: None,
            body: None,
            delay_ms: None,
            retry_after: None,
            times: None,
        }
    }

    /// The status a `status` fault answers with.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The body a `status` or `rate_limit` fault answers with.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// How long to wait before the action (the delay itself for `delay`).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// The `Retry-After` of a `rate_limit` fault (whole seconds, rounded up).
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        self
    }

    /// How many calls it serves before it is removed.
    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }

    /// Why the sandbox would refuse it, if it would: every problem, so that a hand-written
    /// fault is fixed in one go.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let gateway = self.gateway;
        if crate::emulated::of(gateway).is_none() {
            problems.push(format!("gateway: the sandbox does not emulate {gateway}"));
        } else if !operations::exists(gateway, &self.operation) {
            let known = operations::names(gateway).join(", ");
            problems
                .push(format!("operation: {gateway} has no operation {:?}; expected one of {known}", self.operation));
        }
        let action = self.action;
        match (action, self.status) {
            (FaultAction::Status, None) => problems.push("status: a status fault needs one (200 to 599)".to_owned()),
            (FaultAction::Status, Some(status)) if !(200..=599).contains(&status) => {
                problems.push(format!("status: {status} is not an HTTP status from 200 to 599"));
            }
            (FaultAction::Status, Some(_)) | (_, None) => {}
            (_, Some(_)) => problems.push(format!("status: only a status fault takes one, not {}", action.as_str())),
        }
        if self.body.is_some() && !matches!(action, FaultAction::Status | FaultAction::RateLimit) {
            problems.push(format!("body: only a status or rate_limit fault takes one, not {}", action.as_str()));
        }
        if self.retry_after.is_some() && action != FaultAction::RateLimit {
            problems.push(format!("retry_after: only a rate_limit fault takes one, not {}", action.as_str()));
        }
        let max = MAX_FAULT_DELAY.as_millis();
        match self.delay_ms {
            None if action == FaultAction::Delay => problems.push("delay_ms: a delay fault needs one".to_owned()),
            Some(ms) if u128::from(ms) > max => problems.push(format!("delay_ms: at most {max}, not {ms}")),
            _ => {}
        }
        if self.times == Some(0) {
            problems.push("times: at least 1 (leave it out for every call until cleared)".to_owned());
        }
        problems
    }
}

/// A fault the sandbox holds, as [`Sandbox::faults`](crate::Sandbox::faults) and `GET
/// /_sandbox/faults` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InjectedFault {
    /// Its id, for `DELETE /_sandbox/faults/{id}`.
    pub id: u64,
    /// The fault.
    #[serde(flatten)]
    pub fault: Fault,
    /// How many calls it has served.
    pub hits: u64,
    /// How many more it serves; `None`: until cleared.
    pub remaining: Option<u32>,
}

/// The faults a sandbox holds, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<InjectedFault>>,
    next_id: AtomicU64,
}

impl Faults {
    pub(crate) fn add(&self, fault: Fault) -> Result<InjectedFault, SandboxError> {
        let problems = fault.problems();
        if !problems.is_empty() {
            return Err(SandboxError::InvalidFault { reason: problems.join("; ") });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let injected = InjectedFault { id, remaining: fault.times, fault, hits: 0 };
        tracing::info!(
            id,
            gateway = %injected.fault.gateway,
            operation = %injected.fault.operation,
            action = injected.fault.action.as_str(),
            "fault injected"
        );
        lock(&self.rules).push(injected.clone());
        Ok(injected)
    }

    pub(crate) fn list(&self) -> Vec<InjectedFault> {
        lock(&self.rules).clone()
    }

    /// Removes every fault; how many there were.
    pub(crate) fn clear(&self) -> usize {
        std::mem::take(&mut *lock(&self.rules)).len()
    }

    /// Removes one; whether it was there.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut rules = lock(&self.rules);
        let before = rules.len();
        rules.retain(|r| r.id != id);
        rules.len() < before
    }

    /// Whether any fault is held for `gateway`: when none is, a request passes untouched.
    fn any_for(&self, gateway: ProviderId) -> bool {
        lock(&self.rules).iter().any(|r| r.fault.gateway == gateway)
    }

    /// The fault that serves this call, counted (and removed once used up), if any.
    fn take(&self, gateway: ProviderId, operation: &str) -> Option<Fault> {
        let mut rules = lock(&self.rules);
        let index = rules.iter().position(|r| {
            r.fault.gateway == gateway
                && (r.fault.operation == operation || r.fault.operation == operations::ANY_OPERATION)
        })?;
        let rule = &mut rules[index];
        rule.hits += 1;
        rule.remaining = rule.remaining.map(|n| n.saturating_sub(1));
        let fault = rule.fault.clone();
        tracing::info!(id = rule.id, %gateway, operation, action = fault.action.as_str(), "fault served");
        if rule.remaining == Some(0) {
            rules.remove(index);
        }
        Some(fault)
    }
}

/// The operations a fault may name for `gateway`, `any` first.
pub(crate) fn operation_names(gateway: ProviderId) -> Vec<&'static str> {
    operations::names(gateway)
}

/// Adds the fault routes to the control router (mounted under `/_sandbox`).
pub(crate) fn control_routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router.route("/faults", get(list).post(add).delete(clear)).route("/faults/{id}", axum::routing::delete(remove))
}

async fn list(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.faults.list()).into_response()
}

/// `POST /faults` with the JSON of a [`Fault`]: 201 and the fault held, or 400 naming every
/// problem.
async fn add(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fault = match serde_json::from_slice::<Fault>(&body) {
        Ok(fault) => fault,
        Err(e) => {
            let actions: Vec<&str> = FaultAction::ALL.iter().map(|a| a.as_str()).collect();
            let message = format!(
                "the body must be a JSON fault {{gateway, operation, action, status?, body?, delay_ms?, retry_after?, times?}}, action one of {}: {e}",
                actions.join(", ")
            );
            return refusal(StatusCode::BAD_REQUEST, message);
        }
    };
    match shared.faults.add(fault) {
        Ok(injected) => (StatusCode::CREATED, Json(injected)).into_response(),
        Err(e) => refusal(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn clear(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({ "cleared": shared.faults.clear() })).into_response()
}

async fn remove(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match id.parse::<u64>() {
        Ok(id) if shared.faults.remove(id) => Json(json!({ "cleared": 1 })).into_response(),
        _ => refusal(StatusCode::NOT_FOUND, SandboxError::UnknownFault { id }.to_string()),
    }
}

fn refusal(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

impl crate::Sandbox {
    /// Injects a fault in front of a gateway: its calls of `fault.operation` (or all, for `any`)
    /// fail as `fault.action` says, for `fault.times` calls or until cleared. The control API's
    /// `POST /_sandbox/faults`.
    ///
    /// ```no_run
    /// # use gerbang_core::ProviderId;
    /// # use gerbang_sandbox::{Fault, FaultAction, SandboxHandle};
    /// # async fn run(sandbox: SandboxHandle) -> Result<(), gerbang_sandbox::SandboxError> {
    /// // The next create is handled, then its answer lost: the client gets OutcomeUnknown and
    /// // must look the payment up before creating it again.
    /// sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::CutAfter).times(1))?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SandboxError::InvalidFault`] naming every problem: an operation the gateway does not
    /// have, a `status` fault without a status, a `delay` without `delay_ms`, …
    pub fn inject_fault(&self, fault: Fault) -> Result<InjectedFault, SandboxError> {
        self.shared().faults.add(fault)
    }

    /// The faults held, oldest first, with how many calls each served.
    pub fn faults(&self) -> Vec<InjectedFault> {
        self.shared().faults.list()
    }

    /// Removes every fault; how many there were.
    pub fn clear_faults(&self) -> usize {
        self.shared().faults.clear()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulated;

    /// Two gateways, and two operations of the first, from the sandbox's own list.
    fn two_gateways() -> (ProviderId, [&'static str; 2], ProviderId) {
        let mut gateways = emulated::all().filter(|g| g.operations().len() >= 2);
        let (Some(first), Some(second)) = (gateways.next(), gateways.next()) else { panic!("two gateways") };
        let ops = first.operations();
        (first.provider(), [ops[0].name, ops[1].name], second.provider())
    }

    #[test]
    fn a_fault_is_refused_with_every_problem_named() {
        let faults = Faults::default();
        let (gateway, [one, _], _) = two_gateways();
        let bad = Fault::new(gateway, "no_such_operation", FaultAction::Status).times(0);
        let Err(SandboxError::InvalidFault { reason }) = faults.add(bad) else { panic!("refused") };
        let expected =
            format!("no operation \"no_such_operation\"; expected one of {}", operation_names(gateway).join(", "));
        for needle in [expected.as_str(), "status: a status fault", "times: at least 1"] {
            assert!(reason.contains(needle), "{needle}: {reason}");
        }
        let bad = Fault::new(gateway, one, FaultAction::Hang).status(500).body("x").delay(MAX_FAULT_DELAY * 2);
        let Err(SandboxError::InvalidFault { reason }) = faults.add(bad) else { panic!("refused") };
        assert!(
            reason.contains("only a status fault")
                && reason.contains("body: only")
                && reason.contains("delay_ms: at most"),
            "{reason}"
        );
        assert!(faults.list().is_empty());
    }

    #[test]
    fn the_oldest_matching_fault_serves_and_a_used_up_one_goes() {
        let faults = Faults::default();
        let (gateway, [one, another], other) = two_gateways();
        let twice = faults.add(Fault::new(gateway, one, FaultAction::Status).status(503).times(2)).unwrap();
        faults.add(Fault::new(gateway, "any", FaultAction::Cut)).unwrap();
        assert_eq!(faults.take(gateway, one).map(|f| f.action), Some(FaultAction::Status));
        assert_eq!(faults.list()[0].remaining, Some(1));
        assert_eq!(faults.take(gateway, one).map(|f| f.action), Some(FaultAction::Status));
        assert!(faults.list().iter().all(|f| f.id != twice.id), "used up");
        assert_eq!(faults.take(gateway, one).map(|f| f.action), Some(FaultAction::Cut), "then `any`");
        assert_eq!(faults.take(gateway, another).map(|f| f.action), Some(FaultAction::Cut));
        assert_eq!(faults.list()[0].hits, 2);
        assert_eq!(faults.take(other, one), None, "another gateway's call");
        assert!(faults.remove(faults.list()[0].id));
        assert_eq!(faults.clear(), 0);
    }
}
