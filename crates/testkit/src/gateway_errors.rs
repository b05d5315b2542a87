//! The error tests every gateway shares, each driven by the gateway's own table: an answer (a
//! status, a body, headers) served on a mock gateway must come back from one call as the error
//! the table expects, and a call to a port nobody listens on must be a transport error. The
//! gateways' tests give the rows and the call ([`Endpoint::check`],
//! [`check_closed_port_is_a_transport_error`]); serving, calling and saying which row failed is
//! here.

use std::fmt::{self, Debug, Display};
use std::future::Future;
use std::time::Duration;

use gerbang_core::{Error, ProviderId};
use httpmock::MockServer;

/// What the mock gateway answers: an HTTP status, a body and any headers.
#[derive(Debug, Clone)]
pub struct Answer {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

impl Answer {
    /// `status` with `body`, no header.
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self { status, body: body.into(), headers: Vec::new() }
    }

    /// The same answer with the header `name: value`, in place of any header of that name.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(kept, _)| !kept.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Has `server` answer every call to `path` with this.
    async fn serve(&self, server: &MockServer, path: &str) {
        server
            .mock_async(|when, then| {
                when.path(path);
                let mut then = then.status(self.status).body(&self.body);
                for (name, value) in &self.headers {
                    then = then.header(name, value);
                }
            })
            .await;
    }
}

/// The error a row of a table expects.
#[derive(Debug, Clone)]
pub enum Expected {
    /// Exactly this error.
    Error(Error),
    /// Exactly this error, and one worth trying again ([`Error::is_transient`]).
    Transient(Error),
    /// An [`Error::Decode`] whose context starts with this: the answer it could not read, which
    /// names the call (`deposit_status answer`).
    DecodeStartingWith(&'static str),
    /// An [`Error::Decode`] whose context holds this: the field, or what was wrong with it.
    DecodeNaming(&'static str),
    /// An [`Error::Decode`] whose `Display` and `Debug` hold none of this text, a value of the
    /// body (a value may be a customer's e-mail or phone).
    DecodeQuotingNone(&'static str),
    /// Any error `accepts` says yes to; `what` says which, for the failure message.
    Matching {
        /// The errors accepted, in words (`an API error under HTTP 200`).
        what: &'static str,
        /// Whether an error is one of them.
        accepts: fn(&Error) -> bool,
    },
}

impl Expected {
    /// Whether `err` is what this expects.
    pub fn accepts(&self, err: &Error) -> bool {
        let decode = |check: &dyn Fn(&str) -> bool| matches!(err, Error::Decode { context } if check(context));
        match self {
            Self::Error(expected) => err == expected,
            Self::Transient(expected) => err == expected && err.is_transient(),
            Self::DecodeStartingWith(start) => decode(&|context| context.starts_with(start)),
            Self::DecodeNaming(text) => decode(&|context| context.contains(text)),
            Self::DecodeQuotingNone(text) => {
                decode(&|_| true) && !err.to_string().contains(text) && !format!("{err:?}").contains(text)
            }
            Self::Matching { accepts, .. } => accepts(err),
        }
    }
}

impl Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(expected) => write!(f, "{expected:?}"),
            Self::Transient(expected) => write!(f, "{expected:?}, transient"),
            Self::DecodeStartingWith(start) => write!(f, "a decode error whose context starts with {start:?}"),
            Self::DecodeNaming(text) => write!(f, "a decode error whose context holds {text:?}"),
            Self::DecodeQuotingNone(text) => write!(f, "a decode error quoting nothing of {text:?}"),
            Self::Matching { what, .. } => f.write_str(what),
        }
    }
}

/// One row of a gateway's table: what it shows (its name), the answer served, and the error
/// the call must give.
#[derive(Debug, Clone)]
pub struct Case {
    name: &'static str,
    answer: Answer,
    expected: Expected,
}

impl Case {
    /// The row `name`: an answer of `status` with `body` must be the error `expected`.
    pub fn new(name: &'static str, status: u16, body: impl Into<String>, expected: Expected) -> Self {
        Self { name, answer: Answer::new(status, body), expected }
    }

    /// The same row, its answer with the header `name: value` (see [`Answer::header`]).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.answer = self.answer.header(name, value);
        self
    }

    /// The row every gateway has: HTTP 401 with `body` is [`Error::Unauthorized`] with the
    /// gateway's `message`.
    pub fn unauthorized(body: impl Into<String>, message: &str) -> Self {
        let expected = Expected::Error(Error::Unauthorized { message: message.into() });
        Self::new("HTTP 401 is unauthorized with the gateway's message", 401, body, expected)
    }

    /// The row every gateway has: HTTP 404 with `body` is [`Error::NotFound`] with the
    /// gateway's `message`.
    pub fn not_found(body: impl Into<String>, message: &str) -> Self {
        let expected = Expected::Error(Error::NotFound { message: message.into() });
        Self::new("HTTP 404 is not found with the gateway's message", 404, body, expected)
    }

    /// The row of the gateways that document a rate limit: HTTP 429 with `body` and
    /// `Retry-After: seconds` is [`Error::RateLimited`], waiting that long.
    pub fn rate_limited(body: impl Into<String>, seconds: u64) -> Self {
        let expected = Expected::Error(Error::RateLimited { retry_after: Some(Duration::from_secs(seconds)) });
        Self::new("HTTP 429 is rate limited with the Retry-After wait", 429, body, expected)
            .header("retry-after", &seconds.to_string())
    }

    /// The row every gateway has: an error page that is not JSON (a proxy's HTTP 502 page,
    /// `page`) still maps by its status, to [`Error::Api`] with the status's reason,
    /// `Bad Gateway`.
    pub fn error_page_not_json(page: impl Into<String>) -> Self {
        let expected = Expected::Error(Error::Api { status: Some(502), code: None, message: "Bad Gateway".into() });
        Self::new("an error page that is not JSON still maps by status", 502, page, expected)
    }

    /// The row every gateway has: malformed JSON (`body`) under HTTP 200 is a decode error
    /// naming the call, its context starting with `call_answer` (`deposit_status answer`).
    pub fn malformed_json(body: impl Into<String>, call_answer: &'static str) -> Self {
        Self::new(
            "malformed JSON is a decode error naming the call",
            200,
            body,
            Expected::DecodeStartingWith(call_answer),
        )
    }

    /// The row every gateway has: an answer under HTTP 200 (`body`) with a value of the wrong
    /// type, `value` (an e-mail where an amount should be), is a decode error that does not
    /// quote it.
    pub fn quoting_no_value(body: impl Into<String>, value: &'static str) -> Self {
        Self::new("a decode error never quotes a value of the body", 200, body, Expected::DecodeQuotingNone(value))
    }
}

/// The call of a gateway a table is tried on: the gateway, the path of the client's base
/// URL on the mock gateway, the path the call reaches, and the answers the call needs first
/// (an access token).
#[derive(Debug, Clone)]
pub struct Endpoint {
    gateway: ProviderId,
    base_path: &'static str,
    path: &'static str,
    first: Vec<(&'static str, Answer)>,
}

impl Endpoint {
    /// `gateway`'s call to `path`, made by a client whose base URL is the mock gateway's
    /// `base_path`.
    pub fn new(gateway: ProviderId, base_path: &'static str, path: &'static str) -> Self {
        Self { gateway, base_path, path, first: Vec::new() }
    }

    /// The same, the mock gateway answering `path` with `answer` too, for a call that needs it.
    #[must_use]
    pub fn also_answering(mut self, path: &'static str, answer: Answer) -> Self {
        self.first.push((path, answer));
        self
    }

    /// For each case, serves its answer on a new mock gateway, gives `call` a base URL there,
    /// and checks that the call fails with the error the case expects.
    ///
    /// # Panics
    ///
    /// After trying every case, if any failed, naming the gateway and call, and for each failing
    /// case its name, its status, what it expected and what came back.
    pub async fn check<F, Fut, T>(&self, cases: &[Case], call: F)
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
        T: Debug,
    {
        assert!(!cases.is_empty(), "{} {}: a table without cases tests nothing", self.gateway, self.path);
        let mut failed = Vec::new();
        for case in cases {
            let server = MockServer::start_async().await;
            for (path, answer) in &self.first {
                answer.serve(&server, path).await;
            }
            case.answer.serve(&server, self.path).await;
            let got = match call(server.url(self.base_path)).await {
                Ok(value) => format!("no error but {value:?}"),
                Err(err) if case.expected.accepts(&err) => continue,
                Err(err) => format!("{err:?} ({err})"),
            };
            failed.push(format!(
                "  - `{}` (HTTP {}): expected {}, got {got}",
                case.name, case.answer.status, case.expected
            ));
        }
        assert!(
            failed.is_empty(),
            "{} {}: {} of {} cases failed:\n{}",
            self.gateway,
            self.path,
            failed.len(),
            cases.len(),
            failed.join("\n")
        );
    }
}

/// `http://127.0.0.1:PORT{path}` on a loopback port nobody listens on now (the OS picked it
/// free): a base URL whose calls are refused.
///
/// # Panics
///
/// If no loopback port can be bound.
pub fn closed_base_url(path: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("cannot bind loopback: {e}"));
    let port = listener.local_addr().unwrap_or_else(|e| panic!("no local address: {e}")).port();
    drop(listener);
    format!("http://127.0.0.1:{port}{path}")
}

/// Gives `call` a [`closed_base_url`] and checks that the call fails with [`Error::Transport`]:
/// nothing was sent.
///
/// # Panics
///
/// If the call gives anything else, naming `gateway`.
pub async fn check_closed_port_is_a_transport_error<F, Fut, T>(gateway: ProviderId, base_path: &str, call: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
    T: Debug,
{
    let base = closed_base_url(base_path);
    match call(base.clone()).await {
        Err(Error::Transport { .. }) => {}
        other => panic!("{gateway}: a call to {base}, where nothing listens, gave {other:?}, not a transport error"),
    }
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;

    use futures_util::FutureExt;

    use super::*;

    fn not_found() -> Error {
        Error::NotFound { message: "Deposit tidak ditemukan".into() }
    }

    /// What `future` panicked with, or `None` if it did not.
    fn panic_message(future: impl Future<Output = ()>) -> Option<String> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let payload = runtime.block_on(AssertUnwindSafe(future).catch_unwind()).err()?;
        Some(
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default(),
        )
    }

    #[test]
    fn each_expectation_accepts_its_error_and_refuses_others() {
        let decode = Error::decode("deposit_status answer: invalid type for `amount`");
        let api_500 = Error::Api { status: Some(500), code: None, message: "down".into() };
        assert!(Expected::Error(not_found()).accepts(&not_found()));
        assert!(!Expected::Error(not_found()).accepts(&Error::NotFound { message: "other".into() }));
        assert!(Expected::Transient(api_500.clone()).accepts(&api_500));
        let api_400 = Error::Api { status: Some(400), code: None, message: "down".into() };
        assert!(!Expected::Transient(api_400.clone()).accepts(&api_400), "a 400 is no transient error");
        assert!(Expected::DecodeStartingWith("deposit_status answer").accepts(&decode));
        assert!(!Expected::DecodeStartingWith("invoice_status answer").accepts(&decode));
        assert!(!Expected::DecodeStartingWith("").accepts(&not_found()), "only a decode error");
        assert!(Expected::DecodeNaming("`amount`").accepts(&decode));
        assert!(!Expected::DecodeNaming("`status`").accepts(&decode));
        assert!(Expected::DecodeQuotingNone("budi").accepts(&decode));
        assert!(!Expected::DecodeQuotingNone("amount").accepts(&decode));
        assert!(!Expected::DecodeQuotingNone("budi").accepts(&not_found()), "only a decode error");
        let is_not_found = Expected::Matching { what: "not found", accepts: |e| matches!(e, Error::NotFound { .. }) };
        assert!(is_not_found.accepts(&not_found()) && !is_not_found.accepts(&decode));
    }

    #[test]
    fn a_failing_case_is_named_with_its_gateway_status_and_both_errors() {
        let endpoint = Endpoint::new(ProviderId::Qris, "/api", "/api/v1/status");
        let cases = [
            Case::new("a 404 is not found", 404, "{}", Expected::Error(not_found())),
            Case::new("a 401 is unauthorized", 401, "{}", Expected::Error(Error::Unauthorized { message: "x".into() })),
        ];
        // A "client" that finds every payment missing: right for the first case only.
        let message = panic_message(endpoint.check(&cases, |_| async { Err::<(), _>(not_found()) }))
            .expect("a failing case fails the check");
        assert!(message.starts_with("qris /api/v1/status: 1 of 2 cases failed"), "{message}");
        assert!(message.contains("`a 401 is unauthorized` (HTTP 401): expected Unauthorized"), "{message}");
        assert!(message.contains("got NotFound"), "{message}");
        assert!(!message.contains("a 404 is not found"), "the passing case is not listed: {message}");

        let success = panic_message(endpoint.check(&cases[..1], |_| async { Ok::<_, Error>("paid") }));
        assert!(success.expect("a success fails the check").contains("no error but \"paid\""));
        let empty = panic_message(endpoint.check(&[], |_| async { Err::<(), _>(not_found()) }));
        assert!(empty.expect("an empty table fails").contains("tests nothing"));
    }

    #[test]
    fn the_call_reaches_the_answer_of_its_case_and_the_answers_it_needs_first() {
        let endpoint = Endpoint::new(ProviderId::Qris, "/api", "/api/v1/status")
            .also_answering("/api/token", Answer::new(200, "token-1").header("x-kind", "token"));
        // The second header of a name replaces the first.
        let cases = [Case::new("a 418", 418, "teapot", Expected::Error(not_found()))
            .header("retry-after", "1")
            .header("Retry-After", "7")];
        // A "client" reading both answers over plain HTTP, and passing only if they are as served.
        let read = |base: String| async move {
            let token = get(&format!("{base}/token")).await;
            let status = get(&format!("{base}/v1/status")).await;
            let served = token.starts_with("HTTP/1.1 200")
                && token.contains("x-kind: token")
                && token.ends_with("token-1")
                && status.starts_with("HTTP/1.1 418")
                && status.contains("retry-after: 7")
                && status.matches("retry-after").count() == 1
                && status.ends_with("teapot");
            if served { Err(not_found()) } else { Ok(format!("{token}\n{status}")) }
        };
        assert_eq!(panic_message(endpoint.check(&cases, read)), None);
    }

    /// The whole answer to a plain `GET url` (`http://host:port/path`).
    async fn get(url: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rest = url.strip_prefix("http://").expect("an http URL");
        let (host, path) = rest.split_at(rest.find('/').expect("a path"));
        let mut socket = tokio::net::TcpStream::connect(host).await.expect("the mock gateway listens");
        let request = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("request sent");
        let mut answer = String::new();
        socket.read_to_string(&mut answer).await.expect("answer read");
        answer
    }

    #[test]
    fn a_closed_port_refuses_the_connection_and_anything_else_fails_the_check() {
        let refused = |base: String| async move {
            let host = base.strip_prefix("http://").and_then(|r| r.split('/').next()).unwrap_or_default().to_owned();
            match tokio::net::TcpStream::connect(host).await {
                Ok(_) => Ok("connected"),
                Err(e) => Err(Error::Transport { message: e.to_string() }),
            }
        };
        assert_eq!(panic_message(check_closed_port_is_a_transport_error(ProviderId::Qris, "/api", refused)), None);
        let other = panic_message(check_closed_port_is_a_transport_error(ProviderId::Qris, "/api", |_| async {
            Err::<(), _>(not_found())
        }));
        assert!(other.expect("a wrong error fails").starts_with("qris: a call to http://127.0.0.1:"));
        assert!(closed_base_url("/gw").ends_with("/gw"));
    }
}
