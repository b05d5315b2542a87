//! The HTTP transport every gateway crate sends its calls through.
//!
//! A gateway crate describes a call (method, URL, headers, body), says whether it is safe to
//! repeat, and parses the answer. This module owns the sockets: timeouts, retries with backoff,
//! `Retry-After`, a `User-Agent`, a tracing span per call, and errors without URLs.
//!
//! # Spans
//! Each call is a `gerbang.http` span (`gateway`, `operation`, `http.status`, `latency_ms`,
//! `attempts`), and each attempt in it a CLIENT span after OpenTelemetry's HTTP client
//! conventions, for a `tracing-opentelemetry` layer (the facade's `otel` feature) to export:
//! `otel.name` `"{method} {url.template}"`, `http.request.method`, `server.address`,
//! `server.port`, `url.template` (the call's [template](Call::at), never the real path),
//! `http.request.resend_count` (on a retry), `http.response.status_code`, `error.type` (the
//! status for 400 and above, else `transport`, `timeout`, `outcome_unknown`, `redirect`,
//! `response_too_large`), `gerbang.gateway` and `gerbang.operation`. Never the URL, a query, a
//! header or a body.

mod retry;
mod trace;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The bytes of a request or answer body: re-exported so that gateway crates name the same version.
pub use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use tracing::Instrument;
use url::Url;

pub use self::retry::RetryPolicy;
pub(crate) use self::trace::failure_kind;
pub use self::trace::{otel_method_name, span_seen};
use crate::{Error, ProviderId, Redactions};

/// An attempt under way, as [`HttpClient::start_attempt`] boxes it.
type PendingAttempt<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, Error>> + Send + 'a>>;

/// The `User-Agent` sent with every call.
pub const USER_AGENT: &str =
    concat!("gerbang/", env!("CARGO_PKG_VERSION"), " (+https://github.com/gerbang-rs/gerbang)");

/// Whether a call may be sent again after a failure that leaves its outcome unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Repeating it cannot do harm (a look-up, a token fetch).
    Safe,
    /// It must go out at most once (a create, a withdrawal).
    Never,
}

/// What a call is, for retries and tracing.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// The gateway.
    pub provider: ProviderId,
    /// The operation's name, as the gateway documents it (`deposit_create`).
    pub operation: &'static str,
    /// Whether it may be repeated.
    pub retry: Retry,
    /// The path as the gateway documents it, for traces: see [`at`](Self::at).
    pub url_template: Option<&'static str>,
}

impl Call {
    /// A call that is safe to repeat.
    pub const fn safe(provider: ProviderId, operation: &'static str) -> Self {
        Self { provider, operation, retry: Retry::Safe, url_template: None }
    }

    /// A call that must go out at most once.
    pub const fn once(provider: ProviderId, operation: &'static str) -> Self {
        Self { provider, operation, retry: Retry::Never, url_template: None }
    }

    /// The same call, sent to `template`: its path after the base URL as the gateway documents
    /// it, with `{name}` where a part varies (`/v1/deposit_status`, `/invoices/{id}`), and no
    /// query. It is the `url.template` of the call's attempt spans and part of their name; a call
    /// without one is named by its method alone. Never a real path: it may hold an id.
    #[must_use]
    pub const fn at(mut self, template: &'static str) -> Self {
        self.url_template = Some(template);
        self
    }
}

/// A request, ready to send. Its `Debug` shows neither the URL nor header values.
#[derive(Clone)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Full URL. It may carry an API key: it is never logged.
    pub url: Url,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes, sent as is.
    pub body: Bytes,
    /// What the answer's text must not let out: handed to the [`HttpResponse`].
    redactions: Redactions,
}

impl HttpRequest {
    /// A request without headers or body.
    pub fn new(method: Method, url: Url) -> Self {
        Self { method, url, headers: HeaderMap::new(), body: Bytes::new(), redactions: Redactions::default() }
    }

    /// The values (credentials, the customer's e-mail and phone) to scrub from whatever the
    /// gateway answers, before any of it becomes an [`Error`]: see [`HttpResponse::error`].
    #[must_use]
    pub fn redacting(mut self, redactions: &Redactions) -> Self {
        self.redactions = redactions.clone();
        self
    }

    /// Adds a header. A value that is not a valid header (a control character in a key from the
    /// environment, say) is [`Error::Config`] naming the header, not the value.
    pub fn header(mut self, name: &'static str, value: &str) -> Result<Self, Error> {
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| Error::config(format!("the value for header {name} has characters a header cannot carry")))?;
        if is_sensitive(name) {
            value.set_sensitive(true);
        }
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    /// Adds a header whose value is made already (a token's `Authorization`, made once per
    /// token): cloning a [`HeaderValue`] copies nothing. Mark it sensitive if it holds a secret.
    #[must_use]
    pub fn header_value(mut self, name: &'static str, value: HeaderValue) -> Self {
        self.headers.insert(HeaderName::from_static(name), value);
        self
    }

    /// Sets a body with its content type.
    pub fn body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        self.headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        self.body = body.into();
        self
    }
}

/// `name` is lower case: `HeaderName::from_static` takes nothing else.
fn is_sensitive(name: &str) -> bool {
    // Compared a window at a time: `str::contains` sets up a substring searcher for each word,
    // which for names this short cost more than the rest of adding the header.
    let has = |word: &str| name.as_bytes().windows(word.len()).any(|window| window == word.as_bytes());
    name == "authorization" || has("key") || has("signature") || has("secret") || has("token")
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path", &self.url.path())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// An answer, whatever its status.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
    /// What the request said must not come out in an error.
    redactions: Redactions,
}

impl HttpResponse {
    /// An answer (for tests, and for parsing a recorded one).
    pub fn new(status: StatusCode, headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        Self { status, headers, body: body.into(), redactions: Redactions::default() }
    }

    /// The same answer, scrubbing these values from what becomes an error.
    #[must_use]
    pub fn redacting(mut self, redactions: &Redactions) -> Self {
        self.redactions = redactions.clone();
        self
    }

    /// The wait the gateway asked for in `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        retry::retry_after(&self.headers)
    }

    /// The gateway's `text` with the request's credentials and the customer's e-mail and phone
    /// replaced by `<redacted>`: a gateway or a proxy may echo the request. Every message or code
    /// read from an answer goes through this (or [`error`](Self::error)) before it goes into an
    /// [`Error`].
    pub fn scrub(&self, text: String) -> String {
        self.redactions.scrub_owned(text)
    }

    /// [`Error::Api`] with this answer's HTTP status, for a refusal the gateway wraps in an
    /// answer whatever its status (a 200 with `"status":"error"`), the code and message
    /// [scrubbed](Self::scrub).
    pub fn api_error(&self, code: Option<String>, message: String) -> Error {
        Error::Api {
            status: Some(self.status.as_u16()),
            code: code.map(|c| self.scrub(c)),
            message: self.scrub(message),
        }
    }

    /// The error for a non-2xx answer, given the gateway's own code and message as read from
    /// its error body (both [scrubbed](Self::scrub)): 401 and 403 are [`Error::Unauthorized`],
    /// 404 [`Error::NotFound`], 429 [`Error::RateLimited`] (with `Retry-After`), anything else
    /// [`Error::Api`] with the status.
    pub fn error(&self, code: Option<String>, message: Option<String>) -> Error {
        let message = match message {
            Some(message) => self.scrub(message),
            None => self.status.canonical_reason().unwrap_or("no message").to_owned(),
        };
        let code = code.map(|code| self.scrub(code));
        match self.status.as_u16() {
            401 | 403 => Error::Unauthorized { message },
            404 => Error::NotFound { message },
            429 => Error::RateLimited { retry_after: self.retry_after() },
            status => Error::Api { status: Some(status), code, message },
        }
    }
}

/// The HTTP client shared by every gateway client. Cheap to clone: clones share one connection
/// pool.
///
/// ```
/// use gerbang_core::{HttpClient, RetryPolicy};
/// use std::time::Duration;
///
/// let http = HttpClient::builder()
///     .timeout(Duration::from_secs(20))
///     .retry(RetryPolicy::default().max_retries(2))
///     .build()?;
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    retry: RetryPolicy,
    timeout: Duration,
    max_response_bytes: usize,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds an [`HttpClient`].
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: usize,
}

impl HttpClientBuilder {
    /// How long to wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// How long a whole attempt may take, answer read included (default 30 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// The retry policy for calls that are safe to repeat.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The largest answer read (default 4 MiB); a larger one is [`Error::Decode`].
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<HttpClient, Error> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // No gateway documents a redirect, and following one re-sends the API key, the
            // signature and the body to wherever it points (reqwest's default follows ten, and
            // sets `Referer`, which would carry a key that sits in a query): a 3xx is an error.
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .build()
            .map_err(|e| Error::config(format!("could not set up the HTTP client: {}", error_chain(&e))))?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                retry: self.retry,
                timeout: self.timeout,
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
}

impl HttpClient {
    /// A client with the default timeouts and retry policy.
    ///
    /// # Panics
    /// Only if the TLS backend cannot start at all (no usable crypto provider), which
    /// [`HttpClient::builder`]`.build()` reports as an error instead.
    pub fn new() -> Self {
        #[allow(clippy::expect_used)]
        Self::builder().build().expect("the default HTTP client could not start its TLS backend")
    }

    /// Starts a client with the default settings.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            max_response_bytes: 4 * 1024 * 1024,
        }
    }

    /// Sends a call and returns the answer, whatever its HTTP status.
    ///
    /// `build` is called once per attempt, so that each attempt carries a fresh timestamp,
    /// signature and request id. A [`Retry::Safe`] call is repeated, per the policy, after a
    /// connection failure, a timeout, a lost answer, a 429 or a 502–504; a [`Retry::Never`] call
    /// is sent once, and if its answer is lost the error is [`Error::OutcomeUnknown`]. A redirect
    /// is never followed: it is [`Error::Redirect`].
    pub fn send<F>(&self, call: Call, build: F) -> impl Future<Output = Result<HttpResponse, Error>>
    where
        F: FnMut() -> Result<HttpRequest, Error>,
    {
        self.send_gated(call, |_| std::future::ready(Ok(())), build)
    }

    /// [`send`](Self::send), with `gate` awaited before each attempt (given its number, from 1):
    /// an error from it ends the call before that attempt goes out. This is where a shared rate
    /// budget is spent, on a store that may have to ask a server, so that a retry over the
    /// budget is refused before it is sent rather than counted after.
    pub fn send_gated<G, GF, F>(
        &self,
        call: Call,
        mut gate: G,
        mut build: F,
    ) -> impl Future<Output = Result<HttpResponse, Error>>
    where
        G: FnMut(u32) -> GF,
        GF: Future<Output = Result<(), Error>>,
        F: FnMut() -> Result<HttpRequest, Error>,
    {
        let span = trace::if_seen(|| {
            tracing::info_span!(
                "gerbang.http",
                gateway = call.provider.as_str(),
                operation = call.operation,
                http.status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
                attempts = tracing::field::Empty,
            )
        });
        let recorded = span.clone();
        // Boxed, as the attempt is (see `next_request`): the futures of the gateway's calls
        // that await this one, level upon level, each hold and move a pointer, not this.
        Box::pin(
            async move {
                let started = Instant::now();
                let mut waits = self.inner.retry.backoff();
                let mut attempts = 0u32;
                let result = loop {
                    attempts += 1;
                    gate(attempts).await?;
                    let (request, attempt_span) = Self::next_request(call, &mut build, attempts)?;
                    let attempt = self.start_attempt(call, request, &attempt_span);
                    let attempt_started = Instant::now();
                    let result = attempt.await;
                    crate::metrics::gateway_attempt(
                        call.provider,
                        call.operation,
                        crate::metrics::AttemptStatus::of(&result),
                        attempt_started.elapsed(),
                    );
                    trace::record_attempt(&attempt_span, &result);
                    // The attempt's span ends here, not after the wait before the next one.
                    drop(attempt_span);
                    let wait = match (&result, call.retry) {
                        (_, Retry::Never) => None,
                        (Ok(resp), Retry::Safe) if retry::is_retryable_status(resp.status) => {
                            match (waits.next(), resp.retry_after()) {
                                (None, _) => None,
                                (Some(_), Some(asked)) if asked > self.inner.retry.max_retry_after => None,
                                (Some(computed), asked) => Some(asked.unwrap_or(computed)),
                            }
                        }
                        (
                            Err(Error::Transport { .. } | Error::Timeout { .. } | Error::OutcomeUnknown { .. }),
                            Retry::Safe,
                        ) => waits.next(),
                        _ => None,
                    };
                    match wait {
                        Some(wait) => {
                            tracing::debug!(attempt = attempts, wait_ms = wait.as_millis() as u64, "retrying");
                            crate::metrics::gateway_retry(call.provider, call.operation);
                            tokio::time::sleep(wait).await;
                        }
                        None => break result,
                    }
                };
                let span = recorded;
                // Signed: tracing-opentelemetry exports an unsigned number as a string.
                span.record("latency_ms", i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX));
                span.record("attempts", i64::from(attempts));
                match &result {
                    Ok(resp) => {
                        span.record("http.status", i64::from(resp.status.as_u16()));
                        tracing::debug!("gateway answered");
                    }
                    Err(e) => tracing::debug!(error = %e, "gateway call failed"),
                }
                result
            }
            .instrument(span),
        )
    }

    /// The request of attempt number `number` of `call`, and its span.
    ///
    /// This and [`start_attempt`](Self::start_attempt) keep out of a call's future two costs a
    /// hand-written call does not have (cachegrind counted them as cache misses over a status
    /// call):
    /// - Each is out of line, so that what building a request takes on the stack (the
    ///   gateway's signing, the headers) and what handing it to reqwest takes are part of
    ///   neither the frame of every poll of the call's future nor each other's: reqwest's own
    ///   5 KB frame starts where a hand-written call's would.
    /// - The attempt is boxed, so that every call's future (and the gateway's, and the trait's
    ///   box of it) holds a pointer instead of the attempt's 700 bytes, which each level it is
    ///   awaited from would copy again.
    #[inline(never)]
    fn next_request<F>(call: Call, build: &mut F, number: u32) -> Result<(HttpRequest, tracing::Span), Error>
    where
        F: FnMut() -> Result<HttpRequest, Error>,
    {
        let request = build()?;
        let span = trace::attempt_span(call, &request, number);
        Ok((request, span))
    }

    /// The attempt sending `request`, in `span`, boxed: see [`next_request`](Self::next_request).
    #[inline(never)]
    fn start_attempt(&self, call: Call, request: HttpRequest, span: &tracing::Span) -> PendingAttempt<'_> {
        Box::pin(self.attempt(call, request).instrument(span.clone()))
    }

    /// One attempt: the request is handed to reqwest before the future is returned, so that the
    /// future holds reqwest's boxed call and the answer, not the request.
    fn attempt(&self, call: Call, request: HttpRequest) -> impl Future<Output = Result<HttpResponse, Error>> {
        let HttpRequest { method, url, headers, body, redactions } = request;
        // The request is handed to reqwest whole: its builder would copy the headers one by one
        // into a map of its own.
        let mut outgoing = reqwest::Request::new(method, url);
        *outgoing.headers_mut() = headers;
        *outgoing.body_mut() = Some(body.into());
        let pending = self.inner.client.execute(outgoing);
        async move {
            let mut response = pending.await.map_err(|e| self.failure(call, &e))?;
            let status = response.status();
            if status.is_redirection() {
                return Err(Error::Redirect {
                    operation: call.operation.to_owned(),
                    status: status.as_u16(),
                    host: redirect_host(&response),
                });
            }
            let headers = std::mem::take(response.headers_mut());
            let body = self.read_body(call, &mut response).await?;
            Ok(HttpResponse { status, headers, body, redactions })
        }
    }

    /// The answer's body, up to the limit. An answer in one chunk (most are) is kept as it came,
    /// not copied.
    async fn read_body(&self, call: Call, response: &mut reqwest::Response) -> Result<Bytes, Error> {
        let limit = self.inner.max_response_bytes;
        let too_large = || Error::decode(format!("{} answer: larger than {limit} bytes", call.operation));
        let mut next = async || response.chunk().await.map_err(|e| self.answer_lost(call, &e));
        let Some(first) = next().await? else {
            return Ok(Bytes::new());
        };
        if first.len() > limit {
            return Err(too_large());
        }
        let Some(second) = next().await? else {
            return Ok(first);
        };
        let mut body = Vec::with_capacity(first.len() + second.len());
        body.extend_from_slice(&first);
        let mut chunk = Some(second);
        while let Some(more) = chunk {
            if body.len() + more.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&more);
            chunk = next().await?;
        }
        Ok(body.into())
    }

    /// The error for a call that got no answer: [`Error::Transport`] when nothing reached the
    /// gateway (DNS, refused, TLS, a connect timeout: reqwest marks these as connect errors),
    /// otherwise the request may have gone out, so its answer was lost.
    fn failure(&self, call: Call, error: &reqwest::Error) -> Error {
        if error.is_connect() {
            Error::Transport { message: error_chain(error) }
        } else {
            self.answer_lost(call, error)
        }
    }

    /// The error for a request that went out and whose answer never came whole: a look-up's
    /// timeout is [`Error::Timeout`] (it is repeated); anything else, and every failure of a call
    /// that changes something, is [`Error::OutcomeUnknown`].
    fn answer_lost(&self, call: Call, error: &reqwest::Error) -> Error {
        if error.is_timeout() && call.retry == Retry::Safe {
            return Error::Timeout { operation: call.operation.to_owned() };
        }
        let reason = if error.is_timeout() {
            format!("no answer within {} s", self.inner.timeout.as_secs_f32())
        } else {
            error_chain(error)
        };
        Error::OutcomeUnknown { operation: call.operation.to_owned(), reason, reference: None, lookup: None }
    }
}

/// The host a redirect pointed to, never the rest of its URL (a query may carry a key). The
/// answer's URL is the request's: redirects are not followed.
fn redirect_host(response: &reqwest::Response) -> Option<String> {
    let location = response.headers().get(http::header::LOCATION)?.to_str().ok()?;
    response.url().join(location).ok()?.host_str().map(str::to_owned)
}

/// An error and its causes, one after the other, with any URL removed (a query may hold a key).
fn error_chain(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    // reqwest puts the URL in its own Display only; `without_url` is not available on a shared
    // reference, so format its kind by hand and then its causes, which never carry the URL.
    let mut text = String::from(if error.is_connect() {
        "connection failed"
    } else if error.is_request() {
        "the request could not be sent"
    } else if error.is_body() || error.is_decode() {
        "the answer could not be read"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "HTTP error"
    });
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
