//! The gateway's callback: undocumented, unsigned, so only read for which transaction it is about.
//!
//! The document (`seeds/004_627801bf8e050898.txt`) takes a `callback_url` but never shows what is
//! posted to it, nor any signature. [`parse_callback`] reads what it can from a form or JSON body;
//! [`verify_webhook`](gerbang_core::PaymentProvider::verify_webhook) then asks the gateway for
//! the transaction's status and builds the event from that answer alone.

use gerbang_core::{Ack, Error, WebhookRequest};
use serde_json::{Map, Value};

/// **Decision** (`PROVIDERS.md` §5): what the merchant answers a callback with. The document is
/// silent; a 200 is what every gateway takes as "received". The body is plain `OK`.
pub const CALLBACK_ACK_BODY: &str = "OK";

/// The acknowledgement of a callback that was confirmed by the status call.
pub(crate) fn ack() -> Ack {
    Ack::text(200, CALLBACK_ACK_BODY)
}

/// What a callback says, as far as it can be read. **Not verified**: a hint of which transaction
/// changed, to be confirmed with
/// [`transaction_status`](crate::CiputraClient::transaction_status).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackHint {
    /// `external_id`, the merchant's id: what the status call takes.
    pub external_id: Option<String>,
    /// `order_id`, the gateway's id.
    pub order_id: Option<String>,
    /// The status word the callback claims (`status`, or `status_payment`). Never used as the
    /// payment's state.
    pub claimed_status: Option<String>,
}

/// Reads a callback body: JSON (when the `Content-Type` says so or the body starts with `{` or `[`),
/// else a form. The ids are looked for at the top level, then in a `data` object (the envelope
/// the gateway's answers use). Returns the hint and the body as a JSON object (form fields as
/// strings), for [`WebhookEvent::unverified`](gerbang_core::WebhookEvent::unverified): nothing in
/// it is trusted.
///
/// ```
/// use gerbang_ciputra::parse_callback;
/// use gerbang_core::WebhookRequest;
/// use gerbang_core::http::{HeaderMap, Method};
///
/// let headers = HeaderMap::new();
/// let body = b"external_id=POLIS-1&order_id=TE202100000001&status=paid";
/// let (hint, _raw) = parse_callback(&WebhookRequest::new(Method::POST, "/hooks/ciputra", &headers, body))?;
/// assert_eq!(hint.external_id.as_deref(), Some("POLIS-1"));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
pub fn parse_callback(request: &WebhookRequest<'_>) -> Result<(CallbackHint, Map<String, Value>), Error> {
    const WHAT: &str = "Ciputra callback";
    request.check_body_size()?;
    let text =
        std::str::from_utf8(request.body).map_err(|_| Error::decode(format!("{WHAT}: the body is not UTF-8")))?;
    let json = request.header("content-type").is_some_and(|c| c.to_ascii_lowercase().contains("json"))
        || text.trim_start().starts_with(['{', '[']);
    let fields: Map<String, Value> = if json {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(Error::decode(format!("{WHAT}: the body is not a JSON object"))),
            Err(e) => return Err(Error::decode_json(WHAT, &e)),
        }
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text)
            .map_err(|_| Error::decode(format!("{WHAT}: the body is neither JSON nor a form")))?;
        pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
    };
    let hint = {
        let nested = fields.get("data").and_then(Value::as_object);
        let find = |names: &[&str]| {
            let read = |map: &Map<String, Value>| {
                names.iter().find_map(|name| match map.get(*name)? {
                    Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            read(&fields).or_else(|| nested.and_then(read))
        };
        CallbackHint {
            external_id: find(&["external_id", "externalId"]),
            order_id: find(&["order_id", "orderId"]),
            claimed_status: find(&["status", "status_payment"]),
        }
    };
    Ok((hint, fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gerbang_core::http::{HeaderMap, Method};

    fn parse(body: &[u8]) -> Result<CallbackHint, Error> {
        let headers = HeaderMap::new();
        parse_callback(&WebhookRequest::new(Method::POST, "/", &headers, body)).map(|(hint, _)| hint)
    }

    #[test]
    fn reads_forms_json_and_a_data_envelope() {
        let form = parse(b"external_id=E%201&order_id=TE1&status=paid").unwrap();
        assert_eq!((form.external_id.as_deref(), form.order_id.as_deref()), (Some("E 1"), Some("TE1")));
        let json = parse(br#"{"external_id":"E-1","status":"paid"}"#).unwrap();
        assert_eq!(json.external_id.as_deref(), Some("E-1"));
        let nested = parse(br#"{"code":"00","data":{"externalId":"E-2","order_id":42}}"#).unwrap();
        assert_eq!((nested.external_id.as_deref(), nested.order_id.as_deref()), (Some("E-2"), Some("42")));
    }

    #[test]
    fn refuses_what_is_not_a_body() {
        assert!(matches!(parse(b""), Err(Error::Decode { .. })));
        assert!(matches!(parse(b"[1,2]"), Err(Error::Decode { .. })));
        assert!(matches!(parse(b"{\"external_id\":"), Err(Error::Decode { .. })));
        assert!(matches!(parse(&[0xff, 0xfe]), Err(Error::Decode { .. })));
    }
}
