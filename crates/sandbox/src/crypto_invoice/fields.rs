//! Reading a request body, JSON or form fields (the document's examples send both), and checking
//! it the way the gateway's validator does: every problem found, each as a message.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use rust_decimal::Decimal;
use serde_json::Value;
use serde_json::value::RawValue;

/// A request's fields, whatever the body format. Form values are all strings.
#[derive(Debug)]
pub(super) struct Fields(BTreeMap<String, Value>);

impl Fields {
    /// Reads the body as form fields when its `Content-Type` says so, as JSON otherwise (and
    /// as form fields when it is not JSON and says nothing). `None` when it is neither.
    pub(super) fn parse(headers: &HeaderMap, body: &[u8]) -> Option<Self> {
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if content_type.starts_with("application/x-www-form-urlencoded") {
            return form(body);
        }
        // Raw values first, so that a JSON number keeps its exact digits (`725.50`, or 18
        // decimals) instead of going through a float.
        match serde_json::from_slice::<BTreeMap<String, Box<RawValue>>>(body) {
            Ok(raw) => Some(Self(raw.into_iter().map(|(name, raw)| (name, exact(&raw))).collect())),
            Err(_) if content_type.is_empty() => form(body),
            Err(_) => None,
        }
    }

    /// A field as text (a number as its digits); `None` when absent, null or blank.
    pub(super) fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Whether the field is there with a value.
    pub(super) fn has(&self, name: &str) -> bool {
        self.0
            .get(name)
            .is_some_and(|v| !matches!(v, Value::Null) && !matches!(v, Value::String(s) if s.trim().is_empty()))
    }

    /// The raw value.
    pub(super) fn value(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }
}

/// A JSON value, with a number kept as its text.
fn exact(raw: &RawValue) -> Value {
    let text = raw.get();
    if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        Value::String(text.to_owned())
    } else {
        serde_json::from_str(text).unwrap_or(Value::Null)
    }
}

fn form(body: &[u8]) -> Option<Fields> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    Some(Fields(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
}

/// The messages of a PHP validator, as the gateway's 422 lists them.
#[derive(Debug, Default)]
pub(super) struct Problems(Vec<String>);

impl Problems {
    pub(super) fn add(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    pub(super) fn into_messages(self) -> Vec<String> {
        self.0
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `The price amount field is required.`, in the validator's words.
    pub(super) fn required(&mut self, fields: &Fields, name: &str) {
        if !fields.has(name) {
            self.add(format!("The {} field is required.", words(name)));
        }
    }

    /// A decimal field (a JSON number or a string of one); `None` when absent or invalid.
    pub(super) fn decimal(&mut self, fields: &Fields, name: &str) -> Option<Decimal> {
        let text = fields.text(name)?;
        let value = Decimal::from_str_exact(text.trim()).ok().or_else(|| Decimal::from_scientific(text.trim()).ok());
        if value.is_none() {
            self.add(format!("The {} must be a number.", words(name)));
        }
        value
    }

    /// A whole-number field; `None` when absent or invalid.
    pub(super) fn integer(&mut self, fields: &Fields, name: &str) -> Option<u64> {
        let text = fields.text(name)?;
        let value = text.trim().parse::<u64>().ok();
        if value.is_none() {
            self.add(format!("The {} must be an integer.", words(name)));
        }
        value
    }

    /// A flag the document writes as 1 or null: 1 is on; absent, null or 0 is off.
    pub(super) fn flag(&mut self, fields: &Fields, name: &str) -> bool {
        match fields.text(name).as_deref().map(str::trim) {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(_) => {
                self.add(format!("The {} field must be 1.", words(name)));
                false
            }
        }
    }

    /// An absolute http(s) URL; `None` when absent or invalid.
    pub(super) fn url(&mut self, fields: &Fields, name: &str) -> Option<String> {
        let text = fields.text(name)?;
        match reqwest::Url::parse(text.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(text.trim().to_owned()),
            _ => {
                self.add(format!("The {} must be a valid URL.", words(name)));
                None
            }
        }
    }
}

/// A field's name as the validator writes it in messages: `price_amount` → `price amount`.
pub(super) fn words(name: &str) -> String {
    name.replace('_', " ")
}
