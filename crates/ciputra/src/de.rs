//! Lenient readers for values the Ciputra document types loosely.
//!
//! The document (`seeds/004_627801bf8e050898.txt`) sends `broker_id` and `amount` as JSON numbers
//! and the transaction's `amount` as a string of digits; `description` is an object in the
//! transaction status and a plain string in the registration status. These readers take a value
//! in either form, and `null` or `""` as absent where that is the only sensible reading.

pub(crate) use gerbang_core::de::{decimal_opt, i64_opt, string_opt};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::request::Description;

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
