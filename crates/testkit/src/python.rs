//! A private Python virtual environment with a few PyPI packages, for tests that check what we
//! send with another project's own library (the official `standardwebhooks` verifier, say).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::local;

/// A virtual environment made by `python3 -m venv` with packages installed by its pip, kept
/// under the build's target directory (`target/<profile>/python-venvs/<name>`) and reused by
/// later runs while it holds the same packages.
#[derive(Debug, Clone)]
pub struct PythonVenv {
    dir: PathBuf,
}

impl PythonVenv {
    /// The environment `name` holding exactly `packages` (pip requirement specifiers, e.g.
    /// `standardwebhooks==1.3.0`): the cached one, or one made now (python3 -m venv, then pip
    /// install: it needs PyPI, or pip's configured index). `None` (after saying why on stderr)
    /// when it cannot be made, so that the calling test skips:
    /// `let Some(python) = PythonVenv::with(…) else { return };`.
    ///
    /// # Panics
    ///
    /// When it cannot be made and `CI` is `true` (a skipped test must not pass in CI).
    pub fn with(name: &str, packages: &[&str]) -> Option<Self> {
        let dir = venvs_dir().join(name);
        let wanted = packages.join("\n");
        let marker = dir.join("gerbang-packages.txt");
        if std::fs::read_to_string(&marker).is_ok_and(|had| had == wanted) && dir.join("bin/python").exists() {
            return Some(Self { dir });
        }
        match make(&dir, packages, &wanted) {
            Ok(()) => Some(Self { dir }),
            Err(why) => {
                local::unavailable(
                    &format!("a Python virtual environment with {}", packages.join(", ")),
                    &why,
                    "install python3 with its venv module (`apt-get install -y python3-venv` on Debian/Ubuntu) and \
                     let pip reach PyPI",
                );
                None
            }
        }
    }

    /// The environment's interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin/python")
    }

    /// A command running the environment's interpreter.
    pub fn command(&self) -> Command {
        Command::new(self.python())
    }
}

/// `target/<profile>/python-venvs`: beside the test binaries (`target/<profile>/deps/…`), so
/// that `cargo clean` removes it and a rebuild keeps it.
fn venvs_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("target/debug/deps/test"));
    let profile = exe.parent().and_then(Path::parent).map_or_else(std::env::temp_dir, Path::to_path_buf);
    profile.join("python-venvs")
}

/// Makes the environment in a directory of its own, then moves it into place: a run killed
/// halfway, or another test process making the same one, never leaves a broken one where it is
/// looked for. (A venv's interpreter finds its packages from its own path, so the move keeps
/// it working.)
fn make(dir: &Path, packages: &[&str], wanted: &str) -> Result<(), String> {
    let parent = dir.parent().ok_or("the target directory has no parent")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let building =
        parent.join(format!(".{}-{}", dir.file_name().and_then(|n| n.to_str()).unwrap_or("venv"), std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    run(Command::new("python3").args(["-m", "venv"]).arg(&building), "python3 -m venv")?;
    let python = building.join("bin/python");
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"])
            .args(packages),
        "pip install",
    )?;
    std::fs::write(building.join("gerbang-packages.txt"), wanted).map_err(|e| format!("cannot write: {e}"))?;
    let _ = std::fs::remove_dir_all(dir);
    match std::fs::rename(&building, dir) {
        Ok(()) => Ok(()),
        // Another process moved its own in first: that one serves.
        Err(_) if dir.join("gerbang-packages.txt").exists() => {
            let _ = std::fs::remove_dir_all(&building);
            Ok(())
        }
        Err(e) => Err(format!("cannot move the environment into {}: {e}", dir.display())),
    }
}

/// Runs `command` to its end; its output only in the error.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command.stdin(Stdio::null()).output().map_err(|e| format!("{what} could not be run ({e})"))?;
    if output.status.success() {
        return Ok(());
    }
    let mut said = String::from_utf8_lossy(&output.stderr).into_owned();
    said.push_str(&String::from_utf8_lossy(&output.stdout));
    let tail: String = said.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
    Err(format!("{what} failed ({}): {tail}", output.status))
}
