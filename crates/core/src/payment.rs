//! What a merchant asks for and what a gateway answers, in gateway-neutral terms.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::{Channel, Error, Money, ProviderId};

/// Where a payment stands, normalised across gateways.
///
/// Serialised as `pending`, `paid`, `expired`, `cancelled`, `failed`, `refunded`, or `unknown` for
/// a status no mapping knows (the gateway's own word is kept beside it, in `provider_status`).
/// Parsing never fails: a status this crate does not know becomes [`PaymentStatus::Unknown`].
///
/// ```
/// use gerbang_core::PaymentStatus;
/// let s: PaymentStatus = serde_json::from_str("\"on_hold\"").unwrap();
/// assert_eq!(s, PaymentStatus::Unknown("on_hold".into()));
/// assert!(!s.is_final());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaymentStatus {
    /// Created, not paid yet.
    Pending,
    /// Paid: the merchant may deliver.
    Paid,
    /// Not paid in time.
    Expired,
    /// Cancelled by the merchant or the customer.
    Cancelled,
    /// Refused or failed.
    Failed,
    /// Paid, then refunded.
    Refunded,
    /// A status no mapping knows; holds the gateway's word.
    Unknown(String),
}

impl PaymentStatus {
    /// The word used in JSON.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
            Self::Refunded => "refunded",
            Self::Unknown(_) => "unknown",
        }
    }

    /// Whether the payment can no longer change by itself (anything but pending or unknown).
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Pending | Self::Unknown(_))
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PaymentStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PaymentStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "pending" => Self::Pending,
            "paid" => Self::Paid,
            "expired" => Self::Expired,
            "cancelled" => Self::Cancelled,
            "failed" => Self::Failed,
            "refunded" => Self::Refunded,
            _ => Self::Unknown(s),
        })
    }
}

/// The paying customer. E-mail and phone are personal data: `Debug` hides them.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Customer {
    /// Full name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number, as the customer gave it.
    pub phone: Option<String>,
    /// The merchant's own id for the customer.
    pub id: Option<String>,
}

impl fmt::Debug for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Customer")
            .field("name", &self.name)
            .field("email", &hidden(&self.email))
            .field("phone", &hidden(&self.phone))
            .field("id", &self.id)
            .finish()
    }
}

/// A request to create a payment. Build it with [`PaymentRequest::builder`].
///
/// ```
/// use gerbang_core::{Channel, Money, PaymentRequest};
/// use std::time::Duration;
///
/// let request = PaymentRequest::builder("ORDER-1001", Money::idr(150_000))
///     .channel(Channel::Qris)
///     .customer_name("Budi Santoso")
///     .customer_email("budi@example.com")
///     .description("2 x Kopi Susu")
///     .expires_in(Duration::from_secs(30 * 60))
///     .build()?;
/// assert_eq!(request.reference, "ORDER-1001");
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaymentRequest {
    /// The merchant's own reference for this payment (order number), unique per payment.
    pub reference: String,
    /// What to charge.
    pub amount: Money,
    /// Who pays.
    pub customer: Customer,
    /// How they pay, when the merchant chooses.
    pub channel: Option<Channel>,
    /// What is being paid for.
    pub description: Option<String>,
    /// Where the customer goes after paying.
    pub success_url: Option<String>,
    /// Where the customer goes after giving up.
    pub cancel_url: Option<String>,
    /// Where the customer goes back to, whatever the outcome.
    pub return_url: Option<String>,
    /// Where the gateway sends its webhook for this payment.
    pub callback_url: Option<String>,
    /// How long the customer has to pay.
    pub expires_in: Option<Duration>,
}

impl PaymentRequest {
    /// Starts a request for `reference`, charging `amount`.
    pub fn builder(reference: impl Into<String>, amount: Money) -> PaymentRequestBuilder {
        PaymentRequestBuilder {
            request: PaymentRequest {
                reference: reference.into(),
                amount,
                customer: Customer::default(),
                channel: None,
                description: None,
                success_url: None,
                cancel_url: None,
                return_url: None,
                callback_url: None,
                expires_in: None,
            },
        }
    }

    /// [`Error::Validation`] naming `field` when a gateway cannot honour it and it was given.
    pub fn refuse_if_set<T>(value: &Option<T>, field: &str, provider: ProviderId) -> Result<(), Error> {
        match value {
            Some(_) => Err(Error::validation(field, format!("{provider} has no such field; leave it out"))),
            None => Ok(()),
        }
    }
}

/// Builds a [`PaymentRequest`]; [`build`](Self::build) checks it.
#[derive(Debug, Clone)]
pub struct PaymentRequestBuilder {
    request: PaymentRequest,
}

macro_rules! setters {
    ($($(#[$meta:meta])* $name:ident => $($field:ident).+;)+) => {
        $(
            $(#[$meta])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.request.$($field).+ = Some(value.into());
                self
            }
        )+
    };
}

impl PaymentRequestBuilder {
    setters! {
        /// The customer's name.
        customer_name => customer.name;
        /// The customer's e-mail.
        customer_email => customer.email;
        /// The customer's phone number.
        customer_phone => customer.phone;
        /// The merchant's id for the customer.
        customer_id => customer.id;
        /// What is being paid for.
        description => description;
        /// Where the customer goes after paying.
        success_url => success_url;
        /// Where the customer goes after giving up.
        cancel_url => cancel_url;
        /// Where the customer goes back to.
        return_url => return_url;
        /// Where the gateway sends its webhook.
        callback_url => callback_url;
    }

    /// The whole customer at once.
    pub fn customer(mut self, customer: Customer) -> Self {
        self.request.customer = customer;
        self
    }

    /// How the customer pays.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.request.channel = Some(channel);
        self
    }

    /// How long the customer has to pay.
    pub fn expires_in(mut self, expires_in: Duration) -> Self {
        self.request.expires_in = Some(expires_in);
        self
    }

    /// Checks the request: a reference of 1 to 64 printable characters, a positive amount,
    /// absolute http(s) URLs, an expiry of at least a second. Every problem is reported at once:
    /// [`Error::Validation`] for one, [`Error::Invalid`] for more.
    pub fn build(self) -> Result<PaymentRequest, Error> {
        let r = self.request;
        let mut problems = crate::Problems::new();
        let reference_ok =
            !r.reference.trim().is_empty() && r.reference.len() <= 64 && !r.reference.chars().any(char::is_control);
        if !reference_ok {
            problems.add("reference", "expected 1 to 64 printable characters");
        }
        if r.amount.value().is_sign_negative() || r.amount.value().is_zero() {
            problems.add("amount", "must be more than zero");
        }
        for (field, url) in [
            ("success_url", &r.success_url),
            ("cancel_url", &r.cancel_url),
            ("return_url", &r.return_url),
            ("callback_url", &r.callback_url),
        ] {
            if let Some(url) = url {
                problems.check(check_url(field, url));
            }
        }
        if r.expires_in.is_some_and(|d| d < Duration::from_secs(1)) {
            problems.add("expires_in", "must be at least one second");
        }
        problems.finish()?;
        Ok(r)
    }
}

fn check_url(field: &str, value: &str) -> Result<(), Error> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        _ => Err(Error::validation(field, "expected an absolute http:// or https:// URL")),
    }
}

/// A payment as a gateway reports it, normalised.
///
/// Serialises to the JSON shape of the project's design (absent values are `null`, money as
/// decimal strings, times as RFC 3339). The gateway's whole answer is kept in [`Payment::raw`]
/// for anything not modelled; it is left out of the JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Payment {
    /// The gateway.
    pub provider: ProviderId,
    /// The merchant's reference, when known.
    pub reference: Option<String>,
    /// The gateway's own id.
    pub provider_reference: Option<String>,
    /// Normalised status.
    pub status: PaymentStatus,
    /// The gateway's status word, as sent; empty when the answer had none (`null` in JSON).
    #[serde(with = "empty_is_null")]
    pub provider_status: String,
    /// The amount asked for.
    pub amount: Option<Money>,
    /// The gateway's fee, when it says.
    pub fee: Option<Money>,
    /// What the customer pays in all, when it says.
    pub total: Option<Money>,
    /// The page the customer pays on.
    pub checkout_url: Option<String>,
    /// A virtual account number or payment code.
    pub payment_code: Option<String>,
    /// A QR image to show.
    pub qr_image_url: Option<String>,
    /// When the payment expires.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When the gateway created it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// The gateway's answer, as received (for the gateways with an envelope, its `data`), kept as
    /// text and parsed only when read.
    #[serde(skip)]
    pub raw: crate::RawJson,
}

impl Payment {
    /// A payment with the given status; every other field empty, to be filled in.
    pub fn new(provider: ProviderId, status: PaymentStatus, provider_status: impl Into<String>) -> Self {
        Self {
            provider,
            reference: None,
            provider_reference: None,
            status,
            provider_status: provider_status.into(),
            amount: None,
            fee: None,
            total: None,
            checkout_url: None,
            payment_code: None,
            qr_image_url: None,
            expires_at: None,
            created_at: None,
            raw: crate::RawJson::null(),
        }
    }

    /// The id to look this payment up by later with `payment_status` or `cancel_payment`, as the
    /// gateway's [`Capabilities::lookup`](crate::Capabilities) names it:
    /// `payment.lookup_id(gateway.capabilities().lookup)`.
    pub fn lookup_id(&self, key: crate::LookupKey) -> Option<&str> {
        match key {
            crate::LookupKey::ProviderReference => self.provider_reference.as_deref(),
            crate::LookupKey::Reference => self.reference.as_deref(),
        }
    }
}

/// A text field that an answer may lack: empty in Rust, `null` in JSON (DESIGN.md: absent values
/// are `null`, never `""`).
pub(crate) mod empty_is_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
        if value.is_empty() { s.serialize_none() } else { s.serialize_str(value) }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_status_word_is_null_in_json() {
        let payment = Payment::new(ProviderId::Ciputra, PaymentStatus::Pending, "");
        let json = serde_json::to_value(&payment).unwrap();
        assert_eq!(json["provider_status"], serde_json::Value::Null);
        let back: Payment = serde_json::from_value(json).unwrap();
        assert_eq!(back.provider_status, "");
        let word = serde_json::to_value(Payment::new(ProviderId::Qris, PaymentStatus::Paid, "PAID")).unwrap();
        assert_eq!(word["provider_status"], "PAID");
    }

    #[test]
    fn builder_refuses_bad_fields() {
        let base = || PaymentRequest::builder("ORDER-1", Money::idr(10_000));
        assert!(base().build().is_ok());
        let field = |r: Result<PaymentRequest, Error>| match r {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(PaymentRequest::builder(" ", Money::idr(1)).build()), "reference");
        assert_eq!(field(PaymentRequest::builder("R", Money::idr(0)).build()), "amount");
        assert_eq!(field(base().callback_url("ftp://x").build()), "callback_url");
        assert_eq!(field(base().success_url("/relative").build()), "success_url");
        assert_eq!(field(base().expires_in(Duration::ZERO).build()), "expires_in");
        // Every problem at once.
        let all = PaymentRequest::builder(" ", Money::idr(0)).success_url("/relative").build().unwrap_err();
        let fields: Vec<&str> = all.problems().into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["reference", "amount", "success_url"], "{all}");
    }

    #[test]
    fn customer_debug_hides_contact_details() {
        let c = Customer {
            name: Some("Budi".into()),
            email: Some("budi@example.com".into()),
            phone: Some("0812345".into()),
            id: None,
        };
        let text = format!("{c:?}");
        assert!(!text.contains("budi@") && !text.contains("0812345"), "{text}");
        assert!(text.contains("Budi"));
    }

    #[test]
    fn status_round_trips_and_never_fails() {
        for s in ["pending", "paid", "expired", "cancelled", "failed", "refunded"] {
            let parsed: PaymentStatus = serde_json::from_value(serde_json::json!(s)).unwrap();
            assert_eq!(serde_json::to_value(&parsed).unwrap(), serde_json::json!(s));
        }
        let odd: PaymentStatus = serde_json::from_str("\"PAID_PARTIALLY\"").unwrap();
        assert_eq!(odd, PaymentStatus::Unknown("PAID_PARTIALLY".into()));
    }
}
