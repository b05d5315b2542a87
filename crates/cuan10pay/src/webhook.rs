//! Cuan10pay webhooks: checking the signature and freshness of what the gateway posts.
//!
//! The document (`seeds/000_b443c682d4d25840.txt`) says only: "We will send POST requests to
//! your webhook URL on status changes", with the body
//! `{"reference":"INV123","status":"PAID","amount":100000,"timestamp":1700000000,"signature":"HMAC_SHA256"}`.
//! What the signature covers is not written down; see [`WebhookVerifier`] for the assumption.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::{
    Ack, Currency, Error, Money, ProviderId, SharedClock, SystemClock, WebhookEvent, WebhookRequest, env_secret,
};
use gerbang_signing::SignatureError;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::config::{DEFAULT_WEBHOOK_TOLERANCE, ENV_PRIVATE_KEY};
use crate::convert::{jakarta_time, payment_status};

/// **Decision** (`PROVIDERS.md` §1): the document does not say what to answer a webhook with;
/// a 200 is what it requires ("200 OK - Successful request"), so the body is a plain `OK`.
fn ack() -> Ack {
    Ack::text(200, "OK")
}

/// Verifies Cuan10pay webhooks. Needs only the private key, so that a webhook can be checked
/// (by the `gerbang` CLI, say) without the API key.
///
/// **Decision** (`PROVIDERS.md` §1): `signature` is the lowercase hex HMAC-SHA256, under the
/// private key, of `reference + status + amount + timestamp`, with `amount` and `timestamp`
/// written as the decimal text of the integers in the JSON. The signature is compared in
/// constant time, then the timestamp must be within the tolerance (default 5 minutes) of now,
/// in the past or the future.
///
/// ```
/// use gerbang_cuan10pay::WebhookVerifier;
/// use gerbang_core::{FixedClock, PaymentStatus, WebhookRequest};
/// use gerbang_core::http::{HeaderMap, Method};
/// use std::sync::Arc;
///
/// let verifier = WebhookVerifier::new("your_private_key").with_clock(Arc::new(FixedClock::at_unix(1_700_000_030)));
/// // What the gateway would post (`signed_body` is a helper for tests).
/// let body = verifier.signed_body("CP-20250928-38B575", "PAID", 100_000, 1_700_000_000);
///
/// let headers = HeaderMap::new();
/// let request = WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body.as_bytes());
/// let event = verifier.verify(&request)?;
/// assert_eq!(event.status, PaymentStatus::Paid);
/// assert_eq!(event.ack().status, 200);
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    private_key: SecretString,
    tolerance: Duration,
    clock: SharedClock,
}

impl WebhookVerifier {
    /// A verifier for webhooks signed with `private_key`, with the default 5-minute tolerance
    /// and the system clock.
    pub fn new(private_key: impl Into<String>) -> Self {
        Self::from_secret(SecretString::from(private_key.into()))
    }

    /// The same, from a key already held as a secret.
    pub fn from_secret(private_key: SecretString) -> Self {
        Self { private_key, tolerance: DEFAULT_WEBHOOK_TOLERANCE, clock: Arc::new(SystemClock) }
    }

    /// A verifier with the private key from `GERBANG_CUAN10PAY_PRIVATE_KEY`.
    pub fn from_env() -> Result<Self, Error> {
        env_secret(ENV_PRIVATE_KEY).map(Self::from_secret)
    }

    /// How far the webhook's timestamp may be from now, either way.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The clock that says what "now" is (a [`FixedClock`](gerbang_core::FixedClock) in tests).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Verifies a webhook on the bytes received, and returns the event.
    ///
    /// In order: the body's size ([`WebhookRequest::check_body_size`]); the body is UTF-8 JSON
    /// with the five fields (else [`Error::Decode`]); the signature matches, compared in
    /// constant time (else [`Error::InvalidSignature`]); the timestamp is within the tolerance
    /// (else [`Error::StaleTimestamp`]).
    pub fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        request.check_body_size()?;
        let fields = Fields::parse(request.body)?;
        gerbang_signing::cuan10pay::verify_webhook(
            self.private_key.expose_secret().as_bytes(),
            &fields.reference,
            &fields.status,
            &fields.amount_text,
            &fields.timestamp_text,
            &fields.signature,
        )
        .map_err(|e| match e {
            SignatureError::Mismatch => Error::invalid_signature(
                "it was not made with this private key over this reference, status, amount and timestamp",
            ),
            _ => Error::invalid_signature("it is not 64 hexadecimal digits"),
        })?;

        let now = self.clock.now().unix_timestamp();
        let skew_seconds = fields.timestamp.saturating_sub(now);
        let tolerance_seconds = self.tolerance.as_secs();
        if skew_seconds.unsigned_abs() > tolerance_seconds {
            return Err(Error::StaleTimestamp { skew_seconds, tolerance_seconds });
        }

        let mut event =
            WebhookEvent::new(ProviderId::Cuan10pay, payment_status(&fields.status), fields.status.clone(), ack());
        event.provider_reference = Some(fields.reference);
        event.amount = Some(Money::new(Decimal::from(fields.amount), Currency::IDR)?);
        event.occurred_at = jakarta_time(fields.timestamp);
        event.raw = Value::Object(fields.raw);
        Ok(event)
    }

    /// The signature Cuan10pay would put on a webhook with these fields. **For tests** (and the
    /// sandbox), as async-stripe offers: a merchant never needs to sign a webhook.
    pub fn sign(&self, reference: &str, status: &str, amount: u64, timestamp: i64) -> String {
        gerbang_signing::cuan10pay::sign_webhook(
            self.private_key.expose_secret().as_bytes(),
            reference,
            status,
            &amount.to_string(),
            &timestamp.to_string(),
        )
    }

    /// A whole webhook body, signed with [`sign`](Self::sign). **For tests.**
    pub fn signed_body(&self, reference: &str, status: &str, amount: u64, timestamp: i64) -> String {
        serde_json::json!({
            "reference": reference,
            "status": status,
            "amount": amount,
            "timestamp": timestamp,
            "signature": self.sign(reference, status, amount, timestamp),
        })
        .to_string()
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("private_key", &"<redacted>")
            .field("tolerance", &self.tolerance)
            .field("clock", &self.clock)
            .finish()
    }
}

/// The webhook's fields, with `amount` and `timestamp` both as numbers and as the exact text
/// that was signed.
struct Fields {
    reference: String,
    status: String,
    amount: u64,
    amount_text: String,
    timestamp: i64,
    timestamp_text: String,
    signature: String,
    raw: Map<String, Value>,
}

impl Fields {
    fn parse(body: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "Cuan10pay webhook";
        let text =
            std::str::from_utf8(body).map_err(|_| Error::decode(format!("{WHAT}: the body is not UTF-8 text")))?;
        let raw = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(Error::decode(format!("{WHAT}: the body is not a JSON object"))),
            Err(e) => return Err(Error::decode_json(WHAT, &e)),
        };
        let field = |name: &str| {
            raw.get(name)
                .filter(|v| !v.is_null())
                .ok_or_else(|| Error::decode(format!("{WHAT}: missing field `{name}`")))
        };
        let text_field = |name: &str| match field(name)? {
            Value::String(s) => Ok(s.clone()),
            // A reference sent as a number is signed as its decimal text.
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(Error::decode(format!("{WHAT}: `{name}` is not text"))),
        };
        let reference = text_field("reference")?;
        let status = text_field("status")?;
        let signature = match field("signature")? {
            Value::String(s) => s.clone(),
            _ => return Err(Error::decode(format!("{WHAT}: `signature` is not text"))),
        };
        let (amount, amount_text) = integer(field("amount")?)
            .and_then(|(n, text)| u64::try_from(n).ok().map(|n| (n, text)))
            .ok_or_else(|| Error::decode(format!("{WHAT}: `amount` is not a whole, non-negative number of rupiah")))?;
        let (timestamp, timestamp_text) = integer(field("timestamp")?)
            .and_then(|(n, text)| i64::try_from(n).ok().map(|n| (n, text)))
            .ok_or_else(|| Error::decode(format!("{WHAT}: `timestamp` is not a whole number of Unix seconds")))?;
        Ok(Self { reference, status, amount, amount_text, timestamp, timestamp_text, signature, raw })
    }
}

/// An integer from a JSON number, or from a string of digits (tolerated: some senders quote
/// numbers), with the text it is signed as: the number's decimal text, or the string as sent.
fn integer(value: &Value) -> Option<(i128, String)> {
    match value {
        Value::Number(n) => {
            let int = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))?;
            Some((int, int.to_string()))
        }
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            let ok = !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit());
            if ok { s.parse::<i128>().ok().map(|int| (int, s.clone())) } else { None }
        }
        _ => None,
    }
}
