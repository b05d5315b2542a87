//! Reading an answer: the gateway's error shape first, then the typed answer.

use gerbang_core::de::message_text;
use gerbang_core::transport::HttpResponse;
use gerbang_core::{Error, RawJson};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Reads an answer of the QRIS API as `T`.
///
/// This is what the client does with every answer; it is public so that recorded answers can be
/// checked the same way.
///
/// - `{"error": "…"}` is the gateway's error shape (`seeds/002_70371d71cc9c4025.txt`: "Invoice
///   tidak bisa dibatalkan, status saat ini: paid"), whatever the HTTP status, even 200: see
///   [`error_for`] for which [`Error`] it becomes. The message is kept word for word, scrubbed of
///   the key and account details.
/// - `{"success": false, "message": "…"}` under a 2xx is [`Error::Api`] with that message.
/// - Any other non-2xx answer maps by its status ([`HttpResponse::error`]), with its `message`
///   when it has one: a proxy's HTML 502 is still an error, not a decoding failure.
/// - Malformed JSON or a missing field is [`Error::Decode`] naming `operation`, with no value from
///   the body in it.
///
/// ```
/// use gerbang_qris::{Invoice, InvoiceStatus, parse_answer};
/// use gerbang_core::transport::HttpResponse;
/// use gerbang_core::http::{HeaderMap, StatusCode};
///
/// let body = br#"{"invoice_id":"64c8d9e","amount":10000,"fee":123,"total":10123,"status":"paid"}"#;
/// let response = HttpResponse::new(StatusCode::OK, HeaderMap::new(), body.to_vec());
/// let invoice: Invoice = parse_answer("invoice_status", &response)?;
/// assert_eq!(invoice.status, InvoiceStatus::Paid);
/// # Ok::<(), gerbang_core::Error>(())
/// ```
pub fn parse_answer<T: DeserializeOwned>(operation: &str, response: &HttpResponse) -> Result<T, Error> {
    parse_answer_with_raw(operation, response).map(|(typed, _)| typed)
}

/// [`parse_answer`], also returning the answer's text (for [`Payment::raw`](gerbang_core::Payment)).
///
/// The answer is read twice, never into a `Value`: once for the three fields that say whether
/// it is an error (the rest skipped), once straight into `T`.
pub(crate) fn parse_answer_with_raw<T: DeserializeOwned>(
    operation: &str,
    response: &HttpResponse,
) -> Result<(T, RawJson), Error> {
    let text = std::str::from_utf8(&response.body).ok();
    let verdict = text.map(serde_json::from_str::<Verdict<'_>>);
    if let Some(Ok(verdict)) = &verdict
        && let Some(message) = message_text(verdict.error)
    {
        return Err(error_for(response, message));
    }
    if !response.status.is_success() {
        let message = match &verdict {
            Some(Ok(verdict)) => message_text(verdict.message),
            _ => None,
        };
        return Err(response.error(None, message));
    }
    let decode = |e: serde_json::Error| Error::decode_json(&format!("{operation} answer"), &e);
    let (text, verdict) = match (text, verdict) {
        (Some(text), Some(Ok(verdict))) => (text, verdict),
        (_, Some(Err(e))) => return Err(decode(e)),
        _ => return Err(Error::decode(format!("{operation} answer: the body is not UTF-8 text"))),
    };
    if verdict.success.is_some_and(|s| s.get() == "false") {
        let message = message_text(verdict.message)
            .unwrap_or_else(|| "the answer says success: false, and gives no message".to_owned());
        return Err(response.api_error(None, message));
    }
    let typed = serde_json::from_str(text).map_err(decode)?;
    Ok((typed, RawJson::from_parsed_text(text)))
}

/// The fields of an answer that say whether it is an error, as JSON text.
#[derive(Deserialize)]
struct Verdict<'a> {
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(borrow, default)]
    success: Option<&'a RawValue>,
}

/// **Decision** (`PROVIDERS.md` §3, issue 4): which [`Error`] an `{"error": "…"}` answer becomes.
/// The gateway's Indonesian message is kept word for word (scrubbed of the key and the account
/// details), as the message of the error:
///
/// - under 401 or 403, [`Error::Unauthorized`] (a wrong `apikey`), and under 404
///   [`Error::NotFound`]: core's variants for those carry the message, and callers match on them;
/// - under 429, [`Error::RateLimited`] with the `Retry-After` wait, as core maps it: that variant
///   has no message field, so the gateway's text is the one thing not kept (the document shows no
///   429 at all);
/// - under any other status, 2xx included (the document does not say which status its error
///   example comes with), [`Error::Api`] with that status.
pub fn error_for(response: &HttpResponse, message: String) -> Error {
    if response.status.is_success() {
        return response.api_error(None, message);
    }
    response.error(None, Some(message))
}
