//! Servers that behave as a hostile or broken gateway would: one that redirects every call
//! elsewhere, one that echoes every request back in its error message, and a proxy that loses
//! the answers of calls that reached the gateway.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gerbang_core::Error;
use httpmock::MockServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The redirect statuses every gateway's client is tested with.
pub const REDIRECTS: [u16; 4] = [301, 302, 307, 308];

/// A "gateway" that answers every call with a redirect to a second server, and that second
/// server, which must never be reached.
pub struct Redirecting {
    gateway: MockServer,
    target: Echoing,
}

impl std::fmt::Debug for Redirecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redirecting").field("gateway", &self.gateway.base_url()).field("target", &self.target).finish()
    }
}

impl Redirecting {
    /// Both servers; the gateway answers `status` with a `Location` on the target that carries
    /// a query (the host is all an error may show of it).
    pub async fn start(status: u16) -> Self {
        let target = Echoing::start(200, |_| None).await;
        let gateway = MockServer::start_async().await;
        let location = format!("http://localhost:{}/collect?stolen=1", target.port);
        gateway
            .mock_async(|_, then| {
                then.status(status).header("location", &location);
            })
            .await;
        Self { gateway, target }
    }

    /// A base URL on the redirecting gateway.
    pub fn base_url(&self, path: &str) -> String {
        self.gateway.url(path)
    }

    /// Panics unless `result` is the redirect error, with the target's host and nothing more of
    /// its URL, and the target saw no request at all.
    pub async fn assert_refused<T: std::fmt::Debug>(&self, status: u16, result: Result<T, Error>) {
        let err = result.expect_err("a redirect must be an error");
        assert!(
            matches!(&err, Error::Redirect { status: s, host: Some(h), .. } if *s == status && h == "localhost"),
            "HTTP {status}: expected the redirect error, got {err:?}"
        );
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("/collect") && !shown.contains("stolen"), "{shown}");
        self.assert_target_untouched();
    }

    /// Panics if any request reached the redirect's target.
    pub fn assert_target_untouched(&self) {
        assert_eq!(self.target.requests(), 0, "a request reached the redirect's target");
    }
}

/// An HTTP server that answers every request with `status` and a body naming the whole request
/// (request line, headers, body) as its error message, in every field the five gateways read a
/// message or code from: a gateway or proxy that echoes what it was sent. Each connection is
/// answered once and closed.
#[derive(Debug, Clone)]
pub struct Echoing {
    base: String,
    port: u16,
    status: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl Echoing {
    /// Starts the server on a free loopback port, answering `status`; `answer` may answer a path
    /// itself instead (a token call that must succeed first), given the path.
    pub async fn start(status: u16, answer: fn(&str) -> Option<(u16, String)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("cannot bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("no address: {e}"));
        let status = Arc::new(AtomicUsize::new(usize::from(status)));
        let requests = Arc::new(AtomicUsize::new(0));
        let (answering, counting) = (Arc::clone(&status), Arc::clone(&requests));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counting.fetch_add(1, Ordering::SeqCst);
                let status = answering.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let request = read_request(&mut socket).await;
                    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let (status, body) = answer(&path).unwrap_or_else(|| (status as u16, echo_body(&request)));
                    let head = format!(
                        "HTTP/1.1 {status} Echo\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { base: format!("http://{addr}"), port: addr.port(), status, requests }
    }

    /// A base URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How many connections it has answered.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Answers `status` from now on.
    pub fn answer_with(&self, status: u16) {
        self.status.store(usize::from(status), Ordering::SeqCst);
    }
}

/// The statuses the echoing server is tried with: a refusal inside a 200, the client errors the
/// gateways document, and a server error.
pub const ECHO_STATUSES: [u16; 6] = [200, 400, 401, 404, 422, 500];

/// One body every gateway's error reader finds its message in: Cuan10pay's and the crypto
/// gateway's `status`/`message`, QRIS's `error`, Cash In's `responseCode`/`responseMessage`,
/// Ciputra's `code`/`status`/`message`.
fn echo_body(request: &str) -> String {
    serde_json::json!({
        "status": "error",
        "code": format!("E-{request}"),
        "message": format!("you sent: {request}"),
        "error": format!("you sent: {request}"),
        "responseCode": "4005600",
        "responseMessage": format!("you sent: {request}"),
    })
    .to_string()
}

/// A proxy in front of a real gateway (the sandbox) that passes every request on and, for the
/// first `cuts` requests whose path contains a given text, drops the gateway's answer and
/// closes the connection: the call took effect, and its answer was lost on the way back.
#[derive(Debug, Clone)]
pub struct Cutting {
    base: String,
    cut: Arc<AtomicUsize>,
}

impl Cutting {
    /// Starts the proxy on a free loopback port, forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: std::net::SocketAddr, path_contains: &'static str, cuts: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("cannot bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("no address: {e}"));
        let left = Arc::new(AtomicUsize::new(cuts));
        let cut = Arc::new(AtomicUsize::new(0));
        let counting = Arc::clone(&cut);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (left, counting) = (Arc::clone(&left), Arc::clone(&counting));
                tokio::spawn(async move {
                    let request = read_request(&mut socket).await;
                    let Ok(mut gateway) = tokio::net::TcpStream::connect(upstream).await else { return };
                    // One request per connection, both ways, so that the answer ends at EOF.
                    let request = request.replacen("\r\n", "\r\nconnection: close\r\n", 1);
                    if gateway.write_all(request.as_bytes()).await.is_err() {
                        return;
                    }
                    let mut answer = Vec::new();
                    let _ = gateway.read_to_end(&mut answer).await;
                    let path = request.split_whitespace().nth(1).unwrap_or("/");
                    let lose = path.contains(path_contains)
                        && left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
                    if lose {
                        counting.fetch_add(1, Ordering::SeqCst);
                    } else {
                        let _ = socket.write_all(&answer).await;
                    }
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { base: format!("http://{addr}"), cut }
    }

    /// A base URL on the proxy.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How many answers it has dropped.
    pub fn cut(&self) -> usize {
        self.cut.load(Ordering::SeqCst)
    }
}

/// The request's head and as much of its body as its `content-length` says.
async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buf = [0_u8; 4096];
    while let Ok(n @ 1..) = socket.read(&mut buf).await {
        bytes.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&bytes);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// For each of [`REDIRECTS`], gives `calls` a base URL on a [`Redirecting`] gateway and checks
/// that every call it makes there fails with the redirect error while nothing reaches the target.
pub async fn check_no_redirect_is_followed<F, Fut>(base_path: &str, mut calls: F)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Vec<Result<(), Error>>>,
{
    for status in REDIRECTS {
        let redirecting = Redirecting::start(status).await;
        let results = calls(redirecting.base_url(base_path)).await;
        assert!(!results.is_empty(), "no call was made");
        for result in results {
            redirecting.assert_refused(status, result).await;
        }
    }
}

/// For each of [`ECHO_STATUSES`], gives `calls` a base URL on an [`Echoing`] gateway and checks
/// that every call fails and that no error, shown or debugged, holds any of `secrets`, while the
/// echo did reach the errors (scrubbed: `<redacted>` is there).
pub async fn check_echoed_secrets_are_scrubbed<F, Fut>(
    base_path: &str,
    secrets: &[&str],
    answer: fn(&str) -> Option<(u16, String)>,
    mut calls: F,
) where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Vec<Result<(), Error>>>,
{
    for status in ECHO_STATUSES {
        let echoing = Echoing::start(status, answer).await;
        let mut scrubbed = 0;
        for result in calls(echoing.url(base_path)).await {
            let err = result.expect_err("an echoed request is an error answer");
            let shown = format!("{err} | {err:?}");
            crate::assert_nothing_leaks(std::slice::from_ref(&shown), secrets);
            scrubbed += usize::from(shown.contains(gerbang_core::REDACTED));
        }
        assert!(scrubbed > 0, "HTTP {status}: no error carried the echoed text, so nothing was tested");
    }
}

/// A "gateway" that answers each path of a table with its failure: for each `(path, status,
/// body)`, a call to `path` on `server` is answered `status` with `body` (an error the gateway's
/// document shows, or one that quotes a secret back). Each test gives its gateway's table.
pub async fn answer_with_errors(server: &MockServer, answers: &[(&str, u16, String)]) {
    for (path, status, body) in answers {
        server
            .mock_async(|when, then| {
                when.path(*path);
                then.status(*status).body(body);
            })
            .await;
    }
}
