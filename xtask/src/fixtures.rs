//! `cargo xtask fixtures`: regenerate fixtures from the sandbox, then the insta snapshots.

use std::path::Path;

use crate::util::{self, Context, Error, Result};

/// The test file that, run with `GERBANG_REGENERATE_FIXTURES=1`, rewrites a crate's `tests/fixtures/`.
const FIXTURE_TEST: &str = "tests/fixtures.rs";

pub(crate) fn run() -> Result {
    let root = util::workspace_root()?;
    let cargo = |args: &[&str]| util::cargo_in(&root, args);

    // Fixtures first: the snapshots are of what the crates parse out of them.
    let packages = packages_with(&root, FIXTURE_TEST)?;
    if packages.is_empty() {
        println!("==> fixtures: no crate has {FIXTURE_TEST} yet: nothing to regenerate");
    }
    for package in &packages {
        println!("==> fixtures of {package}");
        let mut cmd = cargo(&["test", "--package", package, "--all-features", "--test", "fixtures"]);
        cmd.env("GERBANG_REGENERATE_FIXTURES", "1");
        util::run(&mut cmd)?;
    }

    // `always` writes file snapshots in place and lets the assertion pass, so one run rewrites every
    // snapshot that changed. (Inline snapshots still go to `.pending-snap` files: `cargo insta review`.)
    println!("==> insta snapshots");
    let mut cmd = cargo(&["test", "--workspace", "--all-features", "--no-fail-fast"]);
    cmd.env("INSTA_UPDATE", "always");
    util::run(&mut cmd)?;

    println!("==> changed fixtures and snapshots (review before committing)");
    let mut status = std::process::Command::new("git");
    status.current_dir(&root).args(["status", "--short", "--untracked-files=all"]);
    let listing = util::capture(&mut status)?;
    let changed: Vec<&str> = listing.lines().filter(|line| is_fixture_or_snapshot(line)).collect();
    if changed.is_empty() {
        println!("nothing changed");
    } else {
        for line in changed {
            println!("{line}");
        }
        println!("see the differences with `git diff`; new files are marked `??`");
    }
    Ok(())
}

/// The packages under `crates/` that have `file`.
fn packages_with(root: &Path, file: &str) -> Result<Vec<String>> {
    let mut packages = Vec::new();
    for dir in util::crate_dirs(root)? {
        if !dir.join(file).is_file() {
            continue;
        }
        let manifest_path = dir.join("Cargo.toml");
        let manifest =
            std::fs::read_to_string(&manifest_path).context(|| format!("cannot read {}", manifest_path.display()))?;
        let name = util::package_name(&manifest)
            .ok_or_else(|| Error::new(format!("no [package] name in {}", manifest_path.display())))?;
        packages.push(name);
    }
    Ok(packages)
}

/// A `git status --short` line about a fixture or a snapshot.
fn is_fixture_or_snapshot(line: &str) -> bool {
    line.contains("/fixtures/") || line.contains(".snap") || line.contains("/snapshots/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_and_snapshot_paths_are_recognised() {
        assert!(is_fixture_or_snapshot(" M crates/cuan10pay/tests/fixtures/deposit.json"));
        assert!(is_fixture_or_snapshot("?? crates/core/tests/snapshots/payment__paid.snap"));
        assert!(!is_fixture_or_snapshot(" M crates/core/src/lib.rs"));
    }
}
