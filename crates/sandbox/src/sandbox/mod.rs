//! The sandbox itself: the [`Sandbox`] and what drives it (paying, expiring, webhooks and their
//! deliveries). How it is configured is in [`builder`], how it is served in [`serve`]; the
//! gateway modules, `clock`, `faults` and `payments` add their own controls to `Sandbox`.

mod builder;
mod serve;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;
use gerbang_core::ProviderId;
use tracing::Instrument;

pub use builder::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PAYMENTS, SandboxBuilder,
};
pub use serve::SandboxHandle;

use crate::state::Shared;
use crate::{Delivery, DeliveryPlan, PaymentState, SandboxError, control, dashboard, emulated, faults, guard};

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
        // Each gateway under its prefix, and one layer in front of them all: the faults injected
        // (none: requests pass as is).
        let gateways = emulated::all()
            .fold(Router::new(), |router, gateway| {
                router.nest(gateway.prefix(), gateway.router(Arc::clone(&self.shared)))
            })
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
    /// With several [webhook URLs](crate::SandboxBuilder::webhook_url), each copy takes the next:
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
