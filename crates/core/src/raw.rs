//! [`RawJson`]: a gateway's JSON as it arrived, kept as text and parsed only when read.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

/// A gateway's JSON as it arrived: its text, parsed into a [`Value`] only when something reads
/// it, and then once.
///
/// [`Payment::raw`](crate::Payment::raw) and [`WebhookEvent::raw`](crate::WebhookEvent::raw)
/// hold one, so that a call whose caller never looks at the raw answer does not pay for a second
/// parse of it; a clone shares the text. Read it as a `Value` with [`value`](Self::value) (or
/// index it like one), straight into your own type with [`deserialize`](Self::deserialize), or as
/// text with [`as_str`](Self::as_str).
///
/// ```
/// use gerbang_core::RawJson;
/// let raw = RawJson::new(r#"{"network":"TRC20","fee":{"amount":"0.50"}}"#)?;
/// assert_eq!(raw["network"], "TRC20");
/// assert_eq!(raw["fee"]["amount"], "0.50");
/// assert!(raw["absent"].is_null());
///
/// #[derive(serde::Deserialize)]
/// struct Mine { network: String }
/// assert_eq!(raw.deserialize::<Mine>()?.network, "TRC20");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct RawJson {
    /// Valid JSON text; `None` for nothing at all (which reads as `null`).
    text: Option<Arc<str>>,
    parsed: OnceLock<Value>,
}

impl RawJson {
    /// JSON text, checked to be one valid JSON value (a syntax check, no tree is built).
    ///
    /// # Errors
    /// The text is not JSON.
    pub fn new(text: impl Into<Arc<str>>) -> Result<Self, serde_json::Error> {
        let text = text.into();
        serde_json::from_str::<serde::de::IgnoredAny>(&text)?;
        Ok(Self { text: Some(text), parsed: OnceLock::new() })
    }

    /// JSON text that serde_json has just read whole, kept without checking it a second time:
    /// any successful `serde_json::from_str` over exactly this text proves it is one JSON value
    /// (serde_json checks the syntax of every value, even those it skips, and that nothing
    /// follows). Gateway crates use it on a body they have parsed. Text that is not JSON after
    /// all reads as `null`.
    ///
    /// ```
    /// use gerbang_core::RawJson;
    /// let body = r#"{"status":"PAID","amount":150000}"#;
    /// #[derive(serde::Deserialize)]
    /// struct Status<'a> { status: &'a str }
    /// let read: Status = serde_json::from_str(body)?;
    /// let raw = RawJson::from_parsed_text(body);
    /// assert_eq!((read.status, &raw["amount"]), ("PAID", &serde_json::json!(150000)));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn from_parsed_text(text: impl Into<Arc<str>>) -> Self {
        Self { text: Some(text.into()), parsed: OnceLock::new() }
    }

    /// Nothing: reads as `null`.
    pub const fn null() -> Self {
        Self { text: None, parsed: OnceLock::new() }
    }

    /// The JSON text, as received; `null` when there is none.
    pub fn as_str(&self) -> &str {
        self.text.as_deref().unwrap_or("null")
    }

    /// Whether it is JSON `null`, or nothing.
    pub fn is_null(&self) -> bool {
        self.as_str() == "null"
    }

    /// The JSON as a [`Value`], parsed on the first call and kept for the next ones.
    pub fn value(&self) -> &Value {
        self.parsed.get_or_init(|| match &self.text {
            // Valid JSON when made by `new` or `From`; `Null` for text that was not after all
            // (`from_parsed_text` misused).
            Some(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            None => Value::Null,
        })
    }

    /// The JSON read straight into `T`, without building a [`Value`] first.
    ///
    /// # Errors
    /// The JSON does not have `T`'s shape.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }

    /// The field `key` of a JSON object; `None` when it is not an object or has no such field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.value().get(key)
    }
}

impl From<&RawValue> for RawJson {
    /// The text of a value borrowed from a larger answer (its `data`, say): copied, not parsed.
    fn from(raw: &RawValue) -> Self {
        Self::from_parsed_text(raw.get())
    }
}

impl From<Value> for RawJson {
    /// JSON put together in code (a gateway's answer regrouped, a test's fixture).
    fn from(value: Value) -> Self {
        let parsed = OnceLock::new();
        let text = value.to_string();
        let _ = parsed.set(value);
        Self { text: Some(text.into()), parsed }
    }
}

impl<I: serde_json::value::Index> std::ops::Index<I> for RawJson {
    type Output = Value;

    /// As indexing a [`Value`]: `Null` where there is nothing.
    fn index(&self, index: I) -> &Value {
        &self.value()[index]
    }
}

impl PartialEq for RawJson {
    /// The same JSON, however it is spaced or its object keys ordered.
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str() || self.value() == other.value()
    }
}

impl PartialEq<Value> for RawJson {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl PartialEq<RawJson> for Value {
    fn eq(&self, other: &RawJson) -> bool {
        other == self
    }
}

impl fmt::Debug for RawJson {
    /// The text, as received.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RawJson {
    /// The text, as received.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn it_keeps_the_text_and_parses_once_on_demand() {
        let raw = RawJson::new(r#"{ "a": [1, 2.50, "x"] }"#).unwrap();
        assert_eq!(raw.as_str(), r#"{ "a": [1, 2.50, "x"] }"#, "the text as received, spacing and digits");
        assert!(raw.parsed.get().is_none(), "nothing is parsed until read");
        assert_eq!(raw["a"][2], "x");
        assert!(std::ptr::eq(raw.value(), raw.value()), "parsed once, then kept");
        assert_eq!(raw, serde_json::json!({"a": [1, 2.5, "x"]}));
        assert_eq!(raw, RawJson::from(serde_json::json!({"a": [1, 2.5, "x"]})));
        assert_ne!(raw, RawJson::new(r#"{"a":[]}"#).unwrap());
    }

    #[test]
    fn nothing_and_bad_text() {
        assert!(RawJson::default().is_null() && RawJson::null().value().is_null());
        assert_eq!(RawJson::null(), serde_json::Value::Null);
        assert!(RawJson::null()["x"].is_null());
        for bad in ["", "{", "{} {}", "nope"] {
            assert!(RawJson::new(bad).is_err(), "{bad:?}");
        }
        let borrowed: Box<RawValue> = serde_json::from_str(r#"  {"k": 1}"#).unwrap();
        assert_eq!(RawJson::from(&*borrowed).as_str(), r#"{"k": 1}"#);
    }
}
