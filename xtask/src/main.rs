//! Project automation for gerbang, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask ci`: everything CI checks, in order, failing fast: formatting, clippy, tests, doc
//!   tests, rustdoc, the facade built with each gateway feature alone, and cargo-deny (licences,
//!   bans, sources, and advisories against the RustSec snapshot in `../shared/advisory-db/`).
//!   `.ci/run` runs exactly this.
//! - `cargo xtask fixtures`: regenerates every gateway's fixtures from the sandbox, then the insta
//!   snapshots, and lists what changed for review.
//! - `cargo xtask bench`: runs the benchmark package, once there is one.
//!
//! Standard library only: the task runner must build in seconds on a clean clone and add nothing to
//! the dependency tree cargo-deny checks.

// A task runner's whole job is to tell a human what it is doing: printing is the point here.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod ci;
mod deny;
mod fixtures;
mod util;

use std::process::ExitCode;

use util::{Error, Result};

const HELP: &str = "\
cargo xtask: gerbang's project automation

USAGE:
    cargo xtask <TASK> [OPTIONS]

TASKS:
    ci          Run every CI check in order, failing fast, then print a summary of steps and times.
                Steps: fmt, clippy, test, doctest, doc, features, deny, advisories.
                  --only STEP[,STEP...]   run only these steps (repeatable)
                  --skip STEP[,STEP...]   run every step but these (repeatable)
                  --list                  list the steps and exit
    fixtures    Regenerate gateway fixtures from the sandbox (crates/*/tests/fixtures.rs, with
                GERBANG_REGENERATE_FIXTURES=1), then the insta snapshots (INSTA_UPDATE=always), and
                show the changed fixture and snapshot files (git status) for review.
    bench       Run the benchmark package `gerbang-bench` in release mode; arguments after `bench`
                are passed on to it. It prints one table (figures, ratios, goals) per run.
                  --runs N                repeat the whole measurement N times, then print the
                                          spread of each figure
                  --only PART             one part only: status, cpu, engine, others
                  --profile-status G:W:N  N status calls of gateway G one way (trait or
                                          hand) and nothing else, for a profiler
                  --help                  the benchmark's own help
    help        Print this message.

ENVIRONMENT:
    GERBANG_ADVISORY_DB_SNAPSHOT   RustSec snapshot directory for the advisories step
                                   (default: <workspace>/../shared/advisory-db)
    CI                             when set, a missing advisory snapshot is an error, not a skip

EXAMPLES:
    cargo xtask ci
    cargo xtask ci --only deny,advisories
    cargo xtask ci --skip test,doctest
    cargo xtask bench --runs 3
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result {
    let Some((task, rest)) = args.split_first() else {
        print!("{HELP}");
        return Ok(());
    };
    match task.as_str() {
        "ci" => ci::run(rest),
        "fixtures" => no_options("fixtures", rest).and_then(|()| fixtures::run()),
        "bench" => bench::run(rest),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(Error::new(format!("unknown task `{other}`; run `cargo xtask help`"))),
    }
}

fn no_options(task: &str, rest: &[String]) -> Result {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(Error::new(format!("`{task}` takes no arguments, got `{arg}`"))),
    }
}
