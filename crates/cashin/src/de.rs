//! Reading a JSON object field by field, leniently and exactly.
//!
//! Cash In's document (`seeds/001_3ab17dd2bbbc66f1.txt`) types amounts loosely: the status
//! answer's `amount` is a number written `4000.00`, the notification's `amount.value` is typed
//! "String" but its example sends `1000`. Each field is kept as its raw JSON text until it is
//! read, so a number becomes a [`Decimal`] from its exact spelling (never through a float), and
//! either a number or a string is accepted where the document is unsure. Fields no one reads are
//! kept, as JSON, for the types' `extra`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A JSON object whose fields are taken one by one.
#[derive(Debug)]
pub(crate) struct Object {
    fields: BTreeMap<String, Box<RawValue>>,
}

impl Object {
    /// Parses `text` as a JSON object; `Err` says why, in words safe to show (no value quoted).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(text) {
            Ok(fields) => Ok(Self { fields }),
            Err(e) if e.is_syntax() || e.is_eof() => {
                Err(format!("not valid JSON (line {}, column {})", e.line(), e.column()))
            }
            Err(_) => Err("not a JSON object".to_owned()),
        }
    }

    /// Whether a field is there and not `null`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|raw| raw.get() != "null")
    }

    /// Removes the first of `names` present and not `null` (a documented spelling first, then
    /// the misspellings the document's own examples use). Other spellings and nulls stay, for
    /// `extra`.
    fn take_raw(&mut self, names: &[&str]) -> Option<(String, Box<RawValue>)> {
        let name = names.iter().find(|name| self.has(name))?;
        self.fields.remove_entry(*name)
    }

    /// Text from a string, or from a number written as text (an id sent as a number).
    pub(crate) fn string(&mut self, names: &[&str]) -> Result<Option<String>, String> {
        let Some((name, raw)) = self.take_raw(names) else {
            return Ok(None);
        };
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::String(s)) => Ok(Some(s)),
            Ok(Value::Number(_)) => Ok(Some(raw.get().to_owned())),
            _ => Err(format!("`{name}` is not text")),
        }
    }

    /// A decimal from a number (its exact spelling) or a string holding one.
    pub(crate) fn decimal(&mut self, names: &[&str]) -> Result<Option<Decimal>, String> {
        let Some((name, raw)) = self.take_raw(names) else {
            return Ok(None);
        };
        let text = match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Number(_)) => raw.get().to_owned(),
            Ok(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => return Err(format!("`{name}` is not a number")),
        };
        Decimal::from_str_exact(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .map(Some)
            .map_err(|_| format!("`{name}` is not a decimal number"))
    }

    /// A nested object.
    pub(crate) fn object(&mut self, names: &[&str]) -> Result<Option<Object>, String> {
        let Some((name, raw)) = self.take_raw(names) else {
            return Ok(None);
        };
        Object::parse(raw.get()).map(Some).map_err(|_| format!("`{name}` is not an object"))
    }

    /// The fields not taken, as JSON.
    pub(crate) fn into_extra(self) -> Map<String, Value> {
        self.fields
            .into_iter()
            .filter_map(|(name, raw)| serde_json::from_str::<Value>(raw.get()).ok().map(|value| (name, value)))
            .collect()
    }

    /// Every field, as JSON (for `raw`), without taking any.
    pub(crate) fn to_value(&self) -> Value {
        Value::Object(
            self.fields
                .iter()
                .filter_map(|(name, raw)| {
                    serde_json::from_str::<Value>(raw.get()).ok().map(|value| (name.clone(), value))
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_exact_spelling() {
        let mut o = Object::parse(r#"{"amount": 4000.00, "big": 12345678901234567890.12, "s": "1000.50"}"#).unwrap();
        assert_eq!(o.decimal(&["amount"]).unwrap().unwrap().to_string(), "4000.00");
        assert_eq!(o.decimal(&["big"]).unwrap().unwrap().to_string(), "12345678901234567890.12");
        assert_eq!(o.decimal(&["s"]).unwrap().unwrap().to_string(), "1000.50");
        assert!(o.into_extra().is_empty());
    }

    #[test]
    fn the_first_spelling_wins_and_the_other_is_kept() {
        let mut o = Object::parse(r#"{"originalExternalId":"A","orgiginalExternalId":"B","x":null}"#).unwrap();
        assert_eq!(o.string(&["originalExternalId", "orgiginalExternalId"]).unwrap().as_deref(), Some("A"));
        let extra = o.into_extra();
        assert_eq!(extra["orgiginalExternalId"], "B");
        assert_eq!(extra["x"], Value::Null);
    }

    #[test]
    fn a_misspelling_alone_is_read_and_nulls_are_absent() {
        let mut o = Object::parse(r#"{"orgiginalExternalId":123232144,"a":null}"#).unwrap();
        assert_eq!(o.string(&["originalExternalId", "orgiginalExternalId"]).unwrap().as_deref(), Some("123232144"));
        assert_eq!(o.string(&["a"]).unwrap(), None);
        assert!(!o.has("a"));
    }

    #[test]
    fn wrong_types_name_the_field_and_never_quote_the_value() {
        let mut o = Object::parse(r#"{"amount":"budi@example.com","id":[1]}"#).unwrap();
        let err = o.decimal(&["amount"]).unwrap_err();
        assert!(err.contains("`amount`") && !err.contains("budi"), "{err}");
        assert!(o.string(&["id"]).is_err());
        assert!(Object::parse("[1,2]").is_err());
        assert!(Object::parse("{").unwrap_err().contains("not valid JSON"));
    }
}
