//! Ciputra Life e-payment, emulated from its document (PROVIDERS.md §5, `seeds/004_627801bf8e050898.txt`). Under construction.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use gerbang_core::ProviderId;

use crate::state::Shared;
use crate::webhook::WebhookRetry;
use crate::{PaymentState, SandboxError};

/// Where the emulator is mounted in the sandbox.
pub(crate) const PREFIX: &str = "/ciputra";

/// How this gateway's webhooks are retried when the builder does not say.
pub(crate) const WEBHOOK_RETRY: WebhookRetry = WebhookRetry { attempts: 1, interval: Duration::from_secs(1) };

/// This gateway's settings, from the [`SandboxBuilder`](crate::SandboxBuilder).
#[derive(Debug, Default)]
pub(crate) struct Settings {}

/// This gateway's state inside the sandbox.
#[derive(Debug)]
pub(crate) struct Emulator {}

impl Emulator {
    pub(crate) fn new(_settings: Settings) -> Self {
        Self {}
    }
}

/// The routes, relative to [`PREFIX`].
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().with_state(shared)
}

/// Moves a pending payment to `target` and sends the gateway's webhook.
pub(crate) fn settle(
    _shared: &Arc<Shared>,
    reference: &str,
    _target: PaymentState,
) -> Result<PaymentState, SandboxError> {
    Err(SandboxError::UnknownPayment { provider: ProviderId::Ciputra, reference: reference.to_owned() })
}
