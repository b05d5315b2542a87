//! Configuring a [`Sandbox`]: its limits, webhook URLs, clock and each gateway's settings.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gerbang_core::{ProviderId, SharedClock, SystemClock};

use super::{Sandbox, SandboxHandle};
use crate::clock::SandboxClock;
use crate::emulated::{self, GatewaySettings, GatewayStates};
use crate::state::{Settings, Shared};
use crate::webhook::{DeliveryLog, WebhookRetry, WebhookUrls};

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
    public_url: Option<String>,
    limits: gerbang_server::Limits,
    max_payments: usize,
    /// Each gateway module's own settings, one value of its own type; its builder methods live
    /// in that module and reach it with [`gateway_settings`](Self::gateway_settings).
    gateways: GatewaySettings,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            clock: None,
            webhook_urls: HashMap::new(),
            webhook_retry: None,
            public_url: None,
            limits: gerbang_server::Limits::default(),
            max_payments: DEFAULT_MAX_PAYMENTS,
            gateways: GatewaySettings::new(),
        }
    }
}

impl SandboxBuilder {
    /// A gateway's own settings, its defaults until one of its methods changes them: what each
    /// gateway module's builder methods (`cashin_hmac`, `qris_balance`, …) set, and its
    /// [`EmulatedGateway::start`](crate::emulated::EmulatedGateway::start) reads.
    pub(crate) fn gateway_settings<T: Default + Clone + Send + Sync + 'static>(&mut self) -> &mut T {
        self.gateways.get_or_insert_default::<T>()
    }

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
    /// found", and [`Sandbox::pay`] says [`SandboxError::UnknownPayment`](crate::SandboxError::UnknownPayment). The same limit bounds,
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
    /// receiver. Each copy of a [`DeliveryPlan`](crate::DeliveryPlan) takes the next URL when the plan is given (copy
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
        let mut gateways = GatewayStates::default();
        for gateway in emulated::all() {
            gateway.start(&self.gateways, max, &mut gateways);
        }
        let shared = Shared {
            settings,
            clock: SandboxClock::new(self.clock.unwrap_or_else(|| Arc::new(SystemClock))),
            sequence: AtomicU64::new(0),
            faults: crate::faults::Faults::default(),
            deliveries: DeliveryLog::new(max),
            http,
            gateways,
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
