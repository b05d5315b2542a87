//! Cash In's payment notification ("API Notify for Acknowledge Payment"): verifying it, reading
//! it, answering it, and signing one for tests.
//!
//! Cash In posts to `https://{merchant}/v1.0/debit/notify`, in the SNAP format
//! (`seeds/001_3ab17dd2bbbc66f1.txt`, `PROVIDERS.md` §2), with the headers `X-PARTNER-ID`,
//! `X-EXTERNAL-ID`, `X-TIMESTAMP`, `X-SIGNATURE` and `CHANNEL-ID`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::http::{HeaderMap, HeaderName, HeaderValue};
use gerbang_core::{
    Ack, Currency, Error, KeyUsed, Money, PaymentStatus, ProviderId, RawJson, SharedClock, SystemClock, WebhookEvent,
    WebhookRequest,
};
use gerbang_signing::SignatureError;
use gerbang_signing::rsa::{PrivateKey, PublicKey, sign_sha256_rsa, verify_sha256_rsa};
use gerbang_signing::snap::asymmetric_string_to_sign;
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::{DEFAULT_WEBHOOK_TOLERANCE, ENV_PUBLIC_KEY, public_keys_from_env};
use crate::convert::notification_status;
use crate::de::Object;
use crate::wire::Extra;

/// The `latestTransactionStatus` codes a notification may carry: SNAP's eight, `00` success to
/// `07` not found (`PROVIDERS.md` §2, from `seeds/001_3ab17dd2bbbc66f1.txt`; their meanings in
/// [`notification_status`](crate::notification_status)). An authentic notification with any
/// other code is refused as malformed, never passed on as an unknown status.
const NOTIFICATION_STATUS_CODES: [&str; 8] = ["00", "01", "02", "03", "04", "05", "06", "07"];

/// The acknowledgement of a notification received and accepted, HTTP 200 (`PROVIDERS.md` §2;
/// the document's example response).
pub const ACK_SUCCESS_BODY: &str = r#"{"responseCode":"2005600","responseMessage":"Successful"}"#;
/// The answer to a notification whose signature or timestamp does not check out, HTTP 401.
pub const ACK_UNAUTHORIZED_BODY: &str = r#"{"responseCode":"4015600","responseMessage":"Unauthorized. [Signature]"}"#;
/// The answer to a malformed notification, HTTP 400.
pub const ACK_INVALID_FIELD_FORMAT_BODY: &str =
    r#"{"responseCode":"4005601","responseMessage":"Invalid Field Format"}"#;
/// **Decision**: the answer when the merchant's side cannot verify at all (no public key
/// configured), HTTP 500 with SNAP's general error of this service. A 5xx tells Cash In to try
/// again later, rather than to treat the notification as refused.
pub const ACK_GENERAL_ERROR_BODY: &str = r#"{"responseCode":"5005600","responseMessage":"General Error"}"#;

/// **Decision**: the `CHANNEL-ID` a [`NotificationSigner`] sends unless told otherwise: `9552`,
/// the value of the document's example notification.
pub const DEFAULT_CHANNEL_ID: &str = "9552";

/// The path Cash In posts its notifications to on the merchant's domain, as documented.
pub const NOTIFY_PATH: &str = "/v1.0/debit/notify";

/// HTTP 200 with [`ACK_SUCCESS_BODY`]: what to answer an accepted notification with.
pub fn ack() -> Ack {
    Ack::json(200, ACK_SUCCESS_BODY)
}

/// HTTP 401 with [`ACK_UNAUTHORIZED_BODY`].
pub fn ack_unauthorized() -> Ack {
    Ack::json(401, ACK_UNAUTHORIZED_BODY)
}

/// HTTP 400 with [`ACK_INVALID_FIELD_FORMAT_BODY`].
pub fn ack_invalid_field_format() -> Ack {
    Ack::json(400, ACK_INVALID_FIELD_FORMAT_BODY)
}

/// The answer to a notification that failed verification, in Cash In's SNAP codes: 401
/// `4015600` for a bad or missing signature or a timestamp out of the window, 400 `4005601` for
/// any other [verification failure](Error::is_verification_failure) (a malformed body), and 500
/// `5005600` for a failure of the merchant's side (no public key configured, a store): a 5xx, so
/// that Cash In delivers it again. The bodies are these fixed texts: the error's message stays in
/// the log.
///
/// ```
/// use gerbang_cashin::rejection;
/// use gerbang_core::Error;
///
/// let ack = rejection(&Error::invalid_signature("does not match"));
/// assert_eq!((ack.status, &*ack.body), (401, r#"{"responseCode":"4015600","responseMessage":"Unauthorized. [Signature]"}"#));
/// assert_eq!(rejection(&Error::decode("not JSON")).status, 400);
/// ```
pub fn rejection(error: &Error) -> Ack {
    match error {
        Error::InvalidSignature { .. } | Error::StaleTimestamp { .. } => ack_unauthorized(),
        error if error.is_verification_failure() => ack_invalid_field_format(),
        _ => Ack::json(500, ACK_GENERAL_ERROR_BODY),
    }
}

/// A verified notification, as Cash In sent it.
///
/// The document's example misspells two fields (`orgiginalExternalId`,
/// `latestTransactionStatusDec`): both spellings are read. Serialises with the field names
/// below (snake case); the body's fields no typed field names are in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Notification {
    /// `originalPartnerReferenceNo`: Cash In's id of the transaction.
    pub original_partner_reference_no: Option<String>,
    /// `originalReferenceNo`: the merchant's `trxNo`.
    pub original_reference_no: String,
    /// `originalExternalId` (or `orgiginalExternalId`).
    pub original_external_id: Option<String>,
    /// `latestTransactionStatus`: a SNAP code, `00` paid … `07` not found; see
    /// [`notification_status`](crate::notification_status).
    pub latest_transaction_status: String,
    /// `transactionStatusDesc` (or `latestTransactionStatusDec`).
    pub transaction_status_desc: Option<String>,
    /// `amount`: `value` (a string or a number) and `currency`.
    pub amount: Money,
    /// `createdTime`, as sent.
    pub created_time: Option<String>,
    /// `finishedTime`, as sent.
    pub finished_time: Option<String>,
    /// The `X-TIMESTAMP` header, as received.
    pub timestamp: String,
    /// The `X-PARTNER-ID` header: Cash In's client id of the merchant.
    pub partner_id: Option<String>,
    /// The `X-EXTERNAL-ID` header: unique per notification.
    pub external_id: Option<String>,
    /// The `CHANNEL-ID` header.
    pub channel_id: Option<String>,
    /// Every other field of the body, as received.
    pub extra: Extra,
}

impl Notification {
    /// The normalised status of [`latest_transaction_status`](Self::latest_transaction_status).
    pub fn status(&self) -> PaymentStatus {
        notification_status(&self.latest_transaction_status)
    }

    /// When the payment finished (`finishedTime`, else `createdTime`), when readable as RFC 3339.
    pub fn occurred_at(&self) -> Option<OffsetDateTime> {
        [&self.finished_time, &self.created_time]
            .into_iter()
            .flatten()
            .find_map(|t| gerbang_signing::jakarta::parse_timestamp(t.trim()).ok())
    }

    /// The notification as a [`WebhookEvent`], whose [`ack`](WebhookEvent::ack) is
    /// [`ACK_SUCCESS_BODY`].
    pub fn to_event(&self, raw: RawJson) -> WebhookEvent {
        let mut event =
            WebhookEvent::new(ProviderId::CashIn, self.status(), self.latest_transaction_status.clone(), ack());
        event.reference = Some(self.original_reference_no.clone());
        event.provider_reference = self.original_partner_reference_no.clone();
        event.amount = Some(self.amount.clone());
        event.occurred_at = self.occurred_at();
        event.raw = raw;
        event
    }

    fn parse(request: &WebhookRequest<'_>, timestamp: &str) -> Result<(Self, RawJson), Error> {
        const WHAT: &str = "Cash In notification";
        let bad = |reason: &str| Error::decode(format!("{WHAT}: {reason}"));
        let text = std::str::from_utf8(request.body).map_err(|_| bad("the body is not UTF-8 text"))?;
        let mut body = Object::parse(text).map_err(|e| bad(&e))?;
        let raw = RawJson::from_parsed_text(text);
        let e = |e: String| bad(&e);
        let missing = |name: &str| bad(&format!("missing field `{name}`"));
        let original_reference_no =
            body.string(&["originalReferenceNo"]).map_err(e)?.ok_or_else(|| missing("originalReferenceNo"))?;
        let latest_transaction_status =
            body.string(&["latestTransactionStatus"]).map_err(e)?.ok_or_else(|| missing("latestTransactionStatus"))?;
        let latest_transaction_status = latest_transaction_status.trim();
        if !NOTIFICATION_STATUS_CODES.contains(&latest_transaction_status) {
            return Err(bad("`latestTransactionStatus` is not one of the SNAP status codes 00 to 07"));
        }
        let mut amount = body.object(&["amount"]).map_err(e)?.ok_or_else(|| missing("amount"))?;
        let value = amount
            .decimal(&["value"])
            .map_err(|r| bad(&format!("amount: {r}")))?
            .ok_or_else(|| missing("amount.value"))?;
        let currency = amount
            .string(&["currency"])
            .map_err(|r| bad(&format!("amount: {r}")))?
            .ok_or_else(|| missing("amount.currency"))?;
        let currency = Currency::new(currency.trim()).map_err(|_| bad("`amount.currency` is not a currency code"))?;
        // A notification says a payment was made: of nothing, or of less, is no payment, and an
        // authentic body that says so is refused rather than passed on.
        if value.is_zero() || value.is_sign_negative() {
            return Err(bad("`amount.value` is not a positive amount"));
        }
        let amount = Money::new(value, currency).map_err(|_| bad("`amount.value` is not a whole number of rupiah"))?;
        let notification = Self {
            original_partner_reference_no: body.string(&["originalPartnerReferenceNo"]).map_err(e)?,
            original_reference_no,
            original_external_id: body.string(&["originalExternalId", "orgiginalExternalId"]).map_err(e)?,
            latest_transaction_status: latest_transaction_status.to_owned(),
            transaction_status_desc: body
                .string(&["transactionStatusDesc", "latestTransactionStatusDec"])
                .map_err(e)?,
            amount,
            created_time: body.string(&["createdTime"]).map_err(e)?,
            finished_time: body.string(&["finishedTime"]).map_err(e)?,
            timestamp: timestamp.to_owned(),
            partner_id: request.header("x-partner-id").map(str::to_owned),
            external_id: request.header("x-external-id").map(str::to_owned),
            channel_id: request.header("channel-id").map(str::to_owned),
            extra: body.into_extra(),
        };
        Ok((notification, raw))
    }
}

/// Verifies Cash In's notifications with Cash In's RSA public key. Synchronous: nothing is
/// fetched.
///
/// **Decision** (`PROVIDERS.md` §2, "asymmetric method"): `X-SIGNATURE` is base64
/// SHA256withRSA (PKCS#1 v1.5) over
/// `POST:<path>:<lowercase hex SHA-256 of the minified body>:<X-TIMESTAMP>`, where `<path>` is
/// the path the handler was called on and `X-TIMESTAMP` is the header exactly as received. In
/// order, [`verify`](Self::verify) checks:
///
/// 1. the body's size ([`WebhookRequest::check_body_size`]): else [`Error::Decode`];
/// 2. `X-TIMESTAMP` and `X-SIGNATURE` are there: else [`Error::InvalidSignature`];
/// 3. the signature, on the raw bytes, before anything is parsed: else
///    [`Error::InvalidSignature`] (a body that cannot be minified is [`Error::Decode`]);
/// 4. the timestamp is RFC 3339 ([`Error::InvalidSignature`] otherwise) and within the tolerance
///    of now, either way (default 5 minutes): else [`Error::StaleTimestamp`];
/// 5. the body is a notification with `originalReferenceNo`, `latestTransactionStatus` (one of
///    the eight SNAP codes) and `amount {value, currency}`, the value above zero: else
///    [`Error::Decode`].
///
/// [`rejection`] turns each error into the answer Cash In expects.
///
/// ```
/// use gerbang_cashin::{NotificationSigner, PrivateKey, WebhookVerifier, format_timestamp};
/// use gerbang_core::{FixedClock, PaymentStatus, WebhookRequest};
/// use gerbang_core::http::Method;
/// use std::sync::Arc;
///
/// // In a test, play Cash In with a key pair of your own.
/// let key = PrivateKey::generate(2048)?;
/// let clock = Arc::new(FixedClock::at_unix(1_730_689_200));
/// let body = br#"{"originalPartnerReferenceNo":"PAY123","originalReferenceNo":"TRX-MERCHANT-0001",
///   "latestTransactionStatus":"00","transactionStatusDesc":"Success","amount":{"value":"1000.00","currency":"IDR"}}"#;
/// let timestamp = format_timestamp(gerbang_core::Clock::now(&*clock));
/// let headers = NotificationSigner::new(key.clone(), "CID1234567890").headers("/v1.0/debit/notify", body, &timestamp)?;
///
/// let verifier = WebhookVerifier::new(key.public_key()).with_clock(clock);
/// let event = verifier.verify(&WebhookRequest::new(Method::POST, "/v1.0/debit/notify", &headers, body))?;
/// assert_eq!(event.status, PaymentStatus::Paid);
/// assert_eq!(event.reference.as_deref(), Some("TRX-MERCHANT-0001"));
/// assert_eq!(event.ack().body, r#"{"responseCode":"2005600","responseMessage":"Successful"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// **Rotation**: given Cash In's previous public key too
/// ([`with_previous_key`](Self::with_previous_key), `GERBANG_CASHIN_PUBLIC_KEY_PREVIOUS` in
/// [`from_env`](Self::from_env)), a notification signed with either verifies, and the event's
/// [`verified_with`](WebhookEvent::verified_with) says which. Both signatures are checked every time, before either
/// result is looked at (public keys hide nothing, but the time taken then does not depend on
/// which key Cash In used).
#[derive(Clone)]
pub struct WebhookVerifier {
    key: PublicKey,
    /// Cash In's key being rotated out, while notifications signed with it are still accepted.
    previous: Option<PublicKey>,
    tolerance: Duration,
    clock: SharedClock,
}

impl WebhookVerifier {
    /// A verifier with Cash In's public key, the default 5-minute tolerance and the system clock.
    pub fn new(public_key: PublicKey) -> Self {
        Self { key: public_key, previous: None, tolerance: DEFAULT_WEBHOOK_TOLERANCE, clock: Arc::new(SystemClock) }
    }

    /// Also accepts notifications signed with the private key of `public_key`, Cash In's key
    /// being rotated out: see the type's documentation. Remove it once the log shows no
    /// `key="previous"` for a while.
    pub fn with_previous_key(self, public_key: PublicKey) -> Self {
        self.with_previous(Some(public_key))
    }

    /// The same; `None` accepts the current key only.
    pub fn with_previous(mut self, public_key: Option<PublicKey>) -> Self {
        self.previous = public_key;
        self
    }

    /// The same, from PEM text (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        PublicKey::from_pem(pem)
            .map(Self::new)
            .map_err(|e| Error::config(format!("the Cash In public key cannot be read: {e}")))
    }

    /// A verifier with the key of `GERBANG_CASHIN_PUBLIC_KEY` (PEM text, or the path of a PEM
    /// file), and the previous one of `GERBANG_CASHIN_PUBLIC_KEY_PREVIOUS` when it is set (during
    /// a rotation); nothing else is needed. Unset: [`Error::Config`] naming the variable.
    pub fn from_env() -> Result<Self, Error> {
        let (current, previous) = public_keys_from_env()?;
        current.map(|key| Self::new(key).with_previous(previous)).ok_or_else(missing_public_key)
    }

    /// How far `X-TIMESTAMP` may be from now, either way.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The clock that says what "now" is (a [`FixedClock`](gerbang_core::FixedClock) in tests).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Verifies a notification on the bytes received and returns the event; see the type's
    /// documentation for the checks.
    pub fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        let ((notification, raw), key) = self.check(request)?;
        let mut event = notification.to_event(raw);
        event.verified_with = Some(key);
        Ok(event)
    }

    /// The same checks, returning the notification with every field Cash In sent.
    pub fn verify_notification(&self, request: &WebhookRequest<'_>) -> Result<Notification, Error> {
        self.check(request).map(|((notification, _), _)| notification)
    }

    fn check(&self, request: &WebhookRequest<'_>) -> Result<((Notification, RawJson), KeyUsed), Error> {
        request.check_body_size()?;
        let timestamp = request.required_header("x-timestamp")?;
        let signature = request.required_header("x-signature")?;
        let message = asymmetric_string_to_sign(request.method.as_str(), request.path, request.body, timestamp)
            .map_err(|_| Error::decode("Cash In notification: the body is not JSON (a string never ends)"))?;
        let check = |key: &PublicKey| verify_sha256_rsa(key, message.as_bytes(), signature.trim());
        // Both checked before either is looked at: see the type's documentation.
        let current = check(&self.key);
        let previous = self.previous.as_ref().map(check);
        let key_used =
            KeyUsed::from_checks(current, previous, |e| *e == SignatureError::Mismatch).map_err(|e| match e {
                SignatureError::Mismatch => Error::invalid_signature(
                    "it was not made with Cash In's private key over this method, path, body and X-TIMESTAMP",
                ),
                _ => Error::invalid_signature("X-SIGNATURE is not base64 of an RSA signature of the key's size"),
            })?;

        let sent = gerbang_signing::jakarta::parse_timestamp(timestamp.trim()).map_err(|_| {
            Error::invalid_signature("X-TIMESTAMP is not an RFC 3339 time such as 2024-11-04T10:00:00+07:00")
        })?;
        let skew = sent - self.clock.now();
        let skew_seconds = skew.whole_seconds();
        let tolerance_seconds = self.tolerance.as_secs();
        if skew.unsigned_abs() > self.tolerance {
            return Err(Error::StaleTimestamp { skew_seconds, tolerance_seconds });
        }
        let parsed = Notification::parse(request, timestamp)?;
        key_used.log_verified(ProviderId::CashIn);
        Ok((parsed, key_used))
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("public_key", &self.key)
            .field("previous_public_key", &self.previous)
            .field("tolerance", &self.tolerance)
            .field("clock", &self.clock)
            .finish()
    }
}

/// The error of verifying without a public key.
pub(crate) fn missing_public_key() -> Error {
    Error::config(format!(
        "{ENV_PUBLIC_KEY} is not set: it holds Cash In's public key (PEM text, or the path of a PEM file), needed to verify notifications"
    ))
}

/// Signs a notification as Cash In would: the headers of a SNAP notification for a body, with a
/// private key. **For tests** (a merchant's own, or the sandbox's): a merchant never signs a
/// notification in production.
///
/// ```
/// use gerbang_cashin::{NotificationSigner, PrivateKey};
///
/// let signer = NotificationSigner::new(PrivateKey::generate(2048)?, "CID1234567890");
/// let headers = signer.headers("/v1.0/debit/notify", br#"{"originalReferenceNo":"TRX-1"}"#, "2024-11-04T10:00:00+07:00")?;
/// assert_eq!(headers["x-partner-id"], "CID1234567890");
/// assert_eq!(headers["x-signature"].len(), 344); // base64 of 256 bytes
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct NotificationSigner {
    key: PrivateKey,
    partner_id: String,
    channel_id: String,
}

impl NotificationSigner {
    /// A signer with `key`, sending `partner_id` as `X-PARTNER-ID` and [`DEFAULT_CHANNEL_ID`] as
    /// `CHANNEL-ID`.
    pub fn new(key: PrivateKey, partner_id: impl Into<String>) -> Self {
        Self { key, partner_id: partner_id.into(), channel_id: DEFAULT_CHANNEL_ID.to_owned() }
    }

    /// The same, with the key as PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str, partner_id: impl Into<String>) -> Result<Self, Error> {
        PrivateKey::from_pem(pem)
            .map(|key| Self::new(key, partner_id))
            .map_err(|e| Error::config(format!("the notification signing key cannot be read: {e}")))
    }

    /// Sends `channel_id` as `CHANNEL-ID`.
    pub fn with_channel_id(mut self, channel_id: impl Into<String>) -> Self {
        self.channel_id = channel_id.into();
        self
    }

    /// The `X-SIGNATURE` of a POST of `body` to `path` stamped `timestamp` (written into
    /// `X-TIMESTAMP` exactly so, e.g. with [`format_timestamp`](crate::format_timestamp)).
    pub fn signature(&self, path: &str, body: &[u8], timestamp: &str) -> Result<String, Error> {
        let message = asymmetric_string_to_sign("POST", path, body, timestamp)
            .map_err(|_| Error::validation("body", "is not JSON: a string never ends"))?;
        sign_sha256_rsa(&self.key, message.as_bytes())
            .map_err(|e| Error::config(format!("the notification signing key cannot sign: {e}")))
    }

    /// Every header of the notification: `Content-Type`, `X-PARTNER-ID`, `X-EXTERNAL-ID` (a
    /// fresh UUID), `X-TIMESTAMP`, `X-SIGNATURE` and `CHANNEL-ID`.
    pub fn headers(&self, path: &str, body: &[u8], timestamp: &str) -> Result<HeaderMap, Error> {
        let signature = self.signature(path, body, timestamp)?;
        let external_id = uuid::Uuid::new_v4().to_string();
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", "application/json"),
            ("x-partner-id", self.partner_id.as_str()),
            ("x-external-id", external_id.as_str()),
            ("x-timestamp", timestamp),
            ("x-signature", signature.as_str()),
            ("channel-id", self.channel_id.as_str()),
        ] {
            let value = HeaderValue::from_str(value)
                .map_err(|_| Error::validation(name, "has characters a header cannot carry"))?;
            headers.insert(HeaderName::from_static(name), value);
        }
        Ok(headers)
    }
}

impl fmt::Debug for NotificationSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationSigner")
            .field("key", &self.key)
            .field("partner_id", &self.partner_id)
            .field("channel_id", &self.channel_id)
            .finish()
    }
}
