//! Cuan10pay webhooks: checking the signature and freshness of what the gateway posts.
//!
//! The document (`seeds/000_b443c682d4d25840.txt`) says only: "We will send POST requests to
//! your webhook URL on status changes", with the body
//! `{"reference":"INV123","status":"PAID","amount":100000,"timestamp":1700000000,"signature":"HMAC_SHA256"}`.
//! What the signature covers is not written down; see [`WebhookVerifier`] for the assumption.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::{
    Ack, Currency, Error, KeyUsed, Money, PaymentStatus, ProviderId, RawJson, SharedClock, SystemClock, WebhookEvent,
    WebhookRequest, env_secret_with_previous,
};
use gerbang_signing::{HmacSha256Key, SignatureError};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::{DEFAULT_WEBHOOK_TOLERANCE, ENV_PRIVATE_KEY};
use crate::convert::{WEBHOOK_STATUS_WORDS, jakarta_time, webhook_status};

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
/// Nothing separates the signed fields, so before the signature counts each field must be in
/// its one canonical form, or characters could move across a boundary with the signature still
/// good (`"amount":15,"timestamp":"0000…"` for a genuine 150 000): `amount` and `timestamp` are
/// JSON integers (never strings, fractions or exponents), `status` is one of
/// [`WEBHOOK_STATUS_WORDS`](crate::WEBHOOK_STATUS_WORDS) exactly, `reference` is a JSON string.
/// That leaves no shift across the status/amount and amount/timestamp boundaries (a timestamp
/// that gained or lost a digit is years outside the window).
///
/// **Residual risk**: the reference is free text, so between reference and status a shift is
/// still possible wherever a word the gateway sends ends with a word of the list: if the gateway
/// sends `UNPAID`, its genuine `UNPAID` webhook for `XYZ` verifies as a `PAID` one for `XYZUN`.
/// The list holds no such pair, but cannot know every word the gateway sends. Where that matters,
/// let the client confirm each webhook with a status call
/// ([`Cuan10payConfigBuilder::confirm_webhooks_with_status`](crate::Cuan10payConfigBuilder::confirm_webhooks_with_status)),
/// or call [`Cuan10payClient::confirm_webhook`](crate::Cuan10payClient::confirm_webhook) on the
/// event yourself; a reference the gateway does not know is then refused.
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
///
/// **Rotation**: given the previous private key too
/// ([`with_previous_key`](Self::with_previous_key), `GERBANG_CUAN10PAY_PRIVATE_KEY_PREVIOUS` in
/// [`from_env`](Self::from_env)), a webhook signed with either verifies, and the event's
/// [`verified_with`](WebhookEvent::verified_with) says which. **Decision**: the MAC under each key is computed and
/// compared (in constant time) every time, before either result is looked at, so the time taken
/// does not say which key matched; it does say whether a previous key is configured (one HMAC
/// more), which is no secret worth a second of a webhook's time.
#[derive(Clone)]
pub struct WebhookVerifier {
    /// The private key, ready to check every webhook (its pads hashed once).
    key: HmacSha256Key,
    /// The private key being rotated out, while webhooks signed with it are still accepted.
    previous: Option<HmacSha256Key>,
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
        let key = HmacSha256Key::new(private_key.expose_secret().as_bytes());
        Self { key, previous: None, tolerance: DEFAULT_WEBHOOK_TOLERANCE, clock: Arc::new(SystemClock) }
    }

    /// A verifier with the private key from `GERBANG_CUAN10PAY_PRIVATE_KEY`, and the previous
    /// one from `GERBANG_CUAN10PAY_PRIVATE_KEY_PREVIOUS` when it is set (during a rotation).
    pub fn from_env() -> Result<Self, Error> {
        let (current, previous) = env_secret_with_previous(ENV_PRIVATE_KEY)?;
        Ok(Self::from_secret(current).with_previous_secret(previous))
    }

    /// Also accepts webhooks signed with `private_key`, the key being rotated out: see the
    /// type's documentation. Remove it once the log shows no `key="previous"` for a while.
    pub fn with_previous_key(self, private_key: impl Into<String>) -> Self {
        self.with_previous_secret(Some(SecretString::from(private_key.into())))
    }

    /// The same, from a key already held as a secret; `None` accepts the current key only.
    pub fn with_previous_secret(mut self, private_key: Option<SecretString>) -> Self {
        self.previous = private_key.map(|key| HmacSha256Key::new(key.expose_secret().as_bytes()));
        self
    }

    /// How far the webhook's timestamp may be from now, either way. Keep it to minutes: the
    /// window is also what stops digits moving between amount and timestamp (a timestamp that
    /// gained or lost one is decades away; a window of years would let it through).
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
    /// with the five fields, each in its canonical form (a string `reference`, a `status` of
    /// [`WEBHOOK_STATUS_WORDS`](crate::WEBHOOK_STATUS_WORDS), integer `amount` and
    /// `timestamp`; else [`Error::Decode`]); the signature matches, compared in constant time
    /// (else [`Error::InvalidSignature`]); the timestamp is within the tolerance (else
    /// [`Error::StaleTimestamp`]).
    pub fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        request.check_body_size()?;
        let fields = Fields::parse(request.body)?;
        let check = |key: &HmacSha256Key| {
            gerbang_signing::cuan10pay::verify_webhook_with_key(
                key,
                &fields.reference,
                fields.status_word,
                fields.amount,
                fields.timestamp,
                &fields.signature,
            )
        };
        // Both computed before either is looked at: see the type's documentation.
        let current = check(&self.key);
        let previous = self.previous.as_ref().map(check);
        let key_used =
            KeyUsed::from_checks(current, previous, |e| *e == SignatureError::Mismatch).map_err(|e| match e {
                SignatureError::Mismatch => Error::invalid_signature(
                    "it was not made with this private key over this reference, status, amount and timestamp",
                ),
                SignatureError::Malformed { .. } => Error::invalid_signature("it is not 64 hexadecimal digits"),
                // Not reached: integers written by `to_string` are canonical.
                _ => Error::invalid_signature("its amount or timestamp is not a canonical integer"),
            })?;

        let now = self.clock.now().unix_timestamp();
        let skew_seconds = fields.timestamp_value.saturating_sub(now);
        let tolerance_seconds = self.tolerance.as_secs();
        if skew_seconds.unsigned_abs() > tolerance_seconds {
            return Err(Error::StaleTimestamp { skew_seconds, tolerance_seconds });
        }

        key_used.log_verified(ProviderId::Cuan10pay);
        let mut event = WebhookEvent::new(ProviderId::Cuan10pay, fields.status, fields.status_word, ack());
        event.verified_with = Some(key_used);
        event.provider_reference = Some(fields.reference.into_owned());
        event.amount = Some(Money::new(Decimal::from(fields.amount_value), Currency::IDR)?);
        event.occurred_at = jakarta_time(fields.timestamp_value);
        event.raw = fields.raw;
        Ok(event)
    }

    /// The signature Cuan10pay would put on a webhook with these fields, under the current key.
    /// **For tests** (and the sandbox), as async-stripe offers: a merchant never needs to sign a
    /// webhook.
    pub fn sign(&self, reference: &str, status: &str, amount: u64, timestamp: i64) -> String {
        gerbang_signing::cuan10pay::sign_webhook_with_key(
            &self.key,
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
            .field("key", &self.key)
            .field("previous", &self.previous)
            .field("tolerance", &self.tolerance)
            .field("clock", &self.clock)
            .finish()
    }
}

/// The webhook's fields, each read strictly: the signature is computed over them written back
/// out canonically, so no two bodies that read differently share a signed string. Borrowed from
/// the body, which is read once.
struct Fields<'a> {
    reference: Cow<'a, str>,
    status_word: &'static str,
    status: PaymentStatus,
    /// The integers' JSON text, as signed; `amount_value` is what it reads as.
    amount: &'a str,
    amount_value: u64,
    timestamp: &'a str,
    timestamp_value: i64,
    signature: Cow<'a, str>,
    /// The whole body, for [`WebhookEvent::raw`].
    raw: RawJson,
}

/// The five fields, found in one pass over the body: the three strings read as they are met,
/// the two integers kept as their JSON text. A field named twice is refused by serde: a body may
/// not carry two amounts.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    reference: Option<Text<'a>>,
    #[serde(borrow, default)]
    status: Option<Text<'a>>,
    #[serde(borrow, default)]
    amount: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    signature: Option<Text<'a>>,
}

/// A field that must be a JSON string: its text (borrowed where it has no escapes), or
/// `NotText` for any other JSON value, so that the error can say which field was wrong.
enum Text<'a> {
    Text(Cow<'a, str>),
    NotText,
}

impl<'a> Text<'a> {
    fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Self::Text(text) => Some(text),
            Self::NotText => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> serde::de::Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text::Text(Cow::Owned(v)))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Text::NotText)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Text::NotText)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Text::NotText)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Text::NotText)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Text::NotText)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
        Ok(Text::NotText)
    }
}

impl<'a> Fields<'a> {
    fn parse(body: &'a [u8]) -> Result<Self, Error> {
        const WHAT: &str = "Cuan10pay webhook";
        let bad = |reason: &str| Error::decode(format!("{WHAT}: {reason}"));
        let text = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8 text"))?;
        let wire = match serde_json::from_str::<Wire<'a>>(text) {
            Ok(wire) => wire,
            Err(e) if e.classify() == serde_json::error::Category::Data && !text.trim_start().starts_with('{') => {
                return Err(bad("the body is not a JSON object"));
            }
            Err(e) => return Err(Error::decode_json(WHAT, &e)),
        };
        let missing = |name: &str| bad(&format!("missing field `{name}`"));
        let field =
            |value: Option<&'a RawValue>, name: &str| value.filter(|v| v.get() != "null").ok_or_else(|| missing(name));
        // A JSON string, never a number written as text: the document's example quotes it.
        let reference = match wire.reference.ok_or_else(|| missing("reference"))?.text() {
            Some(s) if !s.is_empty() => s,
            Some(_) => return Err(bad("`reference` is empty")),
            None => return Err(bad("`reference` is not a JSON string")),
        };
        // Exactly one of the list: the word's characters are signed, so `paid`, ` PAID` or
        // `23PAID` are other signed strings, not other spellings of PAID. The word itself is
        // left out of the message (it comes from the body).
        let (status_word, status) = (wire.status.ok_or_else(|| missing("status"))?.text())
            .and_then(|s| WEBHOOK_STATUS_WORDS.iter().find(|word| **word == s))
            .and_then(|word| webhook_status(word).map(|status| (*word, status)))
            .ok_or_else(|| {
                bad(&format!(
                    "`status` is not one of the status words a webhook may carry ({})",
                    WEBHOOK_STATUS_WORDS.join(", ")
                ))
            })?;
        let signature =
            wire.signature.ok_or_else(|| missing("signature"))?.text().ok_or_else(|| bad("`signature` is not text"))?;
        // JSON integers only: no string, no fraction or exponent, no sign on the amount. The
        // text is what is signed; valid JSON has no leading zeros.
        let amount = field(wire.amount, "amount")?.get();
        let amount_value = Some(amount)
            .filter(|a| a.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| bad("`amount` is not a JSON integer of rupiah (not negative, not a string, no fraction)"))?;
        let timestamp = field(wire.timestamp, "timestamp")?.get();
        let timestamp_value = Some(timestamp)
            .filter(|t| t.strip_prefix('-').unwrap_or(t).bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| bad("`timestamp` is not a JSON integer of Unix seconds (not a string, no fraction)"))?;
        // Read whole above: it is one JSON value.
        let raw = RawJson::from_parsed_text(text);
        Ok(Self { reference, status_word, status, amount, amount_value, timestamp, timestamp_value, signature, raw })
    }
}
