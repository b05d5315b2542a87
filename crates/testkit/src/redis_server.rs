//! A private `redis-server` for one test: its own loopback port, no persistence, killed when
//! dropped.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::local;

/// How long a fresh server has to answer `PING` (it answers within about 10 ms).
const STARTUP: Duration = Duration::from_secs(10);

/// A `redis-server` started for one test, on a free loopback port, with nothing saved to disk.
/// Its output goes to `redis.log` in a temp dir of its own (never to the test's stdout/stderr:
/// a runner capturing output would wait on it forever). Dropping it kills and reaps the process
/// and removes the dir.
///
/// ```no_run
/// # async fn test() {
/// use gerbang_testkit::RedisServer;
///
/// let Some(redis) = RedisServer::start() else { return };
/// let url = redis.url(); // redis://127.0.0.1:PORT/0
/// # let _ = url;
/// # }
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
    /// Whether it speaks TLS only ([`start_tls`](Self::start_tls)).
    tls: bool,
}

impl RedisServer {
    /// Starts a private server, or returns `None` (after saying why on stderr) when
    /// `redis-server` is not installed, so that the calling test skips:
    /// `let Some(redis) = RedisServer::start() else { return };`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is missing and `CI` is `true` (a skipped test must not pass in CI);
    /// when it is installed but does not start or answer `PING` within 10 s (the panic names
    /// its log).
    pub fn start() -> Option<Self> {
        Self::start_with(None)
    }

    /// Starts a private server that speaks TLS only, with `cert` (and its key), or `None` as
    /// [`start`](Self::start) does. Clients are not asked for a certificate. Its
    /// [`url`](Self::url) is `rediss://127.0.0.1:PORT/0`.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_tls(cert: &crate::ServerCert) -> Option<Self> {
        Self::start_with(Some(cert))
    }

    /// [`start`](Self::start), speaking TLS only when given a certificate.
    fn start_with(cert: Option<&crate::ServerCert>) -> Option<Self> {
        if !local::runs("redis-server") {
            local::unavailable(
                "redis-server",
                "it is not installed (not on PATH)",
                "install it with `apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis`",
            );
            return None;
        }
        Some(local::start_on_a_free_port("redis-server", || Self::try_start(cert)))
    }

    /// `redis://127.0.0.1:PORT/0` (`rediss://` for a [TLS](Self::start_tls) server).
    pub fn url(&self) -> String {
        self.url_for("127.0.0.1")
    }

    /// The URL with `host` in place of `127.0.0.1` (`localhost`, or a name the certificate does
    /// not hold).
    pub fn url_for(&self, host: &str) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://{host}:{}/0", self.port)
    }

    /// The port it listens on (loopback only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A loopback port nobody listens on now (the OS picks it): for a URL that must fail.
    pub fn free_port() -> u16 {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap_or_else(|e| panic!("cannot bind loopback: {e}"));
        listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("no local address: {e}"))
    }

    /// Stops the server now (killed, as a crash would), keeping its port and dir for
    /// [`restart`](Self::restart): for a test of what a client does while Redis is down.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port, empty (nothing is saved), after
    /// [`stop`](Self::stop).
    ///
    /// # Panics
    ///
    /// When it does not answer `PING` within 10 s (the port was taken meanwhile, say).
    pub fn restart(&mut self) {
        self.stop();
        self.child = Self::spawn(self.port, &self.dir, self.tls);
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if ready(self.port, self.tls) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "redis-server did not restart on port {}; its log:\n{}",
            self.port,
            read_log(&self.dir.join("redis.log"))
        );
    }

    /// With `tls`, its certificate and key are `server.pem` and `server.key` in `dir`.
    fn spawn(port: u16, dir: &Path, tls: bool) -> Child {
        let (log, log_err) = local::log_file(&dir.join("redis.log"));
        let mut command = Command::new("redis-server");
        if tls {
            let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
            command.args(["--port", "0", "--tls-port", &port.to_string()]);
            command.arg("--tls-cert-file").arg(&cert).arg("--tls-key-file").arg(&key);
            // Redis wants a CA file even when it asks clients for no certificate.
            command.arg("--tls-ca-cert-file").arg(&cert).args(["--tls-auth-clients", "no"]);
        } else {
            command.args(["--port", &port.to_string()]);
        }
        command
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run redis-server: {e}"))
    }

    /// Starts one server; on failure kills it and returns its log.
    fn try_start(cert: Option<&crate::ServerCert>) -> Result<Self, String> {
        let port = Self::free_port();
        let dir = local::temp_dir("redis", port);
        let log_path = dir.join("redis.log");
        if let Some(cert) = cert {
            for (name, text) in [("server.pem", &cert.cert_pem), ("server.key", &cert.key_pem)] {
                std::fs::write(dir.join(name), text)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", dir.join(name).display()));
            }
        }
        let tls = cert.is_some();
        let child = Self::spawn(port, &dir, tls);
        let mut server = Self { child, port, dir, tls };
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if ready(port, tls) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("(exited with {status})\n{}", read_log(&log_path)));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let log = read_log(&log_path);
        drop(server);
        panic!("redis-server on port {port} did not answer PING within {STARTUP:?}; its log:\n{log}");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Already exited is fine; either way, reap it so that no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the server on `port` is up: it answers `PING`, or for TLS (which this check does not
/// speak) it accepts connections (redis-server listens once it is ready).
fn ready(port: u16, tls: bool) -> bool {
    if !tls {
        return answers_ping(port);
    }
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Whether a server on `port` answers `PING` with `+PONG` (an inline command; no client needed).
pub(crate) fn answers_ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0_u8; 7];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}

pub(crate) fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_is_gone_when_dropped() {
        let Some(redis) = RedisServer::start() else { return };
        let port = redis.port();
        assert!(answers_ping(port));
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}/0"));
        let dir = redis.dir.clone();
        drop(redis);
        assert!(!answers_ping(port), "the server must be killed on drop");
        assert!(!dir.exists(), "its temp dir must be removed");
    }
}
