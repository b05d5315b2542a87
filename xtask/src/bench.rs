//! `cargo xtask bench`: run the benchmark package, once there is one.

use crate::util::{self, Error, Result};

/// The workspace package holding the benchmarks (a binary, run in release mode).
const BENCH_PACKAGE: &str = "gerbang-bench";

/// Runs `cargo run --release --package gerbang-bench`, passing `args` on to it.
pub(crate) fn run(args: &[String]) -> Result {
    let root = util::workspace_root()?;
    let metadata =
        util::capture(util::cargo().current_dir(&root).args(["metadata", "--no-deps", "--format-version", "1"]))?;
    if !has_package(&metadata, BENCH_PACKAGE) {
        return Err(Error::new("no benchmark package yet"));
    }
    let mut cmd = util::cargo_in(&root, &["run", "--release", "--package", BENCH_PACKAGE]);
    if !args.is_empty() {
        cmd.arg("--").args(args);
    }
    util::run(&mut cmd)
}

/// Whether `cargo metadata --no-deps` lists a package called `name`, read without a JSON parser:
/// a package object starts `{"name":"…","version":…` (cargo writes its fields in that order), while
/// dependencies follow their name with `"source"` and targets with `"src_path"`.
fn has_package(metadata: &str, name: &str) -> bool {
    metadata.contains(&format!("{{\"name\":\"{name}\",\"version\":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_is_told_from_a_dependency_of_the_same_name() {
        let package = r#"{"packages":[{"name":"gerbang-bench","version":"0.1.0","id":"x"}]}"#;
        let dependency = r#"{"packages":[{"name":"gerbang","version":"0.1.0","dependencies":[{"name":"gerbang-bench","source":null}]}]}"#;
        assert!(has_package(package, "gerbang-bench"));
        assert!(!has_package(dependency, "gerbang-bench"));
    }
}
