//! The bodies of the Cuan10pay calls that create something, serialised exactly as sent.
//!
//! Field names and types are those of the document's tables (`seeds/000_b443c682d4d25840.txt`).
//! Optional fields that are not set are left out of the JSON rather than sent as `null`.

use std::fmt;

use gerbang_core::Error;
use serde::Serialize;
use time::OffsetDateTime;

/// The smallest deposit, in rupiah: "min 10,000" in the document's `deposit_create` table.
pub const MIN_DEPOSIT_IDR: i64 = 10_000;
/// The largest deposit, in rupiah: "max 10,000,000" in the document's `deposit_create` table.
pub const MAX_DEPOSIT_IDR: i64 = 10_000_000;

/// A `deposit_create` body.
///
/// ```
/// use gerbang_cuan10pay::DepositRequest;
///
/// let request = DepositRequest::new("QRIS", 50_000)
///     .notes("ORDER-1001")
///     .customer_name("Budi Santoso")
///     .customer_email("budi@example.com");
/// assert!(request.validate().is_ok());
/// assert!(DepositRequest::new("QRIS", 9_999).validate().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DepositRequest {
    /// The payment channel (`QRIS`, `BCA`, …).
    pub channel_code: String,
    /// Whole rupiah, from [`MIN_DEPOSIT_IDR`] to [`MAX_DEPOSIT_IDR`].
    pub amount: i64,
    /// Free text shown with the deposit in the merchant dashboard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The customer's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// The customer's e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// The customer's phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
    /// Where the customer is sent after paying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// When the deposit expires, as Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_time: Option<i64>,
}

impl DepositRequest {
    /// A deposit of `amount` rupiah through `channel_code`.
    pub fn new(channel_code: impl Into<String>, amount: i64) -> Self {
        Self {
            channel_code: channel_code.into(),
            amount,
            notes: None,
            customer_name: None,
            customer_email: None,
            customer_phone: None,
            return_url: None,
            expired_time: None,
        }
    }

    /// Sets `notes`.
    pub fn notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = Some(notes.into());
        self
    }

    /// Sets `customer_name`.
    pub fn customer_name(mut self, name: impl Into<String>) -> Self {
        self.customer_name = Some(name.into());
        self
    }

    /// Sets `customer_email`.
    pub fn customer_email(mut self, email: impl Into<String>) -> Self {
        self.customer_email = Some(email.into());
        self
    }

    /// Sets `customer_phone`.
    pub fn customer_phone(mut self, phone: impl Into<String>) -> Self {
        self.customer_phone = Some(phone.into());
        self
    }

    /// Sets `return_url`.
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// Sets `expired_time` to the Unix time of `at`.
    pub fn expires_at(mut self, at: OffsetDateTime) -> Self {
        self.expired_time = Some(at.unix_timestamp());
        self
    }

    /// Checks what the gateway would refuse, so that it is refused before anything is sent:
    /// a channel code, and an amount from [`MIN_DEPOSIT_IDR`] to [`MAX_DEPOSIT_IDR`].
    pub fn validate(&self) -> Result<(), Error> {
        require("channel_code", &self.channel_code)?;
        if !(MIN_DEPOSIT_IDR..=MAX_DEPOSIT_IDR).contains(&self.amount) {
            return Err(Error::validation(
                "amount",
                format!(
                    "Cuan10pay takes deposits from {MIN_DEPOSIT_IDR} to {MAX_DEPOSIT_IDR} IDR (whole rupiah); {} is outside that range",
                    self.amount
                ),
            ));
        }
        optional_url("return_url", self.return_url.as_deref())
    }
}

impl fmt::Debug for DepositRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // E-mail and phone are a customer's personal data: shown only as present or not.
        f.debug_struct("DepositRequest")
            .field("channel_code", &self.channel_code)
            .field("amount", &self.amount)
            .field("notes", &self.notes)
            .field("customer_name", &self.customer_name)
            .field("customer_email", &hidden(&self.customer_email))
            .field("customer_phone", &hidden(&self.customer_phone))
            .field("return_url", &self.return_url)
            .field("expired_time", &self.expired_time)
            .finish()
    }
}

/// A `ppob_order` body: phone credit, data or a bill, for `target`.
///
/// ```
/// use gerbang_cuan10pay::PpobOrderRequest;
/// let order = PpobOrderRequest::new("PULSA_50K", "081234567890").reference("ORDER123");
/// assert_eq!(order.reference.as_deref(), Some("ORDER123"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PpobOrderRequest {
    /// The product, from [`ppob_products`](crate::Cuan10payClient::ppob_products).
    pub product_code: String,
    /// The phone number or account id to credit.
    pub target: String,
    /// The merchant's reference for the order.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Where the gateway posts updates of this order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

impl PpobOrderRequest {
    /// An order of `product_code` for `target`.
    pub fn new(product_code: impl Into<String>, target: impl Into<String>) -> Self {
        Self { product_code: product_code.into(), target: target.into(), reference: None, callback_url: None }
    }

    /// Sets `ref`.
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// Sets `callback_url`.
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// Checks the required fields and the callback URL before anything is sent.
    pub fn validate(&self) -> Result<(), Error> {
        require("product_code", &self.product_code)?;
        require("target", &self.target)?;
        optional_url("callback_url", self.callback_url.as_deref())
    }
}

impl fmt::Debug for PpobOrderRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The target is usually a customer's phone number.
        f.debug_struct("PpobOrderRequest")
            .field("product_code", &self.product_code)
            .field("target", &"<redacted>")
            .field("reference", &self.reference)
            .field("callback_url", &self.callback_url)
            .finish()
    }
}

/// An `smm_order` body: `quantity` of a social-media service delivered to `link`.
///
/// ```
/// use gerbang_cuan10pay::SmmOrderRequest;
/// let order = SmmOrderRequest::new(123, "https://instagram.com/p/xxxx", 1000).reference("SMM123");
/// assert!(order.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SmmOrderRequest {
    /// The service, from [`smm_services`](crate::Cuan10payClient::smm_services).
    pub service_id: u64,
    /// The link, user name or post URL to deliver to.
    pub link: String,
    /// How many to deliver.
    pub quantity: u64,
    /// The merchant's reference for the order.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Where the gateway posts updates of this order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

impl SmmOrderRequest {
    /// An order of `quantity` of service `service_id` for `link`.
    pub fn new(service_id: u64, link: impl Into<String>, quantity: u64) -> Self {
        Self { service_id, link: link.into(), quantity, reference: None, callback_url: None }
    }

    /// Sets `ref`.
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// Sets `callback_url`.
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// Checks the required fields and the callback URL before anything is sent.
    pub fn validate(&self) -> Result<(), Error> {
        require("link", &self.link)?;
        if self.quantity == 0 {
            return Err(Error::validation("quantity", "must be at least 1"));
        }
        optional_url("callback_url", self.callback_url.as_deref())
    }
}

/// A `voucher_order` body: a game voucher for a player.
///
/// ```
/// use gerbang_cuan10pay::VoucherOrderRequest;
/// let order = VoucherOrderRequest::new("ML_86_DIAMOND", "12345678").server_id("9001");
/// assert!(order.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VoucherOrderRequest {
    /// The voucher, from [`voucher_products`](crate::Cuan10payClient::voucher_products).
    pub product_code: String,
    /// The player's (user's) id in the game.
    pub player_id: String,
    /// The server or zone id, for games that have them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    /// The merchant's reference for the order.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Where the gateway posts updates of this order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

impl VoucherOrderRequest {
    /// A voucher `product_code` for `player_id`.
    pub fn new(product_code: impl Into<String>, player_id: impl Into<String>) -> Self {
        Self {
            product_code: product_code.into(),
            player_id: player_id.into(),
            server_id: None,
            reference: None,
            callback_url: None,
        }
    }

    /// Sets `server_id`.
    pub fn server_id(mut self, server_id: impl Into<String>) -> Self {
        self.server_id = Some(server_id.into());
        self
    }

    /// Sets `ref`.
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// Sets `callback_url`.
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// Checks the required fields and the callback URL before anything is sent.
    pub fn validate(&self) -> Result<(), Error> {
        require("product_code", &self.product_code)?;
        require("player_id", &self.player_id)?;
        optional_url("callback_url", self.callback_url.as_deref())
    }
}

fn hidden(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| "<redacted>")
}

fn require(field: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        Err(Error::validation(field, "is required by Cuan10pay and may not be empty"))
    } else {
        Ok(())
    }
}

fn optional_url(field: &str, value: Option<&str>) -> Result<(), Error> {
    match value.map(url::Url::parse) {
        None => Ok(()),
        Some(Ok(u)) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        Some(_) => Err(Error::validation(field, "expected an absolute http:// or https:// URL")),
    }
}
