//! The answers of the Cuan10pay API, mirroring its JSON.
//!
//! Every answer comes in the envelope the document (`seeds/000_b443c682d4d25840.txt`) shows:
//! `{"status":"success","message":…,"data":{…}}`, or `{"status":"error","message":…}`.
//! Only the deposit answer is documented; the others are modelled on their obvious fields, all
//! optional, and every type keeps the fields it does not name in `extra`, so that nothing the
//! gateway sends is lost and no new field breaks parsing.

use gerbang_core::transport::HttpResponse;
use gerbang_core::{Error, RawJson};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::de;

/// Fields of an answer that no typed field names, as received.
pub type Extra = Map<String, Value>;

/// A deposit (`deposit_create` and `deposit_status` answers' `data`).
///
/// The document's example answer names the id `deposit_id`; its Python and JavaScript examples
/// read `reference`. Both are accepted: `deposit_id` wins when both are present, and the other
/// stays in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Deposit {
    /// The gateway's id for the deposit (`CP-20250928-38B575`): what
    /// [`deposit_status`](crate::Cuan10payClient::deposit_status) takes.
    pub deposit_id: String,
    /// The channel's display name (`BCA Virtual Account`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_name: Option<String>,
    /// The amount asked for, in rupiah.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    /// The gateway's fee, in rupiah.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<Decimal>,
    /// What the customer pays in all, in rupiah.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Decimal>,
    /// The gateway's status word (`pending`, …); see [`payment_status`](crate::payment_status).
    pub status: String,
    /// A virtual account number or payment code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_code: Option<String>,
    /// The hosted payment page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_url: Option<String>,
    /// Cuan10pay's own payment page (`https://cuan10pay.com/pay.php?ref=…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_url: Option<String>,
    /// How to pay. A string in the document; kept as JSON because gateways of this family send
    /// a list of steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_instructions: Option<Value>,
    /// When it was created, Jakarta wall-clock time `YYYY-MM-DD HH:MM:SS`, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The notes given at creation, where the answer echoes them (the document's example does
    /// not show them; the sandbox echoes them). Through the common flow their first line is the
    /// merchant's reference: see [`reference_in_notes`](crate::reference_in_notes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TryFrom<Take<'_>> for Deposit {
    type Error = String;

    fn try_from(mut f: Take<'_>) -> Result<Self, String> {
        let deposit_id =
            f.string(&["deposit_id", "reference"])?.ok_or("missing field `deposit_id` (or `reference`)")?;
        let status = f.string(&["status"])?.ok_or("missing field `status`")?;
        Ok(Self {
            deposit_id,
            channel_name: f.string(&["channel_name"])?,
            amount: f.decimal(&["amount"])?,
            fee: f.decimal(&["fee"])?,
            total: f.decimal(&["total"])?,
            status,
            payment_code: f.string(&["payment_code"])?,
            checkout_url: f.string(&["checkout_url"])?,
            link_url: f.string(&["link_url"])?,
            payment_instructions: f.value(&["payment_instructions"]),
            created_at: f.string(&["created_at"])?,
            notes: f.string(&["notes"])?,
            extra: f.into_extra(),
        })
    }
}

/// An invoice (`invoice_status` answer's `data`). Not documented: the obvious fields, all
/// optional.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Invoice {
    /// The invoice's reference, as the webhook's `reference` names it (read from `reference`,
    /// `invoice_id` or `deposit_id`, whichever comes first in that order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The amount, in rupiah.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    /// The gateway's status word; see [`payment_status`](crate::payment_status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When it was created, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When it was paid, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TryFrom<Take<'_>> for Invoice {
    type Error = String;

    fn try_from(mut f: Take<'_>) -> Result<Self, String> {
        Ok(Self {
            reference: f.string(&["reference", "invoice_id", "deposit_id"])?,
            amount: f.decimal(&["amount"])?,
            status: f.string(&["status"])?,
            created_at: f.string(&["created_at"])?,
            paid_at: f.string(&["paid_at"])?,
            extra: f.into_extra(),
        })
    }
}

/// A PPOB product (phone credit, data, bills) from `ppob_products`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PpobProduct {
    /// The code to order it with, [`PpobOrderRequest::product_code`](crate::PpobOrderRequest)
    /// (read from `code` or `product_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Its name (read from `name` or `product_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The operator (`telkomsel`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Its category (`pulsa`, `data`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The price, in rupiah.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// Whether it can be ordered now, as the gateway words it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TryFrom<Take<'_>> for PpobProduct {
    type Error = String;

    fn try_from(mut f: Take<'_>) -> Result<Self, String> {
        Ok(Self {
            code: f.string(&["code", "product_code"])?,
            name: f.string(&["name", "product_name"])?,
            operator: f.string(&["operator"])?,
            category: f.string(&["category"])?,
            price: f.decimal(&["price"])?,
            status: f.string(&["status"])?,
            extra: f.into_extra(),
        })
    }
}

/// A social-media service from `smm_services`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SmmService {
    /// The id to order it with, [`SmmOrderRequest::service_id`](crate::SmmOrderRequest) (read
    /// from `id` or `service_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Its name (read from `name` or `service_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The price, in rupiah, per the unit the gateway states, usually 1000 (read from `price`,
    /// or `rate` as SMM panels call it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// The smallest quantity accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// The largest quantity accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// Whether it can be ordered now, as the gateway words it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TryFrom<Take<'_>> for SmmService {
    type Error = String;

    fn try_from(mut f: Take<'_>) -> Result<Self, String> {
        Ok(Self {
            id: f.u64(&["id", "service_id"])?,
            name: f.string(&["name", "service_name"])?,
            category: f.string(&["category"])?,
            price: f.decimal(&["price", "rate"])?,
            min: f.u64(&["min"])?,
            max: f.u64(&["max"])?,
            status: f.string(&["status"])?,
            extra: f.into_extra(),
        })
    }
}

/// A game voucher from `voucher_products`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct VoucherProduct {
    /// The code to order it with, [`VoucherOrderRequest::product_code`](crate::VoucherOrderRequest)
    /// (read from `code` or `product_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Its name (read from `name` or `product_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The game (`ml`, `ff`, `pubg`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub game: Option<String>,
    /// The price, in rupiah.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// Whether it can be ordered now, as the gateway words it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TryFrom<Take<'_>> for VoucherProduct {
    type Error = String;

    fn try_from(mut f: Take<'_>) -> Result<Self, String> {
        Ok(Self {
            code: f.string(&["code", "product_code"])?,
            name: f.string(&["name", "product_name"])?,
            game: f.string(&["game"])?,
            price: f.decimal(&["price"])?,
            status: f.string(&["status"])?,
            extra: f.into_extra(),
        })
    }
}

/// The answer to an order (`ppob_order`, `smm_order`, `voucher_order`). Not documented: the
/// obvious fields, all optional; what each kind adds stays in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Order {
    /// The gateway's id for the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The client reference sent as `ref`.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The gateway's status word; see [`payment_status`](crate::payment_status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What it costs, in rupiah.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// A serial number or voucher code, when delivered (read from `sn` or `serial_number`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sn: Option<String>,
    /// When it was created, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TryFrom<Take<'_>> for Order {
    type Error = String;

    fn try_from(mut f: Take<'_>) -> Result<Self, String> {
        Ok(Self {
            order_id: f.string(&["order_id"])?,
            reference: f.string(&["ref", "reference"])?,
            status: f.string(&["status"])?,
            price: f.decimal(&["price"])?,
            sn: f.string(&["sn", "serial_number"])?,
            created_at: f.string(&["created_at"])?,
            extra: f.into_extra(),
        })
    }
}

/// An answer object's entries, as received, from which the typed fields are taken; what is left
/// is `extra`.
///
/// Undocumented answers may spell a field more than one way (`code` or `product_code`); each
/// typed field takes the first spelling present that is not `null`, so that two spellings never
/// make parsing fail (as serde's `alias` would, with "duplicate field"), and the other stays in
/// `extra`. Taking a dozen fields from a short list by name costs less than building a map
/// only to remove them from it again (`cargo xtask bench` measures the parse). Keys are borrowed
/// from the answer where they need no unescaping. An entry taken (or dropped) is left as `None`
/// where it stood, rather than shifting every entry after it down.
pub(crate) struct Take<'de>(Vec<(Cow<'de, str>, Option<Value>)>);

impl Take<'_> {
    /// The value of the first of `names` that is present and not `null`, removed with every
    /// other entry of that name. A name sent twice means its last value, as in a JSON map.
    fn take<'n>(&mut self, names: &[&'n str]) -> Option<(&'n str, Value)> {
        let (name, index) = names.iter().find_map(|name| {
            let index = self.0.iter().rposition(|(key, value)| value.is_some() && key == name)?;
            (!matches!(self.0[index].1, Some(Value::Null))).then_some((*name, index))
        })?;
        let value = self.0[index].1.take()?;
        self.drop_all(&[name]);
        Some((name, value))
    }

    /// Drops every entry named one of `names`.
    fn drop_all(&mut self, names: &[&str]) {
        for (key, value) in &mut self.0 {
            if value.is_some() && names.contains(&key.as_ref()) {
                *value = None;
            }
        }
    }

    fn parse<T>(
        &mut self,
        names: &[&str],
        read: fn(Value) -> Result<Option<T>, serde_json::Error>,
    ) -> Result<Option<T>, String> {
        match self.take(names) {
            None => {
                // A `null` is the same as absent: drop it rather than keep it in `extra`.
                self.drop_all(names);
                Ok(None)
            }
            Some((name, value)) => read(value).map_err(|e| format!("`{name}`: {e}")),
        }
    }

    fn string(&mut self, names: &[&str]) -> Result<Option<String>, String> {
        self.parse(names, de::string_opt)
    }

    fn decimal(&mut self, names: &[&str]) -> Result<Option<Decimal>, String> {
        self.parse(names, de::decimal_opt)
    }

    fn u64(&mut self, names: &[&str]) -> Result<Option<u64>, String> {
        self.parse(names, de::u64_opt)
    }

    fn value(&mut self, names: &[&str]) -> Option<Value> {
        self.take(names).map(|(_, value)| value)
    }

    /// What no field took, as a map (a later duplicate key overwriting an earlier one).
    fn into_extra(self) -> Extra {
        self.0.into_iter().filter_map(|(key, value)| Some((key.into_owned(), value?))).collect()
    }
}

impl<'de> Deserialize<'de> for Take<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TakeVisitor)
    }
}

struct TakeVisitor;

impl<'de> Visitor<'de> for TakeVisitor {
    type Value = Take<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Take<'de>, A::Error> {
        // The hint is capped: it comes from the answer, which must not choose our allocation.
        // JSON gives none: room for 16 fields (a deposit has 13) saves growing the list
        // three times over.
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16).min(32));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            entries.push((key, Some(map.next_value()?)));
        }
        Ok(Take(entries))
    }
}

/// A map key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Every answer type is read through [`Take`]: its `TryFrom<Take>` says which names feed which
/// field, and the rest is kept in `extra`.
macro_rules! deserialize_through_take {
    ($($ty:ty),+ $(,)?) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::try_from(Take::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    )+};
}

deserialize_through_take!(Deposit, Invoice, PpobProduct, SmmService, VoucherProduct, Order);

/// The envelope around every answer.
///
/// `data` is borrowed as raw JSON and parsed once, straight into the typed answer: building a
/// `Value` tree first and converting it would parse every answer twice.
#[derive(Deserialize)]
struct Envelope<'a> {
    status: std::borrow::Cow<'a, str>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// The gateway's message as text: kept verbatim when it is a string, as compact JSON when it is
/// a list or an object of validation messages.
fn message_text(message: Option<Value>) -> Option<String> {
    match message? {
        Value::Null => None,
        Value::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

/// Reads an answer of the Cuan10pay API: the envelope's `data` as `T`.
///
/// This is what the client does with every answer; it is public so that recorded answers can
/// be checked the same way. A non-2xx status is the error [`HttpResponse::error`] gives, with the
/// gateway's message kept word for word, scrubbed of the keys and the customer's details (401
/// [`Error::Unauthorized`], 404 [`Error::NotFound`], 429 [`Error::RateLimited`], others
/// [`Error::Api`]). A 2xx answer whose `status` is not `success`
/// is [`Error::Api`] with that HTTP status. Malformed JSON or a missing field is
/// [`Error::Decode`] naming `operation`, with no value from the body in it.
///
/// ```
/// use gerbang_cuan10pay::{Deposit, parse_answer};
/// use gerbang_core::transport::HttpResponse;
/// use gerbang_core::http::{HeaderMap, StatusCode};
///
/// let body = br#"{"status":"success","message":"ok","data":{"deposit_id":"CP-1","status":"pending"}}"#;
/// let response = HttpResponse::new(StatusCode::OK, HeaderMap::new(), body.to_vec());
/// let deposit: Deposit = parse_answer("deposit_status", &response)?;
/// assert_eq!(deposit.deposit_id, "CP-1");
/// # Ok::<(), gerbang_core::Error>(())
/// ```
pub fn parse_answer<T: DeserializeOwned>(operation: &str, response: &HttpResponse) -> Result<T, Error> {
    let data = answer_data(operation, response)?;
    serde_json::from_str(data.get()).map_err(|e| Error::decode_json(&format!("{operation} answer's data"), &e))
}

/// [`parse_answer`], also returning `data`'s text (for [`Payment::raw`](gerbang_core::Payment)),
/// copied, not parsed again.
pub(crate) fn parse_answer_with_raw<T: DeserializeOwned>(
    operation: &str,
    response: &HttpResponse,
) -> Result<(T, RawJson), Error> {
    let data = answer_data(operation, response)?;
    let typed =
        serde_json::from_str(data.get()).map_err(|e| Error::decode_json(&format!("{operation} answer's data"), &e))?;
    Ok((typed, RawJson::from(data)))
}

/// Checks the HTTP status and the envelope, and returns the answer's `data`, unparsed.
fn answer_data<'a>(operation: &str, response: &'a HttpResponse) -> Result<&'a RawValue, Error> {
    let envelope = serde_json::from_slice::<Envelope<'a>>(&response.body);
    if !response.status.is_success() {
        // An error page that is not the JSON envelope (a proxy's HTML 502) still maps by status.
        let message = envelope.ok().and_then(|e| message_text(e.message));
        return Err(response.error(None, message));
    }
    let envelope = envelope.map_err(|e| Error::decode_json(&format!("{operation} answer"), &e))?;
    if !envelope.status.eq_ignore_ascii_case("success") {
        let message = message_text(envelope.message)
            .unwrap_or_else(|| "the answer's status is not success, and it gave no message".to_owned());
        return Err(response.api_error(None, message));
    }
    match envelope.data {
        Some(data) if data.get() != "null" => Ok(data),
        _ => Err(Error::decode(format!("{operation} answer: missing field `data`"))),
    }
}
