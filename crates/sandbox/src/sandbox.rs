//! The sandbox itself: how it is configured, served and driven.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;
use gerbang_core::{ProviderId, SharedClock, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::clock::SandboxClock;
use crate::state::{Settings, Shared};
use crate::webhook::{DeliveryLog, WebhookRetry, WebhookUrls};
use crate::{
    Delivery, DeliveryPlan, PaymentState, SandboxError, cashin, ciputra, control, crypto_invoice, cuan10pay, dashboard,
    faults, guard, qris, state,
};

/// How long [`SandboxHandle::shutdown`] waits for open connections before it stops the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How many connections the sandbox keeps open at once, by default; see
/// [`SandboxBuilder::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = gerbang_server::DEFAULT_MAX_CONNECTIONS;

/// How long a client has to send a request's head, by default; see
/// [`SandboxBuilder::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = gerbang_server::DEFAULT_HEADER_READ_TIMEOUT;

/// How long a connection may move no byte before it is closed, by default; see
/// [`SandboxBuilder::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = gerbang_server::DEFAULT_IDLE_TIMEOUT;

/// How many payments each emulated gateway keeps, by default; see
/// [`SandboxBuilder::max_payments`].
pub const DEFAULT_MAX_PAYMENTS: usize = 10_000;

/// The longest timeout the builder takes; a longer one is taken as this (a day).
const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

/// A local emulator of the payment gateways: cheap to clone (an `Arc` inside), all state in memory.
///
/// Build one with [`Sandbox::builder`], then either [`start`](SandboxBuilder::start) it in-process
/// (tests, the quickstart), [`serve`](SandboxBuilder::serve) it until Ctrl-C (`gerbang sandbox
/// serve`), or mount its [`router`](Sandbox::router) in an axum application of your own.
///
/// ```no_run
/// use gerbang_core::ProviderId;
/// use gerbang_sandbox::{Sandbox, cuan10pay};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let sandbox = Sandbox::builder()
///     .webhook_url(ProviderId::Cuan10pay, "http://127.0.0.1:3000/webhooks/cuan10pay")
///     .start()
///     .await?;
///
/// // Point the Cuan10pay client at the sandbox, with its published test credentials.
/// let base_url = sandbox.base_url(ProviderId::Cuan10pay); // http://127.0.0.1:PORT/cuan10pay
/// let (api_key, private_key) = (cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY);
/// # let _ = (base_url, api_key, private_key);
///
/// // … create a deposit with the client, then play the customer:
/// sandbox.pay(ProviderId::Cuan10pay, "CP-20250928-38B575").await?;
///
/// // The webhook is on its way to the URL above; every attempt is recorded.
/// let deliveries = sandbox.wait_for_deliveries(1, std::time::Duration::from_secs(5)).await?;
/// assert!(deliveries[0].succeeded());
/// sandbox.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
}

impl Default for Sandbox {
    /// A sandbox with every default: system clock, no webhook URL, no rate limit.
    fn default() -> Self {
        Self::builder().build()
    }
}

impl Sandbox {
    /// Starts configuring a sandbox.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// The state every gateway module shares, for controls a module adds to `Sandbox` itself.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Every route of the sandbox (each gateway under its prefix, the control API under
    /// `/_sandbox`, the dashboard at `/`), to serve or to mount in another router. Mounted
    /// elsewhere, a `cut` fault cannot reach the connection: the answer's body fails instead.
    ///
    /// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` for the per-IP rate
    /// limit to tell clients apart; without it all clients share one budget. Mounted this way,
    /// the connection limits of the [`SandboxBuilder`] are your server's business, and the links
    /// in answers start with [`SandboxBuilder::public_url`] (set it: the sandbox does not know
    /// where your application listens, and does not trust the request's `Host` header). The router
    /// answers only requests naming `localhost`, an IP address or the public URL's host (421
    /// otherwise: DNS rebinding), and refuses changes that a browser says come from another site:
    /// see the crate's docs.
    pub fn router(&self) -> Router {
        // One layer in front of every gateway: the faults injected (none: requests pass as is).
        let gateways = Router::new()
            .nest(cuan10pay::PREFIX, cuan10pay::router(Arc::clone(&self.shared)))
            .nest(cashin::PREFIX, cashin::router(Arc::clone(&self.shared)))
            .nest(qris::PREFIX, qris::router(Arc::clone(&self.shared)))
            .nest(crypto_invoice::PREFIX, crypto_invoice::router(Arc::clone(&self.shared)))
            .nest(ciputra::PREFIX, ciputra::router(Arc::clone(&self.shared)))
            .layer(from_fn_with_state(Arc::clone(&self.shared), faults::inject));
        // One layer in front of everything: the hosts it answers, and no change from a web page.
        let rules = Arc::new(guard::Guard::new(Arc::clone(&self.shared)));
        gateways
            .nest("/_sandbox", control::router(Arc::clone(&self.shared)))
            .merge(dashboard::router(Arc::clone(&self.shared)))
            .layer(from_fn_with_state(rules, guard::check))
            .layer(from_fn(trace))
    }

    /// Plays the customer paying: moves a pending payment to paid and sends the gateway's webhook
    /// (in the background; see [`deliveries`](Self::deliveries)).
    ///
    /// `reference` is any of the payment's ids, tried in this order: the sandbox's key
    /// ([`PaymentSummary::reference`](crate::PaymentSummary::reference)), the gateway's id for
    /// it (Cuan10pay's `deposit_id`, Cash In's `referenceNo`, Ciputra's `order_id`, …), or the
    /// merchant's reference (QRIS invoices keep none). The same holds for every control that
    /// takes one, here and in the control API.
    ///
    /// # Errors
    ///
    /// [`SandboxError::UnknownPayment`] if no payment has that id,
    /// [`SandboxError::AmbiguousReference`] for a merchant reference several payments carry,
    /// [`SandboxError::NotPending`] if it is already paid or expired,
    /// [`SandboxError::NotEmulated`] for a gateway the sandbox does not emulate yet.
    pub async fn pay(&self, provider: ProviderId, reference: &str) -> Result<PaymentState, SandboxError> {
        self.pay_with(provider, reference, DeliveryPlan::new()).await
    }

    /// [`pay`](Self::pay), delivering the webhook per `plan`: several copies, at once or spaced,
    /// after a delay, or dropped. The control API's `POST
    /// /_sandbox/{provider}/payments/{reference}/pay?copies=5&spacing_ms=0&delay_ms=0&drop=false`.
    ///
    /// ```no_run
    /// # use gerbang_core::ProviderId;
    /// # use gerbang_sandbox::{DeliveryPlan, SandboxHandle};
    /// # use std::time::Duration;
    /// # async fn run(sandbox: SandboxHandle, id: &str, other: &str) -> Result<(), gerbang_sandbox::SandboxError> {
    /// // The same webhook five times, concurrently: the handler must run once.
    /// sandbox.pay_with(ProviderId::Cuan10pay, id, DeliveryPlan::new().copies(5)).await?;
    /// // A webhook the gateway loses: only a status check (reconciliation) finds the payment.
    /// sandbox.pay_with(ProviderId::Cuan10pay, other, DeliveryPlan::new().drop(true)).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`pay`](Self::pay).
    pub async fn pay_with(
        &self,
        provider: ProviderId,
        reference: &str,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        control::settle(&self.shared, provider, reference, PaymentState::Paid, plan).map(|done| done.state)
    }

    /// Lets a pending payment expire and sends the gateway's webhook.
    ///
    /// # Errors
    ///
    /// As [`pay`](Self::pay).
    pub async fn expire(&self, provider: ProviderId, reference: &str) -> Result<PaymentState, SandboxError> {
        self.expire_with(provider, reference, DeliveryPlan::new()).await
    }

    /// [`expire`](Self::expire), delivering the webhook per `plan`; see
    /// [`pay_with`](Self::pay_with).
    ///
    /// # Errors
    ///
    /// As [`pay`](Self::pay).
    pub async fn expire_with(
        &self,
        provider: ProviderId,
        reference: &str,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        control::settle(&self.shared, provider, reference, PaymentState::Expired, plan).map(|done| done.state)
    }

    /// Lets a pending payment fail at the gateway (where the gateway has such a state: Cash In's
    /// `FAILED`) and sends the gateway's webhook.
    ///
    /// # Errors
    ///
    /// As [`pay`](Self::pay), and [`SandboxError::UnsupportedTransition`] for a gateway whose
    /// payments cannot fail.
    pub async fn fail(&self, provider: ProviderId, reference: &str) -> Result<PaymentState, SandboxError> {
        self.fail_with(provider, reference, DeliveryPlan::new()).await
    }

    /// [`fail`](Self::fail), delivering the webhook per `plan`; see [`pay_with`](Self::pay_with).
    ///
    /// # Errors
    ///
    /// As [`fail`](Self::fail).
    pub async fn fail_with(
        &self,
        provider: ProviderId,
        reference: &str,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        control::settle(&self.shared, provider, reference, PaymentState::Failed, plan).map(|done| done.state)
    }

    /// Sends, per `plan`, the webhook a payment has in `state`, or would have had: made now,
    /// correctly signed, whatever state the payment is in, which does not move. Send `Paid` and
    /// then `Pending`, and a receiver gets an earlier state after a later one, as gateways that
    /// reorder webhooks deliver them. The control API's `POST
    /// /_sandbox/{provider}/payments/{reference}/webhook?status=paid` (and the plan's query).
    ///
    /// | gateway | states with a webhook |
    /// |---|---|
    /// | Cuan10pay | pending, paid, expired (`PENDING`, `PAID`, `EXPIRED`) |
    /// | Cash In | pending, paid, expired, failed (`latestTransactionStatus` `03`, `00`, `05`, `06`) |
    /// | Crypto invoices | paid (the one callback the document has) |
    /// | Ciputra | paid, expired |
    /// | QRIS | none: its invoices are polled |
    ///
    /// ```no_run
    /// # use gerbang_core::ProviderId;
    /// # use gerbang_sandbox::{DeliveryPlan, PaymentState, SandboxHandle};
    /// # async fn run(sandbox: SandboxHandle) -> Result<(), gerbang_sandbox::SandboxError> {
    /// sandbox.pay(ProviderId::CashIn, "ORDER-1").await?;
    /// // … then the notification of the earlier state arrives, late.
    /// sandbox.send_webhook(ProviderId::CashIn, "ORDER-1", PaymentState::Pending, DeliveryPlan::new()).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SandboxError::UnknownPayment`], [`SandboxError::NoWebhook`] for a state the gateway
    /// sends no webhook for, [`SandboxError::NoWebhookUrl`] when there is nowhere to send it.
    pub async fn send_webhook(
        &self,
        provider: ProviderId,
        reference: &str,
        state: PaymentState,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        control::send_webhook(&self.shared, provider, reference, Some(state), plan).map(|done| done.state)
    }

    /// Sends the webhook of the payment's current state again, per `plan`, made now: what a
    /// gateway's dashboard "resend" button does. The control API's `POST
    /// /_sandbox/{provider}/payments/{reference}/webhook` without `status`. Returns the state
    /// whose webhook was sent.
    ///
    /// # Errors
    ///
    /// As [`send_webhook`](Self::send_webhook).
    pub async fn resend_webhook(
        &self,
        provider: ProviderId,
        reference: &str,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        control::send_webhook(&self.shared, provider, reference, None, plan).map(|done| done.state)
    }

    /// Every webhook delivery attempt so far, in the order they were recorded (an attempt is
    /// recorded when its answer came, or when it failed; a dropped copy when it would have been
    /// sent): each with its [`copy`](Delivery::copy) and [`attempt`](Delivery::attempt) numbers,
    /// URL, and the receiver's status and [`answer`](Delivery::answer), or the
    /// [`error`](Delivery::error).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries.all()
    }

    /// Each webhook delivery attempt from now on, as it is recorded (what `gerbang sandbox serve`
    /// prints a line for). A listener that falls more than 256 attempts behind is told how many
    /// it missed; [`deliveries`](Self::deliveries) still has them.
    pub fn subscribe_deliveries(&self) -> tokio::sync::broadcast::Receiver<Delivery> {
        self.shared.deliveries.subscribe()
    }

    /// Waits until at least `count` webhook delivery attempts have been recorded (dropped copies
    /// included), and returns them all.
    ///
    /// # Errors
    ///
    /// [`SandboxError::DeliveriesTimeout`] if fewer were recorded within `timeout`.
    pub async fn wait_for_deliveries(&self, count: usize, timeout: Duration) -> Result<Vec<Delivery>, SandboxError> {
        self.shared.deliveries.wait_for(count, timeout).await
    }

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

/// A span per request: method, path (never the query, which some gateways use for API keys),
/// status and latency. No header or body is logged.
async fn trace(request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "sandbox.request",
        method = %request.method(),
        path = %request.uri().path(),
        status = tracing::field::Empty,
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    span.record("status", response.status().as_u16());
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::debug!(parent: &span, latency_ms, "answered");
    response
}

/// `http://ADDR`, an unspecified address written as loopback (the address a local client reaches
/// it by).
fn root_url(mut addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() { Ipv4Addr::LOCALHOST.into() } else { Ipv6Addr::LOCALHOST.into() });
    }
    format!("http://{addr}")
}

/// Configures a [`Sandbox`]; from [`Sandbox::builder`].
///
/// The sandbox is a server people leave running on laptops and CI machines, so it is bounded
/// by default, each limit configurable here:
///
/// | limit | default | past it |
/// |---|---|---|
/// | [`max_connections`](Self::max_connections) | [`DEFAULT_MAX_CONNECTIONS`] (512) | the connection waiting longest for a request head is closed for the new one; if all are busy, new ones wait in the listen backlog |
/// | [`header_read_timeout`](Self::header_read_timeout) | [`DEFAULT_HEADER_READ_TIMEOUT`] (10 s) | a connection that has not sent a full request head is closed |
/// | [`idle_timeout`](Self::idle_timeout) | [`DEFAULT_IDLE_TIMEOUT`] (60 s) | a connection on which no byte moved is closed |
/// | [`body_read_timeout`](Self::body_read_timeout) | `gerbang_server::DEFAULT_BODY_READ_TIMEOUT` (30 s) | a request whose body has not arrived in full is answered 4xx and its connection closed |
/// | [`max_payments`](Self::max_payments) | [`DEFAULT_MAX_PAYMENTS`] (10 000) | each gateway forgets its oldest payment |
///
/// The links in answers (checkout pages, QR images) start with the sandbox's own address, or
/// [`public_url`](Self::public_url): never with the request's `Host` header.
#[derive(Debug)]
pub struct SandboxBuilder {
    clock: Option<SharedClock>,
    webhook_urls: HashMap<ProviderId, WebhookUrls>,
    webhook_retry: Option<WebhookRetry>,
    cuan10pay_rate_limit: Option<u32>,
    public_url: Option<String>,
    limits: gerbang_server::Limits,
    max_payments: usize,
    // Each gateway module's own settings; its builder methods live in that module.
    pub(crate) cashin: cashin::Settings,
    pub(crate) qris: qris::Settings,
    pub(crate) crypto_invoice: crypto_invoice::Settings,
    pub(crate) ciputra: ciputra::Settings,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            clock: None,
            webhook_urls: HashMap::new(),
            webhook_retry: None,
            cuan10pay_rate_limit: None,
            public_url: None,
            limits: gerbang_server::Limits::default(),
            max_payments: DEFAULT_MAX_PAYMENTS,
            cashin: cashin::Settings::default(),
            qris: qris::Settings::default(),
            crypto_invoice: crypto_invoice::Settings::default(),
            ciputra: ciputra::Settings::default(),
        }
    }
}

impl SandboxBuilder {
    /// How many connections the sandbox keeps open at once (default
    /// [`DEFAULT_MAX_CONNECTIONS`], 512; at least 1; lowered if the open-file limit leaves less,
    /// see `gerbang_server::Limits::connection_cap`). Past it, a new connection is admitted in
    /// place of the open one that has waited longest without a complete request head (silent,
    /// slow, or an idle keep-alive), which is closed; a connection answering a request is never
    /// closed for it. When every open connection is answering one, the newcomers wait in the
    /// operating system's listen backlog, and are served late rather than refused (a client's
    /// own connect or request timeout still applies). Together with the two timeouts, this is
    /// what keeps a flood of half-open or slow connections from exhausting the process's file
    /// descriptors or locking genuine clients out.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.limits.max_connections = max.max(1);
        self
    }

    /// How long a client has to send a request's head, its request line and headers, in full
    /// (default [`DEFAULT_HEADER_READ_TIMEOUT`], 10 s; at most a day). The clock starts when the
    /// connection starts waiting for a request: when it is accepted, and when the previous answer
    /// on a keep-alive connection has been sent, so it is also how long an idle keep-alive
    /// connection stays open. Past it the connection is closed, without an answer. A
    /// slowloris client, trickling a byte at a time, is closed on time all the same.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// How long a connection may move no byte, in either direction, before it is closed
    /// (default [`DEFAULT_IDLE_TIMEOUT`], 60 s; at most a day): a request body that stopped
    /// arriving, an answer the client stopped reading. A connection waiting for its next request
    /// is closed sooner, by the [`header_read_timeout`](Self::header_read_timeout).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// How long a client has to send a request's body in full once its head has arrived
    /// (default 30 s, `gerbang_server::DEFAULT_BODY_READ_TIMEOUT`; at most a day). Past it the
    /// request is answered 4xx and the connection closed: a body trickled in just inside the
    /// [`idle_timeout`](Self::idle_timeout) would otherwise hold a connection that, answering a
    /// request, is never closed to admit another.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_read_timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// How many payments each emulated gateway keeps in memory (default
    /// [`DEFAULT_MAX_PAYMENTS`], 10 000; at least 1). Past it, creating one forgets the oldest
    /// one (created first, whatever its state): looking it up then answers the gateway's "not
    /// found", and [`Sandbox::pay`] says [`SandboxError::UnknownPayment`]. The same limit bounds,
    /// per gateway, every other record that grows with use (Cuan10pay orders, QRIS withdrawals,
    /// Ciputra registrations, the Cash In `X-REQUEST-ID`s remembered to refuse a replay), and the
    /// log of webhook attempts that [`Sandbox::deliveries`] returns.
    pub fn max_payments(mut self, max: usize) -> Self {
        self.max_payments = max.max(1);
        self
    }

    /// The URL the links in the sandbox's answers (checkout and payment pages, QR images) start
    /// with, such as `http://sandbox.internal:8870` when clients reach it through another name,
    /// or when it is [mounted](Sandbox::router) in your own application. By default the address
    /// the sandbox is served on (`http://127.0.0.1:PORT`). Never the request's `Host` header,
    /// which any client can set. A trailing `/` is dropped.
    ///
    /// Its host is also the one name, besides `localhost` and IP addresses, that the sandbox
    /// answers to: a request naming any other host is refused (421), so that a web page whose
    /// DNS name was re-pointed at the sandbox (DNS rebinding) cannot read or drive it.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        let url: String = url.into();
        self.public_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// Where the sandbox sends `provider`'s webhooks, for gateways whose callback URL is set in the
    /// merchant's dashboard rather than in each request (Cuan10pay's deposits, Cash In's
    /// notifications). Without one, no webhook is sent for them.
    ///
    /// Called again for the same gateway, it adds a URL: the attempts are then spread over the
    /// URLs in turn (round robin), as a gateway's webhooks reach several replicas of a
    /// receiver. Each copy of a [`DeliveryPlan`] takes the next URL when the plan is given (copy
    /// 1 the next one, copy 2 the one after, …), and each retry takes the next one when it is
    /// sent. A callback URL given with the payment itself (Crypto invoices, Ciputra, Cuan10pay
    /// orders) is used alone.
    ///
    /// ```
    /// use gerbang_core::ProviderId;
    /// use gerbang_sandbox::Sandbox;
    ///
    /// let sandbox = Sandbox::builder()
    ///     .webhook_url(ProviderId::CashIn, "http://127.0.0.1:3001/v1.0/debit/notify")
    ///     .webhook_url(ProviderId::CashIn, "http://127.0.0.1:3002/v1.0/debit/notify")
    ///     .build();
    /// # let _ = sandbox;
    /// ```
    pub fn webhook_url(mut self, provider: ProviderId, url: impl Into<String>) -> Self {
        self.webhook_urls.entry(provider).or_default().push(url.into());
        self
    }

    /// [`webhook_url`](Self::webhook_url) for each of `urls`, in order.
    pub fn webhook_urls<I>(mut self, provider: ProviderId, urls: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        for url in urls {
            self = self.webhook_url(provider, url);
        }
        self
    }

    /// How many times (`attempts`, the first included; at least 1) and how far apart a webhook is
    /// sent until the receiver answers 2xx, for every gateway. By default each gateway's own
    /// policy: for Cuan10pay [`CUAN10PAY_WEBHOOK_ATTEMPTS`](crate::CUAN10PAY_WEBHOOK_ATTEMPTS)
    /// attempts [`CUAN10PAY_WEBHOOK_INTERVAL`](crate::CUAN10PAY_WEBHOOK_INTERVAL) apart.
    pub fn webhook_retry(mut self, attempts: u32, interval: Duration) -> Self {
        self.webhook_retry = Some(WebhookRetry { attempts: attempts.max(1), interval });
        self
    }

    /// The clock the sandbox checks request timestamps against, stamps records and webhooks
    /// with, and counts rate limits on (default: the system clock). Time travel
    /// ([`Sandbox::advance_clock`]) moves the sandbox's reading of it forward for records,
    /// expiries, tokens and rate limits, never for request and webhook timestamps.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Cuan10pay's rate limit, in requests per hour per client IP; over it, 429 with
    /// `Retry-After`. Off by default (`None`), so that tests and benchmarks are not throttled; the
    /// real gateway's is [`cuan10pay::DOCUMENTED_RATE_LIMIT`].
    pub fn cuan10pay_rate_limit(mut self, per_hour: Option<u32>) -> Self {
        self.cuan10pay_rate_limit = per_hour;
        self
    }

    /// The sandbox, not yet serving.
    pub fn build(self) -> Sandbox {
        let http = reqwest::Client::builder()
            .user_agent(concat!("gerbang-sandbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let settings = Settings {
            webhook_urls: self.webhook_urls,
            webhook_retry: self.webhook_retry,
            public_url: self.public_url,
            limits: self.limits,
        };
        let max = self.max_payments;
        let shared = Shared {
            settings,
            clock: SandboxClock::new(self.clock.unwrap_or_else(|| Arc::new(SystemClock))),
            sequence: AtomicU64::new(0),
            faults: crate::faults::Faults::default(),
            deliveries: DeliveryLog::new(max),
            http,
            cuan10pay: cuan10pay::Emulator::new(self.cuan10pay_rate_limit, max),
            cashin: cashin::Emulator::new(self.cashin, max),
            qris: qris::Emulator::new(self.qris, max),
            crypto_invoice: crypto_invoice::Emulator::new(self.crypto_invoice, max),
            ciputra: ciputra::Emulator::new(self.ciputra, max),
            served_at: OnceLock::new(),
        };
        Sandbox { shared: Arc::new(shared) }
    }

    /// Builds the sandbox and [starts](Sandbox::start) it on `127.0.0.1` at a free port.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the port.
    pub async fn start(self) -> io::Result<SandboxHandle> {
        self.build().start().await
    }

    /// Builds the sandbox and [starts](Sandbox::start_on) it on `addr`.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the address.
    pub async fn start_on(self, addr: SocketAddr) -> io::Result<SandboxHandle> {
        self.build().start_on(addr).await
    }

    /// Builds the sandbox and [serves](Sandbox::serve) it on `addr` until Ctrl-C.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the address.
    pub async fn serve(self, addr: SocketAddr) -> io::Result<()> {
        self.build().serve(addr).await
    }

    /// Builds the sandbox and [serves](Sandbox::serve_with_shutdown) it on `addr` until `signal`.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the address.
    pub async fn serve_with_shutdown(
        self,
        addr: SocketAddr,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        self.build().serve_with_shutdown(addr, signal).await
    }
}

/// A sandbox serving in the background; from [`SandboxBuilder::start`]. Dropping it stops the
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

    /// [`Sandbox::pay`].
    ///
    /// # Errors
    ///
    /// As [`Sandbox::pay`].
    pub async fn pay(&self, provider: ProviderId, reference: &str) -> Result<PaymentState, SandboxError> {
        self.sandbox.pay(provider, reference).await
    }

    /// [`Sandbox::pay_with`]: pays, delivering the webhook per a [`DeliveryPlan`].
    ///
    /// ```no_run
    /// # use gerbang_core::ProviderId;
    /// # use gerbang_sandbox::{DeliveryPlan, Sandbox};
    /// # use std::time::Duration;
    /// # async fn run(receivers: [&str; 3], id: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// // Three receivers, taken in turn by each attempt.
    /// let sandbox = Sandbox::builder().webhook_urls(ProviderId::Cuan10pay, receivers).start().await?;
    /// // Six copies at once: two reach each receiver.
    /// sandbox.pay_with(ProviderId::Cuan10pay, id, DeliveryPlan::new().copies(6)).await?;
    /// let deliveries = sandbox.wait_for_deliveries(6, Duration::from_secs(10)).await?;
    /// assert!(deliveries.iter().all(|d| d.succeeded()));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Sandbox::pay`].
    pub async fn pay_with(
        &self,
        provider: ProviderId,
        reference: &str,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        self.sandbox.pay_with(provider, reference, plan).await
    }

    /// [`Sandbox::expire`].
    ///
    /// # Errors
    ///
    /// As [`Sandbox::pay`].
    pub async fn expire(&self, provider: ProviderId, reference: &str) -> Result<PaymentState, SandboxError> {
        self.sandbox.expire(provider, reference).await
    }

    /// [`Sandbox::expire_with`].
    ///
    /// # Errors
    ///
    /// As [`Sandbox::pay`].
    pub async fn expire_with(
        &self,
        provider: ProviderId,
        reference: &str,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        self.sandbox.expire_with(provider, reference, plan).await
    }

    /// [`Sandbox::fail`].
    ///
    /// # Errors
    ///
    /// As [`Sandbox::fail`].
    pub async fn fail(&self, provider: ProviderId, reference: &str) -> Result<PaymentState, SandboxError> {
        self.sandbox.fail(provider, reference).await
    }

    /// [`Sandbox::fail_with`].
    ///
    /// # Errors
    ///
    /// As [`Sandbox::fail`].
    pub async fn fail_with(
        &self,
        provider: ProviderId,
        reference: &str,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        self.sandbox.fail_with(provider, reference, plan).await
    }

    /// [`Sandbox::send_webhook`]: the webhook of a given state, whatever the payment's.
    ///
    /// # Errors
    ///
    /// As [`Sandbox::send_webhook`].
    pub async fn send_webhook(
        &self,
        provider: ProviderId,
        reference: &str,
        state: PaymentState,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        self.sandbox.send_webhook(provider, reference, state, plan).await
    }

    /// [`Sandbox::resend_webhook`]: the webhook of the payment's current state, again.
    ///
    /// # Errors
    ///
    /// As [`Sandbox::send_webhook`].
    pub async fn resend_webhook(
        &self,
        provider: ProviderId,
        reference: &str,
        plan: DeliveryPlan,
    ) -> Result<PaymentState, SandboxError> {
        self.sandbox.resend_webhook(provider, reference, plan).await
    }

    /// [`Sandbox::deliveries`].
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.sandbox.deliveries()
    }

    /// [`Sandbox::wait_for_deliveries`].
    ///
    /// # Errors
    ///
    /// As [`Sandbox::wait_for_deliveries`].
    pub async fn wait_for_deliveries(&self, count: usize, timeout: Duration) -> Result<Vec<Delivery>, SandboxError> {
        self.sandbox.wait_for_deliveries(count, timeout).await
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

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        // Dropping the sender is the signal; the task winds down on its own.
        self.stop.take();
    }
}
