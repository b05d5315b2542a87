//! The answers of the Ciputra API, mirroring its JSON, and the envelope every one comes in.
//!
//! `{"code":"00","status":true,"data":{…},"message":"Success"}` (`seeds/004_627801bf8e050898.txt`);
//! the token answer has its fields beside `code` and `status` instead of in `data`. Every field
//! of an answer is optional (the document marks none as always present), and each type keeps
//! the fields it does not name in `extra`, so that nothing the gateway sends is lost.

use std::fmt;

use gerbang_core::transport::HttpResponse;
use gerbang_core::{Error, RawJson};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::de;
use crate::request::Description;

/// Fields of an answer that no typed field names, as received.
pub type Extra = Map<String, Value>;

/// The envelope's success code (`"code": "00"` in every example of the document).
pub const SUCCESS_CODE: &str = "00";

/// The answer to the transaction call (charge, cancel, registration): its `data`.
///
/// The document shows `order_id`, `status_payment`, `expired_date` and `cancel_date` (for a
/// cancellation); a charge's answer seen in public code also had `shortlink` (the page the
/// customer pays on) and `virtual_account_number`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TransactionResult {
    /// The gateway's id for the transaction (`TE202100000001`).
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The merchant's id, as sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The payment's status word (`cancel`, …); see [`payment_status`](crate::payment_status).
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub status_payment: Option<String>,
    /// When it expires, Jakarta time `YYYY-MM-DD HH:MM:SS`, as sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub expired_date: Option<String>,
    /// When it was cancelled, as sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub cancel_date: Option<String>,
    /// The page the customer pays (or registers) on.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub shortlink: Option<String>,
    /// The virtual account to pay into, for a `va` charge.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub virtual_account_number: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer to the transaction status call: its `data`.
///
/// Its `Debug` leaves out the customer's name and phone.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TransactionStatus {
    /// The merchant's broker id at the gateway.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub broker_id: Option<String>,
    /// The broker's name.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    /// The gateway's id for the transaction.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The merchant's id.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `charge`, …
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The channel it was (or is to be) paid through (`gopay`, …).
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub payment_channel: Option<String>,
    /// The status word (`paid`, …); see [`payment_status`](crate::payment_status).
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The customer's name.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The customer's phone.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The payment's reference at the bank or wallet.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub reference_number: Option<String>,
    /// The description sent with the charge.
    #[serde(default, deserialize_with = "de::description_opt", skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
    /// The virtual account number, for a `va` payment.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub virtual_account: Option<String>,
    /// The card number, masked, for a card payment.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub credit_card_number: Option<String>,
    /// The card's expiry month.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub month_end: Option<String>,
    /// The card's expiry year.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub year_end: Option<String>,
    /// The amount, rupiah (a JSON number in the document).
    #[serde(default, deserialize_with = "de::decimal_opt", skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    /// When it was created, Jakarta time, as sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub created_time: Option<String>,
    /// When it was paid, as sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub transaction_time: Option<String>,
    /// When it expires, as sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub expired_time: Option<String>,
    /// The gateway's remark.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// The callback URL it was created with.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer to the registration status call: its `data`.
///
/// Its `Debug` leaves out the customer's name, phone and account number.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegistrationStatus {
    /// The merchant's broker id at the gateway.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub broker_id: Option<String>,
    /// The broker's name.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    /// The gateway's id for the registration.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The merchant's id.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The registration's reference at the bank.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub reference_number: Option<String>,
    /// The customer's name.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The customer's phone.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `registration`.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The auto-debit channel (`autodebet_bca`, …).
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub registration_channel: Option<String>,
    /// The description (plain text in the document's example, read as `text_1`).
    #[serde(default, deserialize_with = "de::description_opt", skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
    /// The status word (`success`, …).
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The registered account.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
    /// When it was created, Jakarta time, as sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub created_time: Option<String>,
    /// When the customer registered, as sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub registration_time: Option<String>,
    /// As sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub transaction_time: Option<String>,
    /// When the registration link expires, as sent.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub expired_time: Option<String>,
    /// The gateway's remark (`customer successfully registers BCA autodebit`).
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// The callback URL it was created with.
    #[serde(default, deserialize_with = "de::string_opt", skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for TransactionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionStatus")
            .field("order_id", &self.order_id)
            .field("external_id", &self.external_id)
            .field("action", &self.action)
            .field("payment_channel", &self.payment_channel)
            .field("status", &self.status)
            .field("amount", &self.amount)
            .field("created_time", &self.created_time)
            .field("transaction_time", &self.transaction_time)
            .field("expired_time", &self.expired_time)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RegistrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationStatus")
            .field("order_id", &self.order_id)
            .field("external_id", &self.external_id)
            .field("registration_channel", &self.registration_channel)
            .field("status", &self.status)
            .field("registration_time", &self.registration_time)
            .finish_non_exhaustive()
    }
}

/// The token call's answer, less the envelope.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default, deserialize_with = "de::string_opt")]
    pub(crate) access_token: Option<String>,
    #[serde(default, deserialize_with = "de::i64_opt")]
    pub(crate) expires_in: Option<i64>,
}

/// Reads an answer of the Ciputra API: the envelope's `data` as `T`.
///
/// This is what the client does with every answer but the token's; it is public so that recorded
/// answers can be checked the same way. See [`check_envelope`] for the errors.
///
/// ```
/// use gerbang_ciputra::{TransactionStatus, parse_answer};
/// use gerbang_core::transport::HttpResponse;
/// use gerbang_core::http::{HeaderMap, StatusCode};
///
/// let body = br#"{"code":"00","status":true,"data":{"external_id":"E-1","status":"paid","amount":300000},"message":"Success"}"#;
/// let response = HttpResponse::new(StatusCode::OK, HeaderMap::new(), body.to_vec());
/// let status: TransactionStatus = parse_answer("transaction_status", &response)?;
/// assert_eq!(status.status.as_deref(), Some("paid"));
///
/// let refused = br#"{"code":"05","status":false,"message":"Transaction not found"}"#;
/// let response = HttpResponse::new(StatusCode::OK, HeaderMap::new(), refused.to_vec());
/// let err = parse_answer::<TransactionStatus>("transaction_status", &response).unwrap_err();
/// assert_eq!(err.to_string(), "the gateway answered HTTP 200 with code 05: Transaction not found");
/// # Ok::<(), gerbang_core::Error>(())
/// ```
pub fn parse_answer<T: DeserializeOwned>(operation: &str, response: &HttpResponse) -> Result<T, Error> {
    parse_answer_with_raw(operation, response).map(|(typed, _)| typed)
}

/// [`parse_answer`], also returning `data` as JSON (for [`Payment::raw`](gerbang_core::Payment)).
pub(crate) fn parse_answer_with_raw<T: DeserializeOwned>(
    operation: &str,
    response: &HttpResponse,
) -> Result<(T, RawJson), Error> {
    let data = read_envelope(operation, response)?
        .data
        .filter(|data| data.get() != "null")
        .ok_or_else(|| Error::decode(format!("{operation} answer: missing field `data`")))?;
    let typed =
        serde_json::from_str(data.get()).map_err(|e| Error::decode_json(&format!("{operation} answer's data"), &e))?;
    Ok((typed, RawJson::from(data)))
}

/// Reads the token call's answer: its fields sit beside the envelope's (or, leniently, in a
/// `data` object).
pub(crate) fn parse_token(response: &HttpResponse) -> Result<TokenAnswer, Error> {
    let mut envelope = check_envelope("token", response)?;
    let fields = match envelope.remove("data") {
        Some(Value::Object(data)) if !envelope.contains_key("access_token") => Value::Object(data),
        _ => Value::Object(envelope),
    };
    TokenAnswer::deserialize(&fields).map_err(|e| Error::decode_json("token answer", &e))
}

/// The one place that decides whether an answer is a success: the HTTP status, then the
/// envelope's `code` and `status`.
///
/// - A non-2xx answer is [`HttpResponse::error`] with the envelope's code and message when the
///   body has them (401 [`Error::Unauthorized`], 404 [`Error::NotFound`], 429
///   [`Error::RateLimited`], others [`Error::Api`]).
/// - A 2xx answer is a success only if its `code` is `"00"` and its `status` is `true` (either
///   may be missing, not both). Anything else is [`Error::Api`] with the HTTP status, the code
///   and the gateway's message, **even under HTTP 200**, which is where this gateway puts its
///   refusals. A numeric `0` code and a `"true"` string status are read as their obvious
///   meaning, since PHP back ends drift between the two.
/// - A body that is not a JSON object is [`Error::Decode`], without any of its content.
///
/// Returns the envelope's fields.
pub fn check_envelope(operation: &str, response: &HttpResponse) -> Result<Map<String, Value>, Error> {
    read_envelope(operation, response)?;
    serde_json::from_slice(&response.body).map_err(|e| Error::decode_json(&format!("{operation} answer"), &e))
}

/// The envelope's fields, as JSON text borrowed from the answer: the ones that say whether it is
/// a success, and `data`. Everything else is skipped, so that `data` is parsed once, straight
/// into its type.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    code: Option<&'a RawValue>,
    #[serde(borrow, default)]
    status: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

impl Envelope<'_> {
    fn code(&self) -> Option<String> {
        code_text(json(self.code).as_ref())
    }

    fn message(&self) -> Option<String> {
        gerbang_core::de::message_text(self.message)
    }
}

fn json(raw: Option<&RawValue>) -> Option<Value> {
    serde_json::from_str(raw?.get()).ok()
}

/// [`check_envelope`]'s checks, returning the envelope's fields as text.
fn read_envelope<'a>(operation: &str, response: &'a HttpResponse) -> Result<Envelope<'a>, Error> {
    let parsed = serde_json::from_slice::<Envelope<'a>>(&response.body);
    if !response.status.is_success() {
        // An error page that is not the envelope (a proxy's HTML 502) still maps by status.
        let envelope = parsed.ok();
        let code = envelope.as_ref().and_then(Envelope::code);
        let message = envelope.as_ref().and_then(Envelope::message);
        return Err(response.error(code, message));
    }
    let envelope = match parsed {
        Ok(envelope) => envelope,
        Err(e) if e.is_data() && !response.body.trim_ascii_start().starts_with(b"{") => {
            return Err(Error::decode(format!("{operation} answer: not a JSON object")));
        }
        Err(e) => return Err(Error::decode_json(&format!("{operation} answer"), &e)),
    };
    let code = envelope.code();
    let status = match json(envelope.status) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(_) => Some(false),
    };
    let success = match (code.as_deref(), status) {
        (None, None) => {
            return Err(Error::decode(format!("{operation} answer: neither `code` nor `status` is there")));
        }
        (code, status) => code.is_none_or(|c| c == SUCCESS_CODE) && status.unwrap_or(true),
    };
    if !success {
        let message =
            envelope.message().unwrap_or_else(|| "the answer is not a success, and it gave no message".to_owned());
        return Err(response.api_error(code, message));
    }
    Ok(envelope)
}

/// The envelope's `code` as text; a JSON number `0` is the success code `00`.
fn code_text(code: Option<&Value>) -> Option<String> {
    match code? {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) if n.as_u64() == Some(0) => Some(SUCCESS_CODE.to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
