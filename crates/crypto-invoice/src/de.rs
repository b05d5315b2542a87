//! Lenient, exact readers for the gateway's loosely typed JSON.
//!
//! The document (`seeds/003_344fd773d4347651.txt`) types ids as "String" or "Integer" and
//! prices as "Decimal" without saying how they are written, and PHP backends send the same field
//! as a number one day and a string the next (`725`, `"725.00"`). Each field is kept as its raw
//! JSON text until it is read, so that a decimal is taken from its exact digits (a coin amount
//! with 18 decimals survives, which a float would not); `null` is the same as absent; the
//! fields no typed field takes stay in an `extra` map.

use std::collections::BTreeMap;

use gerbang_core::Decimal;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Fields of an object that no typed field names, as received.
pub type Extra = Map<String, Value>;

/// A JSON object's fields, raw, from which the typed fields are taken.
#[derive(Debug)]
pub(crate) struct Object(BTreeMap<String, Box<RawValue>>);

impl Object {
    /// An object from its JSON text; `Err` with serde's message when the text is not one.
    pub(crate) fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text).map(Self)
    }

    /// From already-split raw fields.
    pub(crate) fn from_fields(fields: BTreeMap<String, Box<RawValue>>) -> Self {
        Self(fields)
    }

    /// Removes the first of `names` that is present and not `null`, with every other of
    /// `names` (so that an unused spelling does not linger in `extra`).
    fn take(&mut self, names: &[&str]) -> Option<(String, Box<RawValue>)> {
        let mut found = None;
        for name in names {
            if let Some(raw) = self.0.remove(*name)
                && found.is_none()
                && raw.get() != "null"
            {
                found = Some(((*name).to_owned(), raw));
            }
        }
        found
    }

    /// Whether a field of that name is present (even `null`).
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Text from a JSON string, or a number written as its text (an id sent as `11`).
    pub(crate) fn text(&mut self, names: &[&str]) -> Result<Option<String>, String> {
        let Some((name, raw)) = self.take(names) else { return Ok(None) };
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::String(s)) => Ok(Some(s)),
            Ok(Value::Number(_)) => Ok(Some(raw.get().to_owned())),
            Ok(Value::Bool(b)) => Ok(Some(b.to_string())),
            _ => Err(format!("`{name}` is not text or a number")),
        }
    }

    /// A decimal from a JSON number's exact digits, or from a string holding one; an empty
    /// string is absent.
    pub(crate) fn decimal(&mut self, names: &[&str]) -> Result<Option<Decimal>, String> {
        let Some((name, raw)) = self.take(names) else { return Ok(None) };
        let bad = || format!("`{name}` is not a decimal number");
        let text = raw.get();
        let digits = if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(|_| bad())?;
            if s.trim().is_empty() {
                return Ok(None);
            }
            s.trim().to_owned()
        } else {
            text.to_owned()
        };
        parse_decimal(&digits).map(Some).ok_or_else(bad)
    }

    /// A flag the document writes as `1` or null: `1`, `"1"` or `true` is on; `0`, `"0"`, `""`,
    /// `false` or absent is off.
    pub(crate) fn flag(&mut self, names: &[&str]) -> Result<bool, String> {
        let Some((name, raw)) = self.take(names) else { return Ok(false) };
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
            Ok(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
            Ok(Value::String(s)) if matches!(s.trim(), "1" | "true") => Ok(true),
            Ok(Value::String(s)) if matches!(s.trim(), "" | "0" | "false") => Ok(false),
            _ => Err(format!("`{name}` is not 1 or 0")),
        }
    }

    /// What no typed field took, parsed.
    pub(crate) fn into_extra(self) -> Extra {
        self.0
            .into_iter()
            .filter_map(|(name, raw)| serde_json::from_str::<Value>(raw.get()).ok().map(|value| (name, value)))
            .collect()
    }
}

/// A decimal from its text: plain (`725.50`) or, as a JSON number may be written, with an
/// exponent (`1e-8`).
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str_exact(text).ok().or_else(|| Decimal::from_scientific(text).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn decimals_keep_every_digit_of_numbers_and_strings() {
        let mut o = Object::parse(r#"{"a":0.123456789012345678,"b":"725.00","c":"","d":null,"e":1e-8}"#).unwrap();
        assert_eq!(o.decimal(&["a"]).unwrap().unwrap().to_string(), "0.123456789012345678");
        assert_eq!(o.decimal(&["b"]).unwrap().unwrap().to_string(), "725.00");
        assert_eq!(o.decimal(&["c"]).unwrap(), None);
        assert_eq!(o.decimal(&["d"]).unwrap(), None);
        assert_eq!(o.decimal(&["e"]).unwrap().unwrap().to_string(), "0.00000001");
        assert!(o.into_extra().is_empty());
    }

    #[test]
    fn flags_and_texts_are_read_leniently() {
        let mut o = Object::parse(r#"{"t":1,"u":"0","v":true,"w":"yes","id":11,"x":"keep"}"#).unwrap();
        assert!(o.flag(&["t"]).unwrap());
        assert!(!o.flag(&["u"]).unwrap());
        assert!(o.flag(&["v"]).unwrap());
        assert!(o.flag(&["w"]).is_err());
        assert_eq!(o.text(&["id"]).unwrap().as_deref(), Some("11"));
        assert_eq!(o.into_extra()["x"], "keep");
    }

    #[test]
    fn the_first_spelling_present_wins_and_the_others_go() {
        let mut o = Object::parse(r#"{"private_key":"a","privatekey":"b"}"#).unwrap();
        assert_eq!(o.text(&["private_key", "privatekey"]).unwrap().as_deref(), Some("a"));
        assert!(o.into_extra().is_empty());
    }
}
