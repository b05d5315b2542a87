//! Lenient, exact readers for the loosely typed JSON gateways send.
//!
//! Indonesian gateways, mostly PHP backends, send the same field as a number one day and a string
//! the next (`10000`, `"10000"`, `"4000.00"`), write `null` or `""` for absent, and document
//! field types only roughly. The gateway crates read their answers through these, so that a
//! change of JSON type never breaks parsing and an amount never goes through a float:
//!
//! - `deserialize_with` readers for serde structs: [`decimal_opt`], [`string_opt`], [`u64_opt`],
//!   [`i64_opt`] (a JSON number with a fraction reaches serde as a float: the reader keeps its
//!   shortest exact text, `12500.5`, but not trailing zeros);
//! - [`RawObject`], for answers read field by field (several spellings of one field, exact
//!   decimal digits, unknown fields kept for an `extra` map).
//!
//! ```
//! use gerbang_core::Decimal;
//!
//! #[derive(serde::Deserialize)]
//! struct Answer {
//!     #[serde(default, deserialize_with = "gerbang_core::de::decimal_opt")]
//!     amount: Option<Decimal>,
//! }
//!
//! for text in [r#"{"amount":4000}"#, r#"{"amount":4000.00}"#, r#"{"amount":"4000.00"}"#] {
//!     let answer: Answer = serde_json::from_str(text).unwrap();
//!     assert_eq!(answer.amount, Some(Decimal::from(4000)));
//! }
//! let absent: Answer = serde_json::from_str(r#"{"amount":""}"#).unwrap();
//! assert_eq!(absent.amount, None);
//! ```

use std::borrow::Cow;
use std::fmt;

use rust_decimal::Decimal;
use serde::Deserializer;
use serde::de::{self, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A gateway's message as text, from its JSON: verbatim when a string, compact JSON when a list
/// or an object of validation messages; `None` when absent, `null` or blank.
///
/// ```
/// use gerbang_core::de::message_text;
/// use serde_json::value::RawValue;
///
/// let raw = |json: &str| serde_json::from_str::<Box<RawValue>>(json).unwrap();
/// assert_eq!(message_text(Some(&raw(r#""Invoice tidak ditemukan""#))).as_deref(), Some("Invoice tidak ditemukan"));
/// assert_eq!(message_text(Some(&raw(r#"{"amount":["required"]}"#))).as_deref(), Some(r#"{"amount":["required"]}"#));
/// assert_eq!(message_text(Some(&raw(r#"" ""#))), None);
/// assert_eq!(message_text(None), None);
/// ```
pub fn message_text(message: Option<&RawValue>) -> Option<String> {
    match serde_json::from_str(message?.get()).ok()? {
        Value::Null => None,
        Value::String(text) if text.trim().is_empty() => None,
        Value::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

/// A decimal from its text: plain (`725.50`) or, as a JSON number may be written, with an
/// exponent (`1e-8`). Every digit is kept.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    Decimal::from_str_exact(text).ok().or_else(|| Decimal::from_scientific(text).ok())
}

/// A decimal from a JSON number or a string holding one; `null` and `""` are absent.
///
/// # Errors
///
/// Anything else, or text that is not a number.
pub fn decimal_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    d.deserialize_any(DecimalVisitor)
}

/// Text from a JSON string, or a number or boolean written as text (an id or a payment code sent
/// as a number); `null` is absent.
///
/// # Errors
///
/// An array or an object.
pub fn string_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(StringVisitor)
}

/// A whole non-negative number from a JSON integer or a string of digits; `null` and `""` are
/// absent.
///
/// # Errors
///
/// A negative or fractional number, or anything else.
pub fn u64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(IntegerVisitor::<u64>(std::marker::PhantomData))
}

/// A whole number from a JSON integer or a string of digits; `null` and `""` are absent.
///
/// # Errors
///
/// A fractional number, or anything else.
pub fn i64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(IntegerVisitor::<i64>(std::marker::PhantomData))
}

struct DecimalVisitor;

impl<'de> Visitor<'de> for DecimalVisitor {
    type Value = Option<Decimal>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a string holding a decimal number")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Decimal::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Decimal::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // The shortest text that reads back as the same float: `12500.5`, not its binary noise.
        // (A reader that must keep every digit of a JSON number uses `RawObject`.)
        parse_decimal(&v.to_string())
            .map(Some)
            .ok_or_else(|| E::custom("a number too large or too precise for a decimal"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        parse_decimal(v).map(Some).ok_or_else(|| E::invalid_value(de::Unexpected::Other("text"), &self))
    }
}

struct StringVisitor;

impl<'de> Visitor<'de> for StringVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
}

/// Reads `u64` or `i64` the same lenient way.
struct IntegerVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T> Visitor<'de> for IntegerVisitor<T>
where
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number, or a string of digits")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::try_from(v).map(Some).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::try_from(v).map(Some).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        v.trim().parse().map(Some).map_err(|_| E::invalid_value(de::Unexpected::Other("text"), &self))
    }
}

/// A field's JSON read by its first character alone (its text is valid JSON), so that reading
/// a string or a number builds no [`Value`].
enum Scalar<'a> {
    /// A string, borrowed where it has no escapes.
    Text(Cow<'a, str>),
    /// A number's exact text.
    Number(&'a str),
    Bool(bool),
    /// An object or a list.
    Other,
}

impl<'a> Scalar<'a> {
    fn of(raw: &'a RawValue) -> Self {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'"') => serde_json::from_str::<&str>(text)
                .map(Cow::Borrowed)
                .or_else(|_| serde_json::from_str::<String>(text).map(Cow::Owned))
                .map_or(Self::Other, Self::Text),
            Some(b'-' | b'0'..=b'9') => Self::Number(text),
            Some(b't') => Self::Bool(true),
            Some(b'f') => Self::Bool(false),
            _ => Self::Other,
        }
    }
}

/// A JSON object whose fields are taken one by one: each is kept as its raw JSON text until it is
/// read, so that a number becomes a [`Decimal`] from its exact spelling (18 decimals survive,
/// which a float would not), a field can be looked up under several spellings (the documented
/// one first, then the misspellings a document's own examples use), and whatever no one took is
/// left for an `extra` map.
///
/// Errors are in words safe to show: they name the field, never quote its value.
///
/// ```
/// use gerbang_core::de::RawObject;
///
/// let mut answer = RawObject::parse(r#"{"orgiginalExternalId":"EXT-1","amount":"4000.00","x":1}"#)?;
/// // The document's spelling first, then the misspelling its example uses.
/// assert_eq!(answer.string(&["originalExternalId", "orgiginalExternalId"])?.as_deref(), Some("EXT-1"));
/// assert_eq!(answer.decimal(&["amount"])?.map(|d| d.to_string()).as_deref(), Some("4000.00"));
/// assert_eq!(answer.into_extra()["x"], 1);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Default)]
pub struct RawObject<'a> {
    /// Borrowed from the text parsed, in its order: reading a field copies only what it returns.
    /// A list, not a map: answers have a few dozen fields at most, and a scan of them costs less
    /// than a tree's allocations. Where a name comes twice, the last one counts. A field taken
    /// is left as `None` where it stood (no shifting the rest down at every take).
    fields: Vec<(Key<'a>, Option<&'a RawValue>)>,
}

/// A field's name, borrowed from the text unless it holds an escape.
#[derive(Debug)]
struct Key<'a>(Cow<'a, str>);

/// An object's fields in order, as serde reads them, none taken yet.
struct Fields<'a>(Vec<(Key<'a>, Option<&'a RawValue>)>);

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((key, raw)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    fields.push((key, Some(raw)));
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for RawObject<'de> {
    /// An object read where it stands in a larger document (an element of an array, say), its
    /// fields borrowed from the text as [`parse`](Self::parse) borrows them: one pass finds
    /// them, rather than one to find the object and another to read it.
    ///
    /// ```
    /// use gerbang_core::de::RawObject;
    ///
    /// let mut list: Vec<RawObject> = serde_json::from_str(r#"[{"id":1},{"id":"2"}]"#).unwrap();
    /// assert_eq!(list[1].string(&["id"])?.as_deref(), Some("2"));
    /// # Ok::<(), String>(())
    /// ```
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Fields::deserialize(d).map(|Fields(fields)| Self { fields })
    }
}

impl<'a> RawObject<'a> {
    /// Parses `text` as a JSON object, borrowing its fields from it.
    ///
    /// # Errors
    ///
    /// Why it is not one: `not valid JSON (line L, column C)` or `not a JSON object`.
    pub fn parse(text: &'a str) -> Result<Self, String> {
        match serde_json::from_str::<Self>(text) {
            Ok(object) => Ok(object),
            Err(e) if e.is_syntax() || e.is_eof() => {
                Err(format!("not valid JSON (line {}, column {})", e.line(), e.column()))
            }
            Err(_) => Err("not a JSON object".to_owned()),
        }
    }

    /// The field `name`: the last of that name.
    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.fields.iter().rev().find_map(|(key, raw)| raw.filter(|_| key.0 == name))
    }

    /// Takes out every field `name`, returning the last.
    fn remove(&mut self, name: &str) -> Option<&'a RawValue> {
        let mut found = None;
        for (key, raw) in &mut self.fields {
            if raw.is_some() && key.0 == name {
                found = raw.take();
            }
        }
        found
    }

    /// Whether a field is there and not `null`.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some_and(|raw| raw.get() != "null")
    }

    /// Whether a field of that name is there, even `null`.
    pub fn contains(&self, name: &str) -> bool {
        self.fields.iter().any(|(key, raw)| raw.is_some() && key.0 == name)
    }

    /// Removes the first of `names` present and not `null`, with every other of `names` (so that
    /// an unused spelling does not linger in `extra`).
    pub fn take_raw<'n>(&mut self, names: &[&'n str]) -> Option<(&'n str, &'a RawValue)> {
        let mut found = None;
        for name in names {
            if let Some(raw) = self.remove(name)
                && found.is_none()
                && raw.get() != "null"
            {
                found = Some((*name, raw));
            }
        }
        found
    }

    /// Text from a string, or from a number or boolean written as text (an id sent as `11`).
    ///
    /// # Errors
    ///
    /// The field is an array or an object.
    pub fn string(&mut self, names: &[&str]) -> Result<Option<String>, String> {
        let Some((name, raw)) = self.take_raw(names) else {
            return Ok(None);
        };
        match Scalar::of(raw) {
            Scalar::Text(s) => Ok(Some(s.into_owned())),
            Scalar::Number(digits) => Ok(Some(digits.to_owned())),
            Scalar::Bool(b) => Ok(Some(b.to_string())),
            Scalar::Other => Err(format!("`{name}` is not text or a number")),
        }
    }

    /// A decimal from a number's exact digits, or from a string holding one; `""` is absent.
    ///
    /// # Errors
    ///
    /// The field is not a number, or a string that is not one.
    pub fn decimal(&mut self, names: &[&str]) -> Result<Option<Decimal>, String> {
        let Some((name, raw)) = self.take_raw(names) else {
            return Ok(None);
        };
        let bad = || format!("`{name}` is not a decimal number");
        let digits = match Scalar::of(raw) {
            Scalar::Number(digits) => Cow::Borrowed(digits),
            Scalar::Text(s) if s.trim().is_empty() => return Ok(None),
            Scalar::Text(s) => s,
            Scalar::Bool(_) | Scalar::Other => return Err(bad()),
        };
        parse_decimal(&digits).map(Some).ok_or_else(bad)
    }

    /// A flag written as `1` or null: `1`, `"1"` or `true` is on; `0`, `"0"`, `""`, `false` or
    /// absent is off.
    ///
    /// # Errors
    ///
    /// Anything else.
    pub fn flag(&mut self, names: &[&str]) -> Result<bool, String> {
        let Some((name, raw)) = self.take_raw(names) else {
            return Ok(false);
        };
        match Scalar::of(raw) {
            Scalar::Bool(b) => Ok(b),
            Scalar::Number("1") => Ok(true),
            Scalar::Number("0") => Ok(false),
            Scalar::Text(s) if matches!(s.trim(), "1" | "true") => Ok(true),
            Scalar::Text(s) if matches!(s.trim(), "" | "0" | "false") => Ok(false),
            _ => Err(format!("`{name}` is not 1 or 0")),
        }
    }

    /// A nested object.
    ///
    /// # Errors
    ///
    /// The field is not an object.
    pub fn object(&mut self, names: &[&str]) -> Result<Option<Self>, String> {
        let Some((name, raw)) = self.take_raw(names) else {
            return Ok(None);
        };
        Self::parse(raw.get()).map(Some).map_err(|_| format!("`{name}` is not an object"))
    }

    /// The fields not taken, as JSON.
    pub fn into_extra(self) -> Map<String, Value> {
        self.fields
            .into_iter()
            .filter_map(|(name, raw)| {
                serde_json::from_str::<Value>(raw?.get()).ok().map(|value| (name.0.into_owned(), value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Loose {
        #[serde(default, deserialize_with = "decimal_opt")]
        d: Option<Decimal>,
        #[serde(default, deserialize_with = "string_opt")]
        s: Option<String>,
        #[serde(default, deserialize_with = "u64_opt")]
        u: Option<u64>,
        #[serde(default, deserialize_with = "i64_opt")]
        i: Option<i64>,
    }

    #[test]
    fn serde_readers_take_numbers_strings_and_null() {
        let read: Loose = serde_json::from_str(r#"{"d":"4000.00","s":123,"u":"42","i":-7}"#).unwrap();
        assert_eq!(
            (read.d.unwrap().to_string().as_str(), read.s.as_deref(), read.u, read.i),
            ("4000.00", Some("123"), Some(42), Some(-7))
        );
        let read: Loose = serde_json::from_str(r#"{"d":12500.5,"s":true,"u":7,"i":"8"}"#).unwrap();
        assert_eq!((read.d.unwrap().to_string().as_str(), read.s.as_deref()), ("12500.5", Some("true")));
        let read: Loose = serde_json::from_str(r#"{"d":null,"s":null,"u":"","i":null}"#).unwrap();
        assert!(read.d.is_none() && read.s.is_none() && read.u.is_none() && read.i.is_none());
        for bad in [r#"{"d":"lots"}"#, r#"{"s":[1]}"#, r#"{"u":-1}"#, r#"{"u":1.5}"#, r#"{"i":"x"}"#] {
            assert!(serde_json::from_str::<Loose>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_field_named_twice_reads_as_its_last_and_leaves_no_copy_in_extra() {
        let mut o = RawObject::parse(r#"{"a":"first","b":1,"a":"last","k\u0065y":"escaped"}"#).unwrap();
        assert!(o.has("a") && o.contains("key"));
        assert_eq!(o.string(&["a"]).unwrap().as_deref(), Some("last"));
        assert!(!o.contains("a"));
        assert_eq!(o.into_extra(), serde_json::json!({"b": 1, "key": "escaped"}).as_object().unwrap().clone());
    }

    #[test]
    fn raw_objects_keep_every_digit_and_the_fields_no_one_took() {
        let mut o =
            RawObject::parse(r#"{"a":0.123456789012345678,"b":"725.00","c":"","d":null,"e":1e-8,"x":"keep"}"#).unwrap();
        assert_eq!(o.decimal(&["a"]).unwrap().unwrap().to_string(), "0.123456789012345678");
        assert_eq!(o.decimal(&["b"]).unwrap().unwrap().to_string(), "725.00");
        assert_eq!(o.decimal(&["c"]).unwrap(), None);
        assert_eq!(o.decimal(&["d"]).unwrap(), None);
        assert_eq!(o.decimal(&["e"]).unwrap().unwrap().to_string(), "0.00000001");
        assert_eq!(o.into_extra(), serde_json::json!({"x": "keep"}).as_object().unwrap().clone());
    }

    #[test]
    fn flags_texts_and_spellings_are_read_leniently() {
        let mut o = RawObject::parse(r#"{"t":1,"u":"0","v":true,"w":"yes","id":11}"#).unwrap();
        assert!(o.flag(&["t"]).unwrap());
        assert!(!o.flag(&["u"]).unwrap());
        assert!(o.flag(&["v"]).unwrap());
        assert!(o.flag(&["w"]).is_err());
        assert_eq!(o.string(&["id"]).unwrap().as_deref(), Some("11"));

        let mut o = RawObject::parse(r#"{"private_key":"a","privatekey":"b"}"#).unwrap();
        assert_eq!(o.string(&["private_key", "privatekey"]).unwrap().as_deref(), Some("a"));
        assert!(o.into_extra().is_empty(), "the unused spelling goes too");
    }

    #[test]
    fn errors_name_the_field_never_its_value() {
        let mut o = RawObject::parse(r#"{"amount":"secret-ish","nested":[1]}"#).unwrap();
        let error = o.decimal(&["amount"]).unwrap_err();
        assert!(error.contains("amount") && !error.contains("secret-ish"), "{error}");
        assert!(o.object(&["nested"]).is_err());
        assert_eq!(RawObject::parse("[1]").unwrap_err(), "not a JSON object");
        assert!(RawObject::parse("{").unwrap_err().starts_with("not valid JSON"));
    }
}
