//! `webhook serve` as a service: the port answers from the start (`/healthz`, `/readyz`,
//! `/metrics`, and the webhooks, 503 while the store is not reachable yet), the store is waited
//! for, and SIGTERM or SIGINT drains (see [`Stop`]).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gerbang::Error;
use gerbang::metrics::PrometheusHandle;
use gerbang::webhooks::{Readiness, Receiver, StoreCheck, liveness_response};
use tokio::sync::watch;
use tokio::time::Instant;

/// Why the service stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Not stopping.
    No,
    /// SIGTERM or SIGINT, at this instant: drain.
    Signal(Instant),
    /// The store refused the connection: close at once and exit 1.
    Refused,
}

/// The stop signal every part of the service watches.
#[derive(Debug, Clone)]
pub(crate) struct Stopping(watch::Receiver<Stop>);

impl Stopping {
    /// A stop nobody asked for yet, and its sender.
    pub(crate) fn new() -> (watch::Sender<Stop>, Self) {
        let (sender, receiver) = watch::channel(Stop::No);
        (sender, Self(receiver))
    }

    /// Completes when a stop is asked for; what it is.
    pub(crate) async fn asked(&self) -> Stop {
        let mut seen = self.0.clone();
        let found = seen.wait_for(|stop| *stop != Stop::No).await.map(|stop| *stop);
        match found {
            Ok(stop) => stop,
            // The sender lives as long as the service; gone, nothing stops it any more.
            Err(_) => std::future::pending().await,
        }
    }

    /// Asks for `stop`, unless a stop was asked for already.
    pub(crate) fn ask(sender: &watch::Sender<Stop>, stop: Stop) {
        sender.send_if_modified(|current| {
            let first = *current == Stop::No;
            if first {
                *current = stop;
            }
            first
        });
    }

    pub(crate) fn now(&self) -> Stop {
        *self.0.borrow()
    }
}

/// What the port serves, whatever phase the process is in.
#[derive(Debug, Default)]
pub(crate) struct Service {
    /// The receiver and its router, once the store is connected.
    ready: OnceLock<(Receiver, Router)>,
    /// The store refused: readiness says so until the process exits.
    refused: OnceLock<()>,
    stopping: OnceLock<Stopping>,
    /// The Prometheus recorder `/metrics` renders.
    metrics: OnceLock<PrometheusHandle>,
}

impl Service {
    pub(crate) fn new(stopping: Stopping) -> Arc<Self> {
        let service = Self::default();
        let _ = service.stopping.set(stopping);
        Arc::new(service)
    }

    /// The store is connected: deliveries go to `receiver`'s router from now on.
    pub(crate) fn ready(&self, receiver: Receiver, router: Router) {
        let _ = self.ready.set((receiver, router));
    }

    /// `/metrics` renders `handle` from now on (404 until then).
    pub(crate) fn serve_metrics(&self, handle: PrometheusHandle) {
        let _ = self.metrics.set(handle);
    }

    pub(crate) fn refused(&self) {
        let _ = self.refused.set(());
    }

    pub(crate) fn receiver(&self) -> Option<&Receiver> {
        self.ready.get().map(|(receiver, _)| receiver)
    }

    fn draining(&self) -> bool {
        self.stopping.get().is_some_and(|stopping| matches!(stopping.now(), Stop::Signal(_)))
    }

    /// `/healthz`, `/readyz`, `/metrics`, and every other path to the receiver's router once
    /// there is one.
    pub(crate) fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .fallback(deliver)
            .with_state(Arc::clone(self))
    }
}

async fn healthz(State(service): State<Arc<Service>>) -> Response {
    liveness_response(service.draining())
}

async fn readyz(State(service): State<Arc<Service>>) -> Response {
    let draining = service.draining();
    let readiness = match service.receiver() {
        Some(receiver) => {
            let found = receiver.readiness().await;
            Readiness::new(found.store, found.draining || draining)
        }
        None if service.refused.get().is_some() => Readiness::new(StoreCheck::Refused, draining),
        None => Readiness::new(StoreCheck::Connecting, draining),
    };
    readiness.into_response()
}

async fn metrics(State(service): State<Arc<Service>>) -> Response {
    match service.metrics.get() {
        Some(handle) => gerbang::metrics::response(handle),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn deliver(State(service): State<Arc<Service>>, request: Request) -> Response {
    if let Some((_, router)) = service.ready.get() {
        let mut router = router.clone();
        return match tower_service::Service::call(&mut router, request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    if request.uri().path().starts_with("/webhooks/") {
        // Nothing is decided: the gateway delivers it again later.
        (StatusCode::SERVICE_UNAVAILABLE, "the event store is not reachable yet; deliver it again later")
            .into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// The first pause between two attempts to reach the store; doubled each time up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between two attempts: a store that comes up is in use within about this.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Calls `connect` until it succeeds (`Ok(Some)`), fails otherwise than by a store out of reach
/// (a refusal, a bad configuration: no retry would change it, `Err`), or a stop is asked for
/// (`Ok(None)`). A store that cannot be reached or does not answer is waited out, with a pause growing from 100 ms to 1 s.
/// `first_failure` is told the first error that is waited out.
pub(crate) async fn wait_for_store<T, F, Fut>(
    mut connect: F,
    stopping: &Stopping,
    first_failure: impl FnOnce(&Error),
) -> Result<Option<T>, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut first_failure = Some(first_failure);
    let mut pause = FIRST_BACKOFF;
    let mut attempts = 0_u32;
    loop {
        attempts += 1;
        let error = tokio::select! {
            result = connect() => match result {
                Ok(value) => return Ok(Some(value)),
                Err(error) if !is_unreachable(&error) => return Err(error),
                Err(error) => error,
            },
            _ = stopping.asked() => return Ok(None),
        };
        if let Some(tell) = first_failure.take() {
            tell(&error);
        }
        tracing::debug!(outcome = "store_unreachable", %error, attempts, retry_in_ms = pause.as_millis(), "the store cannot be reached yet");
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stopping.asked() => return Ok(None),
        }
        pause = (pause * 2).min(MAX_BACKOFF);
    }
}

/// Whether an error at start is a store not up yet (wait for it) rather than a refusal (exit 1):
/// only [`Error::Store`]. The store crates tell the two apart from their clients' errors, in one
/// place each (`gerbang-redis`'s `store_error`, `gerbang-postgres`'s `Failure::refused`): a
/// wrong password, an unknown database or a malformed URL is [`Error::Config`].
pub(crate) fn is_unreachable(error: &Error) -> bool {
    matches!(error, Error::Store { .. })
}
