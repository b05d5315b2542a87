//! The one HTTP server of gerbang's sandbox and webhook receiver: HTTP/1.1 over hyper, one task
//! per connection, with the limits an internet-facing port needs so that a misbehaving or
//! hostile client cannot take it down.
//!
//! - **A header-read timeout**: a request head (request line and headers) must arrive in full
//!   within it, timed from when the connection starts waiting for one (accepted, or done
//!   answering the previous request), else the connection is closed without an answer; hyper
//!   keeps the clock, so a client that trickles a byte at a time (slowloris) gains nothing.
//! - **An idle timeout**: a connection on which no byte has moved either way for that long is
//!   closed, whatever it was doing (a request body that stopped arriving, an answer nobody reads).
//! - **A connection cap** that leaves room for the process's own files: never more than
//!   [`Limits::max_connections`], nor more than the open-file limit allows once a reserve is kept
//!   for the process's own files and store connections (see [`Limits::connection_cap`]).
//! - **Graceful shutdown**: once the shutdown future completes, the port is freed at once, each
//!   connection finishes the request it is answering, and [`serve`] returns when all are closed.
//!   [`serve_with_deadline`] bounds that wait: connections still open when its `close` future
//!   completes are closed at once. [`shutdown_signal`] completes on SIGTERM or Ctrl-C.
//!
//! # What happens at the cap: the longest-waiting idle connection is shed
//!
//! A plain cap lets a flood of idle connections hold every slot: a genuine client then waits in
//! the listen backlog until a header-read timeout frees one. Here, when every slot is taken and a
//! new connection arrives, the server closes the open connection that has waited longest
//! *without a complete request head* (a silent or slow-header client, or an idle keep-alive
//! connection) and admits the newcomer in its place. A client that sends its request promptly
//! is therefore served at once, however many idle connections an attacker holds: to shed it, an
//! attacker would have to open more connections than the cap in the few milliseconds between its
//! connect and its request head.
//!
//! A connection with a request in progress (its head received, its answer not yet sent in full)
//! is **never** shed. When every open connection has one, new connections are not accepted:
//! they wait in the operating system's listen backlog until a connection closes or becomes idle
//! (the idle timeout still bounds a request whose body stopped arriving). At most two sockets over
//! the cap are open at a time: one accepted and held unserved until there is room, and one
//! shed and closing.
//!
//! Each request carries, in its extensions, the peer's address as axum's
//! [`ConnectInfo`](axum::extract::ConnectInfo)`<SocketAddr>` and a [`CutSwitch`], with which a
//! handler closes its own connection without an answer (the sandbox's faults do).
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use axum::{Router, routing::get};
//! use gerbang_server::Limits;
//!
//! # async fn run() -> std::io::Result<()> {
//! let router = Router::new().route("/healthz", get(|| async { "ok" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let mut limits = Limits::default();
//! limits.header_read_timeout = Duration::from_secs(5);
//! gerbang_server::serve(listener, router, limits, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connection;
mod files;
mod registry;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub use connection::CutSwitch;
pub use files::{MIN_FILE_RESERVE, open_file_limit};

use connection::Connection;
use registry::Registry;

/// How many connections are open at once, by default (fewer if the open-file limit says so);
/// see [`Limits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// How long a client has to send a request's head, by default; see
/// [`Limits::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may move no byte before it is closed, by default; see
/// [`Limits::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a client has by default to send a request's body in full once its head has
/// arrived: [`Limits::body_read_timeout`]. A webhook (64 KiB at most) arrives in milliseconds;
/// this bounds a client that trickles a body a byte at a time, just inside the idle timeout, to
/// hold a connection that, answering a request, is never shed.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits [`serve`] holds every connection to; see the crate documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// At most this many connections open at once (default [`DEFAULT_MAX_CONNECTIONS`]; at
    /// least 1), and never more than the open-file limit allows: see
    /// [`connection_cap`](Self::connection_cap). Past it, the connection that has waited longest
    /// for a request head is closed to admit a new one.
    pub max_connections: usize,
    /// How long a client has to send a request's head in full (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]), from when the connection starts waiting for one: also
    /// how long an idle keep-alive connection stays open.
    pub header_read_timeout: Duration,
    /// How long a connection may move no byte, in either direction, before it is closed
    /// (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// How long a client has to send a request's body in full, from when its head arrived
    /// (default [`DEFAULT_BODY_READ_TIMEOUT`]). Past it, reading the body fails: the handler's
    /// extractor answers 4xx and the connection closes. A request in progress is never shed for
    /// a newcomer, so without this bound a body trickled in just inside the idle timeout would
    /// hold its place under the cap for ever.
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
        }
    }
}

impl Limits {
    /// The cap [`serve`] applies: [`max_connections`](Self::max_connections), lowered if need be
    /// so that connections use at most the process's open-file soft limit minus a reserve for its
    /// own files and store connections (a quarter of the limit, at least [`MIN_FILE_RESERVE`]).
    /// With the common limit of 1 024, that is 768. Where the limit cannot be read (not Linux),
    /// `max_connections` as it is. Always at least 1.
    pub fn connection_cap(&self) -> usize {
        files::cap_for(self.max_connections, open_file_limit())
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting (the port is
/// freed at once), lets each connection finish the request it is answering, and returns once
/// every connection has closed. Dropping the returned future stops accepting too, and asks the
/// open connections to close in the same way.
///
/// The shutdown future is yours: Ctrl-C, SIGTERM, a test's oneshot.
///
/// # Errors
///
/// None today: a failure to accept one connection (out of file descriptors) is logged and
/// retried a second later rather than stopping the server. The `io::Result` leaves room for
/// setup errors.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with_deadline(listener, router, limits, shutdown, std::future::pending()).await
}

/// [`serve`], with an end to the drain: once `shutdown` has completed (the port is freed, each
/// connection finishes the request it is answering), the connections still open when `close`
/// completes are closed at once, their requests' handlers dropped, and it returns. `close` is
/// polled only after `shutdown` completed, and dropped unfinished if every connection closes
/// first: work that must finish (releasing claims) belongs in a task of its own, which `close`
/// waits for.
///
/// `close` is where a receiver's drain goes: wait for the deliveries under way up to a deadline,
/// release the claims of those still running, and only then let their connections be closed
/// (see `gerbang_webhooks::Receiver::drain`).
///
/// # Errors
///
/// As [`serve`].
pub async fn serve_with_deadline(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    close: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let cap = limits.connection_cap();
    if cap < limits.max_connections {
        tracing::info!(
            cap,
            asked = limits.max_connections,
            open_file_limit = open_file_limit(),
            "connection cap lowered to what the open-file limit leaves"
        );
    }
    let registry = Arc::new(Registry::new());
    // Dropped: the server is stopping.
    let (stopping, stop_seen) = watch::channel(Stop::Serving);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let http = Arc::new(http);

    tokio::pin!(shutdown);
    'serving: loop {
        // Room, or an idle connection to shed, before a connection is accepted: when every slot
        // holds a request in progress, newcomers wait in the backlog.
        loop {
            let changed = registry.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if registry.can_admit(cap) {
                break;
            }
            tokio::select! {
                () = &mut shutdown => break 'serving,
                () = changed => {}
            }
        }
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener) => accepted,
        };
        // `can_admit` said yes before the accept, which may have waited since: a request may have
        // begun on every idle connection meanwhile. Then this one connection is held, accepted
        // but not served, until there is room.
        let slot = loop {
            let changed = registry.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(slot) = registry.try_admit(cap) {
                break slot;
            }
            tokio::select! {
                () = &mut shutdown => break 'serving,
                () = changed => {}
            }
        };
        let connection = Connection {
            http: Arc::clone(&http),
            router: router.clone(),
            idle_timeout: limits.idle_timeout,
            body_read_timeout: limits.body_read_timeout,
            stop_seen: stop_seen.clone(),
            slot,
        };
        tokio::spawn(connection.run(stream, remote));
    }
    drop(listener);
    stopping.send_replace(Stop::Draining);
    tokio::pin!(close);
    tokio::select! {
        () = registry.all_closed() => {}
        () = &mut close => {
            stopping.send_replace(Stop::Closing);
            registry.all_closed().await;
        }
    }
    Ok(())
}

/// Where the server stands, as its connections see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Serving.
    Serving,
    /// Not accepting: each connection closes once the request it is answering is answered.
    Draining,
    /// Every connection closes now.
    Closing,
}

/// Completes on SIGTERM (how Kubernetes, systemd and container runtimes stop a process) or
/// SIGINT (Ctrl-C), whichever comes first: the shutdown future to give [`serve`]. The signals
/// are listened for from this call on (not from the first poll), so call it early: a signal
/// that comes before would stop the process the default way. A signal that cannot be listened
/// for is left out. Call it within a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).ok();
        let mut interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            let terminated = async {
                match terminate.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            let interrupted = async {
                match interrupt.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = terminated => {}
                _ = interrupted => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
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
                tracing::error!(error = %e, "cannot accept a connection; retrying in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
