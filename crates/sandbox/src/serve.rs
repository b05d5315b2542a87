//! How the sandbox serves its router: HTTP/1.1 over hyper, one task per connection, with the
//! limits a server left running on a laptop or a CI machine needs so that a misbehaving or
//! hostile client cannot take it down:
//!
//! - a cap on open connections: past it, new connections are not accepted and wait in the
//!   listen backlog until one closes (so a client is served late rather than refused);
//! - a header-read timeout: a request head (request line and headers) must arrive in full within
//!   it, timed from when the connection starts waiting for one (accepted, or done answering the
//!   previous request), else the connection is closed; hyper keeps the clock, so a client that
//!   trickles a byte at a time (slowloris) gains nothing;
//! - an idle timeout: a connection on which no byte has moved either way for that long is closed,
//!   whatever it was doing (a request body that stopped arriving, an answer nobody reads).
//!
//! Each request also carries a [`CutSwitch`], with which a fault closes its connection without
//! an answer (see `faults`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

/// The sandbox's connection limits; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
}

/// Serves `router` on `listener` until `signal` completes; then stops accepting (the port is
/// freed at once), lets each connection finish the request it is answering, and returns once
/// every connection has closed. Dropping the returned future stops accepting too, and asks the
/// open connections to close in the same way.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    signal: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    // One permit per open connection; `acquire_many` takes a `u32`.
    let permits = u32::try_from(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(permits as usize));
    // `true`, or dropped: the server is stopping.
    let (stopping, stop_seen) = watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let http = Arc::new(http);

    tokio::pin!(signal);
    loop {
        // A free slot first, then a connection: past the cap, connections stay in the backlog.
        let accepted = tokio::select! {
            () = &mut signal => break,
            accepted = async {
                let permit = Arc::clone(&slots).acquire_owned().await.ok()?;
                Some((permit, accept(&listener).await))
            } => accepted,
        };
        let Some((permit, (stream, remote))) = accepted else { break };
        let connection = Connection {
            http: Arc::clone(&http),
            router: router.clone(),
            idle_timeout: limits.idle_timeout,
            stop_seen: stop_seen.clone(),
            _permit: permit,
        };
        tokio::spawn(connection.run(stream, remote));
    }
    drop(listener);
    stopping.send_replace(true);
    // Every connection holds a permit until it ends: all of them back means all closed.
    let _ = slots.acquire_many(permits).await;
    Ok(())
}

/// The next connection. Errors that concern one connection (reset before it was accepted) are
/// skipped; others (out of file descriptors) are logged and retried a second later, as
/// `axum::serve` does, rather than stopping the server.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                ) => {}
            Err(e) => {
                tracing::error!(error = %e, "sandbox cannot accept a connection; retrying in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Closes the connection a request came on, at once and without an answer: what a `cut` fault
/// does. In every request's extensions when the sandbox serves itself; absent when its router
/// is mounted in another server.
#[derive(Debug, Clone)]
pub(crate) struct CutSwitch(Arc<Notify>);

impl CutSwitch {
    /// Closes the connection; the request's handler is dropped with it.
    pub(crate) fn cut(&self) {
        self.0.notify_one();
    }
}

/// One accepted connection and what it needs to be served.
struct Connection {
    http: Arc<http1::Builder>,
    router: Router,
    idle_timeout: Duration,
    stop_seen: watch::Receiver<bool>,
    /// Given back when the connection ends, however it ends.
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, remote: SocketAddr) {
        // Small answers, sent at once; a failure only costs latency.
        let _ = stream.set_nodelay(true);
        let io = Tracked::new(stream);
        let activity = io.activity();
        let router = self.router;
        let cut = Arc::new(Notify::new());
        let switch = CutSwitch(Arc::clone(&cut));
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // What `into_make_service_with_connect_info` would add: the per-IP rate limit reads it.
            request.extensions_mut().insert(ConnectInfo(remote));
            request.extensions_mut().insert(switch.clone());
            let mut router = router.clone();
            tower_service::Service::call(&mut router, request)
        });
        let connection = self.http.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        // A header-read timeout, a malformed request, a client gone: its problem.
                        tracing::debug!(%remote, error = %e, "sandbox connection ended");
                    }
                    return;
                }
                () = cut.notified() => {
                    tracing::debug!(%remote, "sandbox connection cut by a fault, without an answer");
                    return;
                }
                _ = self.stop_seen.wait_for(|stop| *stop), if !stopping => {
                    stopping = true;
                    // Closes it now if idle, else once the answer in progress is sent.
                    connection.as_mut().graceful_shutdown();
                }
                () = sleep_until(activity.last().checked_add(self.idle_timeout)) => {
                    if activity.last().elapsed() >= self.idle_timeout {
                        tracing::debug!(%remote, "sandbox connection idle too long: closed");
                        return;
                    }
                }
            }
        }
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
