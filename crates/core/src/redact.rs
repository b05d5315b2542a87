//! Scrubbing secrets and customer details out of what a gateway says, before it becomes an error.
//!
//! A gateway's error message is the most useful thing to show, so [`Error`](crate::Error) keeps
//! it. But a gateway, or a proxy in front of it, may echo the request back: its API key, its
//! signature, the customer's e-mail and phone. [`Redactions`] holds the values a call must never
//! let out, and [`HttpResponse::error`](crate::transport::HttpResponse::error) and
//! [`HttpResponse::scrub`](crate::transport::HttpResponse::scrub) replace each of them in the
//! gateway's text (as sent, percent-encoded, or in another letter case) by `<redacted>`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::Customer;

/// What a redacted value is replaced by.
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not scrubbed: replacing every `a` of a message would make it
/// unreadable, and a credential or contact detail is never that short.
const MIN_LEN: usize = 4;

/// The values a call must never let out through an error: a client's credentials, and the
/// customer's e-mail and phone of the request at hand. Cheap to clone (one `Arc`) and to add
/// to; its `Debug` shows only how many values it holds.
///
/// ```
/// use gerbang_core::Redactions;
/// use gerbang_core::secrecy::SecretString;
///
/// let base = Redactions::new([SecretString::from("sk_live_123456")]);
/// let call = base.with(["budi@example.com"]);
/// assert_eq!(
///     call.scrub("bad key sk_live_123456 for BUDI%40example.com"),
///     "bad key <redacted> for <redacted>"
/// );
/// ```
#[derive(Clone, Default)]
pub struct Redactions(Option<Arc<Layer>>);

/// Values added together, over the ones they were added to. A call's redactions are its
/// client's plus a few of its own (a fresh token, the customer's contact), made on every call:
/// adding is one allocation, and the forms each value may come back in are only worked out when
/// an error is scrubbed.
struct Layer {
    values: Vec<SecretString>,
    under: Option<Arc<Layer>>,
}

impl Redactions {
    /// Redactions of these values (each scrubbed also percent-encoded; short ones are ignored).
    pub fn new(values: impl IntoIterator<Item = SecretString>) -> Self {
        Self(None).extend(values)
    }

    /// These redactions and the given values too (a request's e-mail and phone, a fresh token).
    #[must_use]
    pub fn with<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> Self {
        self.clone().extend(values.into_iter().map(|value| SecretString::from(value.to_owned())))
    }

    /// These redactions and the customer's e-mail and phone number.
    #[must_use]
    pub fn with_customer(&self, customer: &Customer) -> Self {
        self.with(customer.email.as_deref().into_iter().chain(customer.phone.as_deref()))
    }

    fn extend(self, values: impl IntoIterator<Item = SecretString>) -> Self {
        let values: Vec<SecretString> = values
            .into_iter()
            .filter(|value| {
                let value = value.expose_secret();
                value.trim().len() >= MIN_LEN || variants(value).iter().any(|variant| variant.len() >= MIN_LEN)
            })
            .collect();
        if values.is_empty() {
            return self;
        }
        Self(Some(Arc::new(Layer { values, under: self.0 })))
    }

    /// Every value, the first added first.
    fn values(&self) -> Vec<&SecretString> {
        let mut layers = Vec::new();
        let mut layer = self.0.as_deref();
        while let Some(current) = layer {
            layers.push(current);
            layer = current.under.as_deref();
        }
        layers.iter().rev().flat_map(|layer| &layer.values).collect()
    }

    /// `text` with every value replaced by [`REDACTED`], matching ASCII letters in any case.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut text = Cow::Borrowed(text);
        for value in self.values() {
            for variant in variants(value.expose_secret()).iter().filter(|variant| variant.len() >= MIN_LEN) {
                if let Some(replaced) = replace_ignoring_case(&text, variant) {
                    text = Cow::Owned(replaced);
                }
            }
        }
        text
    }

    /// `text`, scrubbed, as an owned string.
    pub fn scrub_owned(&self, text: String) -> String {
        match self.scrub(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(scrubbed) => scrubbed,
        }
    }
}

impl fmt::Debug for Redactions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactions({} values)", self.values().len())
    }
}

/// The forms a value may come back in: as sent, percent-encoded (a query or form body echoed),
/// and, for a phone number, its national number without the `0` or `+62`/`62` prefix (a gateway
/// may echo `+6281…` for `081…`).
fn variants(value: &str) -> Vec<String> {
    let value = value.trim();
    let mut out = vec![value.to_owned()];
    let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    if encoded != value {
        out.push(encoded);
    }
    let digits = value.trim_start_matches('+');
    if digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let national = digits.strip_prefix("62").or_else(|| digits.strip_prefix('0')).unwrap_or(digits);
        out.push(national.to_owned());
    }
    out
}

/// `haystack` with every ASCII-case-insensitive occurrence of `needle` replaced, or `None` when
/// there is none.
fn replace_ignoring_case(haystack: &str, needle: &str) -> Option<String> {
    let (hay, pat) = (haystack.as_bytes(), needle.as_bytes());
    if pat.is_empty() || pat.len() > hay.len() {
        return None;
    }
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut at = 0;
    while at + pat.len() <= hay.len() {
        if hay[at..at + pat.len()].eq_ignore_ascii_case(pat) && haystack.is_char_boundary(at) {
            let out = out.get_or_insert_with(|| String::with_capacity(haystack.len()));
            out.push_str(&haystack[copied..at]);
            out.push_str(REDACTED);
            at += pat.len();
            copied = at;
        } else {
            at += 1;
        }
    }
    out.map(|mut out| {
        out.push_str(&haystack[copied..]);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactions(values: &[&str]) -> Redactions {
        Redactions::default().with(values.iter().copied())
    }

    #[test]
    fn scrubs_every_occurrence_in_any_case_and_encoding() {
        let r = redactions(&["Budi@Example.com", "sk-123456"]);
        assert_eq!(r.scrub("budi@example.com sk-123456 BUDI%40EXAMPLE.COM x"), "<redacted> <redacted> <redacted> x");
        assert_eq!(r.scrub("nothing here"), "nothing here");
        assert!(matches!(r.scrub("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn scrubs_a_phone_in_its_international_form() {
        let r = redactions(&["081234567890"]);
        assert_eq!(r.scrub("phone +6281234567890 invalid"), "phone +62<redacted> invalid");
        assert_eq!(r.scrub("phone 081234567890"), "phone <redacted>");
    }

    #[test]
    fn ignores_values_too_short_to_be_secrets() {
        let r = redactions(&["ab", ""]);
        assert_eq!(r.scrub("abc ab"), "abc ab");
        assert_eq!(format!("{r:?}"), "Redactions(0 values)");
    }

    #[test]
    fn keeps_text_around_multibyte_characters() {
        let r = redactions(&["kunci-rahasia"]);
        assert_eq!(r.scrub("é kunci-rahasia ✓"), "é <redacted> ✓");
    }

    #[test]
    fn debug_shows_no_value() {
        let r = redactions(&["sk-123456"]);
        assert!(!format!("{r:?}").contains("sk-123456"));
    }
}
