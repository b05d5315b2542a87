//! Running one test again in a child process with its own environment variables: they cannot be
//! set safely in a multi-threaded test process (and the workspace forbids `unsafe`), so a test
//! of `from_env` runs its own binary, filtered to itself, once per scenario.

use std::process::Command;

/// The variable naming the scenario a child run checks.
pub const SCENARIO_VAR: &str = "GERBANG_TEST_SCENARIO";

/// The scenario this process was started for, when it is a child run of
/// [`run_env_scenario`]: the test then checks that scenario and returns.
pub fn env_scenario() -> Option<String> {
    std::env::var(SCENARIO_VAR).ok()
}

/// Runs the test `test` (its full name in its binary, as `--exact` takes it) of the current test
/// binary again, with `remove` unset and `set` set, and [`SCENARIO_VAR`] set to `scenario`.
///
/// # Panics
///
/// When the child cannot be started or its test did not pass, showing its output.
pub fn run_env_scenario(test: &str, scenario: &str, remove: &[&str], set: &[(&str, &str)]) {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no test binary path: {e}"));
    let mut command = Command::new(exe);
    command.args(["--exact", test, "--test-threads=1", "--nocapture"]);
    for name in remove {
        command.env_remove(name);
    }
    command.envs(set.iter().copied()).env(SCENARIO_VAR, scenario);
    let output = command.output().unwrap_or_else(|e| panic!("cannot run scenario {scenario}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "scenario {scenario} of {test} failed:\n{stdout}\n{stderr}"
    );
}
