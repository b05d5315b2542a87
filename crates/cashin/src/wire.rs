//! The answers of the Cash In API, mirroring its JSON.
//!
//! The document (`seeds/001_3ab17dd2bbbc66f1.txt`) describes every answer as
//! `{"message":…,"data":{…}}`, but its checkout example shows `paymentToken` and `paymentUrl` at
//! the top level, without `data`: both forms are accepted. Error answers are not documented; the
//! gateway's `message` (or a SNAP `responseCode`/`responseMessage`) is kept whatever the shape.

use gerbang_core::transport::HttpResponse;
use gerbang_core::{Error, RawJson};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::de::Object;

/// Fields of an answer that no typed field names, as received.
pub type Extra = Map<String, Value>;

/// The checkout page (`POST /payment` answer's `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Checkout {
    /// `paymentToken`: the token of the checkout page.
    pub payment_token: String,
    /// `paymentUrl`: the page to send the customer to.
    pub payment_url: String,
    /// The answer's `message` (`Successful`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every other field of `data`, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A payment's status (`POST /payment/status` answer's `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckoutStatus {
    /// `trxNo`: the merchant's transaction number.
    pub trx_no: String,
    /// `status`: `OPEN` (ready to be paid), `SUCCESS` or `FAILED`; see
    /// [`payment_status`](crate::payment_status).
    pub status: String,
    /// `paymentMethod` (`QRIS`), trimmed: the document's example sends `"QRIS "`. `None` when
    /// absent or blank (nothing chosen yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// `referenceNo`: Cash In's own number for the transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_no: Option<String>,
    /// `amount`, exactly as written (`4000.00`), whether sent as a number or a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    /// The answer's `message` (`Successful`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every other field of `data`, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parses a checkout answer (`POST /payment`), as the client does: the `data` wrapper or the
/// flat form; a non-2xx answer is the matching [`Error`] with the gateway's message.
pub fn parse_checkout(response: &HttpResponse) -> Result<Checkout, Error> {
    checkout(response).map(|(checkout, _)| checkout)
}

/// Parses a status answer (`POST /payment/status`), as the client does.
pub fn parse_checkout_status(response: &HttpResponse) -> Result<CheckoutStatus, Error> {
    checkout_status(response).map(|(status, _)| status)
}

/// Parses a checkout answer, with `data`'s text for `Payment::raw`.
pub(crate) fn checkout(response: &HttpResponse) -> Result<(Checkout, RawJson), Error> {
    const OPERATION: &str = "payment";
    let Answer { message, mut data, raw } = answer(OPERATION, response, &["paymentToken", "paymentUrl"])?;
    let missing = |name: &str| Error::decode(format!("{OPERATION} answer: missing field `{name}`"));
    let field = |data: &mut Object<'_>, name: &str| data.string(&[name]).map_err(|e| bad(OPERATION, &e));
    let payment_token = field(&mut data, "paymentToken")?.ok_or_else(|| missing("paymentToken"))?;
    let payment_url = field(&mut data, "paymentUrl")?.ok_or_else(|| missing("paymentUrl"))?;
    Ok((Checkout { payment_token, payment_url, message, extra: data.into_extra() }, raw))
}

/// Parses a status answer, with `data`'s text for `Payment::raw`.
pub(crate) fn checkout_status(response: &HttpResponse) -> Result<(CheckoutStatus, RawJson), Error> {
    const OPERATION: &str = "payment/status";
    let Answer { message, mut data, raw } = answer(OPERATION, response, &["trxNo", "status"])?;
    let missing = |name: &str| Error::decode(format!("{OPERATION} answer: missing field `{name}`"));
    let e = |e: String| bad(OPERATION, &e);
    let trx_no = data.string(&["trxNo"]).map_err(e)?.ok_or_else(|| missing("trxNo"))?;
    let status = data.string(&["status"]).map_err(e)?.ok_or_else(|| missing("status"))?;
    let payment_method =
        data.string(&["paymentMethod"]).map_err(e)?.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
    let reference_no = data.string(&["referenceNo"]).map_err(e)?;
    let amount = data.decimal(&["amount"]).map_err(e)?;
    Ok((
        CheckoutStatus {
            trx_no,
            status: status.trim().to_owned(),
            payment_method,
            reference_no,
            amount,
            message,
            extra: data.into_extra(),
        },
        raw,
    ))
}

fn bad(operation: &str, reason: &str) -> Error {
    Error::decode(format!("{operation} answer: {reason}"))
}

/// An answer's envelope, read: its `message`, and the object holding the data with that
/// object's text.
struct Answer<'a> {
    message: Option<String>,
    data: Object<'a>,
    raw: RawJson,
}

/// Reads an answer's envelope: the error for a non-2xx status, else the `message` and the object
/// holding the data (`data`, or the top level when it carries one of `flat_fields` itself).
fn answer<'a>(operation: &str, response: &'a HttpResponse, flat_fields: &[&str]) -> Result<Answer<'a>, Error> {
    let text = std::str::from_utf8(&response.body);
    if !response.status.is_success() {
        let (code, message) = text.ok().and_then(|t| Object::parse(t).ok()).map_or((None, None), error_fields);
        return Err(response.error(code, message));
    }
    let text = text.map_err(|_| bad(operation, "the body is not UTF-8 text"))?;
    let mut top = Object::parse(text).map_err(|e| bad(operation, &e))?;
    let message = top.string(&["message"]).map_err(|e| bad(operation, &e))?;
    if let Some((_, data)) = top.take_raw(&["data"]) {
        let object = Object::parse(data.get()).map_err(|_| bad(operation, "`data` is not an object"))?;
        return Ok(Answer { message, data: object, raw: RawJson::from(data) });
    }
    if flat_fields.iter().any(|name| top.has(name)) {
        // The document's checkout example: the fields at the top level.
        return Ok(Answer { message, data: top, raw: RawJson::from_parsed_text(text) });
    }
    match message {
        // No data, but a message: the gateway refused under HTTP 200.
        Some(message) => {
            let (code, _) = error_fields(top);
            Err(response.api_error(code, message))
        }
        None => Err(bad(operation, "missing field `data`")),
    }
}

/// The gateway's code and message from an error body: Cash In's `message`, or SNAP's
/// `responseCode` and `responseMessage`, or a plain `code` / `error`.
fn error_fields(mut body: Object<'_>) -> (Option<String>, Option<String>) {
    let message = body.string(&["message", "responseMessage", "error"]).ok().flatten();
    let code = body.string(&["responseCode", "code"]).ok().flatten();
    (code, message)
}
