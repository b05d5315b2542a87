//! The open-file limit, and the connection cap it leaves room for.
//!
//! Read from `/proc/self/limits` rather than with `getrlimit`: this workspace allows no unsafe
//! code, and the file says the same on every Linux.

/// The fewest file descriptors kept for the process's own files and store connections, whatever
/// the limit (see [`Limits::connection_cap`](crate::Limits::connection_cap)).
pub const MIN_FILE_RESERVE: u64 = 128;

/// The process's open-file soft limit (`RLIMIT_NOFILE`), where it can be read: on Linux, from
/// `/proc/self/limits`. `None` elsewhere, and when the limit is `unlimited`.
pub fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    soft_limit(&text)
}

/// The soft limit on the `Max open files` line of `/proc/<pid>/limits`:
/// `Max open files            1024                 1048576              files`.
fn soft_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find_map(|line| line.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// `asked` (at least 1), lowered to the open-file limit minus a reserve of a quarter, at least
/// [`MIN_FILE_RESERVE`]; at least 1 even then (a server that accepts nothing serves nobody).
pub(crate) fn cap_for(asked: usize, soft_limit: Option<u64>) -> usize {
    let asked = asked.max(1);
    let Some(soft) = soft_limit else { return asked };
    let reserve = (soft / 4).max(MIN_FILE_RESERVE);
    let budget = usize::try_from(soft.saturating_sub(reserve)).unwrap_or(usize::MAX).max(1);
    asked.min(budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "Limit                     Soft Limit           Hard Limit           Units     \n\
        Max cpu time              unlimited            unlimited            seconds   \n\
        Max open files            1024                 1048576              files     \n\
        Max locked memory         8388608              8388608              bytes     \n";

    #[test]
    fn reads_the_soft_limit_of_open_files() {
        assert_eq!(soft_limit(LINUX), Some(1024));
        assert_eq!(soft_limit(&LINUX.replace("1024 ", "unlimited ")), None);
        assert_eq!(soft_limit("Max cpu time unlimited unlimited seconds\n"), None);
        assert_eq!(soft_limit(""), None);
    }

    #[test]
    fn the_cap_leaves_a_quarter_or_128_files_and_never_exceeds_what_was_asked() {
        // The common limit: a quarter kept, 768 left; the default 512 fits.
        assert_eq!(cap_for(512, Some(1024)), 512);
        assert_eq!(cap_for(5_000, Some(1024)), 768);
        // A small limit keeps at least 128.
        assert_eq!(cap_for(5_000, Some(256)), 128);
        assert_eq!(cap_for(5_000, Some(100)), 1);
        // A large one: what was asked.
        assert_eq!(cap_for(5_000, Some(1_048_576)), 5_000);
        // No limit known: what was asked, at least 1.
        assert_eq!(cap_for(7, None), 7);
        assert_eq!(cap_for(0, None), 1);
    }

    #[test]
    fn this_process_limit_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(open_file_limit().is_some_and(|n| n > 0));
        }
    }
}
