//! Errors, running commands, finding the workspace.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// What went wrong, for a human: every failure in xtask ends as one line on stderr.
#[derive(Debug)]
pub(crate) struct Error(String);

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub(crate) type Result<T = ()> = std::result::Result<T, Error>;

/// Adds what was being done to an I/O error.
pub(crate) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|err| Error(format!("{}: {err}", what())))
    }
}

/// The `cargo` that runs us (cargo sets `CARGO` for `cargo run`), so nested builds use the same
/// toolchain; plain `cargo` otherwise.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `cargo <args>` run in `dir`, with backtraces on for whatever panics in it.
pub(crate) fn cargo_in(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.current_dir(dir).env("RUST_BACKTRACE", "1").args(args);
    cmd
}

/// The workspace root: the parent of xtask's manifest directory (cargo sets `CARGO_MANIFEST_DIR`
/// for `cargo run`), or what `cargo locate-project --workspace` says when run some other way.
pub(crate) fn workspace_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        let xtask_dir = PathBuf::from(dir);
        if let Some(root) = xtask_dir.parent()
            && root.join("Cargo.toml").is_file()
            && xtask_dir.file_name() == Some(OsStr::new("xtask"))
        {
            return Ok(root.to_path_buf());
        }
    }
    let out = capture(cargo().args(["locate-project", "--workspace", "--message-format", "plain"]))?;
    let manifest = PathBuf::from(out.trim());
    manifest
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::new(format!("cannot find the workspace root from `{}`", manifest.display())))
}

/// `cargo clippy --workspace ...` as a human would type it.
pub(crate) fn display(cmd: &Command) -> String {
    let mut line = String::new();
    for (key, value) in cmd.get_envs() {
        // Set on every command, and said once at the start: repeating it is noise.
        if key == "RUST_BACKTRACE" {
            continue;
        }
        if let Some(value) = value {
            line.push_str(&format!("{}={} ", key.to_string_lossy(), quoted(&value.to_string_lossy())));
        }
    }
    let program = Path::new(cmd.get_program());
    // `/home/me/.rustup/toolchains/.../bin/cargo` is noise: show `cargo`.
    let name = program.file_name().unwrap_or(program.as_os_str());
    line.push_str(&name.to_string_lossy());
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&quoted(&arg.to_string_lossy()));
    }
    line
}

fn quoted(word: &str) -> String {
    if word.is_empty() || word.contains(char::is_whitespace) { format!("'{word}'") } else { word.to_owned() }
}

/// Runs a command with inherited stdio, echoing it first; an error if it cannot start or fails.
pub(crate) fn run(cmd: &mut Command) -> Result {
    let line = display(cmd);
    println!("$ {line}");
    let status = cmd.status().context(|| format!("cannot run `{line}`"))?;
    if status.success() { Ok(()) } else { Err(Error(format!("`{line}` failed ({status})"))) }
}

/// Runs a command and returns its stdout; stderr goes to the terminal. An error if it fails.
pub(crate) fn capture(cmd: &mut Command) -> Result<String> {
    let line = display(cmd);
    let out = cmd.stderr(Stdio::inherit()).output().context(|| format!("cannot run `{line}`"))?;
    if !out.status.success() {
        return Err(Error(format!("`{line}` failed ({})", out.status)));
    }
    String::from_utf8(out.stdout).context(|| format!("`{line}` printed something that is not UTF-8"))
}

/// Runs a command quietly, keeping everything it printed; only an error if it cannot start.
pub(crate) fn output(cmd: &mut Command) -> Result<Output> {
    let line = display(cmd);
    cmd.stdin(Stdio::null()).output().context(|| format!("cannot run `{line}`"))
}

/// `3.2s`, `1m 04.5s`.
pub(crate) fn human(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let minutes = (secs / 60.0).floor();
        format!("{minutes:.0}m {:04.1}s", secs - minutes * 60.0)
    }
}

/// The workspace members' directories under `crates/`, sorted.
pub(crate) fn crate_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let crates = root.join("crates");
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(&crates).context(|| format!("cannot list {}", crates.display()))? {
        let path = entry.context(|| format!("cannot list {}", crates.display()))?.path();
        if path.join("Cargo.toml").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// The `name` of a manifest's `[package]` table, read without a TOML parser: our manifests keep
/// `name = "..."` on one line, as `cargo new` writes it.
pub(crate) fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "name"
        {
            return Some(value.trim().trim_matches('"').to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(3_240)), "3.2s");
        assert_eq!(human(Duration::from_millis(64_500)), "1m 04.5s");
        assert_eq!(human(Duration::from_secs(600)), "10m 00.0s");
    }

    #[test]
    fn package_name_is_read_from_the_package_table() {
        let manifest = "[package]\nname = \"gerbang-core\"\nversion.workspace = true\n\n[dependencies]\nname = 1\n";
        assert_eq!(package_name(manifest).as_deref(), Some("gerbang-core"));
        assert_eq!(package_name("[dependencies]\nname = \"x\"\n"), None);
    }

    #[test]
    fn commands_are_displayed_as_typed() {
        let mut cmd = Command::new("/usr/bin/cargo");
        cmd.args(["doc", "--no-deps", "a b"]).env("RUSTDOCFLAGS", "-D warnings").env("RUST_BACKTRACE", "1");
        assert_eq!(display(&cmd), "RUSTDOCFLAGS='-D warnings' cargo doc --no-deps 'a b'");
    }
}
