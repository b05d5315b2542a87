//! Lenient readers for values the Ciputra document types loosely.
//!
//! The document (`seeds/004_627801bf8e050898.txt`) sends `broker_id` and `amount` as JSON numbers
//! and the transaction's `amount` as a string of digits; `description` is an object in the
//! transaction status and a plain string in the registration status. These readers take a value
//! in either form, and `null` or `""` as absent where that is the only sensible reading.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::request::Description;

/// Text from a JSON string, or a number or boolean written as text; `null` is absent.
pub(crate) fn string_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => return Err(serde::de::Error::custom("expected text or a number")),
    })
}

/// A decimal from a JSON number or a string of one; `null` and `""` are absent.
pub(crate) fn decimal_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let text = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err(serde::de::Error::custom("expected a number or a string holding one")),
    };
    Decimal::from_str_exact(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map(Some)
        .map_err(|_| serde::de::Error::custom("expected a number or a string holding one"))
}

/// A whole number from a JSON number or a string of digits; `null` is absent.
pub(crate) fn i64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_i64().map(Some).ok_or_else(|| serde::de::Error::custom("expected a whole number")),
        Value::String(s) => s.trim().parse().map(Some).map_err(|_| serde::de::Error::custom("expected a whole number")),
        _ => Err(serde::de::Error::custom("expected a whole number")),
    }
}

/// A description: the `{text_1, text_2, text_3}` object of the transaction status, or the plain
/// text of the registration status (read as `text_1`); `null` is absent, empty lines are absent.
pub(crate) fn description_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Description>, D::Error> {
    let line = |v: Option<&Value>| match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(Description { text_1: Some(s).filter(|s| !s.is_empty()), text_2: None, text_3: None }),
        Value::Object(map) => Some(Description {
            text_1: line(map.get("text_1")),
            text_2: line(map.get("text_2")),
            text_3: line(map.get("text_3")),
        }),
        _ => return Err(serde::de::Error::custom("expected an object of text_1..text_3, or text")),
    })
}
