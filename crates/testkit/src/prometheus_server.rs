//! A private Prometheus for one test: its own loopback port, its own scrape config and storage,
//! killed when dropped.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{RedisServer, local};

/// How long a fresh server has to answer `GET /-/ready` (it does within about 0.2 s).
const STARTUP: Duration = Duration::from_secs(15);

/// A `prometheus` (Debian's package, 2.x) started for one test on a free loopback port, scraping
/// the given targets' `/metrics` every second. Its storage and log live in a temp dir of its own,
/// removed with it; dropping it kills and reaps the process.
///
/// Prometheus hands its targets to the scraper at most every 5 s, the first time too: the first
/// scrape comes about 5 to 6 s after the start. Start it first, do the test's work meanwhile,
/// then [`query_until`](Self::query_until) the series show what is expected.
///
/// ```no_run
/// use gerbang_testkit::PrometheusServer;
///
/// let Some(prometheus) = PrometheusServer::start(&["127.0.0.1:8080".to_owned()]) else { return };
/// let series = prometheus.query("gerbang_webhook_deliveries_total").unwrap();
/// # let _ = series;
/// ```
#[derive(Debug)]
pub struct PrometheusServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl PrometheusServer {
    /// Starts a private server scraping `targets` (`host:port`, path `/metrics`) every second,
    /// or returns `None` (after saying why on stderr) when `prometheus` is not installed, so that
    /// the calling test skips.
    ///
    /// # Panics
    ///
    /// When `prometheus` is missing and `CI` is `true` (a skipped test must not pass in CI);
    /// when it is installed but is not ready within 15 s (the panic quotes its log).
    pub fn start(targets: &[String]) -> Option<Self> {
        if !local::runs("prometheus") {
            local::unavailable(
                "prometheus",
                "it is not installed (not on PATH)",
                "install it with `apt-get install -y prometheus` (Debian/Ubuntu) or `brew install prometheus`",
            );
            return None;
        }
        Some(local::start_on_a_free_port("prometheus", || Self::try_start(targets)))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The result of the instant query `promql` (`data.result` of `GET /api/v1/query`): for a
    /// vector, one object per series, with its `metric` labels and its `value` pair.
    ///
    /// # Errors
    ///
    /// The server's answer, when it is not a success.
    pub fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        let (status, body) = get(self.port, &format!("/api/v1/query?query={}", percent_encode(promql)))?;
        let answer: Value = serde_json::from_str(&body).map_err(|e| format!("{status}: {e}: {body}"))?;
        if status != 200 || answer["status"] != "success" {
            return Err(format!("{status}: {body}"));
        }
        Ok(answer["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// Queries `promql` until `done` accepts its result or `within` has passed; the last result.
    ///
    /// # Panics
    ///
    /// When a query fails.
    pub fn query_until(&self, promql: &str, within: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let result = self.query(promql).unwrap_or_else(|e| panic!("the query {promql} failed: {e}"));
            if done(&result) || Instant::now() >= deadline {
                return result;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The state of its scrape targets (`GET /api/v1/targets`), for a failing test's message.
    pub fn targets(&self) -> String {
        get(self.port, "/api/v1/targets").map_or_else(|e| e, |(_, body)| body)
    }

    fn try_start(targets: &[String]) -> Result<Self, String> {
        let port = RedisServer::free_port();
        let dir = local::temp_dir("prometheus", port);
        let config = dir.join("prometheus.yml");
        let targets = targets.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        let yaml = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: gerbang\n    metrics_path: /metrics\n    static_configs:\n      \
             - targets: [{targets}]\n"
        );
        std::fs::write(&config, yaml).unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let log_path = dir.join("prometheus.log");
        let (log, log_err) = local::log_file(&log_path);
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run prometheus: {e}"));
        let mut server = Self { child, port, dir };
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if get(port, "/-/ready").is_ok_and(|(status, _)| status == 200) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("(exited with {status})\n{}", read_log(&log_path)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = read_log(&log_path);
        drop(server);
        panic!("prometheus on port {port} was not ready within {STARTUP:?}; its log:\n{log}");
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `GET path` on loopback `port` over HTTP/1.0 (the server closes the connection after its
/// answer): the status and the body.
fn get(port: u16, path: &str) -> Result<(u16, String), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).map_err(|e| e.to_string())?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").ok_or_else(|| format!("no HTTP answer: {answer}"))?;
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("no status: {head}"))?;
    Ok((status, body.to_owned()))
}

/// `text` for a query string: everything but unreserved characters percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_queries_and_is_gone_when_dropped() {
        let Some(prometheus) = PrometheusServer::start(&["127.0.0.1:9".to_owned()]) else { return };
        let port = prometheus.port;
        // Its own metrics are not scraped (only the target given is), but `up` of the target is.
        let up = prometheus.query_until("up", Duration::from_secs(15), |r| !r.is_empty());
        assert_eq!(up[0]["metric"]["job"], "gerbang", "{up:?}");
        assert_eq!(up[0]["value"][1], "0", "nobody listens on port 9: {up:?}");
        assert!(prometheus.query("sum(").is_err(), "a malformed query is an error");
        let dir = prometheus.dir.clone();
        drop(prometheus);
        assert!(get(port, "/-/ready").is_err(), "the server must be killed on drop");
        assert!(!dir.exists(), "its temp dir must be removed");
    }
}
