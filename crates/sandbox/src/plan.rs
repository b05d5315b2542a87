//! How a webhook is delivered: how many copies, how far apart, after what delay, or not at all.
//! What a merchant's handler must survive (gateways retry, duplicate, reorder and lose webhooks),
//! played on purpose.

use std::collections::HashMap;
use std::time::Duration;

/// The most copies one plan sends, so that a typo cannot flood a receiver.
pub const MAX_COPIES: u32 = 100;

/// The longest [`delay`](DeliveryPlan::delay) or [`spacing`](DeliveryPlan::spacing) a plan
/// takes (an hour); a longer one is taken as this.
pub const MAX_PLAN_WAIT: Duration = Duration::from_secs(3600);

/// How the sandbox delivers one webhook: given to [`Sandbox::pay_with`](crate::Sandbox::pay_with)
/// (and `expire_with`, `fail_with`, [`send_webhook`](crate::Sandbox::send_webhook)), or as the
/// query of the control API (`?copies=5&spacing_ms=0&delay_ms=0&drop=false`).
///
/// | setting | default | what it does |
/// |---|---|---|
/// | [`copies`](Self::copies) | 1 | how many times the same webhook (same headers, same body) is sent; each copy is retried on its own, per the gateway's retry policy, until answered 2xx |
/// | [`spacing`](Self::spacing) | 0 | how far apart the copies start; 0: all at once, concurrently |
/// | [`delay`](Self::delay) | 0 | how long the first copy waits, so that a later event's webhook can arrive first |
/// | [`drop`](Self::drop) | false | send nothing; each copy is recorded as dropped ([`Delivery::dropped`](crate::Delivery::dropped)) |
///
/// The webhook is made when the plan is given (its timestamp is the time of the change), so a
/// delay or spacing longer than the receiver's timestamp tolerance (five minutes in the SDK)
/// delivers copies it refuses as stale; to deliver a webhook late, send a fresh one then with
/// [`send_webhook`](crate::Sandbox::send_webhook).
///
/// ```
/// use std::time::Duration;
/// use gerbang_sandbox::DeliveryPlan;
///
/// // Five copies, 100 ms apart, the first after half a second.
/// let plan = DeliveryPlan::new().copies(5).spacing(Duration::from_millis(100)).delay(Duration::from_millis(500));
/// assert_eq!(plan.copies, 5);
/// // A webhook the gateway loses.
/// assert!(DeliveryPlan::new().drop(true).drop);
/// assert_eq!(DeliveryPlan::default(), DeliveryPlan::new());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryPlan {
    /// How many times the webhook is sent; see [`copies`](Self::copies).
    pub copies: u32,
    /// How far apart the copies start; see [`spacing`](Self::spacing).
    pub spacing: Duration,
    /// How long the first copy waits; see [`delay`](Self::delay).
    pub delay: Duration,
    /// Whether nothing is sent; see [`drop`](Self::drop).
    pub drop: bool,
}

impl Default for DeliveryPlan {
    fn default() -> Self {
        Self::new()
    }
}

impl DeliveryPlan {
    /// One copy, at once: how every gateway sends a webhook, and what [`Sandbox::pay`](crate::Sandbox::pay)
    /// does.
    pub const fn new() -> Self {
        Self { copies: 1, spacing: Duration::ZERO, delay: Duration::ZERO, drop: false }
    }

    /// How many times the same webhook is sent (default 1; from 1 to [`MAX_COPIES`], a number
    /// outside is taken as the nearest). The copies of one plan take the gateway's webhook URLs
    /// in turn ([`SandboxBuilder::webhook_url`](crate::SandboxBuilder::webhook_url)).
    pub fn copies(mut self, copies: u32) -> Self {
        self.copies = copies.clamp(1, MAX_COPIES);
        self
    }

    /// How long after one copy starts the next one does (default 0: all at once, each in its
    /// own task and connection; at most [`MAX_PLAN_WAIT`]). A copy's retries do not hold the
    /// next copy back.
    pub fn spacing(mut self, spacing: Duration) -> Self {
        self.spacing = spacing.min(MAX_PLAN_WAIT);
        self
    }

    /// How long the first copy waits before it is sent (default 0; at most [`MAX_PLAN_WAIT`]).
    /// Pay one payment with a delay and another without, and the second one's webhook arrives
    /// first.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay.min(MAX_PLAN_WAIT);
        self
    }

    /// Whether the webhook is lost (default `false`): with `true` nothing is sent, and each
    /// copy is recorded once, at the time it would have been sent, with no status and
    /// [`dropped`](crate::Delivery::dropped) set, so that a test can tell a lost webhook from
    /// one never planned. What reconciliation exists for.
    pub fn drop(mut self, drop: bool) -> Self {
        self.drop = drop;
        self
    }

    /// The start of copy `copy` (1-based), after the plan is given.
    pub(crate) fn start_of(&self, copy: u32) -> Duration {
        self.delay + self.spacing * copy.saturating_sub(1)
    }

    /// The plan in a control API query: `copies`, `spacing_ms`, `delay_ms`, `drop`, each
    /// optional; any other name in `allowed` is left to the caller. Out-of-range values are
    /// refused here rather than clamped, with the reason, since a URL is typed by hand.
    pub(crate) fn from_query(query: &HashMap<String, String>, allowed: &[&str]) -> Result<Self, String> {
        const NAMES: [&str; 4] = ["copies", "spacing_ms", "delay_ms", "drop"];
        if let Some(unknown) = query.keys().find(|k| !NAMES.contains(&k.as_str()) && !allowed.contains(&k.as_str())) {
            let mut known: Vec<&str> = NAMES.to_vec();
            known.extend(allowed);
            return Err(format!("unknown query parameter {unknown:?}; expected {}", known.join(", ")));
        }
        let mut plan = Self::new();
        if let Some(text) = query.get("copies") {
            match text.trim().parse::<u32>() {
                Ok(copies @ 1..=MAX_COPIES) => plan.copies = copies,
                _ => return Err(format!("copies must be a whole number from 1 to {MAX_COPIES}, not {text:?}")),
            }
        }
        let millis = |name: &str| -> Result<Option<Duration>, String> {
            let Some(text) = query.get(name) else { return Ok(None) };
            let max = MAX_PLAN_WAIT.as_millis();
            match text.trim().parse::<u64>() {
                Ok(ms) if u128::from(ms) <= max => Ok(Some(Duration::from_millis(ms))),
                _ => Err(format!("{name} must be a whole number of milliseconds from 0 to {max}, not {text:?}")),
            }
        };
        if let Some(spacing) = millis("spacing_ms")? {
            plan.spacing = spacing;
        }
        if let Some(delay) = millis("delay_ms")? {
            plan.delay = delay;
        }
        if let Some(text) = query.get("drop") {
            plan.drop = match text.trim() {
                "true" | "1" | "" => true,
                "false" | "0" => false,
                _ => return Err(format!("drop must be true or false, not {text:?}")),
            };
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn an_empty_query_is_the_default_plan() {
        assert_eq!(DeliveryPlan::from_query(&query(&[]), &[]), Ok(DeliveryPlan::new()));
    }

    #[test]
    fn a_full_query_sets_every_field() {
        let plan = DeliveryPlan::from_query(
            &query(&[("copies", "5"), ("spacing_ms", "20"), ("delay_ms", "300"), ("drop", "true")]),
            &[],
        );
        let expected = DeliveryPlan::new()
            .copies(5)
            .spacing(Duration::from_millis(20))
            .delay(Duration::from_millis(300))
            .drop(true);
        assert_eq!(plan, Ok(expected));
        assert_eq!(expected.start_of(1), Duration::from_millis(300));
        assert_eq!(expected.start_of(3), Duration::from_millis(340));
    }

    #[test]
    fn bad_values_and_unknown_names_are_refused_with_the_reason() {
        for (pairs, needle) in [
            (&[("copies", "0")][..], "copies must be"),
            (&[("copies", "101")][..], "from 1 to 100"),
            (&[("copies", "five")][..], "copies must be"),
            (&[("spacing_ms", "-1")][..], "spacing_ms must be"),
            (&[("delay_ms", "3600001")][..], "delay_ms must be"),
            (&[("drop", "maybe")][..], "drop must be"),
            (&[("copy", "5")][..], "unknown query parameter \"copy\""),
        ] {
            let error = DeliveryPlan::from_query(&query(pairs), &[]).unwrap_err();
            assert!(error.contains(needle), "{error}");
        }
        assert!(DeliveryPlan::from_query(&query(&[("status", "paid")]), &["status"]).is_ok());
    }

    #[test]
    fn the_builder_clamps() {
        assert_eq!(DeliveryPlan::new().copies(0).copies, 1);
        assert_eq!(DeliveryPlan::new().copies(1000).copies, MAX_COPIES);
        assert_eq!(DeliveryPlan::new().delay(Duration::from_secs(1 << 20)).delay, MAX_PLAN_WAIT);
    }
}
