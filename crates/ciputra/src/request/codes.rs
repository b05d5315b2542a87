//! The closed enums of the transaction call's codes (`action`, `paytype`, `paycode`,
//! `notification_timing`), which paycode goes with which paytype, and the send switches.
//!
//! Values and meanings are the document's transaction table (`seeds/004_627801bf8e050898.txt`).

use std::fmt;
use std::str::FromStr;

use gerbang_core::Error;

/// Declares a closed enum of wire codes with `as_str`, `Display` and `FromStr` (case-insensitive).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the document's order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            #[doc = concat!("The `", $what, "` code as sent.")]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                let lower = s.trim().to_ascii_lowercase();
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(&lower)).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    Error::validation($what, format!("expected one of {}", known.join(", ")))
                })
            }
        }
    };
}

wire_enum! {
    /// What the transaction call does (`action`).
    Action, "action" {
        /// Asks the customer to pay.
        Charge = "charge",
        /// Cancels an unpaid transaction.
        Cancel = "cancel",
        /// Registers the customer for auto-debit.
        Registration = "registration",
    }
}

wire_enum! {
    /// The kind of payment (`paytype`).
    PayType, "paytype" {
        /// Every kind: the cashier page offers them all.
        All = "all",
        /// Bank virtual account.
        Va = "va",
        /// Credit card.
        Cc = "cc",
        /// Internet banking.
        Ib = "ib",
        /// E-wallet.
        Ewallet = "ewallet",
        /// Over the counter, at a retail outlet.
        Otc = "otc",
        /// QRIS.
        Qris = "qris",
    }
}

wire_enum! {
    /// The payment channel within its [`PayType`] (`paycode`).
    PayCode, "paycode" {
        /// Every channel of the pay type.
        All = "all",
        /// Bank BCA.
        Bca = "bca",
        /// Bank BNI.
        Bni = "bni",
        /// Bank Permata.
        Permata = "permata",
        /// Bank BRI.
        Bri = "bri",
        /// Bank Mandiri.
        Mandiri = "mandiri",
        /// Credit card.
        CreditCard = "credit_card",
        /// Bank CIMB Niaga.
        CimbNiaga = "cimb_niaga",
        /// Jenius (Bank BTPN).
        Jenius = "jenius",
        /// GoPay.
        Gopay = "gopay",
        /// OVO.
        Ovo = "ovo",
        /// DANA.
        Dana = "dana",
        /// Alfamart.
        Alfamart = "alfamart",
        /// Indomaret.
        Indomaret = "indomaret",
    }
}

wire_enum! {
    /// When the customer is notified (`notification_timing`).
    NotificationTiming, "notification_timing" {
        /// Before the transaction expires.
        Before = "before",
        /// After payment.
        After = "after",
        /// Both.
        BeforeAfter = "before_after",
    }
}

impl PayType {
    /// Whether `code` is a channel of this pay type: the one place that says which paycode
    /// belongs to which paytype.
    ///
    /// The document (`seeds/004_627801bf8e050898.txt`) lists both enums without pairing them;
    /// **Decision**, from what each code names: `all` goes with every pay type and every code
    /// goes with `all`; banks (`bca`, `bni`, `permata`, `bri`, `mandiri`, `cimb_niaga`,
    /// `jenius`) with `va` and `ib`; `credit_card` with `cc`; `gopay`, `ovo`, `dana` with
    /// `ewallet`; `alfamart`, `indomaret` with `otc`; `qris` takes `all` only (any app pays a
    /// QRIS code).
    ///
    /// ```
    /// use gerbang_ciputra::{PayCode, PayType};
    /// assert!(PayType::Ewallet.accepts(PayCode::Gopay));
    /// assert!(!PayType::Va.accepts(PayCode::Gopay));
    /// ```
    pub const fn accepts(self, code: PayCode) -> bool {
        use PayCode as C;
        matches!(
            (self, code),
            (Self::All, _)
                | (_, C::All)
                | (Self::Va | Self::Ib, C::Bca | C::Bni | C::Permata | C::Bri | C::Mandiri | C::CimbNiaga | C::Jenius)
                | (Self::Cc, C::CreditCard)
                | (Self::Ewallet, C::Gopay | C::Ovo | C::Dana)
                | (Self::Otc, C::Alfamart | C::Indomaret)
        )
    }
}

/// Whether the gateway sends the payment information by e-mail, SMS or WhatsApp
/// (`send_email`, `send_sms`, `send_wa`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SendSwitch {
    /// The merchant's default setup: sent blank (`""`).
    #[default]
    Default,
    /// Don't send (`0`).
    Off,
    /// Send (`1`).
    On,
}

impl SendSwitch {
    /// The value as sent: `""`, `0` or `1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Default => "",
            Self::Off => "0",
            Self::On => "1",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_paytype_accepts_all_and_only_its_own_codes() {
        for &paytype in PayType::ALL {
            assert!(paytype.accepts(PayCode::All), "{paytype}");
        }
        for &code in PayCode::ALL {
            assert!(PayType::All.accepts(code), "{code}");
        }
        assert!(PayType::Va.accepts(PayCode::Bca) && PayType::Ib.accepts(PayCode::Jenius));
        assert!(PayType::Otc.accepts(PayCode::Alfamart) && !PayType::Otc.accepts(PayCode::Ovo));
        assert!(PayType::Cc.accepts(PayCode::CreditCard) && !PayType::Cc.accepts(PayCode::Bca));
        assert!(!PayType::Qris.accepts(PayCode::Gopay) && !PayType::Ewallet.accepts(PayCode::Mandiri));
    }

    #[test]
    fn codes_parse_case_insensitively_and_name_the_field_when_unknown() {
        assert_eq!("CIMB_NIAGA".parse::<PayCode>().unwrap(), PayCode::CimbNiaga);
        assert_eq!("before_after".parse::<NotificationTiming>().unwrap(), NotificationTiming::BeforeAfter);
        let err = "shopeepay".parse::<PayCode>().unwrap_err();
        assert!(matches!(&err, Error::Validation { field, reason } if field == "paycode" && reason.contains("gopay")));
    }
}
