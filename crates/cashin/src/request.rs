//! What the checkout call sends, mirroring the document's request body.

use std::fmt;

use gerbang_core::Error;
use serde::{Serialize, Serializer};

/// The payment channel a checkout page opens on (`paymentChannel`). Without one, the customer
/// chooses on Cash In's page.
///
/// With [`PaymentChannel::BankTransfer`] the customer still chooses the bank on Cash In's page:
/// the document (`seeds/001_3ab17dd2bbbc66f1.txt`) has no field for the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaymentChannel {
    /// `QRIS`.
    Qris,
    /// `BANK_TRANSFER`.
    BankTransfer,
}

impl PaymentChannel {
    /// The code the document uses: `QRIS` or `BANK_TRANSFER`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Qris => "QRIS",
            Self::BankTransfer => "BANK_TRANSFER",
        }
    }

    /// From the document's code, ignoring case and surrounding spaces.
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_uppercase().as_str() {
            "QRIS" => Some(Self::Qris),
            "BANK_TRANSFER" => Some(Self::BankTransfer),
            _ => None,
        }
    }
}

impl fmt::Display for PaymentChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PaymentChannel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The `customer` of a checkout: the merchant's id for the customer and their phone number,
/// both mandatory. `Debug` hides the phone number.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckoutCustomer {
    /// `customer.id`: the customer's id in the merchant's system (at most 50 characters).
    pub id: String,
    /// `customer.phoneNumber` (at most 16 characters).
    #[serde(rename = "phoneNumber")]
    pub phone_number: String,
}

impl CheckoutCustomer {
    /// A customer.
    pub fn new(id: impl Into<String>, phone_number: impl Into<String>) -> Self {
        Self { id: id.into(), phone_number: phone_number.into() }
    }
}

impl fmt::Debug for CheckoutCustomer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckoutCustomer").field("id", &self.id).field("phone_number", &"<redacted>").finish()
    }
}

/// `POST /payment`: a hosted checkout page. Serialises to the document's body, field for field
/// and in its order.
///
/// ```
/// use gerbang_cashin::{CheckoutCustomer, CheckoutRequest, PaymentChannel};
///
/// let request = CheckoutRequest::new(
///     "TRX-MERCHANT-0001",
///     1000,
///     30,
///     "https://shop.example.com/success",
///     "https://shop.example.com/cancel",
///     CheckoutCustomer::new("CUSTOMER-1", "082232232231111"),
/// )
/// .payment_channel(PaymentChannel::Qris);
/// request.validate()?;
/// let json = serde_json::to_string(&request).unwrap();
/// assert!(json.starts_with(r#"{"amount":1000,"trxNo":"TRX-MERCHANT-0001","duration":30,"#));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CheckoutRequest {
    /// The amount, in whole rupiah.
    pub amount: u64,
    /// The merchant's unique transaction number (at most 64 characters): what
    /// [`checkout_status`](crate::CashinClient::checkout_status) looks the payment up by.
    pub trx_no: String,
    /// How long the checkout page stays open, in minutes.
    pub duration: u32,
    /// Where the page sends the customer after paying (at most 255 characters).
    pub success_callback_url: String,
    /// Where the page sends the customer who cancels or goes back (at most 255 characters).
    pub cancel_callback_url: String,
    /// The channel the page opens on; left out of the body when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_channel: Option<PaymentChannel>,
    /// The customer.
    pub customer: CheckoutCustomer,
}

impl CheckoutRequest {
    /// A checkout with every mandatory field; the channel is left to the customer.
    pub fn new(
        trx_no: impl Into<String>,
        amount: u64,
        duration_minutes: u32,
        success_callback_url: impl Into<String>,
        cancel_callback_url: impl Into<String>,
        customer: CheckoutCustomer,
    ) -> Self {
        Self {
            amount,
            trx_no: trx_no.into(),
            duration: duration_minutes,
            success_callback_url: success_callback_url.into(),
            cancel_callback_url: cancel_callback_url.into(),
            payment_channel: None,
            customer,
        }
    }

    /// Opens the page on this channel.
    pub fn payment_channel(mut self, channel: PaymentChannel) -> Self {
        self.payment_channel = Some(channel);
        self
    }

    /// Checks the fields against the document's table (mandatory fields, lengths, a positive
    /// amount and duration) before anything is sent. [`Error::Validation`] names the field as
    /// the document does.
    pub fn validate(&self) -> Result<(), Error> {
        if self.amount == 0 {
            return Err(Error::validation("amount", "must be more than zero"));
        }
        text("trxNo", &self.trx_no, 64)?;
        if self.duration == 0 {
            return Err(Error::validation("duration", "must be at least one minute"));
        }
        text("successCallbackUrl", &self.success_callback_url, 255)?;
        text("cancelCallbackUrl", &self.cancel_callback_url, 255)?;
        text("customer.id", &self.customer.id, 50)?;
        text("customer.phoneNumber", &self.customer.phone_number, 16)?;
        Ok(())
    }
}

/// A mandatory text field of at most `max` characters.
fn text(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::validation(field, "is required by Cash In and may not be empty"));
    }
    let length = value.chars().count();
    if length > max {
        return Err(Error::validation(field, format!("Cash In takes at most {max} characters, not {length}")));
    }
    Ok(())
}

/// `POST /payment/status`: `{"trxNo":…}`.
#[derive(Debug, Serialize)]
pub(crate) struct StatusRequest<'a> {
    #[serde(rename = "trxNo")]
    pub(crate) trx_no: &'a str,
}
