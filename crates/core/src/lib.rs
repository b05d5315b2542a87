//! The shared heart of gerbang: the [`PaymentProvider`] trait every gateway crate implements, the
//! gateway-neutral types it speaks ([`PaymentRequest`], [`Payment`], [`WebhookEvent`], [`Money`]),
//! the one [`Error`] type, and the [`HttpClient`] every gateway sends its calls through.
//!
//! Users normally depend on the `gerbang` facade crate with the features of their gateways; this
//! crate is what those gateway crates build on.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod channel;
pub mod circuit;
mod clock;
mod config;
pub mod de;
mod error;
pub mod inbox;
pub mod ledger;
mod limits;
pub mod metrics;
mod money;
pub mod outbox;
mod payment;
mod provider;
pub mod rate;
mod raw;
mod redact;
pub mod settings;
pub mod token_store;
pub mod transport;
mod webhook;

pub use async_trait::async_trait;
pub use channel::{Bank, Channel, EWallet, Retail};
pub use clock::{Clock, FixedClock, SharedClock, SystemClock};
pub use config::{
    BaseUrl, PREVIOUS_SUFFIX, env_required, env_secret, env_secret_with_previous, env_var, previous_var,
    require_credential,
};
pub use error::{Error, FieldProblem, Problems};
pub use limits::{ChannelKind, CreateLimits, Field, Refusal, SafeRefusal};
pub use money::{Currency, Money};
pub use payment::{Customer, Payment, PaymentRequest, PaymentRequestBuilder, PaymentStatus};
pub use provider::{Capabilities, ClaimedId, LookupKey, PaymentProvider, ProviderId, WebhookSupport};
pub use raw::RawJson;
pub use redact::{REDACTED, Redactions};
pub use transport::{HttpClient, RetryPolicy};
pub use webhook::{
    Ack, KeyUsed, MAX_WEBHOOK_BODY_BYTES, REFUSED_BODY, REFUSED_SIGNATURE_BODY, UNAVAILABLE_BODY, WebhookEvent,
    WebhookRequest,
};

/// Re-exported so that gateway crates and users name the same versions.
pub use {http, rust_decimal::Decimal, secrecy, time};
