//! The gateway's callback: checking that it carries our private key, and reading it.
//!
//! The document (`seeds/003_344fd773d4347651.txt`) says the gateway posts, to the invoice's
//! `callback_url`, "if payment success", the values `private_key` ("for compare yours"), `id`,
//! `email`, `merchant_id`, `order_id`, `customer_id`, `price_amount`, `price_currency`, `amount`,
//! `amount_currency`, `add_fee_to_price`, `title`, `description`, `ref_url`, `cancel_url`,
//! `success_url`, `callback_url`, `ip`, `test`, `created_at`, `expiration_date`; its handlers
//! read a JSON body and compare `privatekey` with their own key. It "Tries 3 times, once every 5
//! minutes, until it reaches HTTP code 200".

use std::fmt;

use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::{
    Ack, Decimal, Error, KeyUsed, Money, PaymentStatus, ProviderId, RawJson, WebhookEvent, WebhookRequest,
    env_secret_with_previous,
};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::config::ENV_PRIVATE_KEY;
use crate::convert;
use crate::de::{Extra, Object};

/// The names the callback's key may go by: the document's list says `private_key`, its own
/// handlers read `privatekey` (`seeds/003_344fd773d4347651.txt`). Both are accepted; when both
/// are present, both must be ours.
pub const KEY_FIELDS: [&str; 2] = ["private_key", "privatekey"];

/// **Decision**: the callback's `provider_status`. The callback has no status field: the
/// document sends it only "if payment success", so every verified callback is a payment, and
/// this word says so.
pub const CALLBACK_STATUS: &str = "paid";

/// **Decision**: what to answer a verified callback with. The document's only requirement is
/// "HTTP code 200" (anything else is retried), so a plain `OK`.
fn ack() -> Ack {
    Ack::text(200, "OK")
}

/// Verifies the gateway's callbacks. Needs only the private key, so that a callback can be
/// checked (by the `gerbang` CLI, say) without the public key.
///
/// The callback is not signed: it carries the merchant's private key in its body, and that is
/// what is checked, compared in constant time. Then the body is read into a [`Callback`].
///
/// ```
/// use gerbang_crypto_invoice::WebhookVerifier;
/// use gerbang_core::{Error, PaymentStatus, WebhookRequest};
/// use gerbang_core::http::{HeaderMap, Method};
///
/// let verifier = WebhookVerifier::new("your_private_key");
/// let body = br#"{"privatekey":"your_private_key","id":4711,"order_id":"ORDER-1001","price_amount":"725.50","price_currency":"USD","amount":"725.5","amount_currency":"USDT","test":1}"#;
/// let headers = HeaderMap::new();
/// let request = WebhookRequest::new(Method::POST, "/callbacks/crypto", &headers, body);
///
/// let callback = verifier.verify_callback(&request)?;
/// assert!(callback.is_test());
/// let event = verifier.verify(&request)?;
/// assert_eq!(event.status, PaymentStatus::Paid);
/// assert_eq!(event.dedup_key()?, "crypto-invoice:4711:paid"); // the same on every retry
///
/// let forged = br#"{"private_key":"guess","id":4711}"#;
/// let result = verifier.verify(&WebhookRequest::new(Method::POST, "/callbacks/crypto", &headers, forged));
/// assert!(matches!(result, Err(Error::InvalidSignature { .. })));
/// # Ok::<(), Error>(())
/// ```
///
/// **Rotation**: given the previous private key too
/// ([`with_previous_key`](Self::with_previous_key),
/// `GERBANG_CRYPTO_INVOICE_PRIVATE_KEY_PREVIOUS` in [`from_env`](Self::from_env)), a callback
/// carrying either verifies, and the event's [`verified_with`](WebhookEvent::verified_with) says which. The key
/// sent is compared with both, in constant time, every time, before either result is looked
/// at: the time taken does not say which key matched, nor how much of either was right.
#[derive(Clone)]
pub struct WebhookVerifier {
    private_key: SecretString,
    /// The key being rotated out, while callbacks carrying it are still accepted.
    previous: Option<SecretString>,
}

impl WebhookVerifier {
    /// A verifier for callbacks carrying `private_key`.
    pub fn new(private_key: impl Into<String>) -> Self {
        Self::from_secret(SecretString::from(private_key.into()))
    }

    /// The same, from a key already held as a secret.
    pub fn from_secret(private_key: SecretString) -> Self {
        Self { private_key, previous: None }
    }

    /// A verifier with the private key from `GERBANG_CRYPTO_INVOICE_PRIVATE_KEY` (the only
    /// variable it needs), and the previous one from
    /// `GERBANG_CRYPTO_INVOICE_PRIVATE_KEY_PREVIOUS` when it is set (during a rotation).
    pub fn from_env() -> Result<Self, Error> {
        let (current, previous) = env_secret_with_previous(ENV_PRIVATE_KEY)?;
        Ok(Self::from_secret(current).with_previous_secret(previous))
    }

    /// Also accepts callbacks carrying `private_key`, the key being rotated out: see the type's
    /// documentation. Remove it once the log shows no `key="previous"` for a while.
    pub fn with_previous_key(self, private_key: impl Into<String>) -> Self {
        self.with_previous_secret(Some(SecretString::from(private_key.into())))
    }

    /// The same, from a key already held as a secret; `None` accepts the current key only.
    pub fn with_previous_secret(mut self, private_key: Option<SecretString>) -> Self {
        self.previous = private_key;
        self
    }

    /// Verifies a callback and returns the normalised event: always
    /// [`PaymentStatus::Paid`] (the gateway calls back only on success), the order id as
    /// `reference`, the invoice `id` as `provider_reference`, the price as `amount`. Its
    /// [`dedup_key`](WebhookEvent::dedup_key) is `crypto-invoice:{id}:paid`, the same for each of
    /// the gateway's three tries. `raw` holds the body without the key (the test flag included).
    ///
    /// Errors as [`verify_callback`](Self::verify_callback).
    pub fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        let (callback, key) = self.check(request)?;
        let mut event = callback.to_event()?;
        event.verified_with = Some(key);
        Ok(event)
    }

    /// Verifies a callback and returns it, typed.
    ///
    /// In order: the body's size ([`WebhookRequest::check_body_size`]); the body is a UTF-8 JSON
    /// object (else [`Error::Decode`]); it carries our key as `private_key` or `privatekey`,
    /// compared in constant time (else [`Error::InvalidSignature`], also when the key is
    /// missing); its fields read as the document types them, with an `id` (else
    /// [`Error::Decode`], also for a field of the wrong JSON type, such as `"id": true`).
    pub fn verify_callback(&self, request: &WebhookRequest<'_>) -> Result<Callback, Error> {
        self.check(request).map(|(callback, _)| callback)
    }

    fn check(&self, request: &WebhookRequest<'_>) -> Result<(Callback, KeyUsed), Error> {
        const WHAT: &str = "crypto invoice callback";
        request.check_body_size()?;
        let text = std::str::from_utf8(request.body)
            .map_err(|_| Error::decode(format!("{WHAT}: the body is not UTF-8 text")))?;
        let mut object = Object::parse(text).map_err(|why| Error::decode(format!("{WHAT}: the body is {why}")))?;
        let key = self.check_key(&mut object)?;
        let mut raw: Value = serde_json::from_str(text).map_err(|e| Error::decode_json(WHAT, &e))?;
        if let Value::Object(map) = &mut raw {
            for name in KEY_FIELDS {
                map.remove(name);
            }
        }
        let callback =
            Callback::read(object, RawJson::from(raw)).map_err(|why| Error::decode(format!("{WHAT}: {why}")))?;
        key.log_verified(ProviderId::CryptoInvoice);
        Ok((callback, key))
    }

    /// Takes every key field out of the body (so that it never reaches `raw` or `extra`) and
    /// checks that at least one is there and that all are ours: the previous key is reported
    /// when any of them is the previous key.
    fn check_key(&self, object: &mut Object<'_>) -> Result<KeyUsed, Error> {
        let mut seen = 0;
        let mut used = KeyUsed::Current;
        for name in KEY_FIELDS {
            if !object.contains(name) {
                continue;
            }
            seen += 1;
            let sent = object.string(&[name]).ok().flatten().unwrap_or_default();
            match self.matches(&sent) {
                Some(KeyUsed::Current) => {}
                Some(KeyUsed::Previous) => used = KeyUsed::Previous,
                None => {
                    return Err(Error::invalid_signature(format!(
                        "its `{name}` is not this merchant's private key; do not trust its content"
                    )));
                }
            }
        }
        if seen == 0 {
            return Err(Error::invalid_signature(
                "it carries no `private_key` (or `privatekey`) field, so it cannot come from the gateway",
            ));
        }
        Ok(used)
    }

    /// Constant-time comparison that also hides the key's length: both sides are first reduced
    /// to a fixed-size MAC, then compared with `subtle`; against the previous key too when there
    /// is one, both comparisons made before either is looked at. `None` when `sent` is neither.
    fn matches(&self, sent: &str) -> Option<KeyUsed> {
        const LABEL: &[u8] = b"gerbang-crypto-invoice-callback-key";
        let mac = |key: &str| gerbang_signing::hmac_sha256(LABEL, &[key.as_bytes()]);
        let theirs = mac(sent);
        let current = mac(self.private_key.expose_secret()).ct_eq(&theirs);
        let previous = self.previous.as_ref().map(|key| mac(key.expose_secret()).ct_eq(&theirs));
        match (sent.is_empty(), bool::from(current), previous.map(bool::from)) {
            (true, _, _) => None,
            (false, true, _) => Some(KeyUsed::Current),
            (false, false, Some(true)) => Some(KeyUsed::Previous),
            (false, false, _) => None,
        }
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("private_key", &"<redacted>")
            .field("previous_private_key", &self.previous.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A verified callback, every field of the document typed; the key is not kept. `Debug` hides
/// the e-mail and IP address.
///
/// Deduplicate on [`id`](Self::id) (or the event's
/// [`dedup_key`](WebhookEvent::dedup_key), derived from it): the gateway sends the same callback
/// up to three times until it gets an HTTP 200.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Callback {
    /// The gateway's id for the invoice: stable across retries.
    pub id: String,
    /// The buyer's e-mail.
    pub email: Option<String>,
    /// The merchant id sent at creation.
    pub merchant_id: Option<String>,
    /// The merchant's order id sent at creation.
    pub order_id: Option<String>,
    /// The buyer's id sent at creation.
    pub customer_id: Option<String>,
    /// The invoice's price.
    pub price_amount: Option<Decimal>,
    /// The price's currency (USD when the invoice was created without one).
    pub price_currency: Option<String>,
    /// What the customer paid, in the coin, exact.
    pub amount: Option<Decimal>,
    /// The coin paid with (`USDT`).
    pub amount_currency: Option<String>,
    /// Whether the fee was added to the price.
    pub add_fee_to_price: bool,
    /// The invoice's title.
    pub title: Option<String>,
    /// The invoice's description.
    pub description: Option<String>,
    /// `ref_url`, as sent.
    pub ref_url: Option<String>,
    /// The invoice's cancel URL.
    pub cancel_url: Option<String>,
    /// The invoice's success URL.
    pub success_url: Option<String>,
    /// The invoice's callback URL.
    pub callback_url: Option<String>,
    /// The payer's IP address.
    pub ip: Option<String>,
    /// `test` is 1: a test payment, not real money.
    pub test: bool,
    /// When the invoice was created, as sent.
    pub created_at: Option<String>,
    /// When the invoice expires, as sent.
    pub expiration_date: Option<String>,
    /// Every other field, as received.
    pub extra: Extra,
    /// The whole body without the key (numbers as JSON reads them: the typed fields above are
    /// the exact ones).
    pub raw: RawJson,
}

impl Callback {
    fn read(mut o: Object<'_>, raw: RawJson) -> Result<Self, String> {
        let id = text(&mut o, "id")?.filter(|id| !id.trim().is_empty()).ok_or("missing field `id`")?;
        Ok(Self {
            id,
            email: text(&mut o, "email")?,
            merchant_id: text(&mut o, "merchant_id")?,
            order_id: text(&mut o, "order_id")?,
            customer_id: text(&mut o, "customer_id")?,
            price_amount: o.decimal(&["price_amount"])?,
            price_currency: text(&mut o, "price_currency")?,
            amount: o.decimal(&["amount"])?,
            amount_currency: text(&mut o, "amount_currency")?,
            add_fee_to_price: o.flag(&["add_fee_to_price"])?,
            title: text(&mut o, "title")?,
            description: text(&mut o, "description")?,
            ref_url: text(&mut o, "ref_url")?,
            cancel_url: text(&mut o, "cancel_url")?,
            success_url: text(&mut o, "success_url")?,
            callback_url: text(&mut o, "callback_url")?,
            ip: text(&mut o, "ip")?,
            test: o.flag(&["test"])?,
            created_at: text(&mut o, "created_at")?,
            expiration_date: text(&mut o, "expiration_date")?,
            extra: o.into_extra(),
            raw,
        })
    }

    /// Whether it is a test payment (`test` is 1): do not ship goods for it in production.
    pub fn is_test(&self) -> bool {
        self.test
    }

    /// The normalised event; see [`WebhookVerifier::verify`].
    pub fn to_event(&self) -> Result<WebhookEvent, Error> {
        let mut event = WebhookEvent::new(ProviderId::CryptoInvoice, PaymentStatus::Paid, CALLBACK_STATUS, ack());
        event.reference = self.order_id.clone();
        event.provider_reference = Some(self.id.clone());
        event.amount = convert::price(self.price_amount, self.price_currency.as_deref())?;
        event.raw = self.raw.clone();
        Ok(event)
    }

    /// The paid amount as [`Money`] in its coin, when both are given.
    pub fn paid(&self) -> Option<Money> {
        let coin = gerbang_core::Currency::new(self.amount_currency.as_deref()?).ok()?;
        Money::new(self.amount?, coin).ok()
    }
}

/// A text field of the callback, read strictly: a JSON string, or a number (the document types
/// `id` and `customer_id` as integers), written as its digits; absent or `null` is `None`.
/// Anything else, `"id": true` for one, is refused: the lenient
/// [`RawObject::string`](gerbang_core::de::RawObject::string) would read a boolean as the text
/// `true`, and an authenticated body of the wrong shape is not what the document sends.
fn text(o: &mut Object<'_>, name: &str) -> Result<Option<String>, String> {
    let Some((_, raw)) = o.take_raw(&[name]) else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::String(s)) => Ok(Some(s)),
        Ok(Value::Number(_)) => Ok(Some(raw.get().to_owned())),
        _ => Err(format!("`{name}` is not text or a number")),
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Callback")
            .field("id", &self.id)
            .field("order_id", &self.order_id)
            .field("merchant_id", &self.merchant_id)
            .field("customer_id", &self.customer_id)
            .field("email", &hidden(&self.email))
            .field("price_amount", &self.price_amount)
            .field("price_currency", &self.price_currency)
            .field("amount", &self.amount)
            .field("amount_currency", &self.amount_currency)
            .field("add_fee_to_price", &self.add_fee_to_price)
            .field("title", &self.title)
            .field("test", &self.test)
            .field("ip", &hidden(&self.ip))
            .field("created_at", &self.created_at)
            .field("expiration_date", &self.expiration_date)
            .finish_non_exhaustive()
    }
}
