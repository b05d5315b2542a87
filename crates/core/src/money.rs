//! Amounts: a decimal value and its currency. Never a float.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A currency code: ISO 4217 for fiat (`IDR`, `USD`), or a coin code (`USDT`, `BTC`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(Cow<'static, str>);

impl Currency {
    /// Indonesian rupiah. Amounts in IDR are whole rupiah.
    pub const IDR: Self = Self(Cow::Borrowed("IDR"));
    /// US dollar.
    pub const USD: Self = Self(Cow::Borrowed("USD"));

    /// A currency from its code: 2 to 10 ASCII letters or digits, upper-cased.
    ///
    /// ```
    /// # use gerbang_core::Currency;
    /// assert_eq!(Currency::new("idr").unwrap(), Currency::IDR);
    /// assert!(Currency::new("rupiah!").is_err());
    /// ```
    pub fn new(code: &str) -> Result<Self, Error> {
        let ok = (2..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err(Error::validation(
                "currency",
                "expected a code of 2 to 10 letters or digits, such as IDR or USDT",
            ));
        }
        Ok(match code.to_ascii_uppercase().as_str() {
            "IDR" => Self::IDR,
            "USD" => Self::USD,
            other => Self(Cow::Owned(other.to_owned())),
        })
    }

    /// The code, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

/// An amount of money: a decimal value and its currency.
///
/// IDR has no minor unit in practice: every gateway here takes whole rupiah, so an IDR amount is
/// kept as a whole number (`4000.00` from a gateway becomes `4000`) and a fractional one is refused.
///
/// ```
/// use gerbang_core::{Currency, Money};
/// use rust_decimal::Decimal;
///
/// let ten_thousand = Money::idr(10_000);
/// assert_eq!(ten_thousand.to_string(), "10000 IDR");
/// assert!(Money::new(Decimal::new(10_050, 2), Currency::IDR).is_err()); // 100.50 rupiah
/// let usd = Money::new(Decimal::new(72_550, 2), Currency::USD).unwrap();
/// assert_eq!(usd.value().to_string(), "725.50");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Money {
    value: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount in `currency`. IDR must be whole rupiah (trailing zero decimals are dropped).
    pub fn new(value: Decimal, currency: Currency) -> Result<Self, Error> {
        if currency == Currency::IDR {
            if !value.fract().is_zero() {
                return Err(Error::validation("amount", "IDR amounts are whole rupiah; fractions are not accepted"));
            }
            return Ok(Self { value: value.trunc(), currency });
        }
        Ok(Self { value, currency })
    }

    /// Whole rupiah.
    pub fn idr(rupiah: i64) -> Self {
        Self { value: Decimal::from(rupiah), currency: Currency::IDR }
    }

    /// The decimal value.
    pub fn value(&self) -> Decimal {
        self.value
    }

    /// The currency.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The value as whole units of the currency, when it is one (IDR always is).
    pub fn whole_units(&self) -> Option<i64> {
        if self.value.fract().is_zero() { i64::try_from(self.value.trunc()).ok() } else { None }
    }

    /// Whole rupiah, or [`Error::Validation`] on `field` for another currency or a fraction.
    pub fn require_whole_idr(&self, field: &str) -> Result<i64, Error> {
        if self.currency != Currency::IDR {
            return Err(Error::validation(field, format!("this gateway takes IDR only, not {}", self.currency)));
        }
        self.whole_units().ok_or_else(|| Error::validation(field, "amount is out of range"))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `{"value":"10000","currency":"IDR"}`: the value is a decimal string so no float ever sees it.
#[derive(Serialize, Deserialize)]
struct MoneyWire {
    value: String,
    currency: String,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MoneyWire { value: self.value.to_string(), currency: self.currency.as_str().to_owned() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let wire = MoneyWire::deserialize(d)?;
        let value =
            Decimal::from_str_exact(&wire.value).map_err(|_| D::Error::custom("money value is not a decimal"))?;
        let currency = Currency::new(&wire.currency).map_err(D::Error::custom)?;
        Money::new(value, currency).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idr_drops_trailing_zero_decimals() {
        let m = Money::new(Decimal::new(400_000, 2), Currency::IDR).unwrap();
        assert_eq!(m.value().to_string(), "4000");
        assert_eq!(m.whole_units(), Some(4000));
    }

    #[test]
    fn serialises_value_as_decimal_string_and_round_trips() {
        let m = Money::new(Decimal::from_str_exact("0.000000000000000001").unwrap(), Currency::new("btc").unwrap())
            .unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"value":"0.000000000000000001","currency":"BTC"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }

    #[test]
    fn require_whole_idr_refuses_other_currencies() {
        let usd = Money::new(Decimal::from(5), Currency::USD).unwrap();
        assert!(matches!(usd.require_whole_idr("amount"), Err(Error::Validation { .. })));
        assert_eq!(Money::idr(10_000).require_whole_idr("amount").unwrap(), 10_000);
    }
}
