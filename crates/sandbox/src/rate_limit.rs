//! A per-IP request budget over a sliding window, on the sandbox clock (so that a test can move
//! time forward instead of waiting an hour).
//!
//! Written here rather than with `governor`: the budget must follow the injectable sandbox clock,
//! and a sliding log of at most `limit` instants per client is all an emulator needs.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

use crate::state::{lock, seconds_until};

/// At most `limit` requests per client IP in any `window`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<IpAddr, VecDeque<OffsetDateTime>>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, hits: Mutex::new(HashMap::new()) }
    }

    pub(crate) const fn limit(&self) -> u32 {
        self.limit
    }

    /// Counts a request from `ip` at `now`, or refuses it with the whole seconds to wait before
    /// the next one would be accepted. A refused request does not count.
    pub(crate) fn check(&self, ip: IpAddr, now: OffsetDateTime) -> Result<(), u64> {
        let mut hits = lock(&self.hits);
        let log = hits.entry(ip).or_default();
        let window_start = now - self.window;
        while log.front().is_some_and(|&at| at <= window_start) {
            log.pop_front();
        }
        if log.len() < self.limit as usize {
            log.push_back(now);
            return Ok(());
        }
        // The oldest request in the window leaves it first; with a limit of zero nothing ever
        // gets in, and a whole window is the honest wait to announce.
        let free_at = log.front().map_or(now + self.window, |&oldest| oldest + self.window);
        Err(seconds_until(now, free_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const HOUR: Duration = Duration::from_secs(3600);

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn refuses_the_request_over_the_limit_until_the_oldest_leaves_the_window() {
        let limiter = RateLimiter::new(2, HOUR);
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(limiter.check(ip, at(0)), Ok(()));
        assert_eq!(limiter.check(ip, at(600)), Ok(()));
        assert_eq!(limiter.check(ip, at(1200)), Err(2400));
        assert_eq!(limiter.check(ip, at(3600)), Ok(()));
        assert_eq!(limiter.check(ip, at(3601)), Err(599));
    }

    #[test]
    fn counts_each_client_apart() {
        let limiter = RateLimiter::new(1, HOUR);
        assert_eq!(limiter.check(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), at(0)), Ok(()));
        assert_eq!(limiter.check(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), at(0)), Ok(()));
    }

    #[test]
    fn a_limit_of_zero_refuses_everything() {
        let limiter = RateLimiter::new(0, HOUR);
        assert_eq!(limiter.check(IpAddr::V4(Ipv4Addr::LOCALHOST), at(0)), Err(3600));
    }
}
