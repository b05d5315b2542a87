//! What the private servers and the browser share: finding a program, saying why a test skips
//! (or failing it under CI), and a temp dir of their own.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether `program` (a name looked up on `PATH`, or a path) runs `--version` successfully.
pub(crate) fn runs(program: impl AsRef<OsStr>) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// What a test does when what it `needs` cannot run, for the reason `why`: under `CI=true` (or
/// `CI=1`) it fails, since a skipped test would pass for nothing; elsewhere it says on stderr
/// that it skips, and `how` to install it.
///
/// # Panics
///
/// Under CI, always.
#[allow(clippy::print_stderr)] // The one way to tell a developer why a test did nothing.
pub(crate) fn unavailable(needs: &str, why: &str, how: &str) {
    let in_ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(!in_ci, "CI=true but this test needs {needs}, and {why}: {how}");
    eprintln!("skipping: this test needs {needs}, and {why}; {how}");
}

/// A fresh directory under the system's temp dir, `gerbang-{kind}-{pid}-{port}-{n}`.
///
/// # Panics
///
/// When it cannot be created.
pub(crate) fn temp_dir(kind: &str, port: u16) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("gerbang-{kind}-{}-{port}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// `path` created, opened twice: the child's stdout and its stderr, both into the one log (never
/// the test's own output: a runner capturing it would wait on the child forever).
///
/// # Panics
///
/// When it cannot be created.
pub(crate) fn log_file(path: &Path) -> (File, File) {
    let log = File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let log_err = log.try_clone().unwrap_or_else(|e| panic!("cannot reopen {}: {e}", path.display()));
    (log, log_err)
}

/// The first of a few tries of `try_start`: the port it picks is free when picked, but another
/// process may take it before the child binds it.
///
/// # Panics
///
/// When every try fails, with the last one's log.
pub(crate) fn start_on_a_free_port<T>(what: &str, mut try_start: impl FnMut() -> Result<T, String>) -> T {
    let mut last_log = String::new();
    for _ in 0..5 {
        match try_start() {
            Ok(started) => return started,
            Err(log) => last_log = log,
        }
    }
    panic!("{what} did not start on a free loopback port; its last log:\n{last_log}");
}
