//! Lenient readers for the values the QRIS document types loosely.
//!
//! The document (`seeds/002_70371d71cc9c4025.txt`) shows amounts as JSON numbers
//! (`"amount": 10000`) and two ways of writing a time: a bare `2025-01-01 12:00:00` for invoices
//! and RFC 3339 `2025-01-15T10:30:00.000Z` for withdrawals. These readers take an amount as a
//! number or a string of one, and either kind of time, and `null` as absent, so that a change of
//! JSON type never breaks parsing. They also read what this crate's types serialise to
//! (`{"value":"10000","currency":"IDR"}`, RFC 3339), so that a stored value reads back.

use std::fmt;

use gerbang_core::de::parse_decimal;
pub(crate) use gerbang_core::de::{string_opt, u64_opt};
use gerbang_core::{Currency, Money};
use rust_decimal::Decimal;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// **Decision** (`PROVIDERS.md` §3): the invoice times of the document (`"expired_at":
/// "2025-01-01 12:00:00"`) carry no offset; they are read as Jakarta time (UTC+07:00), the
/// time an Indonesian gateway writes. RFC 3339 with an offset (the withdrawal times) is read as
/// written. A time in neither form is left out (`None`) rather than failing a call whose invoice
/// or withdrawal was made.
pub fn read_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    gerbang_signing::jakarta::parse_local_datetime(text).ok().or_else(|| OffsetDateTime::parse(text, &Rfc3339).ok())
}

/// Whole rupiah, required.
pub(crate) fn idr<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
    idr_opt(d)?.ok_or_else(|| de::Error::custom("expected an amount of rupiah, found null"))
}

/// Whole rupiah, `None` when `null` or absent (with `#[serde(default)]`).
pub(crate) fn idr_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Money>, D::Error> {
    d.deserialize_any(MoneyVisitor)
}

/// A time in either of the document's forms; `None` when null, absent or unreadable.
pub(crate) fn time_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.as_deref().and_then(read_time))
}

/// Text from a JSON string or number, required.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    string_opt(d)?.ok_or_else(|| de::Error::custom("expected a string, found null"))
}

fn whole_rupiah<E: de::Error>(value: Decimal) -> Result<Option<Money>, E> {
    Money::new(value, Currency::IDR)
        .map(Some)
        .map_err(|_| E::custom("expected a whole number of rupiah, found a fraction"))
}

struct MoneyVisitor;

impl<'de> Visitor<'de> for MoneyVisitor {
    type Value = Option<Money>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount of rupiah as a number, a string, or {\"value\",\"currency\":\"IDR\"}")
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
        whole_rupiah(Decimal::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        whole_rupiah(Decimal::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // The shortest text that reads back as the same float (`10000` for 10000.0).
        let value = parse_decimal(&v.to_string()).ok_or_else(|| E::custom("a number too large for an amount"))?;
        whole_rupiah(value)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        let value = parse_decimal(v).ok_or_else(|| E::invalid_value(de::Unexpected::Other("text"), &self))?;
        whole_rupiah(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        // This crate's own serialised form, so that a stored value reads back.
        let money = Money::deserialize(de::value::MapAccessDeserializer::new(map))?;
        if money.currency() != &Currency::IDR {
            return Err(de::Error::custom("expected an amount in IDR"));
        }
        Ok(Some(money))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Amounts {
        #[serde(deserialize_with = "idr")]
        a: Money,
        #[serde(default, deserialize_with = "idr_opt")]
        b: Option<Money>,
    }

    #[test]
    fn amounts_read_from_numbers_strings_and_our_own_shape() {
        for text in [
            r#"{"a":10000,"b":"123"}"#,
            r#"{"a":"10000","b":123.0}"#,
            r#"{"a":{"value":"10000","currency":"IDR"},"b":{"value":"123","currency":"IDR"}}"#,
        ] {
            let read: Amounts = serde_json::from_str(text).unwrap();
            assert_eq!(read.a, Money::idr(10_000), "{text}");
            assert_eq!(read.b, Some(Money::idr(123)), "{text}");
        }
        let read: Amounts = serde_json::from_str(r#"{"a":1,"b":null}"#).unwrap();
        assert_eq!(read.b, None);
        for bad in [r#"{"a":100.5}"#, r#"{"a":"lots"}"#, r#"{"a":null}"#, r#"{"a":{"value":"1","currency":"USD"}}"#] {
            assert!(serde_json::from_str::<Amounts>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_read_as_jakarta_or_rfc3339() {
        assert_eq!(read_time("2025-01-01 12:00:00").unwrap().unix_timestamp(), 1_735_707_600);
        assert_eq!(read_time("2025-01-15T10:30:00.000Z").unwrap().unix_timestamp(), 1_736_937_000);
        assert_eq!(read_time("2025-01-01T12:00:00+07:00"), read_time("2025-01-01 12:00:00"));
        assert_eq!(read_time("besok"), None);
    }
}
