//! Webhooks: the raw request as received, the verified event, and the answer to send back.

use std::borrow::Cow;
use std::fmt;

use http::{HeaderMap, Method};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Error, Money, PaymentStatus, ProviderId};

/// The most a webhook body may weigh. Gateways send a few hundred bytes; anything near this is not
/// a webhook, and a verifier refuses it before parsing. Receivers should cap their body reader at
/// the same figure (axum: `DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES)`).
pub const MAX_WEBHOOK_BODY_BYTES: usize = 64 * 1024;

/// The body of [`Ack::rejection`] for a bad signature or timestamp (401).
pub const REFUSED_SIGNATURE_BODY: &str = "webhook refused: invalid signature";
/// The body of [`Ack::rejection`] for any other webhook at fault (400): malformed, or not
/// confirmed by the gateway. One text for both, so that the answer tells nothing of which ids
/// the gateway holds.
pub const REFUSED_BODY: &str = "webhook refused";
/// The body of [`Ack::rejection`] when the webhook could not be verified for a reason of the
/// receiver's side (503): the gateway should deliver it again.
pub const UNAVAILABLE_BODY: &str = "webhook could not be verified now; deliver it again later";

/// A webhook as it arrived: method, path, headers and the body's raw bytes.
///
/// Signatures are computed over the exact bytes received, so pass the body before any JSON
/// parsing. It is framework-agnostic: build it from `http` types.
///
/// ```
/// use gerbang_core::WebhookRequest;
/// use http::{HeaderMap, Method};
///
/// let headers = HeaderMap::new();
/// let body = br#"{"reference":"CP-1"}"#;
/// let request = WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body);
/// assert_eq!(request.header("x-signature"), None);
/// ```
#[derive(Clone)]
pub struct WebhookRequest<'a> {
    /// The HTTP method.
    pub method: Method,
    /// The path the handler was called on (no scheme, host or query).
    pub path: &'a str,
    /// The headers as received.
    pub headers: &'a HeaderMap,
    /// The body as received.
    pub body: &'a [u8],
}

impl<'a> WebhookRequest<'a> {
    /// A webhook request from its parts.
    pub fn new(method: Method, path: &'a str, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Self { method, path, headers, body }
    }

    /// From an `http::Request` whose body is bytes.
    pub fn from_http<B: AsRef<[u8]>>(request: &'a http::Request<B>) -> Self {
        Self {
            method: request.method().clone(),
            path: request.uri().path(),
            headers: request.headers(),
            body: request.body().as_ref(),
        }
    }

    /// A header's value as text; `None` when absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header that must be there: [`Error::InvalidSignature`] naming it otherwise, because a
    /// webhook missing its authentication headers cannot be trusted.
    pub fn required_header(&self, name: &str) -> Result<&'a str, Error> {
        self.header(name).ok_or_else(|| Error::invalid_signature(format!("header {name} is missing or not ASCII")))
    }

    /// Refuses an empty body or one over [`MAX_WEBHOOK_BODY_BYTES`].
    pub fn check_body_size(&self) -> Result<(), Error> {
        match self.body.len() {
            0 => Err(Error::decode("webhook body: it is empty")),
            n if n > MAX_WEBHOOK_BODY_BYTES => {
                Err(Error::decode(format!("webhook body: {n} bytes, over the {MAX_WEBHOOK_BODY_BYTES}-byte limit")))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for WebhookRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers carry signatures and the body carries customer data: show only their size.
        f.debug_struct("WebhookRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers.len())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// The HTTP answer a gateway expects to a webhook: status and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// HTTP status.
    pub status: u16,
    /// Body, sent as is. Borrowed when it is a fixed text, as every gateway's success answer
    /// is: the receiver copies the answer for each delivery, and a borrowed one costs nothing
    /// to copy (`&ack.body` reads it as a `&str`).
    pub body: Cow<'static, str>,
    /// `Content-Type` of the body.
    #[serde(skip, default = "text_plain")]
    pub content_type: &'static str,
}

fn text_plain() -> &'static str {
    "text/plain; charset=utf-8"
}

impl Ack {
    /// A plain-text answer: `body` a `&'static str` (kept borrowed) or a `String`.
    pub fn text(status: u16, body: impl Into<Cow<'static, str>>) -> Self {
        Self { status, body: body.into(), content_type: text_plain() }
    }

    /// A JSON answer: `body` a `&'static str` (kept borrowed) or a `String`.
    pub fn json(status: u16, body: impl Into<Cow<'static, str>>) -> Self {
        Self { status, body: body.into(), content_type: "application/json" }
    }

    /// The default answer to a webhook whose verification failed:
    ///
    /// - a [verification failure](Error::is_verification_failure): 401
    ///   [`REFUSED_SIGNATURE_BODY`] for a signature or timestamp problem, 400
    ///   [`REFUSED_BODY`] for anything else (malformed, or not confirmed by the gateway);
    /// - anything else (a store, the confirming status call, its token, the configuration):
    ///   503 [`UNAVAILABLE_BODY`], so that the gateway delivers it again.
    ///
    /// The body is always one of these three texts: the caller is not authenticated, and the
    /// error's message (the gateway's answer, which ids exist, what a store said) stays in the
    /// log and in the receiver's outcome.
    ///
    /// ```
    /// use gerbang_core::{Ack, Error};
    /// let gone = Error::Api { status: Some(200), code: Some("02".into()), message: "Transaction TX-9 not found".into() };
    /// assert_eq!((Ack::rejection(&gone).status, &*Ack::rejection(&gone).body), (400, "webhook refused"));
    /// let down = Error::Api { status: Some(503), code: None, message: "maintenance".into() };
    /// assert_eq!(Ack::rejection(&down).status, 503);
    /// ```
    pub fn rejection(error: &Error) -> Self {
        match error {
            Error::InvalidSignature { .. } | Error::StaleTimestamp { .. } => Self::text(401, REFUSED_SIGNATURE_BODY),
            error if error.is_verification_failure() => Self::text(400, REFUSED_BODY),
            _ => Self::text(503, UNAVAILABLE_BODY),
        }
    }
}

/// Which of a verifier's keys a webhook was verified with, while a secret is being rotated.
///
/// A verifier given a previous key too (the `…_PREVIOUS` variables, the `previous_…` builder
/// methods) accepts webhooks made with either; the event says which one
/// ([`WebhookEvent::verified_with`]), and the verifier logs it (`key="current"` at DEBUG,
/// `key="previous"` at INFO, see [`log_verified`](Self::log_verified)), so that the operator
/// sees when the previous key is no longer used and can remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyUsed {
    /// The key configured now.
    Current,
    /// The key being rotated out.
    Previous,
}

impl KeyUsed {
    /// Which key verified a webhook, from the outcomes of checking it under the current key and,
    /// when there is one, the previous key, **both computed before this is called** (so that
    /// timing tells nothing of which matched). The current key wins; the previous one counts only
    /// where the current failed as a plain mismatch (`is_mismatch`): a signature malformed for
    /// the current key is refused with that error. Otherwise the current key's error.
    ///
    /// ```
    /// use gerbang_core::KeyUsed;
    /// let mismatch = |e: &&str| *e == "mismatch";
    /// assert_eq!(KeyUsed::from_checks(Ok(()), Some(Ok(())), mismatch), Ok(KeyUsed::Current));
    /// assert_eq!(KeyUsed::from_checks(Err("mismatch"), Some(Ok(())), mismatch), Ok(KeyUsed::Previous));
    /// assert_eq!(KeyUsed::from_checks(Err("malformed"), Some(Ok(())), mismatch), Err("malformed"));
    /// assert_eq!(KeyUsed::from_checks(Err("mismatch"), None, mismatch), Err("mismatch"));
    /// ```
    pub fn from_checks<E>(
        current: Result<(), E>,
        previous: Option<Result<(), E>>,
        is_mismatch: impl Fn(&E) -> bool,
    ) -> Result<Self, E> {
        match (current, previous) {
            (Ok(()), _) => Ok(Self::Current),
            (Err(e), Some(Ok(()))) if is_mismatch(&e) => Ok(Self::Previous),
            (Err(e), _) => Err(e),
        }
    }

    /// `current` or `previous`: the value of the `key` log field and metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Previous => "previous",
        }
    }

    /// The verification log line: `gateway` and `key` fields. A webhook under the previous key
    /// is logged at INFO, so that a receiver at its default level shows while the old key is
    /// still in use; under the current key at DEBUG (one line per webhook is noise). Counted in
    /// `gerbang_webhook_verifications_total{gateway, key}` too ([`crate::metrics`]).
    pub fn log_verified(self, gateway: ProviderId) {
        crate::metrics::webhook_verified(gateway, self);
        match self {
            Self::Current => tracing::debug!(%gateway, key = self.as_str(), "webhook verified"),
            Self::Previous => tracing::info!(
                %gateway,
                key = self.as_str(),
                "webhook verified with the previous key: the gateway still uses it"
            ),
        }
    }
}

impl fmt::Display for KeyUsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified webhook, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The gateway.
    pub provider: ProviderId,
    /// The merchant's reference, when the webhook carries it.
    pub reference: Option<String>,
    /// The gateway's own id.
    pub provider_reference: Option<String>,
    /// Normalised status.
    pub status: PaymentStatus,
    /// The gateway's status word, as sent; empty when it had none (`null` in JSON).
    #[serde(with = "crate::payment::empty_is_null")]
    pub provider_status: String,
    /// The amount, when the webhook carries it.
    pub amount: Option<Money>,
    /// When the change happened, as the gateway says.
    #[serde(with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    /// What to answer the gateway with.
    pub ack: Ack,
    /// What was verified, for anything not modelled: the webhook body where the gateway signs it,
    /// the status answer where the callback is confirmed by a status call (Ciputra). Kept as text
    /// and parsed only when read.
    #[serde(skip)]
    pub raw: crate::RawJson,
    /// What arrived but was **not** verified, parsed, kept apart from [`raw`](Self::raw) for the
    /// record: Ciputra's unsigned callback body, of which only the id that names the transaction
    /// is used. Never act on it. `None` where the webhook itself is what was verified. Left out
    /// of the serialised event, like `raw`.
    #[serde(skip)]
    pub unverified: Option<serde_json::Value>,
    /// Which key verified it, where a key did ([`KeyUsed`]; `None` for an event confirmed by a
    /// status call or made from a status answer). Operational, not part of the change: left
    /// out of the serialised event, so that the application sees the same event whichever key
    /// the gateway used.
    #[serde(skip)]
    pub verified_with: Option<KeyUsed>,
}

impl WebhookEvent {
    /// An event with the given status and acknowledgement; other fields empty, to be filled in.
    pub fn new(provider: ProviderId, status: PaymentStatus, provider_status: impl Into<String>, ack: Ack) -> Self {
        Self {
            provider,
            reference: None,
            provider_reference: None,
            status,
            provider_status: provider_status.into(),
            amount: None,
            occurred_at: None,
            ack,
            raw: crate::RawJson::null(),
            unverified: None,
            verified_with: None,
        }
    }

    /// The change a status answer shows, as an event: what a reconciler hands the receiver when
    /// a status check finds a payment changed, so that it takes the webhook's path (same
    /// [`dedup_key`](Self::dedup_key): a webhook and a status check that learn the same change
    /// call the handler once). `raw` is the status answer; the ack, never sent to the gateway,
    /// is a plain 200.
    ///
    /// ```
    /// use gerbang_core::{Payment, PaymentStatus, ProviderId, WebhookEvent};
    /// let mut payment = Payment::new(ProviderId::Qris, PaymentStatus::Paid, "PAID");
    /// payment.provider_reference = Some("INV-7".into());
    /// let event = WebhookEvent::from_payment(&payment);
    /// assert_eq!(event.dedup_key()?, "qris:INV-7:paid");
    /// # Ok::<(), gerbang_core::Error>(())
    /// ```
    pub fn from_payment(payment: &crate::Payment) -> Self {
        let mut event =
            Self::new(payment.provider, payment.status.clone(), payment.provider_status.clone(), Ack::text(200, "OK"));
        event.reference.clone_from(&payment.reference);
        event.provider_reference.clone_from(&payment.provider_reference);
        event.amount.clone_from(&payment.amount);
        event.raw = payment.raw.clone();
        event
    }

    /// The gateway's own id for the payment, unless it is missing or blank: a blank id names no
    /// payment (kept as sent otherwise, untrimmed).
    pub fn gateway_id(&self) -> Option<&str> {
        named(self.provider_reference.as_deref())
    }

    /// The merchant's reference for the payment, unless it is missing or blank (see
    /// [`gateway_id`](Self::gateway_id)).
    pub fn merchant_reference(&self) -> Option<&str> {
        named(self.reference.as_deref())
    }

    /// The exact HTTP answer the gateway expects.
    pub fn ack(&self) -> &Ack {
        &self.ack
    }

    /// A key that is the same for every delivery of the same change, to make handling
    /// idempotent: gateways retry, so store it and skip a webhook whose key was seen.
    ///
    /// It is the gateway, the gateway's payment id and the **normalised** status, so that the
    /// same change learnt another way (a status check, whose raw status word may be spelt
    /// differently) has the same key: `cashin:PAY-1:paid`. Where the event carries no gateway
    /// id (missing or blank), the merchant's reference names the payment, marked as such
    /// (`cashin:ref:ORD-1:paid`: the two are different namespaces). A status no mapping knows
    /// keeps the gateway's own word ([`provider_status`](Self::provider_status), trimmed, its
    /// case as sent): `ciputra:T-1:unknown(on_hold)` and `ciputra:T-1:unknown(chargeback)` are
    /// two changes. In the id and that word, `%`, `:` and control characters are escaped as
    /// `%XX`, so that two different events never share a key, whatever their ids hold.
    /// [`inbox::EventKey`](crate::inbox::EventKey) is built from it.
    ///
    /// ```
    /// use gerbang_core::{Ack, PaymentStatus, ProviderId, WebhookEvent};
    /// let mut event = WebhookEvent::new(ProviderId::Ciputra, PaymentStatus::Unknown("on_hold".into()), "on_hold", Ack::text(200, "OK"));
    /// event.provider_reference = Some("T-1".into());
    /// assert_eq!(event.dedup_key()?, "ciputra:T-1:unknown(on_hold)");
    /// event.provider_reference = Some(" ".into()); // blank: passed over for the reference
    /// assert!(event.dedup_key().is_err()); // and without a reference it names no payment
    /// event.reference = Some("ORD-1".into());
    /// assert_eq!(event.dedup_key()?, "ciputra:ref:ORD-1:unknown(on_hold)");
    /// # Ok::<(), gerbang_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the event names no payment: its gateway id and the merchant's
    /// reference are both missing or blank (after trimming). Such an event cannot be told apart
    /// from another payment's; the receiver refuses it with the gateway's rejection.
    pub fn dedup_key(&self) -> Result<String, Error> {
        crate::inbox::dedup_key(self)
    }
}

/// `id`, unless it is missing or blank.
fn named(id: Option<&str>) -> Option<&str> {
    id.filter(|id| !id.trim().is_empty())
}
