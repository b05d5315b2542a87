//! A private `chromedriver` for one browser test, driving Debian's headless Chromium: its own
//! loopback port and its own empty profile, stopped (with any browser it started) when dropped.
//! The WebDriver client is the test's own (the sandbox's browser test uses `fantoccini`): this
//! helper only runs the processes and says how to reach them, so that no crate using the testkit
//! builds a WebDriver client it does not need.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::{RedisServer, local};

/// How long a fresh chromedriver has to say it is ready (it does within about 100 ms).
const STARTUP: Duration = Duration::from_secs(15);

/// The flags Chromium runs with: headless and, as root in a container, without its sandbox, GPU
/// or `/dev/shm`; without the background networking (updates, sync, safe browsing, QUIC) that a
/// closed network refuses, many connections at a time; and at a fixed size, so that screenshots
/// are alike from run to run.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--window-size=1280,900",
];

/// A `chromedriver` started for one test, on a free loopback port, for Debian's `chromium`. Its
/// log and the browser's profile live in a temp dir of its own. Dropping it stops chromedriver
/// and any browser still running on that profile (a test that panicked before closing its
/// session), and removes the dir.
///
/// ```no_run
/// use gerbang_testkit::Chromium;
///
/// let Some(chromium) = Chromium::start() else { return };
/// let url = chromium.webdriver_url(); // http://127.0.0.1:PORT
/// let capabilities = chromium.capabilities(); // for the WebDriver client's new session
/// # let _ = (url, capabilities);
/// ```
#[derive(Debug)]
pub struct Chromium {
    driver: Child,
    port: u16,
    browser: PathBuf,
    dir: PathBuf,
}

impl Chromium {
    /// Starts a private chromedriver, or returns `None` (after saying why on stderr) when
    /// `chromium` or `chromedriver` is not installed, so that the calling test skips:
    /// `let Some(chromium) = Chromium::start() else { return };`.
    ///
    /// # Panics
    ///
    /// When either is missing and `CI` is `true` (a skipped test must not pass in CI); when
    /// chromedriver is installed but does not start or say it is ready within 15 s (the panic
    /// shows its log).
    pub fn start() -> Option<Self> {
        let browser = ["chromium", "chromium-browser"].iter().find_map(|name| on_path(name));
        let driver = on_path("chromedriver");
        let (Some(browser), Some(driver)) = (browser, driver) else {
            local::unavailable(
                "chromium and chromedriver",
                "they are not installed (not on PATH)",
                "install them with `apt-get install -y chromium chromium-driver` (Debian/Ubuntu)",
            );
            return None;
        };
        Some(local::start_on_a_free_port("chromedriver", || Self::try_start(&driver, &browser)))
    }

    /// `http://127.0.0.1:PORT`: where the WebDriver client connects.
    pub fn webdriver_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The capabilities of a new session: Chromium at its path, [`CHROMIUM_FLAGS`], and this
    /// helper's own empty profile.
    pub fn capabilities(&self) -> Map<String, Value> {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", self.profile().display()));
        let options = json!({ "binary": self.browser.display().to_string(), "args": args });
        let mut capabilities = Map::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        capabilities
    }

    fn profile(&self) -> PathBuf {
        self.dir.join("profile")
    }

    fn try_start(driver: &Path, browser: &Path) -> Result<Self, String> {
        let port = RedisServer::free_port();
        let dir = local::temp_dir("chromium", port);
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile).unwrap_or_else(|e| panic!("cannot create {}: {e}", profile.display()));
        let log_path = dir.join("chromedriver.log");
        let (log, log_err) = local::log_file(&log_path);
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", driver.display()));
        let mut started = Self { driver: child, port, browser: browser.to_owned(), dir };
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if ready(port) {
                return Ok(started);
            }
            if let Ok(Some(status)) = started.driver.try_wait() {
                return Err(format!("(exited with {status})\n{}", read_log(&log_path)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = read_log(&log_path);
        drop(started);
        panic!("chromedriver on port {port} was not ready within {STARTUP:?}; its log:\n{log}");
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        kill_browsers_of(&self.profile());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Kills the browser processes started on `profile`, by their pids: those whose command line
/// names it. Only they carry this helper's own temp dir, so nothing else is touched. Linux only
/// (`/proc`); elsewhere chromedriver's own clean-up is relied on.
fn kill_browsers_of(profile: &Path) {
    let needle = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if cmdline.split(|b| *b == 0).any(|arg| arg == needle.as_bytes()) {
            let _ = Command::new("kill").args(["-KILL", pid]).stderr(Stdio::null()).status();
        }
    }
}

/// The first `name` on `PATH` that runs `--version` successfully.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file() && local::runs(candidate))
}

/// Whether chromedriver on `port` answers `GET /status` with `"ready": true` (HTTP/1.1 by hand:
/// no client needed; chromedriver answers nothing to HTTP/1.0).
fn ready(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
    let request = format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let mut chunk = [0_u8; 1024];
    // The answer is small; stop at its end, or when it stops coming.
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        answer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&answer);
        if text.contains("\"ready\":true") || text.contains("\"ready\": true") {
            return true;
        }
    }
    false
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_says_it_is_ready_and_is_gone_when_dropped() {
        let Some(chromium) = Chromium::start() else { return };
        let port = chromium.port;
        assert!(ready(port));
        let capabilities = chromium.capabilities();
        let args = capabilities["goog:chromeOptions"]["args"].as_array().unwrap();
        assert!(args.iter().any(|a| a == "--headless=new"));
        assert!(args.iter().any(|a| a.as_str().is_some_and(|a| a.starts_with("--user-data-dir="))));
        let dir = chromium.dir.clone();
        drop(chromium);
        assert!(!ready(port), "chromedriver must be stopped on drop");
        assert!(!dir.exists(), "its temp dir must be removed");
    }
}
