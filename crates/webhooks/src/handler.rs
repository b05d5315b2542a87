//! What the merchant's code does with a verified, first-seen event.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;
use gerbang_core::WebhookEvent;

use crate::Mismatch;

/// Why a handler failed: anything that is an error. The receiver logs it (its `Display` only) and
/// answers the gateway with a 500, so that it delivers the event again.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The merchant's reaction to an event: mark the order paid, ship, e-mail. Called once per
/// event (see the crate docs for what "once" guarantees); an `Err` releases the claim so that
/// the gateway's next delivery calls it again.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles one verified event that no one has handled yet.
    async fn handle(&self, event: &WebhookEvent) -> Result<(), HandlerError>;

    /// Told once of a paid event that disagrees with the ledger (another amount, a payment
    /// the ledger does not know where it must, or an order paid at another gateway already:
    /// [`MismatchKind`](crate::MismatchKind)): it is **not** passed to
    /// [`handle`](Self::handle). The receiver logs every mismatch as an error (`outcome =
    /// "mismatch"`) once this returns `Ok`; by default nothing more is done: override it to
    /// alert someone. An `Err` has the gateway deliver it again, as for `handle`.
    async fn mismatch(&self, mismatch: &Mismatch) -> Result<(), HandlerError> {
        let _ = mismatch;
        Ok(())
    }
}

/// A [`Handler`] from an async closure: see [`handler_fn`].
pub struct HandlerFn<F>(F);

/// A [`Handler`] from an async closure taking the event.
///
/// The closure is given the event as its own (a copy per call, so that its future may keep it
/// across `.await`s); a handler that only reads the event can implement [`Handler`] itself and
/// borrow it.
///
/// ```
/// use gerbang_webhooks::handler_fn;
/// let handler = handler_fn(|event| async move {
///     println!("{}", event.status);
///     Ok::<(), std::io::Error>(())
/// });
/// # let _ = handler;
/// ```
pub fn handler_fn<F, Fut, E>(f: F) -> HandlerFn<F>
where
    F: Fn(WebhookEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Into<HandlerError>,
{
    HandlerFn(f)
}

#[async_trait]
impl<F, Fut, E> Handler for HandlerFn<F>
where
    F: Fn(WebhookEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Into<HandlerError>,
{
    async fn handle(&self, event: &WebhookEvent) -> Result<(), HandlerError> {
        (self.0)(event.clone()).await.map_err(Into::into)
    }
}

impl<F> fmt::Debug for HandlerFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandlerFn")
    }
}
