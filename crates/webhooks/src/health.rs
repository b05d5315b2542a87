//! Liveness and readiness: `GET /healthz` answers while the process serves, `GET /readyz` only
//! when the inbox answers and the receiver is not draining.
//!
//! The answers name what is not ready from a closed set of words (`store`: `connecting`,
//! `unreachable`, `refused`, `slow`; `drain`: `draining`), never an error's text: the port faces
//! the internet, and the store's error is in the log.

use std::time::Duration;

use gerbang_core::inbox::Inbox;
use tokio::time::Instant;

/// How long the inbox has to answer a readiness check.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// How long one readiness check's answer is reused: probes that come closer together than this
/// share one store call.
pub const READINESS_CACHE: Duration = Duration::from_millis(500);

/// What the readiness check found of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreCheck {
    /// It answered within [`READINESS_TIMEOUT`].
    Ok,
    /// Not connected yet: the process is still waiting for it to come up.
    Connecting,
    /// It could not be reached, or failed ([`Error::Store`](gerbang_core::Error::Store)).
    Unreachable,
    /// It refused the connection ([`Error::Config`](gerbang_core::Error::Config): a wrong
    /// password, a missing database).
    Refused,
    /// No answer within [`READINESS_TIMEOUT`].
    Slow,
}

impl StoreCheck {
    /// The word `/readyz` uses for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Connecting => "connecting",
            Self::Unreachable => "unreachable",
            Self::Refused => "refused",
            Self::Slow => "slow",
        }
    }
}

/// Whether a receiver is ready for deliveries: see
/// [`Receiver::readiness`](crate::Receiver::readiness).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Readiness {
    /// What the store check found.
    pub store: StoreCheck,
    /// Whether the receiver (or the process) is draining.
    pub draining: bool,
}

impl Readiness {
    /// A readiness from its parts (for a process that reports on a receiver it has not built
    /// yet, while its store comes up).
    pub fn new(store: StoreCheck, draining: bool) -> Self {
        Self { store, draining }
    }

    /// Ready: the store answered and no drain has begun.
    pub fn is_ready(&self) -> bool {
        self.store == StoreCheck::Ok && !self.draining
    }

    /// The HTTP status `/readyz` answers: 200 when ready, else 503.
    pub fn status(&self) -> u16 {
        if self.is_ready() { 200 } else { 503 }
    }

    /// The body `/readyz` answers: `{"status":"ready","not_ready":[],"checks":{"store":"ok","drain":"serving"}}`,
    /// or `"status":"not_ready"` with what is not ready listed (`store`, `drain`).
    pub fn to_json(&self) -> String {
        let mut not_ready = Vec::new();
        if self.store != StoreCheck::Ok {
            not_ready.push("\"store\"");
        }
        if self.draining {
            not_ready.push("\"drain\"");
        }
        format!(
            r#"{{"status":"{}","not_ready":[{}],"checks":{{"store":"{}","drain":"{}"}}}}"#,
            if self.is_ready() { "ready" } else { "not_ready" },
            not_ready.join(","),
            self.store.as_str(),
            if self.draining { "draining" } else { "serving" },
        )
    }
}

/// The body `/healthz` answers (always with 200 while the process serves):
/// `{"status":"serving"}`, or `{"status":"draining"}` during a drain. A liveness probe must not
/// fail during a drain, else the orchestrator kills the process before its deliveries finish.
pub fn liveness_json(draining: bool) -> &'static str {
    if draining { r#"{"status":"draining"}"# } else { r#"{"status":"serving"}"# }
}

/// The last store check, shared by every probe.
#[derive(Debug)]
pub(crate) struct Health {
    last: tokio::sync::Mutex<Option<(Instant, StoreCheck)>>,
}

impl Health {
    pub(crate) fn new() -> Self {
        Self { last: tokio::sync::Mutex::new(None) }
    }

    /// The store's state: the last check's if younger than [`READINESS_CACHE`], else a new one.
    /// The lock is held during the check, so that concurrent probes wait for it and share it.
    pub(crate) async fn check(&self, inbox: &dyn Inbox) -> StoreCheck {
        let mut last = self.last.lock().await;
        if let Some((at, found)) = *last
            && at.elapsed() < READINESS_CACHE
        {
            return found;
        }
        let found = match tokio::time::timeout(READINESS_TIMEOUT, inbox.ping()).await {
            Ok(Ok(())) => StoreCheck::Ok,
            Ok(Err(gerbang_core::Error::Config { .. })) => StoreCheck::Refused,
            Ok(Err(_)) => StoreCheck::Unreachable,
            Err(_) => StoreCheck::Slow,
        };
        let before = last.map(|(_, found)| found);
        if before != Some(found) && (found != StoreCheck::Ok || before.is_some()) {
            tracing::info!(outcome = "readiness_changed", store = found.as_str(), "readiness: the store check changed");
        }
        *last = Some((Instant::now(), found));
        found
    }
}

#[cfg(feature = "axum")]
mod routes {
    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;

    use super::{Readiness, liveness_json};
    use crate::Receiver;

    impl IntoResponse for Readiness {
        fn into_response(self) -> Response {
            let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            json(status, self.to_json())
        }
    }

    /// A JSON answer that no cache keeps.
    fn json(status: StatusCode, body: String) -> Response {
        let headers = [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ];
        (status, headers, body).into_response()
    }

    /// The liveness answer: 200, saying whether the process is draining.
    pub fn liveness_response(draining: bool) -> Response {
        json(StatusCode::OK, liveness_json(draining).to_owned())
    }

    /// `GET /healthz` (200 while the process serves, also during a drain) and `GET /readyz`
    /// (200 when the inbox answers within a second and no [drain](Receiver::drain) has begun,
    /// else 503 naming what is not ready; see [`Readiness::to_json`]). Merge it beside
    /// [`router`](crate::router): the probes then reach the process on the port the gateways
    /// do.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gerbang_core::inbox::MemoryInbox;
    /// use gerbang_webhooks::{Receiver, handler_fn, health, router};
    ///
    /// let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
    ///     .build(handler_fn(|_event| async move { Ok::<(), std::io::Error>(()) }));
    /// let app: axum::Router = router(receiver.clone()).merge(health(receiver));
    /// # let _ = app;
    /// ```
    pub fn health(receiver: Receiver) -> Router {
        Router::new()
            .route(
                "/healthz",
                get(|State(receiver): State<Receiver>| async move { liveness_response(receiver.is_draining()) }),
            )
            .route("/readyz", get(|State(receiver): State<Receiver>| async move { receiver.readiness().await }))
            .with_state(receiver)
    }
}

#[cfg(feature = "axum")]
pub use routes::{health, liveness_response};
