//! Payment channels, normalised across gateways.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// Declares a lowercase code enum with named variants and an `Other(String)` for the rest.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// Any other code, lower case, as given.
            Other(String),
        }

        impl $name {
            /// The lowercase code (`bca`, `gopay`, …).
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $code,)+
                    Self::Other(code) => code,
                }
            }

            /// From a code, case-insensitively; unknown codes become `Other`.
            pub fn from_code(code: &str) -> Self {
                let lower = code.trim().to_ascii_lowercase();
                match lower.as_str() {
                    $($code => Self::$variant,)+
                    _ => Self::Other(lower),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum! {
    /// A bank issuing virtual accounts.
    Bank {
        /// Bank Central Asia.
        Bca = "bca",
        /// Bank Negara Indonesia.
        Bni = "bni",
        /// Bank Rakyat Indonesia.
        Bri = "bri",
        /// Bank Mandiri.
        Mandiri = "mandiri",
        /// Bank Permata.
        Permata = "permata",
        /// CIMB Niaga.
        CimbNiaga = "cimb_niaga",
    }
}

code_enum! {
    /// An e-wallet.
    EWallet {
        /// GoPay.
        Gopay = "gopay",
        /// OVO.
        Ovo = "ovo",
        /// DANA.
        Dana = "dana",
        /// ShopeePay.
        ShopeePay = "shopeepay",
        /// LinkAja.
        LinkAja = "linkaja",
    }
}

code_enum! {
    /// An over-the-counter retail outlet.
    Retail {
        /// Alfamart.
        Alfamart = "alfamart",
        /// Indomaret.
        Indomaret = "indomaret",
    }
}

/// How the customer pays.
///
/// Written as on the command line: `qris`, `va:<bank>`, `ewallet:<name>`, `retail:<name>`,
/// `card`, `crypto`, or anything else as a gateway's own channel code.
///
/// ```
/// use gerbang_core::{Bank, Channel};
/// let va: Channel = "va:bca".parse().unwrap();
/// assert_eq!(va, Channel::VirtualAccount(Bank::Bca));
/// assert_eq!(va.to_string(), "va:bca");
/// assert_eq!("QRIS2".parse::<Channel>().unwrap(), Channel::Other("QRIS2".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channel {
    /// QRIS, the national QR standard.
    Qris,
    /// A bank virtual account.
    VirtualAccount(Bank),
    /// An e-wallet.
    EWallet(EWallet),
    /// A credit or debit card.
    CreditCard,
    /// Cash at a retail outlet.
    Retail(Retail),
    /// A crypto-currency.
    Crypto,
    /// A gateway's own channel code, passed through unchanged.
    Other(String),
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Qris => f.write_str("qris"),
            Self::VirtualAccount(bank) => write!(f, "va:{bank}"),
            Self::EWallet(wallet) => write!(f, "ewallet:{wallet}"),
            Self::CreditCard => f.write_str("card"),
            Self::Retail(outlet) => write!(f, "retail:{outlet}"),
            Self::Crypto => f.write_str("crypto"),
            Self::Other(code) => f.write_str(code),
        }
    }
}

impl FromStr for Channel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::validation(
                "channel",
                "empty; expected qris, va:<bank>, ewallet:<name>, retail:<name>, card, crypto or a gateway code",
            ));
        }
        let lower = s.to_ascii_lowercase();
        let named = |rest: &str| {
            if rest.is_empty() {
                Err(Error::validation("channel", format!("`{s}` names no bank, wallet or outlet after the colon")))
            } else {
                Ok(rest.to_owned())
            }
        };
        Ok(match lower.split_once(':') {
            Some(("va", rest)) => Self::VirtualAccount(Bank::from_code(&named(rest)?)),
            Some(("ewallet", rest)) => Self::EWallet(EWallet::from_code(&named(rest)?)),
            Some(("retail", rest)) => Self::Retail(Retail::from_code(&named(rest)?)),
            _ => match lower.as_str() {
                "qris" => Self::Qris,
                "card" => Self::CreditCard,
                "crypto" => Self::Crypto,
                _ => Self::Other(s.to_owned()),
            },
        })
    }
}

impl Serialize for Channel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_form_round_trips() {
        for text in [
            "qris",
            "va:bca",
            "va:cimb_niaga",
            "ewallet:gopay",
            "retail:alfamart",
            "card",
            "crypto",
            "va:seabank",
            "BCA",
        ] {
            let channel: Channel = text.parse().unwrap();
            assert_eq!(channel.to_string(), text);
        }
    }

    #[test]
    fn a_prefix_without_a_name_is_refused() {
        assert!(matches!("va:".parse::<Channel>(), Err(Error::Validation { .. })));
        assert!(matches!("".parse::<Channel>(), Err(Error::Validation { .. })));
    }
}
