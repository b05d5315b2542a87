//! The sandbox's clock: the configured one ([`SandboxBuilder::clock`](crate::SandboxBuilder::clock),
//! the system clock by default) plus an offset that only grows, so that a test can move time
//! forward (time travel) instead of waiting for a payment to expire.
//!
//! Two readings, on purpose:
//!
//! - [`now`](SandboxClock::now), the sandbox's time: what payments are stamped with, what they
//!   expire by, how long a Ciputra token lives, and the window of Cuan10pay's rate limit;
//! - [`wall`](SandboxClock::wall), the configured clock unmoved: what the `X-TIMESTAMP` of a
//!   Cuan10pay or Cash In request is checked against, and the signed timestamp of a webhook. A
//!   merchant's client and receiver keep real time: moved with the sandbox, every signed request
//!   would be refused as stale after an advance, and every webhook refused by the receiver.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gerbang_core::{ProviderId, SharedClock};
use time::OffsetDateTime;

use crate::SandboxError;

/// The most one [`Sandbox::advance_clock`](crate::Sandbox::advance_clock) moves the clock: 400
/// days, past any payment's expiry in the emulated gateways (Ciputra's longest, a few months).
pub const MAX_CLOCK_ADVANCE: Duration = Duration::from_secs(400 * 86_400);

/// The most the clock is ever moved in all: a hundred years, so that the sum cannot overflow a
/// date.
const MAX_OFFSET: Duration = Duration::from_secs(100 * 366 * 86_400);

/// The configured clock, moved forward by an offset.
#[derive(Debug)]
pub(crate) struct SandboxClock {
    base: SharedClock,
    /// Milliseconds: enough for `by=500ms`, and one atomic instead of a lock on every request.
    offset_ms: AtomicU64,
}

impl SandboxClock {
    pub(crate) fn new(base: SharedClock) -> Self {
        Self { base, offset_ms: AtomicU64::new(0) }
    }

    /// The sandbox's time: the configured clock plus every advance.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.base.now() + self.offset()
    }

    /// The configured clock's time, never moved: what signatures are checked against and made with.
    pub(crate) fn wall(&self) -> OffsetDateTime {
        self.base.now()
    }

    /// How far the clock has been moved forward.
    pub(crate) fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::Acquire))
    }

    /// Moves the clock forward by `by`; the offset in all. Time never moves back.
    pub(crate) fn advance(&self, by: Duration) -> Result<Duration, String> {
        if by > MAX_CLOCK_ADVANCE {
            return Err(format!(
                "the clock moves at most {} days at a time, not {}",
                MAX_CLOCK_ADVANCE.as_secs() / 86_400,
                describe(by)
            ));
        }
        let by_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let max_ms = u64::try_from(MAX_OFFSET.as_millis()).unwrap_or(u64::MAX);
        let result = self.offset_ms.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
            current.checked_add(by_ms).filter(|total| *total <= max_ms)
        });
        match result {
            Ok(before) => Ok(Duration::from_millis(before + by_ms)),
            Err(_) => Err("the clock has been moved a hundred years already: start a new sandbox".to_owned()),
        }
    }
}

/// A duration as the control API takes it: whole numbers, each followed by its unit (`ms`, `s`,
/// `m`, `h`, `d`), one or more of them: `2h`, `90s`, `1h30m`, `500ms`, `7d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration; write it as 2h, 30m, 90s, 1h30m, 500ms or 7d");
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, after) = rest.split_at(digits);
        let number: u64 = number.parse().map_err(|_| invalid())?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(invalid()),
        };
        let ms = number.checked_mul(unit_ms).ok_or_else(invalid)?;
        total = total.checked_add(Duration::from_millis(ms)).ok_or_else(invalid)?;
        rest = after;
    }
    Ok(total)
}

/// `2h 30m 0s`-style text for a message.
pub(crate) fn describe(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (days, hours, minutes, secs) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    let mut parts = Vec::new();
    for (value, unit) in [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")] {
        if value > 0 {
            parts.push(format!("{value}{unit}"));
        }
    }
    if parts.is_empty() {
        return format!("{}ms", duration.as_millis());
    }
    parts.join(" ")
}

/// What [`Sandbox::advance_clock`](crate::Sandbox::advance_clock) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClockAdvance {
    /// The sandbox's time after the advance.
    pub now: OffsetDateTime,
    /// How far the clock has been moved in all, this advance included.
    pub offset: Duration,
    /// The payments that expired because of it, each with its gateway and
    /// [`reference`](crate::PaymentSummary::reference); their webhooks are on their way.
    pub expired: Vec<(ProviderId, String)>,
}

impl crate::Sandbox {
    /// The sandbox's time now: the configured clock plus every
    /// [`advance_clock`](Self::advance_clock).
    pub fn now(&self) -> OffsetDateTime {
        self.shared().now()
    }

    /// How far [`advance_clock`](Self::advance_clock) has moved the clock in all.
    pub fn clock_offset(&self) -> Duration {
        self.shared().clock.offset()
    }

    /// Time travel: moves the sandbox's clock forward by `by` (at most [`MAX_CLOCK_ADVANCE`]),
    /// then expires every pending payment whose expiry has passed, sending the webhooks the
    /// gateways send for that (Cuan10pay's `EXPIRED`, Cash In's `05`, Ciputra's `expired`
    /// callback; QRIS and crypto invoices send none). The control API's `POST
    /// /_sandbox/clock/advance?by=2h`.
    ///
    /// What moves: the times payments are stamped with and expire by, Ciputra's token lifetimes
    /// (a token issued before may be refused as expired: the client fetches a new one), and the
    /// window of Cuan10pay's rate limit. What does not: the clock that requests' `X-TIMESTAMP`
    /// are checked against and webhooks' timestamps are signed with, since the merchant's client
    /// and receiver keep real time. A Cuan10pay `expired_time` sent after an advance is read on
    /// the client's clock and moved with the sandbox's. Time never moves back.
    ///
    /// ```no_run
    /// # use gerbang_core::ProviderId;
    /// # use std::time::Duration;
    /// # async fn run(sandbox: gerbang_sandbox::SandboxHandle, invoice_id: &str) -> Result<(), gerbang_sandbox::SandboxError> {
    /// // A QRIS invoice lives 30 minutes: an hour later it has expired.
    /// let advance = sandbox.advance_clock(Duration::from_secs(3600)).await?;
    /// assert!(advance.expired.contains(&(ProviderId::Qris, invoice_id.to_owned())));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SandboxError::ClockRefused`] for an advance longer than [`MAX_CLOCK_ADVANCE`] (or past
    /// a hundred years in all); the clock does not move.
    pub async fn advance_clock(&self, by: Duration) -> Result<ClockAdvance, SandboxError> {
        let shared = self.shared();
        let offset = shared.clock.advance(by).map_err(|reason| SandboxError::ClockRefused { reason })?;
        tracing::info!(by_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX), "sandbox clock advanced");
        let expired = crate::payments::expire_due(shared);
        Ok(ClockAdvance { now: shared.now(), offset, expired })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gerbang_core::FixedClock;

    use super::*;

    #[test]
    fn durations_are_read_in_every_unit_and_combined() {
        for (text, seconds) in [("2h", 7200), ("90s", 90), ("1h30m", 5400), ("7d", 604_800), (" 15m ", 900)] {
            assert_eq!(parse_duration(text), Ok(Duration::from_secs(seconds)), "{text}");
        }
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        for bad in ["", "2", "h", "2 h", "-1h", "2w", "1.5h", "99999999999999999999d"] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains("is not a duration"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_clock_moves_forward_and_the_wall_clock_does_not() {
        let clock = SandboxClock::new(Arc::new(FixedClock::at_unix(1_700_000_000)));
        assert_eq!(clock.advance(Duration::from_secs(7200)), Ok(Duration::from_secs(7200)));
        assert_eq!(clock.advance(Duration::from_secs(60)), Ok(Duration::from_secs(7260)));
        assert_eq!(clock.now().unix_timestamp(), 1_700_007_260);
        assert_eq!(clock.wall().unix_timestamp(), 1_700_000_000);
        let error = clock.advance(MAX_CLOCK_ADVANCE + Duration::from_secs(1)).unwrap_err();
        assert!(error.contains("at most 400 days"), "{error}");
        assert_eq!(clock.offset(), Duration::from_secs(7260), "a refused advance moves nothing");
        assert_eq!(describe(Duration::from_secs(93_784)), "1d 2h 3m 4s");
    }
}
