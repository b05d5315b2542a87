//! `cargo xtask ci`: every check CI makes, in order, failing fast.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::deny::{self, DenyTool};
use crate::util::{self, Context, Error, Result};

/// Crates that must never be in the facade's normal dependency tree, whatever its features: TLS is
/// rustls only (DESIGN.md, "Transport"), and RSA runs on aws-lc-rs, which rustls already brings:
/// the pure-Rust `rsa` crate (RUSTSEC-2023-0071) only comes with gerbang-signing's opt-in
/// `rsa-pure` feature, which no facade feature turns on. deny.toml bans the TLS crates for the
/// whole workspace too; this check also names the feature that brought one in.
const FORBIDDEN_ALWAYS: &[&str] = &["openssl", "openssl-sys", "native-tls", "rsa"];

/// More crates forbidden in `gerbang --no-default-features --features F`: a gateway feature pulls in
/// what that gateway needs and nothing more. `axum` belongs to the sandbox alone, the Redis and
/// Postgres clients to their stores.
const FORBIDDEN_WITH_FEATURE: &[(&str, &[&str])] = &[
    ("cuan10pay", &["axum"]),
    ("cashin", &["axum"]),
    ("qris", &["axum"]),
    ("crypto-invoice", &["axum"]),
    ("ciputra", &["axum"]),
    ("webhooks", &["axum"]),
    ("redis", &["axum", "tokio-postgres"]),
    ("postgres", &["axum", "redis"]),
    // The Prometheus exporter renders into a route of ours; the route comes with `axum` alone.
    ("metrics", &["axum"]),
];

/// Features of the facade (crates/gerbang/Cargo.toml) that are not one gateway each.
const NOT_GATEWAYS: &[&str] = &["default", "full", "sandbox"];

/// The facade package and its manifest, relative to the workspace root.
const FACADE: &str = "gerbang";
const FACADE_MANIFEST: &str = "crates/gerbang/Cargo.toml";

/// What a step came to, when it did not fail.
#[derive(Debug)]
pub(crate) enum Outcome {
    Passed,
    Skipped(String),
}

#[derive(Debug, Clone, Copy)]
struct Step {
    id: &'static str,
    what: &'static str,
    run: fn(&Ctx) -> Result<Outcome>,
}

const STEPS: &[Step] = &[
    Step { id: "fmt", what: "formatting (cargo fmt --check)", run: fmt },
    Step { id: "clippy", what: "clippy, all targets and features, warnings denied", run: clippy },
    Step { id: "test", what: "tests (nextest if installed, else cargo test)", run: test },
    Step { id: "doctest", what: "doc tests", run: doctest },
    Step { id: "doc", what: "rustdoc, warnings denied", run: doc },
    Step { id: "features", what: "the facade with no gateway, each gateway alone, and all", run: features },
    Step { id: "deny", what: "cargo-deny: licences, bans, sources", run: deny_policy },
    Step { id: "advisories", what: "cargo-deny: advisories, against the RustSec snapshot", run: advisories },
];

/// What every step needs to know.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) root: PathBuf,
    /// Cargo.lock is there (committed): build exactly it, and fail if a manifest disagrees.
    locked: bool,
    /// `cargo nextest` works: run tests with it, and doc tests separately (nextest runs none).
    nextest: bool,
    /// Whether cargo-deny is usable, found out (and installed) by the first step that needs it.
    deny: std::cell::OnceCell<DenyTool>,
    /// The empty `CARGO_HOME` cargo-deny runs on, made and fetched into by the first step that needs it.
    deny_home: std::cell::OnceCell<deny::FreshHome>,
}

impl Ctx {
    fn new() -> Result<Self> {
        let root = util::workspace_root()?;
        let locked = root.join("Cargo.lock").is_file();
        let nextest = util::output(util::cargo().args(["nextest", "--version"]))?.status.success();
        Ok(Self { root, locked, nextest, deny: std::cell::OnceCell::new(), deny_home: std::cell::OnceCell::new() })
    }

    /// `cargo <args>` in the workspace root, with backtraces on, `--locked` added where it applies.
    pub(crate) fn cargo(&self, args: &[&str]) -> Command {
        let mut cmd = util::cargo_in(&self.root, args);
        let resolves = !matches!(args.first(), Some(&"fmt" | &"deny" | &"install"));
        if self.locked && resolves {
            cmd.arg("--locked");
        }
        cmd
    }

    pub(crate) fn deny_tool(&self) -> &DenyTool {
        self.deny.get_or_init(|| deny::find_or_install(self))
    }

    pub(crate) fn deny_home(&self) -> Result<&deny::FreshHome> {
        if self.deny_home.get().is_none() {
            let home = deny::FreshHome::new(self)?;
            let _ = self.deny_home.set(home);
        }
        self.deny_home.get().ok_or_else(|| Error::new("the fresh CARGO_HOME vanished"))
    }
}

pub(crate) fn run(args: &[String]) -> Result {
    let selection = Selection::parse(args)?;
    if selection.list {
        for step in STEPS {
            println!("{:<12}{}", step.id, step.what);
        }
        return Ok(());
    }
    let steps: Vec<Step> = STEPS.iter().copied().filter(|step| selection.wants(step.id)).collect();
    if steps.is_empty() {
        return Err(Error::new("no step left to run"));
    }

    let ctx = Ctx::new()?;
    println!("workspace:   {}", ctx.root.display());
    println!("Cargo.lock:  {}", if ctx.locked { "present: building with --locked" } else { "absent" });
    println!("test runner: {}", if ctx.nextest { "cargo nextest" } else { "cargo test" });
    println!("every command runs with RUST_BACKTRACE=1");

    let total = Instant::now();
    let mut results: Vec<(Step, Status, Duration)> = Vec::new();
    let mut failure = None;
    for (index, step) in steps.iter().enumerate() {
        println!("\n==> {} ({}/{}): {}", step.id, index + 1, steps.len(), step.what);
        let start = Instant::now();
        let outcome = (step.run)(&ctx);
        let elapsed = start.elapsed();
        match outcome {
            Ok(outcome) => {
                match &outcome {
                    Outcome::Passed => println!("--> {} passed in {}", step.id, util::human(elapsed)),
                    Outcome::Skipped(reason) => println!("--> {} skipped: {reason}", step.id),
                }
                results.push((*step, Status::Done(outcome), elapsed));
            }
            Err(err) => {
                println!("--> {} FAILED after {}", step.id, util::human(elapsed));
                results.push((*step, Status::Failed, elapsed));
                failure = Some((step.id, err));
                break;
            }
        }
    }
    for step in steps.iter().skip(results.len()) {
        results.push((*step, Status::NotRun, Duration::ZERO));
    }

    summary(&results, total.elapsed());
    match failure {
        None => Ok(()),
        Some((id, err)) => Err(Error::new(format!("ci step `{id}` failed: {err}"))),
    }
}

#[derive(Debug)]
enum Status {
    Done(Outcome),
    Failed,
    NotRun,
}

fn summary(results: &[(Step, Status, Duration)], total: Duration) {
    println!("\n==> summary");
    println!("  {:<12} {:<8} {:>9}", "step", "result", "time");
    for (step, status, elapsed) in results {
        let (label, note) = match status {
            Status::Done(Outcome::Passed) => ("ok", String::new()),
            Status::Done(Outcome::Skipped(reason)) => ("skipped", format!("  ({reason})")),
            Status::Failed => ("FAILED", String::new()),
            Status::NotRun => ("not run", String::new()),
        };
        let time = if matches!(status, Status::NotRun) { "-".to_owned() } else { util::human(*elapsed) };
        println!("  {:<12} {label:<8} {time:>9}{note}", step.id);
    }
    println!("  {:<12} {:<8} {:>9}", "total", "", util::human(total));
}

/// `--only` / `--skip` / `--list`.
#[derive(Debug, Default)]
struct Selection {
    only: Vec<String>,
    skip: Vec<String>,
    list: bool,
}

impl Selection {
    fn parse(args: &[String]) -> Result<Self> {
        let mut selection = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            let target = match flag {
                "--only" => &mut selection.only,
                "--skip" => &mut selection.skip,
                "--list" if inline.is_none() => {
                    selection.list = true;
                    continue;
                }
                _ => return Err(Error::new(format!("unknown option `{arg}` for `ci`; run `cargo xtask help`"))),
            };
            let value = match inline {
                Some(value) => value,
                None => args.next().cloned().ok_or_else(|| Error::new(format!("`{flag}` needs a step name")))?,
            };
            for id in value.split(',').map(str::trim).filter(|id| !id.is_empty()) {
                if !STEPS.iter().any(|step| step.id == id) {
                    let known: Vec<&str> = STEPS.iter().map(|step| step.id).collect();
                    return Err(Error::new(format!("unknown step `{id}`; steps: {}", known.join(", "))));
                }
                target.push(id.to_owned());
            }
        }
        if !selection.only.is_empty() && !selection.skip.is_empty() {
            return Err(Error::new("use `--only` or `--skip`, not both"));
        }
        Ok(selection)
    }

    fn wants(&self, id: &str) -> bool {
        let listed = |ids: &[String]| ids.iter().any(|other| other == id);
        if self.only.is_empty() { !listed(&self.skip) } else { listed(&self.only) }
    }
}

fn fmt(ctx: &Ctx) -> Result<Outcome> {
    util::run(&mut ctx.cargo(&["fmt", "--all", "--check"]))?;
    Ok(Outcome::Passed)
}

fn clippy(ctx: &Ctx) -> Result<Outcome> {
    util::run(ctx.cargo(&["clippy", "--workspace", "--all-targets", "--all-features"]).args(["--", "-D", "warnings"]))?;
    Ok(Outcome::Passed)
}

fn test(ctx: &Ctx) -> Result<Outcome> {
    let runner: &[&str] = if ctx.nextest { &["nextest", "run"] } else { &["test"] };
    let mut cmd = ctx.cargo(runner);
    cmd.args(["--workspace", "--all-features", "--no-fail-fast"]);
    util::run(&mut cmd)?;
    Ok(Outcome::Passed)
}

fn doctest(ctx: &Ctx) -> Result<Outcome> {
    if !ctx.nextest {
        return Ok(Outcome::Skipped("`cargo test` in the test step ran them".to_owned()));
    }
    util::run(&mut ctx.cargo(&["test", "--workspace", "--all-features", "--doc"]))?;
    Ok(Outcome::Passed)
}

fn doc(ctx: &Ctx) -> Result<Outcome> {
    let mut cmd = ctx.cargo(&["doc", "--workspace", "--all-features", "--no-deps"]);
    cmd.env("RUSTDOCFLAGS", "-D warnings");
    util::run(&mut cmd)?;
    Ok(Outcome::Passed)
}

/// The facade with no gateway, each gateway alone and `full`: first the dependency trees (quick,
/// and the point of per-gateway features), then a `cargo check` of each.
fn features(ctx: &Ctx) -> Result<Outcome> {
    let manifest_path = ctx.root.join(FACADE_MANIFEST);
    let manifest =
        std::fs::read_to_string(&manifest_path).context(|| format!("cannot read {}", manifest_path.display()))?;
    let all = feature_names(&manifest);
    let gateways: Vec<&str> =
        all.iter().map(String::as_str).filter(|feature| !NOT_GATEWAYS.contains(feature)).collect();
    println!("gateway features in {FACADE_MANIFEST}: {}", gateways.join(", "));
    for (feature, _) in FORBIDDEN_WITH_FEATURE {
        if !all.iter().any(|known| known == feature) {
            println!("warning: FORBIDDEN_WITH_FEATURE in xtask/src/ci.rs names `{feature}`, not a feature of {FACADE}");
        }
    }

    // None, each gateway, then `full` (if there is one): `None` means `--no-default-features` alone.
    let mut builds: Vec<Option<&str>> = vec![None];
    builds.extend(gateways.iter().map(|gateway| Some(*gateway)));
    if all.iter().any(|feature| feature == "full") {
        builds.push(Some("full"));
    }

    let mut problems = Vec::new();
    for build in &builds {
        let mut cmd = ctx.cargo(&["tree", "-p", FACADE, "--no-default-features"]);
        if let Some(feature) = build {
            cmd.args(["--features", feature]);
        }
        // The host's platform only: what we build for. `--target all` would download every
        // Windows, macOS and wasm crate of the tree to resolve it.
        cmd.args(["-e", "normal", "--prefix", "none"]);
        println!("$ {}", util::display(&cmd));
        let tree = util::capture(&mut cmd)?;
        let present = crate_names(&tree);
        let label = build.map_or_else(|| "no feature".to_owned(), |feature| format!("feature `{feature}`"));
        let mut clean = true;
        for krate in forbidden(*build) {
            if present.contains(krate) {
                clean = false;
                let features = build.map_or_else(String::new, |feature| format!(" --features {feature}"));
                problems.push(format!(
                    "{FACADE} with {label} depends on `{krate}`, which it must not \
                     (see why: cargo tree -p {FACADE} --no-default-features{features} -e normal -i {krate})"
                ));
            }
        }
        if clean {
            println!("    {label}: {} crates, none forbidden", present.len());
        }
    }
    if !problems.is_empty() {
        return Err(Error::new(format!("forbidden dependencies:\n  {}", problems.join("\n  "))));
    }

    for build in &builds {
        let mut cmd = ctx.cargo(&["check", "-p", FACADE, "--no-default-features"]);
        if let Some(feature) = build {
            cmd.args(["--features", feature]);
        }
        util::run(&mut cmd)?;
    }
    Ok(Outcome::Passed)
}

fn deny_policy(ctx: &Ctx) -> Result<Outcome> {
    deny::check_policy(ctx)
}

fn advisories(ctx: &Ctx) -> Result<Outcome> {
    deny::check_advisories(ctx)
}

/// The crates forbidden in the facade built with `build` (`None`: no feature at all).
fn forbidden(build: Option<&str>) -> impl Iterator<Item = &'static str> + '_ {
    let extra = FORBIDDEN_WITH_FEATURE.iter().filter(move |(feature, _)| Some(*feature) == build);
    FORBIDDEN_ALWAYS.iter().chain(extra.flat_map(|(_, crates)| crates.iter())).copied()
}

/// The keys of a manifest's `[features]` table, read without a TOML parser: a key starts a line at
/// the table's top level; lines inside a multi-line array are told apart by counting brackets.
fn feature_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_features = false;
    let mut depth: usize = 0;
    for raw in manifest.lines() {
        let (line, opened, closed) = code_of(raw);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if depth == 0 && line.starts_with('[') {
            in_features = line == "[features]";
            continue;
        }
        if depth == 0
            && in_features
            && let Some((key, _)) = line.split_once('=')
        {
            let key = key.trim().trim_matches('"');
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c)) {
                names.push(key.to_owned());
            }
        }
        depth = (depth + opened).saturating_sub(closed);
    }
    names
}

/// A TOML line without its comment, and how many brackets it opens and closes, outside strings.
fn code_of(line: &str) -> (&str, usize, usize) {
    let (mut opened, mut closed) = (0, 0);
    let mut quote = None;
    let mut escaped = false;
    for (at, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' => return (&line[..at], opened, closed),
                '[' => opened += 1,
                ']' => closed += 1,
                _ => {}
            },
        }
    }
    (line, opened, closed)
}

/// The crate names in `cargo tree --prefix none` output (`name v1.2.3 (...)` per line).
fn crate_names(tree: &str) -> BTreeSet<&str> {
    tree.lines().filter_map(|line| line.split_whitespace().next()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_read_from_the_features_table_only() {
        let manifest = r##"
[package]
name = "gerbang"

[features]
default = []
## Cuan10pay: deposits.
cuan10pay = ["dep:gerbang-cuan10pay"]
sandbox = ["dep:gerbang-sandbox"]  # pulls in axum
full = [
    "cuan10pay",
    "cashin",
]
cashin = ["dep:gerbang-cashin", "gerbang-core/rsa"]
"crypto-invoice" = []

[package.metadata.x]
tags = ["#[not-a-table", "]"]
more = [
    "x",
]

[dependencies]
gerbang-core.workspace = true
"##;
        assert_eq!(feature_names(manifest), ["default", "cuan10pay", "sandbox", "full", "cashin", "crypto-invoice"]);
    }

    #[test]
    fn tree_lines_give_crate_names() {
        let tree = "gerbang v0.1.0 (/work/main/crates/gerbang)\nrsa v0.9.10\nopenssl-probe v0.1.6\n";
        let names = crate_names(tree);
        assert!(names.contains("rsa"));
        assert!(!names.contains("openssl"), "openssl-probe is not openssl");
    }

    #[test]
    fn only_and_skip_select_steps() {
        let args = |list: &[&str]| list.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>();
        let only = Selection::parse(&args(&["--only", "deny,advisories"])).unwrap();
        assert!(only.wants("deny") && only.wants("advisories") && !only.wants("fmt"));
        let skip = Selection::parse(&args(&["--skip=test", "--skip", "doctest"])).unwrap();
        assert!(!skip.wants("test") && !skip.wants("doctest") && skip.wants("clippy"));
        assert!(Selection::parse(&args(&["--only", "nope"])).is_err());
        assert!(Selection::parse(&args(&["--only", "fmt", "--skip", "doc"])).is_err());
    }

    #[test]
    fn rsa_is_forbidden_with_cash_in_and_every_other_build() {
        // Cash In's RSA runs on aws-lc-rs: the `rsa` crate (RUSTSEC-2023-0071) has no place in it.
        for build in [None, Some("cashin"), Some("cuan10pay"), Some("full")] {
            let crates: Vec<_> = forbidden(build).collect();
            assert!(crates.contains(&"rsa") && crates.contains(&"openssl"), "{build:?}: {crates:?}");
        }
        assert!(forbidden(Some("cashin")).any(|krate| krate == "axum"));
        assert!(!forbidden(None).any(|krate| krate == "axum"), "with no feature, only the always list");
    }

    #[test]
    fn every_forbidden_feature_entry_is_a_gateway() {
        for (feature, _) in FORBIDDEN_WITH_FEATURE {
            assert!(!NOT_GATEWAYS.contains(feature), "{feature}");
        }
    }
}
