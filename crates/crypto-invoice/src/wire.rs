//! The gateway's answers, mirroring its JSON, and how an error answer becomes an [`Error`].
//!
//! Every answer is `{"status":"success"|"error","message":…}` (`seeds/003_344fd773d4347651.txt`):
//! on success `message` is the invoice URL (`create_invoice`), the coin list (`create_invoice`
//! with `white_label`), or a JSON *string* holding the array of invoices (`get_invoices`); on
//! error it is a list of messages, sometimes one string.

use std::borrow::Cow;
use std::fmt;

use gerbang_core::transport::HttpResponse;
use gerbang_core::{Error, RawJson};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::de::{Extra, Object};

/// How the gateway's messages are joined into one [`Error`] message: `"; "`, in the order sent
/// (`["The price amount field is required.","The expiration date must not be greater than 12."]`
/// becomes `The price amount field is required.; The expiration date must not be greater than
/// 12.`).
pub const MESSAGE_SEPARATOR: &str = "; ";

/// The parameters of the document's `create_invoice` table, for telling which one a validation
/// message is about.
const PARAMETERS: &[&str] = &[
    "public_key",
    "private_key",
    "test",
    "email",
    "merchant_id",
    "order_id",
    "customer_id",
    "price_amount",
    "price_currency",
    "add_fee_to_price",
    "title",
    "description",
    "banned_coins",
    "callback_url",
    "cancel_url",
    "success_url",
    "expiration_date",
    "margin_ratio",
    "white_label",
];

/// **Decision**: the `field` of the [`Error::Validation`] made from an HTTP 422. The gateway
/// sends messages, not field names (`seeds/003_344fd773d4347651.txt` shows only
/// `print('422 Error:', response.json())`), and its messages are those of a PHP validator, which
/// name the field in words ("The price amount field is required.") or as written
/// (`price_amount`). So `field` lists the document's parameters that the messages name, either
/// way, in the document's order, joined by `, `; when none is recognised it is `request`.
/// `reason` is every message, joined by [`MESSAGE_SEPARATOR`].
fn validation_field(messages: &[String]) -> String {
    let text = messages.join(" ").to_ascii_lowercase();
    let named: Vec<&str> = PARAMETERS
        .iter()
        .copied()
        .filter(|p| text.contains(p) || text.contains(&p.replace('_', " ")))
        // `test` is a word of many messages: only count it as written with the field's own words.
        .filter(|p| *p != "test" || text.contains("test field") || text.contains("the test "))
        .collect();
    if named.is_empty() { "request".to_owned() } else { named.join(", ") }
}

/// The messages of `message`: a list of strings (the documented shape), one string, or an
/// object of lists (a validator's `{"field":["…"]}`), flattened in order.
fn messages(message: &Value) -> Vec<String> {
    match message {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(messages).collect(),
        Value::Object(map) => map.values().flat_map(messages).collect(),
        other => vec![other.to_string()],
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    status: Option<Value>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
}

/// A success answer whose `message` is a string, as `get_invoices` answers (the document's
/// "JSON in a string"): read in one pass, the string unescaped as it is read.
#[derive(Deserialize)]
struct TextSuccess<'a> {
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow)]
    message: Cow<'a, str>,
}

/// The `message` of a 2xx answer whose `status` is `success` and whose `message` is a string,
/// unescaped; `None` for any other answer, which [`answer_message`] then reads (and refuses,
/// or takes as it comes). Only a shortcut: reading the envelope raw and then its string costs
/// two passes over the longest text of the answer.
fn text_success(response: &HttpResponse) -> Option<Cow<'_, str>> {
    if !response.status.is_success() {
        return None;
    }
    let answer = serde_json::from_slice::<TextSuccess<'_>>(&response.body).ok()?;
    answer.status.eq_ignore_ascii_case("success").then_some(answer.message)
}

/// Checks the HTTP status and the envelope, and returns the success answer's `message`, raw.
///
/// HTTP 422 is [`Error::Validation`] (see [`validation_field`]); another non-2xx status is the
/// error [`HttpResponse::error`] gives (401/403 [`Error::Unauthorized`], 404
/// [`Error::NotFound`], 429 [`Error::RateLimited`], others [`Error::Api`]); a 2xx answer whose
/// `status` is not `success` is [`Error::Api`]. Messages are kept, all of them, joined by
/// [`MESSAGE_SEPARATOR`]. Malformed JSON is [`Error::Decode`] naming `operation`.
fn answer_message<'a>(operation: &str, response: &'a HttpResponse) -> Result<&'a RawValue, Error> {
    let envelope = serde_json::from_slice::<Envelope<'a>>(&response.body);
    let texts = |e: &Envelope<'_>| {
        e.message.as_ref().and_then(|m| serde_json::from_str::<Value>(m.get()).ok()).map(|m| messages(&m))
    };
    if response.status.as_u16() == 422 {
        let list = envelope.as_ref().ok().and_then(texts).unwrap_or_default();
        let reason = if list.is_empty() {
            "the gateway refused the request (HTTP 422) without saying why".to_owned()
        } else {
            list.join(MESSAGE_SEPARATOR)
        };
        return Err(Error::validation(validation_field(&list), response.scrub(reason)));
    }
    if !response.status.is_success() {
        // An error page that is not the JSON envelope (a proxy's HTML 502) still maps by status.
        let message =
            envelope.as_ref().ok().and_then(texts).filter(|l| !l.is_empty()).map(|l| l.join(MESSAGE_SEPARATOR));
        return Err(response.error(None, message));
    }
    let envelope = envelope.map_err(|e| Error::decode_json(&format!("{operation} answer"), &e))?;
    let success = matches!(&envelope.status, Some(Value::String(s)) if s.eq_ignore_ascii_case("success"));
    if !success {
        let list = texts(&envelope).unwrap_or_default();
        let message = if list.is_empty() {
            "the answer's status is not success, and it gave no message".to_owned()
        } else {
            list.join(MESSAGE_SEPARATOR)
        };
        return Err(response.api_error(None, message));
    }
    match envelope.message {
        Some(message) if message.get() != "null" => Ok(message),
        _ => Err(Error::decode(format!("{operation} answer: missing field `message`"))),
    }
}

/// What `create_invoice` answered.
///
/// Normally the invoice URL ([`invoice_url`](Self::invoice_url)). With `white_label`, the
/// document says the answer is "a list of coins you can receive payment from as JSON" without
/// showing it: **Decision**, when `message` is a JSON array (or a string holding one) each entry
/// is read as a [`WhiteLabelCoin`], and the whole `message` is kept in [`raw`](Self::raw) in any
/// case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CreatedInvoice {
    /// The page the customer pays on.
    pub invoice_url: Option<String>,
    /// The coins to pay with, for a white-label invoice, when the answer is a list.
    pub coins: Option<Vec<WhiteLabelCoin>>,
    /// The answer's `message`, as received.
    pub raw: Value,
}

/// A coin a white-label invoice can be paid with. Only `coin` is sure to be there; the other
/// fields are read where the gateway sends them (a string entry is a coin code alone), and the
/// rest stays in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WhiteLabelCoin {
    /// The coin (`USDT`), read from `coin`, `currency` or `symbol`.
    pub coin: Option<String>,
    /// The network (`TRC20`).
    pub network: Option<String>,
    /// The address to pay to.
    pub address: Option<String>,
    /// The amount to pay, in the coin, exact.
    pub amount: Option<gerbang_core::Decimal>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

impl WhiteLabelCoin {
    fn read(entry: &RawValue) -> Result<Self, String> {
        if let Ok(code) = serde_json::from_str::<String>(entry.get()) {
            return Ok(Self { coin: Some(code), network: None, address: None, amount: None, extra: Extra::new() });
        }
        let mut o =
            Object::parse(entry.get()).map_err(|_| "an entry is neither a coin code nor an object".to_owned())?;
        Ok(Self {
            coin: o.string(&["coin", "currency", "symbol"])?,
            network: o.string(&["network"])?,
            address: o.string(&["address"])?,
            amount: o.decimal(&["amount"])?,
            extra: o.into_extra(),
        })
    }
}

/// Reads a `create_invoice` answer: what the client does with it, public so that recorded
/// answers can be checked the same way. Errors: any message list is kept, joined by
/// [`MESSAGE_SEPARATOR`];
/// HTTP 422 is [`Error::Validation`], an error answer [`Error::Api`] with every message.
///
/// ```
/// use gerbang_crypto_invoice::parse_create_invoice;
/// use gerbang_core::transport::HttpResponse;
/// use gerbang_core::http::{HeaderMap, StatusCode};
///
/// let body = br#"{"status":"success","message":"https://payid19.com/invoice/Xk29"}"#;
/// let response = HttpResponse::new(StatusCode::OK, HeaderMap::new(), body.to_vec());
/// assert_eq!(parse_create_invoice(&response)?.invoice_url.as_deref(), Some("https://payid19.com/invoice/Xk29"));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
pub fn parse_create_invoice(response: &HttpResponse) -> Result<CreatedInvoice, Error> {
    const OPERATION: &str = "create_invoice";
    let message = answer_message(OPERATION, response)?;
    let raw: Value =
        serde_json::from_str(message.get()).map_err(|e| Error::decode_json("create_invoice answer's message", &e))?;
    let list = match &raw {
        Value::String(text) if text.trim_start().starts_with('[') => Some(text.as_str()),
        Value::Array(_) => Some(message.get()),
        _ => None,
    };
    if let Some(list) = list {
        let entries: Vec<Box<RawValue>> =
            serde_json::from_str(list).map_err(|e| Error::decode_json("create_invoice answer's coin list", &e))?;
        let coins = entries
            .iter()
            .map(|entry| WhiteLabelCoin::read(entry))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| Error::decode(format!("create_invoice answer's coin list: {why}")))?;
        return Ok(CreatedInvoice { invoice_url: None, coins: Some(coins), raw });
    }
    let invoice_url = match &raw {
        Value::String(url) => Some(url.clone()),
        // An object: take a URL where one is named, keep the rest in `raw`.
        Value::Object(map) => {
            ["invoice_url", "url"].iter().find_map(|k| map.get(*k).and_then(Value::as_str)).map(str::to_owned)
        }
        _ => None,
    };
    Ok(CreatedInvoice { invoice_url, coins: None, raw })
}

/// An invoice, as `get_invoices` lists it. The document does not show one; the fields are those
/// of its callback (which describes the same invoice) plus `status`, all optional and read
/// leniently; everything else stays in [`extra`](Self::extra). `Debug` hides the e-mail and IP.
#[derive(Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Invoice {
    /// The gateway's id for the invoice (the callback's `id`).
    pub id: Option<String>,
    /// The merchant's order id.
    pub order_id: Option<String>,
    /// The merchant id.
    pub merchant_id: Option<String>,
    /// The buyer's id.
    pub customer_id: Option<String>,
    /// The buyer's e-mail.
    pub email: Option<String>,
    /// The gateway's status word, as sent; see [`payment_status`](crate::payment_status).
    pub status: Option<String>,
    /// The price.
    pub price_amount: Option<gerbang_core::Decimal>,
    /// The price's currency.
    pub price_currency: Option<String>,
    /// What was paid, in the coin.
    pub amount: Option<gerbang_core::Decimal>,
    /// The coin paid with.
    pub amount_currency: Option<String>,
    /// Whether the fee was added to the price.
    pub add_fee_to_price: bool,
    /// Whether it is a test invoice.
    pub test: bool,
    /// The invoice's title.
    pub title: Option<String>,
    /// The invoice's description.
    pub description: Option<String>,
    /// The payer's IP address.
    pub ip: Option<String>,
    /// When it was created, as sent.
    pub created_at: Option<String>,
    /// When it expires, as sent.
    pub expiration_date: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Invoice {
    fn read(mut o: Object<'_>) -> Result<Self, String> {
        Ok(Self {
            id: o.string(&["id", "invoice_id"])?,
            order_id: o.string(&["order_id"])?,
            merchant_id: o.string(&["merchant_id"])?,
            customer_id: o.string(&["customer_id"])?,
            email: o.string(&["email"])?,
            status: o.string(&["status"])?,
            price_amount: o.decimal(&["price_amount"])?,
            price_currency: o.string(&["price_currency"])?,
            amount: o.decimal(&["amount"])?,
            amount_currency: o.string(&["amount_currency"])?,
            add_fee_to_price: o.flag(&["add_fee_to_price"])?,
            test: o.flag(&["test"])?,
            title: o.string(&["title"])?,
            description: o.string(&["description"])?,
            ip: o.string(&["ip"])?,
            created_at: o.string(&["created_at"])?,
            expiration_date: o.string(&["expiration_date"])?,
            extra: o.into_extra(),
        })
    }
}

impl fmt::Debug for Invoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Invoice")
            .field("id", &self.id)
            .field("order_id", &self.order_id)
            .field("merchant_id", &self.merchant_id)
            .field("customer_id", &self.customer_id)
            .field("email", &hidden(&self.email))
            .field("status", &self.status)
            .field("price_amount", &self.price_amount)
            .field("price_currency", &self.price_currency)
            .field("amount", &self.amount)
            .field("amount_currency", &self.amount_currency)
            .field("add_fee_to_price", &self.add_fee_to_price)
            .field("test", &self.test)
            .field("title", &self.title)
            .field("description", &self.description)
            .field("ip", &hidden(&self.ip))
            .field("created_at", &self.created_at)
            .field("expiration_date", &self.expiration_date)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Reads a `get_invoices` answer: `message` is a JSON-encoded *string* holding an array of
/// invoices (`"[{\"id\":1,…}]"`), so it is decoded twice. A string that is not such an array is
/// [`Error::Decode`], as is an entry that is not an object. (A `message` that is already an
/// array is taken as it is.) Errors otherwise as [`parse_create_invoice`]. Also returns each
/// invoice's JSON, for [`Payment::raw`](gerbang_core::Payment).
///
/// ```
/// use gerbang_crypto_invoice::parse_get_invoices;
/// use gerbang_core::transport::HttpResponse;
/// use gerbang_core::http::{HeaderMap, StatusCode};
///
/// let body = br#"{"status":"success","message":"[{\"id\":7,\"order_id\":\"11\",\"status\":\"paid\",\"price_amount\":\"725.50\"}]"}"#;
/// let response = HttpResponse::new(StatusCode::OK, HeaderMap::new(), body.to_vec());
/// let invoices = parse_get_invoices(&response)?;
/// assert_eq!(invoices[0].0.id.as_deref(), Some("7"));
/// assert_eq!(invoices[0].0.price_amount.unwrap().to_string(), "725.50");
/// # Ok::<(), gerbang_core::Error>(())
/// ```
pub fn parse_get_invoices(response: &HttpResponse) -> Result<Vec<(Invoice, RawJson)>, Error> {
    let inner = match text_success(response) {
        Some(message) => message,
        None => {
            let message = answer_message("get_invoices", response)?.get();
            match message.as_bytes().first() {
                Some(b'"') => Cow::Owned(serde_json::from_str(message).map_err(|e| Error::decode_json(WHAT, &e))?),
                Some(b'[') => Cow::Borrowed(message),
                _ => return Err(Error::decode(format!("{WHAT}: expected a JSON string holding an array of invoices"))),
            }
        }
    };
    match only_invoice(&inner) {
        Some(only) => Ok(vec![only]),
        None => every_invoice(&inner),
    }
}

/// What [`parse_get_invoices`] says it reads, in its errors.
const WHAT: &str = "get_invoices answer's message";

/// Every invoice of `list` (the text of a JSON array of invoices), each with its text.
fn every_invoice(list: &str) -> Result<Vec<(Invoice, RawJson)>, Error> {
    let entries: Vec<&RawValue> = serde_json::from_str(list)
        .map_err(|e| Error::decode_json(&format!("{WHAT} (the array of invoices inside the string)"), &e))?;
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            Object::parse(entry.get())
                .and_then(Invoice::read)
                .map(|invoice| (invoice, RawJson::from(entry)))
                .map_err(|why| Error::decode(format!("{WHAT}: invoice {i}: {why}")))
        })
        .collect()
}

/// The invoice of a list holding exactly one (an order's usual), read in one pass over the text,
/// where the general reading takes two: one to find each entry's text (kept as the payment's
/// `raw`), another to read its fields. With one entry, its text is the list's less the brackets
/// and the whitespace around them, which that pass has checked is all there is. `None` for any
/// other list, or one the pass refused: [`every_invoice`] then reads it, or says why not.
fn only_invoice(list: &str) -> Option<(Invoice, RawJson)> {
    let [object]: [Object<'_>; 1] = serde_json::from_str::<Vec<Object<'_>>>(list).ok()?.try_into().ok()?;
    let json_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let text = list.trim_matches(json_space).strip_prefix('[')?.strip_suffix(']')?.trim_matches(json_space);
    Some((Invoice::read(object).ok()?, RawJson::from_parsed_text(text)))
}

#[cfg(test)]
mod tests {
    use gerbang_core::http::{HeaderMap, StatusCode};
    use proptest::prelude::*;

    use super::*;

    /// Field names an invoice has, one of them written with an escape.
    const NAMES: [&str; 9] =
        ["id", "order_id", "status", "amount", "price_amount", "test", "title", "x", "t\\u0069tle"];
    /// Values of every kind, some holding a `]` or an escaped quote.
    const VALUES: [&str; 9] =
        ["1", "\"1.50\"", "\"paid\"", "null", "true", "[1,{\"a\":\"]\"}]", "{\"b\":[]}", "\"a\\\"]\\n\"", "-2.5e3"];

    proptest! {
        /// A list of one invoice read in one pass reads as the general reading reads it: the
        /// same invoice and the same text kept, whatever the whitespace around and inside it,
        /// the escapes in it, or its fields' kinds. Any other list is left to the general
        /// reading.
        #[test]
        fn one_invoice_read_in_one_pass_is_the_invoice_read_in_two(
            fields in proptest::collection::vec(
                (proptest::sample::select(&NAMES[..]), proptest::sample::select(&VALUES[..])),
                0..8,
            ),
            space in proptest::sample::select(vec!["", " ", "\n\t", "\r\n  "]),
            count in 0usize..3,
        ) {
            let object: Vec<String> =
                fields.iter().map(|(name, value)| format!("{space}\"{name}\"{space}:{space}{value}")).collect();
            let object = format!("{{{}{space}}}", object.join(","));
            let list = format!("{space}[{space}{}{space}]{space}", vec![object; count].join(","));
            let general = every_invoice(&list).ok();
            match only_invoice(&list) {
                Some((invoice, raw)) => {
                    let first = general.as_ref().and_then(|all| all.first());
                    let (expected, expected_raw) = first.expect("the general reading reads it too");
                    prop_assert_eq!(count, 1);
                    prop_assert_eq!(&invoice, expected);
                    prop_assert_eq!(raw.as_str(), expected_raw.as_str());
                }
                None => prop_assert!(count != 1 || general.is_none(), "left to the general reading: {}", list),
            }
        }
    }

    /// The shortcut takes exactly the answers the general reading takes with a string message,
    /// and reads the same text from them; every other answer it leaves to the general reading.
    #[test]
    fn the_text_shortcut_agrees_with_the_general_reading() {
        let bodies = [
            r#"{"status":"success","message":"[{\"id\":1,\"order_id\":\"A\"}]"}"#,
            r#"{"status":"SUCCESS","message":"plain text, no escape"}"#,
            r#"{ "message" : "\u00e9\n\"x\"" , "status" : "Success" }"#,
            r#"{"status":"success","message":[{"id":1}]}"#,
            r#"{"status":"success","message":null}"#,
            r#"{"status":"success"}"#,
            r#"{"status":"error","message":"Invoice not found"}"#,
            r#"{"status":true,"message":"x"}"#,
            r#"{"message":"x"}"#,
            r#"{"status":"success","message":"a","message":"b"}"#,
            r#"{"status":"success","message":"unterminated}"#,
            "<html>Bad Gateway</html>",
        ];
        for status in [200, 201, 422, 500] {
            for body in bodies {
                let response = HttpResponse::new(
                    StatusCode::from_u16(status).unwrap(),
                    HeaderMap::new(),
                    body.as_bytes().to_vec(),
                );
                let general = answer_message("get_invoices", &response)
                    .ok()
                    .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
                assert_eq!(text_success(&response).map(Cow::into_owned), general, "HTTP {status}: {body}");
            }
        }
    }

    #[test]
    fn validation_field_names_the_parameters_the_messages_name() {
        let f = |m: &[&str]| validation_field(&m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(f(&["The price amount field is required."]), "price_amount");
        assert_eq!(
            f(&["The expiration_date must not be greater than 12.", "The price amount must be a number."]),
            "price_amount, expiration_date"
        );
        assert_eq!(f(&["Something went wrong"]), "request");
        assert_eq!(f(&["The test field must be 1."]), "test");
        assert_eq!(f(&["The price amount must be at least 0.4 for a test invoice."]), "price_amount");
    }

    #[test]
    fn messages_are_flattened_in_order() {
        let v: Value = serde_json::from_str(r#"{"a":["x","y"],"b":"z"}"#).unwrap_or_default();
        assert_eq!(messages(&v), ["x", "y", "z"]);
        assert_eq!(messages(&Value::String("one".into())), ["one"]);
    }
}
