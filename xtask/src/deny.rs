//! The cargo-deny steps of `cargo xtask ci`.
//!
//! CI has no network to GitHub, so the advisories check runs against the RustSec snapshot kept beside
//! the repository (`../shared/advisory-db/`, a plain directory). cargo-deny only reads an advisory
//! database from a *git* repository at `<db-path>/<name>-<hash of the db URL>`, so this step:
//!
//! 1. writes a copy of deny.toml into a temporary directory with `db-path` set to that directory;
//! 2. asks cargo-deny (with `--offline`, against the still empty directory) where it looks: it names
//!    the repository path it could not open (for cargo-deny 0.20 and RustSec's URL,
//!    `advisory-db-3157b0e258782691`, the fallback if the message ever changes);
//! 3. copies the snapshot there, `git init`s and commits it (dated as the snapshot);
//! 4. runs `cargo deny --offline --config <copy> check advisories`, which uses that repository as is.
//!
//! Both steps run cargo-deny with `CARGO_HOME` set to a new, empty directory into which
//! `cargo fetch --locked` has just downloaded the registry (about 6 s and 460 MB). cargo-deny
//! reads `cargo metadata`, which needs the manifest of every package in Cargo.lock, whatever the
//! platform, even though deny.toml's `graph.targets` then checks only ours: a fetch narrowed to
//! those targets left out `windows-sys` and friends, and passed only on machines whose registry
//! happened to hold them already. Starting from an empty registry every time makes CI prove that
//! the fetch is enough, instead of trusting what this machine's cache holds.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ci::{Ctx, Outcome};
use crate::util::{self, Context, Error, Result};

/// The cargo-deny CI installs when it has none (deny.toml is written for this version).
const DENY_VERSION: &str = "0.20.2";

/// Where cargo-deny 0.20 keeps `https://github.com/rustsec/advisory-db` under its `db-path`; used
/// only if the probe cannot read the name from cargo-deny's own message.
const FALLBACK_DB_DIR: &str = "advisory-db-3157b0e258782691";

/// Environment variable overriding the snapshot's location.
const SNAPSHOT_ENV: &str = "GERBANG_ADVISORY_DB_SNAPSHOT";

/// Git variables a hook may have set: they must not leak into the throwaway repository, nor into
/// cargo-deny's own `git` calls.
const GIT_ENV: &[&str] =
    &["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"];

/// Whether `cargo deny` can be run.
#[derive(Debug)]
pub(crate) enum DenyTool {
    Ready,
    /// Not installed and could not be: why, for the summary.
    Missing(String),
}

/// Finds cargo-deny, or installs it with `cargo install --locked`; never fails the build by itself.
pub(crate) fn find_or_install(ctx: &Ctx) -> DenyTool {
    if let Some(version) = deny_version(ctx) {
        println!("using {version}");
        return DenyTool::Ready;
    }
    println!("cargo-deny is not installed: installing {DENY_VERSION} (about two minutes)");
    let mut install = ctx.cargo(&["install", "--locked", "cargo-deny", "--version", DENY_VERSION]);
    if let Err(err) = util::run(&mut install) {
        return DenyTool::Missing(format!("cargo-deny is not installed and installing it failed: {err}"));
    }
    match deny_version(ctx) {
        Some(version) => {
            println!("installed {version}");
            DenyTool::Ready
        }
        None => DenyTool::Missing("cargo-deny was installed but `cargo deny --version` still fails".to_owned()),
    }
}

fn deny_version(ctx: &Ctx) -> Option<String> {
    let out = util::output(&mut ctx.cargo(&["deny", "--version"])).ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `cargo deny --offline check licenses bans sources`.
pub(crate) fn check_policy(ctx: &Ctx) -> Result<Outcome> {
    if let DenyTool::Missing(reason) = ctx.deny_tool() {
        return Ok(skipped(reason));
    }
    let mut cmd = deny(ctx)?;
    cmd.args(["--offline", "check", "--hide-inclusion-graph", "licenses", "bans", "sources"]);
    util::run(&mut cmd).map_err(with_graph_hint)?;
    Ok(Outcome::Passed)
}

/// A `CARGO_HOME` that held nothing before this run, with every package of Cargo.lock fetched
/// into it (see the module documentation), and where the real one keeps installed tools.
#[derive(Debug)]
pub(crate) struct FreshHome {
    dir: TempDir,
    tools: PathBuf,
}

impl FreshHome {
    /// Makes one and fetches into it: what cargo-deny reads, for every platform.
    pub(crate) fn new(ctx: &Ctx) -> Result<Self> {
        let tools = real_cargo_home()?.join("bin");
        let dir = TempDir::new("gerbang-xtask-cargo-home")?;
        println!("fetching Cargo.lock's packages into an empty CARGO_HOME ({})", dir.path.display());
        let home = Self { dir, tools };
        // Every platform's packages: `cargo metadata` reads them all. No `--target` here.
        let mut fetch = ctx.cargo(&["fetch"]);
        home.apply(&mut fetch)?;
        util::run(&mut fetch)?;
        Ok(home)
    }

    /// Runs `cmd` with this home, the real one's `bin` first on `PATH` so that `cargo deny` is found.
    fn apply(&self, cmd: &mut Command) -> Result {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let paths = std::iter::once(self.tools.clone()).chain(std::env::split_paths(&path));
        let path: OsString = std::env::join_paths(paths).context(|| "cannot build PATH".to_owned())?;
        cmd.env("CARGO_HOME", &self.dir.path).env("PATH", path);
        Ok(())
    }
}

/// `CARGO_HOME`, else `~/.cargo`: where `cargo install` put cargo-deny.
fn real_cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| Error::new("neither CARGO_HOME nor HOME is set"))?;
    Ok(PathBuf::from(home).join(".cargo"))
}

/// The advisories check against the snapshot (see the module documentation).
pub(crate) fn check_advisories(ctx: &Ctx) -> Result<Outcome> {
    if let DenyTool::Missing(reason) = ctx.deny_tool() {
        return Ok(skipped(reason));
    }
    let snapshot = match std::env::var_os(SNAPSHOT_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => ctx.root.parent().unwrap_or(&ctx.root).join("shared").join("advisory-db"),
    };
    if !snapshot.is_dir() {
        let reason = format!("no RustSec snapshot at {} (set {SNAPSHOT_ENV} to use another)", snapshot.display());
        // In CI the snapshot is part of the set-up: its absence is a failure, not a pass.
        if std::env::var_os("CI").is_some() {
            return Err(Error::new(reason));
        }
        return Ok(skipped(&reason));
    }
    let about = std::fs::read_to_string(snapshot.join("SNAPSHOT")).unwrap_or_default();
    println!("advisory database: {}", snapshot.display());
    if !about.trim().is_empty() {
        println!("    {}", about.trim());
    }

    let dbs = TempDir::new("gerbang-xtask-advisory-dbs")?;
    let config = dbs.path.join("deny.toml");
    let original_path = ctx.root.join("deny.toml");
    let original =
        std::fs::read_to_string(&original_path).context(|| format!("cannot read {}", original_path.display()))?;
    std::fs::write(&config, with_db_path(&original, &dbs.path)?)
        .context(|| format!("cannot write {}", config.display()))?;
    let config_arg = config.to_string_lossy().into_owned();

    // Where does cargo-deny look? Ask it, with nothing there yet.
    let mut probe = deny(ctx)?;
    probe.args(["--offline", "--config", &config_arg, "check", "advisories"]);
    let probe = util::output(&mut probe)?;
    let said = String::from_utf8_lossy(&probe.stderr);
    let name = db_dir_named_in(&said, &dbs.path).unwrap_or_else(|| {
        println!("cargo-deny did not name its database directory: assuming {FALLBACK_DB_DIR}");
        FALLBACK_DB_DIR.to_owned()
    });
    let repo = dbs.path.join(&name);
    println!("snapshot as git repository: {}", repo.display());
    copy_tree(&snapshot, &repo)?;
    commit_snapshot(&repo, snapshot_date(&about))?;

    let mut cmd = deny(ctx)?;
    cmd.args(["--offline", "--config", &config_arg, "check", "--hide-inclusion-graph", "advisories"]);
    util::run(&mut cmd).map_err(with_graph_hint)?;
    Ok(Outcome::Passed)
}

fn skipped(reason: &str) -> Outcome {
    println!("skipping: {reason}");
    Outcome::Skipped(reason.to_owned())
}

fn with_graph_hint(err: Error) -> Error {
    Error::new(format!("{err}\n  (drop `--hide-inclusion-graph` to see which crates pull each one in)"))
}

/// `cargo deny` in the workspace root, on the fresh `CARGO_HOME`, without inherited git variables.
fn deny(ctx: &Ctx) -> Result<Command> {
    let mut cmd = ctx.cargo(&["deny"]);
    ctx.deny_home()?.apply(&mut cmd)?;
    for var in GIT_ENV {
        cmd.env_remove(var);
    }
    Ok(cmd)
}

fn git_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir);
    for var in GIT_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// deny.toml with `db-path` in `[advisories]` replaced by (or set to) `dir`.
fn with_db_path(config: &str, dir: &Path) -> Result<String> {
    let dir = dir.to_string_lossy();
    if dir.contains('\'') {
        return Err(Error::new(format!("cannot put the path {dir} in a TOML literal string")));
    }
    let setting = format!("db-path = '{dir}'");
    let mut out = String::new();
    let mut in_advisories = false;
    let mut found = false;
    for line in config.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_advisories = trimmed == "[advisories]";
        }
        let key = trimmed.split('=').next().unwrap_or_default().trim();
        if in_advisories && (key == "db-path" || key == "\"db-path\"") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if in_advisories && trimmed == "[advisories]" {
            out.push_str(&setting);
            out.push('\n');
            found = true;
        }
    }
    if !found {
        out.push_str(&format!("\n[advisories]\n{setting}\n"));
    }
    Ok(out)
}

/// The directory name following `<dbs>/` in what cargo-deny printed, e.g. `advisory-db-3157b0e258782691`.
fn db_dir_named_in(output: &str, dbs: &Path) -> Option<String> {
    let prefix = format!("{}{}", dbs.to_string_lossy(), std::path::MAIN_SEPARATOR);
    let start = output.find(&prefix)? + prefix.len();
    let name: String = output[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '\'' | '"' | '`' | '/' | '\\' | ',' | ']' | ')'))
        .collect();
    (!name.is_empty() && name != "db.lock").then_some(name)
}

/// `2026-08-21` from the SNAPSHOT file ("... commit bf5c0d2... of 2026-08-21; ..."), if it says.
fn snapshot_date(about: &str) -> Option<String> {
    about
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | '(' | ')'))
        .find(|word| {
            let bytes = word.as_bytes();
            bytes.len() == 10
                && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
        })
        .map(str::to_owned)
}

/// Copies a directory tree (files and directories; a `.git` inside is left out).
fn copy_tree(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to).context(|| format!("cannot create {}", to.display()))?;
    for entry in std::fs::read_dir(from).context(|| format!("cannot list {}", from.display()))? {
        let entry = entry.context(|| format!("cannot list {}", from.display()))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().context(|| format!("cannot stat {}", source.display()))?;
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                copy_tree(&source, &target)?;
            }
        } else {
            std::fs::copy(&source, &target)
                .context(|| format!("cannot copy {} to {}", source.display(), target.display()))?;
        }
    }
    Ok(())
}

/// `git init` + one commit of everything, dated as the snapshot so that cargo-deny sees its real age.
fn commit_snapshot(repo: &Path, date: Option<String>) -> Result {
    let quiet = |args: &[&str]| -> Result {
        let mut cmd = git_cmd(repo);
        cmd.args([
            "-c",
            "user.name=gerbang xtask",
            "-c",
            "user.email=xtask@gerbang.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "init.defaultBranch=main",
        ]);
        cmd.args(args);
        if let Some(date) = &date {
            cmd.env("GIT_AUTHOR_DATE", format!("{date}T00:00:00Z"));
            cmd.env("GIT_COMMITTER_DATE", format!("{date}T00:00:00Z"));
        }
        let out = util::output(&mut cmd)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::new(format!(
                "`{}` failed in {}: {}",
                util::display(&cmd),
                repo.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    };
    quiet(&["init", "-q"])?;
    quiet(&["add", "-A"])?;
    quiet(&["commit", "-q", "--no-verify", "-m", "RustSec advisory-db snapshot"])
}

/// A directory under the system temp dir, removed when dropped.
#[derive(Debug)]
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(prefix: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).context(|| format!("cannot remove {}", path.display()))?;
        }
        std::fs::create_dir_all(&path).context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover in the temp dir is harmless, and the next run with this pid clears it.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_path_is_set_in_the_advisories_table() {
        let config = "[graph]\nall-features = true\n\n[advisories]\ndb-path = \"~/x\"\nyanked = \"warn\"\n\n[bans]\n";
        let out = with_db_path(config, Path::new("/tmp/dbs")).unwrap();
        assert_eq!(
            out,
            "[graph]\nall-features = true\n\n[advisories]\ndb-path = '/tmp/dbs'\nyanked = \"warn\"\n\n[bans]\n"
        );
        let out = with_db_path("[bans]\n", Path::new("/tmp/dbs")).unwrap();
        assert!(out.ends_with("\n[advisories]\ndb-path = '/tmp/dbs'\n"));
    }

    #[test]
    fn database_directory_is_read_from_cargo_deny_error() {
        let said = "2026-11-21 09:25:26 [ERROR] failed to get 'FETCH_HEAD' metadata: failed to get HEAD \
                    timestamp: [\"-C\", \"/tmp/dbs/advisory-db-3157b0e258782691\", \"show\", \"-s\"]";
        assert_eq!(db_dir_named_in(said, Path::new("/tmp/dbs")).as_deref(), Some("advisory-db-3157b0e258782691"));
        assert_eq!(db_dir_named_in("nothing here", Path::new("/tmp/dbs")), None);
    }

    #[test]
    fn snapshot_date_is_found() {
        let about = "snapshot of the RustSec advisory database (CC0-1.0), commit bf5c0d2 of 2026-08-21; refreshed";
        assert_eq!(snapshot_date(about).as_deref(), Some("2026-08-21"));
        assert_eq!(snapshot_date("no date"), None);
    }
}
