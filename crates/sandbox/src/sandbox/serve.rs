//! Serving the sandbox: in a background task behind a [`SandboxHandle`], or until a signal.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use gerbang_core::ProviderId;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::Sandbox;
use crate::state;

/// How long [`SandboxHandle::shutdown`] waits for open connections before it stops the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Sandbox {
    /// Serves the sandbox on `127.0.0.1` at a free port, in a background task.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the port.
    pub async fn start(self) -> io::Result<SandboxHandle> {
        self.start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Serves the sandbox on `addr` (port 0: a free one), in a background task.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the address.
    pub async fn start_on(self, addr: SocketAddr) -> io::Result<SandboxHandle> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        self.served_at(addr);
        let (stop, stopped) = oneshot::channel::<()>();
        // A dropped sender also stops the server: that is how dropping the handle shuts it down.
        let server = self.serve_listener(listener, async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(server);
        // Debug: whoever started it says where it listens (`sandbox serve` prints its dashboard first).
        tracing::debug!(%addr, "sandbox listening");
        Ok(SandboxHandle { sandbox: self, addr, stop: Some(stop), task: Some(task) })
    }

    /// Serves the sandbox on `addr` until Ctrl-C, or until the returned future is dropped.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the address.
    pub async fn serve(self, addr: SocketAddr) -> io::Result<()> {
        self.serve_with_shutdown(addr, ctrl_c()).await
    }

    /// Serves the sandbox on `addr` until `signal` completes (then lets open requests finish), or
    /// until the returned future is dropped.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the address.
    pub async fn serve_with_shutdown(
        self,
        addr: SocketAddr,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        self.served_at(addr);
        // Debug: whoever started it says where it listens (`sandbox serve` prints its dashboard first).
        tracing::debug!(%addr, "sandbox listening");
        self.serve_listener(listener, signal).await
    }

    /// Records the first address the sandbox is served on: the origin of the links in answers,
    /// unless a public URL was configured.
    fn served_at(&self, addr: SocketAddr) {
        let _ = self.shared.served_at.set(root_url(addr));
    }

    fn serve_listener(
        &self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = io::Result<()>> + Send + 'static {
        gerbang_server::serve(listener, self.router(), self.shared.settings.limits, signal)
    }
}

/// Resolves on Ctrl-C; never, if the signal cannot be listened for (then the future's owner
/// stops the server by dropping it).
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// `http://ADDR`, an unspecified address written as loopback (the address a local client reaches
/// it by).
fn root_url(mut addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() { Ipv4Addr::LOCALHOST.into() } else { Ipv6Addr::LOCALHOST.into() });
    }
    format!("http://{addr}")
}

/// A sandbox serving in the background; from [`SandboxBuilder::start`](crate::SandboxBuilder::start). Dropping it stops the
/// server.
#[derive(Debug)]
pub struct SandboxHandle {
    sandbox: Sandbox,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl SandboxHandle {
    /// The address the sandbox is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the sandbox's root (an unspecified bind address is written as
    /// loopback, the address a local client reaches it by).
    pub fn url(&self) -> String {
        root_url(self.addr)
    }

    /// The base URL a client of `provider` should be configured with: the sandbox URL followed
    /// by the gateway's prefix (`{url}/cuan10pay`), so that the paths of the gateway's document
    /// append to it as written and are what its signature covers.
    pub fn base_url(&self, provider: ProviderId) -> String {
        format!("{}{}", self.url(), state::prefix(provider))
    }

    /// The sandbox being served.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Stops accepting connections, lets open requests finish (for a few seconds at most), and
    /// returns once the server has stopped and its port is free.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

/// Everything that drives the sandbox (paying, expiring, webhooks, deliveries, the clock, faults,
/// …) is [`Sandbox`]'s: the handle gives its sandbox rather than repeating each method.
impl std::ops::Deref for SandboxHandle {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        // Dropping the sender is the signal; the task winds down on its own.
        self.stop.take();
    }
}
