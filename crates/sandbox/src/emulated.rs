//! What an emulated gateway is to the rest of the sandbox: one trait, [`EmulatedGateway`],
//! implemented once by each gateway's module and registered in one list
//! ([`EMULATED_GATEWAYS`](crate::EMULATED_GATEWAYS), in `lib.rs`). The shared modules (the
//! control API, the payments list, the clock, the faults, the dashboard, the builder) reach a
//! gateway only through it, and name none.
//!
//! A gateway module provides:
//!
//! - what it is: its [`ProviderId`], its name for a person, its path prefix;
//! - its state in a sandbox ([`start`](EmulatedGateway::start)), made from the settings its own
//!   [`SandboxBuilder`](crate::SandboxBuilder) methods store ([`GatewaySettings`]), and read back
//!   by its handlers with [`Shared::gateway_state`];
//! - its routes, and any control routes of its own;
//! - which moves its payments have, and its payments themselves
//!   ([`payments`](EmulatedGateway::payments), an [`EmulatedPayments`] its store module
//!   implements): how one is moved by the controls, the webhook of a state, how they are
//!   summarised for the dashboard, which are due to expire;
//! - its webhooks: where they go, how they are retried;
//! - its operations, as a fault names them, and its error shape, for a fault's answer;
//! - its test credentials, for `GET /_sandbox/keys` and the dashboard;
//! - the words of the sandbox's errors about its payments.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::http::{Extensions, StatusCode};
use gerbang_core::ProviderId;

use crate::payments::{Cause, PaymentSummary};
use crate::state::Shared;
use crate::webhook::{Webhook, WebhookRetry};
use crate::{DeliveryPlan, PaymentState, SandboxError};

/// One emulated gateway, as the shared modules of the sandbox see it. Implemented by a unit
/// struct in each gateway's module (`cuan10pay::Gateway`, …); its methods hold no state of
/// their own: what a sandbox keeps of the gateway is its [`start`](Self::start) value, in
/// [`Shared`].
pub(crate) trait EmulatedGateway: Sync {
    /// Which gateway it is.
    fn provider(&self) -> ProviderId;

    /// Its name for a person (`Cash In`): what the dashboard shows.
    fn name(&self) -> &'static str;

    /// The path prefix it is served under, without a trailing slash. A client's base URL is the
    /// sandbox URL followed by it, so that the paths of the gateway's document append to it as
    /// written (and are what its signature covers).
    fn prefix(&self) -> &'static str;

    /// Adds its state for a new sandbox to `states` (one value, of a type its module owns, read
    /// back with [`Shared::gateway_state`]), made from the settings its builder methods stored in
    /// `settings` (their defaults when none was called) and the builder's `max_payments`.
    fn start(&self, settings: &GatewaySettings, max_payments: usize, states: &mut GatewayStates);

    /// Its routes, relative to [`prefix`](Self::prefix).
    fn router(&self, shared: Arc<Shared>) -> Router;

    /// Adds the control routes only this gateway has to the control router (mounted under
    /// `/_sandbox`); most have none.
    fn control_routes(&self, router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
        router
    }

    /// The moves the sandbox's controls make a pending payment of it do (paid and expired at
    /// least).
    fn moves(&self) -> &'static [PaymentState];

    /// Its payments: how the controls move them, their webhooks, their summaries, their expiry.
    fn payments(&self) -> &'static dyn EmulatedPayments;

    /// Where its webhooks go.
    fn webhooks(&self) -> Webhooks;

    /// How its webhooks are retried when the builder does not say.
    fn webhook_retry(&self) -> WebhookRetry;

    /// Its operations, as a [`Fault`](crate::Fault) names them (`any` aside).
    fn operations(&self) -> &'static [Operation];

    /// `message` in its own error shape, for the answer of a fault injected in front of it.
    fn error_body(&self, status: StatusCode, message: &str) -> serde_json::Value;

    /// Its test credentials, in the order `GET /_sandbox/keys` and the dashboard list them.
    fn credentials(&self) -> &'static [Credential];

    /// A key the sandbox makes for it at run time, that a verifier of its webhooks needs (Cash
    /// In's notification public key); most have none.
    fn published_key(&self) -> Option<PublishedKey> {
        None
    }

    /// The ids a control takes for one of its payments, in its words, for
    /// [`SandboxError::UnknownPayment`] (`deposit id or merchant reference`).
    fn accepted_ids(&self) -> &'static str;

    /// What to do instead, for [`SandboxError::UnknownPayment`], starting with `; `.
    fn unknown_hint(&self) -> &'static str {
        "; create it first"
    }

    /// Which states it sends a webhook for, for [`SandboxError::NoWebhook`], starting with ` (`.
    fn webhook_states_hint(&self) -> &'static str;
}

/// The payments of one emulated gateway, as the shared modules move and list them. Implemented
/// by a unit struct in each gateway's store module (`cuan10pay::store::Payments`, …), reached
/// through [`EmulatedGateway::payments`]; like the gateway's, its methods hold no state of their
/// own: they read the gateway's records from [`Shared::gateway_state`].
pub(crate) trait EmulatedPayments: Sync {
    /// Moves the payment keyed `settle.reference` (its [`PaymentSummary::reference`], or an id
    /// [`controls_other`](Self::controls_other) accepts) to `settle.target`, and delivers the
    /// webhook of its new state per `settle.plan`; the state it is in now.
    ///
    /// # Errors
    ///
    /// [`SandboxError::UnknownPayment`], [`SandboxError::NotPending`],
    /// [`SandboxError::UnsupportedTransition`] for a move it does not have.
    fn settle(&self, shared: &Arc<Shared>, settle: Settle<'_>) -> Result<PaymentState, SandboxError>;

    /// The webhook the payment keyed `reference` has (or would have) in `state` (its current
    /// state when `None`), made now, and the state it is of; nothing moves.
    ///
    /// # Errors
    ///
    /// [`SandboxError::UnknownPayment`], [`SandboxError::NoWebhook`] for a state it sends none for.
    fn webhook_in(
        &self,
        shared: &Arc<Shared>,
        reference: &str,
        state: Option<PaymentState>,
    ) -> Result<(PaymentState, Webhook), SandboxError>;

    /// Writes a [`PaymentSummary`] of each of its payments into `out`, expiry applied.
    fn summaries(&self, shared: &Shared, out: &mut Vec<PaymentSummary>);

    /// Expires each pending payment past its expiry on the sandbox clock (sending the webhooks
    /// the gateway sends for it); their references.
    fn expire_due(&self, shared: &Arc<Shared>) -> Vec<String>;

    /// Whether `id` names something the payment controls move that is not a payment, and so not
    /// in its [`summaries`](Self::summaries) (Ciputra's registrations); `id` is then its key.
    fn controls_other(&self, _shared: &Shared, _id: &str) -> bool {
        false
    }
}

/// One move of a payment, for [`EmulatedPayments::settle`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settle<'a> {
    /// The payment's key: its [`PaymentSummary::reference`], or an id
    /// [`EmulatedPayments::controls_other`] accepts.
    pub(crate) reference: &'a str,
    /// The state it moves to.
    pub(crate) target: PaymentState,
    /// How the webhook of its new state is delivered.
    pub(crate) plan: DeliveryPlan,
    /// What moved it, for its timeline.
    pub(crate) cause: Cause,
}

/// Every emulated gateway, in the order the sandbox lists them.
pub(crate) fn all() -> impl Iterator<Item = &'static dyn EmulatedGateway> {
    crate::EMULATED_GATEWAYS.iter().copied()
}

/// The emulated gateway of `provider`; `None` for one the sandbox does not emulate.
pub(crate) fn of(provider: ProviderId) -> Option<&'static dyn EmulatedGateway> {
    all().find(|gateway| gateway.provider() == provider)
}

/// The gateways emulated, in order.
pub(crate) fn providers() -> Vec<ProviderId> {
    all().map(|gateway| gateway.provider()).collect()
}

/// `cuan10pay, cashin, …`: the gateways emulated, for a message.
pub(crate) fn listed() -> String {
    all().map(|gateway| gateway.provider().as_str()).collect::<Vec<_>>().join(", ")
}

/// Where a gateway's webhooks go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Webhooks {
    /// To the URLs set for it with [`SandboxBuilder::webhook_url`](crate::SandboxBuilder::webhook_url),
    /// as the gateway sends them to the URL set in its dashboard.
    Configured,
    /// To the callback URL the payment was created with.
    WithPayment,
    /// None at all: its payments are polled. `answer` says so in a control's answer, `page` on
    /// the dashboard's payment page.
    None { answer: &'static str, page: &'static str },
}

/// How a call of a gateway is recognised as one of its operations: method and path after the
/// prefix, and, where one path serves several operations (Ciputra's `POST /transaction`), the
/// form's `action`: `None` matches any other action, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operation {
    pub(crate) name: &'static str,
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) action: Option<&'static str>,
}

impl Operation {
    /// The operation `name`: `method` on `path`.
    pub(crate) const fn new(name: &'static str, method: &'static str, path: &'static str) -> Self {
        Self { name, method, path, action: None }
    }

    /// The same, for the form's `action` only.
    pub(crate) const fn with_action(mut self, action: &'static str) -> Self {
        self.action = Some(action);
        self
    }
}

/// One of a gateway's test credentials: a published value, accepted by this sandbox only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Credential {
    /// Its name in `GET /_sandbox/keys` (`api_key`).
    pub(crate) key: &'static str,
    /// What a person calls it (`API key`).
    pub(crate) label: &'static str,
    /// The variable the SDK reads it from, for a secret (masked on the dashboard); `None` for
    /// an identifier shown as it is (Cash In's client id).
    pub(crate) variable: Option<&'static str>,
    pub(crate) value: &'static str,
}

/// A key a gateway makes at run time for the verifiers of its webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublishedKey {
    /// Its name in `GET /_sandbox/keys` (`public_key`).
    pub(crate) key: &'static str,
    /// What the dashboard calls it.
    pub(crate) label: &'static str,
    /// The key, PEM.
    pub(crate) pem: String,
}

/// The settings each gateway's [`SandboxBuilder`](crate::SandboxBuilder) methods store, one
/// value per gateway, of a type its module owns.
pub(crate) type GatewaySettings = Extensions;

/// A gateway's settings of type `T` as its builder methods left them: its defaults when none was
/// called.
pub(crate) fn settings_of<T: Default + Clone + Send + Sync + 'static>(settings: &GatewaySettings) -> T {
    settings.get::<T>().cloned().unwrap_or_default()
}

/// The state of each gateway in a sandbox, one value per gateway, of a type its module owns.
#[derive(Default)]
pub(crate) struct GatewayStates(Vec<Box<dyn Any + Send + Sync>>);

impl GatewayStates {
    /// Adds a gateway's state.
    pub(crate) fn insert<T: Any + Send + Sync>(&mut self, state: T) {
        self.0.push(Box::new(state));
    }

    fn get<T: Any>(&self) -> Option<&T> {
        self.0.iter().find_map(|state| state.downcast_ref::<T>())
    }
}

impl fmt::Debug for GatewayStates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayStates").field("count", &self.0.len()).finish_non_exhaustive()
    }
}

impl Shared {
    /// The state a gateway's module added in [`EmulatedGateway::start`]: what its handlers and
    /// its trait methods read their records from.
    ///
    /// # Panics
    ///
    /// If no gateway added a `T`: a gateway module left out of
    /// [`EMULATED_GATEWAYS`](crate::EMULATED_GATEWAYS) whose code still runs. Every sandbox
    /// starts each gateway of the list, and a gateway's routes and controls are reached only
    /// through the list, so this is a mistake in the sandbox's own code, never in a request.
    pub(crate) fn gateway_state<T: Any>(&self) -> &T {
        match self.gateways.get::<T>() {
            Some(state) => state,
            None => panic!(
                "the sandbox has no {} state: its gateway is missing from EMULATED_GATEWAYS",
                std::any::type_name::<T>()
            ),
        }
    }
}
