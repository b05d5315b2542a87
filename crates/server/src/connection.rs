//! One accepted connection: served by hyper, closed when idle too long, when shed, when a
//! handler cuts it, or gracefully when the server stops.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use bytes::Bytes;
use http_body::Frame;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::Stop;
use crate::registry::{InFlight, Slot};

/// Closes the connection a request came on, at once and without an answer. In every request's
/// extensions when [`serve`](crate::serve) serves it; absent when the router is mounted in
/// another server, so a handler treats it as optional:
///
/// ```
/// use axum::extract::Request;
/// use gerbang_server::CutSwitch;
///
/// async fn hang_up(request: Request) -> &'static str {
///     if let Some(switch) = request.extensions().get::<CutSwitch>() {
///         switch.cut();
///         // The handler is dropped with the connection: this is never awaited to its end.
///         std::future::pending::<()>().await;
///     }
///     "this server cannot hang up"
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CutSwitch(Arc<Notify>);

impl CutSwitch {
    /// Closes the connection; the request's handler is dropped with it.
    pub fn cut(&self) {
        self.0.notify_one();
    }
}

/// One accepted connection and what it needs to be served.
pub(crate) struct Connection {
    pub(crate) http: Arc<http1::Builder>,
    pub(crate) router: Router,
    pub(crate) idle_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) stop_seen: watch::Receiver<Stop>,
    /// Its place under the cap, given back when the connection ends, however it ends.
    pub(crate) slot: Slot,
}

impl Connection {
    pub(crate) async fn run(mut self, stream: TcpStream, remote: SocketAddr) {
        // Small answers, sent at once; a failure only costs latency.
        let _ = stream.set_nodelay(true);
        let io = Tracked::new(stream);
        let activity = io.activity();
        let router = self.router;
        let cut = Arc::new(Notify::new());
        let switch = CutSwitch(Arc::clone(&cut));
        let slot = Arc::new(self.slot);
        let requests = Arc::clone(&slot);
        let body_read_timeout = self.body_read_timeout;
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            // From here until the answer is sent in full, the connection is not shed.
            let in_flight = requests.begin_request();
            let mut request = request.map(|body| Body::new(BodyDeadline::new(body, body_read_timeout)));
            // What `into_make_service_with_connect_info` would add: rate limits read it.
            request.extensions_mut().insert(ConnectInfo(remote));
            request.extensions_mut().insert(switch.clone());
            let mut router = router.clone();
            let call = tower_service::Service::call(&mut router, request);
            async move {
                let response = call.await?;
                Ok::<_, std::convert::Infallible>(response.map(|body| Guarded { body, in_flight }))
            }
        });
        let connection = self.http.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let mut stopping = false;
        let mut server_gone = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        // A header-read timeout, a malformed request, a client gone: its problem.
                        tracing::debug!(%remote, error = %e, "connection ended");
                    }
                    return;
                }
                () = cut.notified() => {
                    tracing::debug!(%remote, "connection cut by its handler, without an answer");
                    return;
                }
                () = slot.shed() => {
                    tracing::debug!(%remote, "idle connection closed to admit a new one at the cap");
                    return;
                }
                seen = self.stop_seen.wait_for(|stop| if stopping { *stop == Stop::Closing } else { *stop != Stop::Serving }),
                    if !server_gone =>
                {
                    match seen.as_deref() {
                        Ok(Stop::Closing) => {
                            tracing::debug!(%remote, "connection still open at the end of the drain: closed");
                            return;
                        }
                        // A server dropped rather than stopped leaves its connections to close
                        // gracefully, with no end to the drain.
                        result => {
                            server_gone = result.is_err();
                            if !stopping {
                                stopping = true;
                                // Closes it now if idle, else once the answer in progress is sent.
                                connection.as_mut().graceful_shutdown();
                            }
                        }
                    }
                }
                () = sleep_until(activity.last().checked_add(self.idle_timeout)) => {
                    if activity.last().elapsed() >= self.idle_timeout {
                        tracing::debug!(%remote, "connection idle too long: closed");
                        return;
                    }
                }
            }
        }
    }
}

/// An answer's body, holding its request's [`InFlight`] guard until it has been sent in full
/// (or dropped): only then may the connection be shed.
struct Guarded {
    body: Body,
    in_flight: Option<InFlight>,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.body).poll_frame(cx);
        if matches!(poll, Poll::Ready(None)) {
            this.in_flight = None;
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A request's body that must arrive in full within a time from when its head did: past it,
/// reading fails (see [`Limits::body_read_timeout`](crate::Limits::body_read_timeout)).
struct BodyDeadline {
    body: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

impl BodyDeadline {
    fn new(body: Incoming, timeout: Duration) -> Self {
        // A deadline past what an `Instant` holds is none: a day is far enough.
        let deadline =
            Instant::now().checked_add(timeout).unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
        Self { body, deadline: Box::pin(tokio::time::sleep_until(deadline)), timeout }
    }
}

impl http_body::Body for BodyDeadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            let message = format!("the request body did not arrive in full within {:?}", this.timeout);
            return Poll::Ready(Some(Err(message.into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Sleeps until `deadline`; forever if there is none (a deadline past what an `Instant` holds).
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// When a connection last moved a byte, in milliseconds since it was accepted.
#[derive(Debug, Clone)]
struct Activity {
    since: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.since + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A TCP stream that records when it last read or wrote a byte.
struct Tracked {
    inner: TcpStream,
    activity: Activity,
}

impl Tracked {
    fn new(inner: TcpStream) -> Self {
        Self { inner, activity: Activity { since: Instant::now(), last_ms: Arc::new(AtomicU64::new(0)) } }
    }

    fn activity(&self) -> Activity {
        self.activity.clone()
    }

    fn touched(&self, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = poll
            && n > 0
        {
            self.activity.touch();
        }
        poll
    }
}

impl AsyncRead for Tracked {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        poll
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.touched(poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.touched(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
