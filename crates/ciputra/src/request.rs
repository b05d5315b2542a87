//! The transaction call's body: its enums, its checks, and its form encoding.
//!
//! Field names, enum values and their meanings are those of the document's transaction table
//! (`seeds/004_627801bf8e050898.txt`); where it is vague, the Decisions below say what is sent.

use std::fmt;
use std::str::FromStr;

use gerbang_core::Error;
use time::Date;
use time::macros::format_description;

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

/// When the transaction expires: `exptype` with its `expval`.
///
/// ```
/// use gerbang_ciputra::Expiry;
/// use time::macros::date;
///
/// assert_eq!((Expiry::Days(3).exptype(), Expiry::Days(3).expval()), ("D", "3".to_owned()));
/// let date = Expiry::Date(date!(2026 - 12 - 31));
/// assert_eq!((date.exptype(), date.expval()), ("SD", "2026-12-31".to_owned()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expiry {
    /// `S`: this many seconds.
    Seconds(u32),
    /// `M`: this many minutes.
    Minutes(u32),
    /// `H`: this many hours.
    Hours(u32),
    /// `D`: this many days.
    Days(u32),
    /// `MN`: this many months.
    Months(u32),
    /// `SD`: on this date (sent `yyyy-MM-dd`).
    Date(Date),
}

impl Expiry {
    /// `exptype`: `S`, `M`, `H`, `D`, `MN` or `SD`.
    pub const fn exptype(&self) -> &'static str {
        match self {
            Self::Seconds(_) => "S",
            Self::Minutes(_) => "M",
            Self::Hours(_) => "H",
            Self::Days(_) => "D",
            Self::Months(_) => "MN",
            Self::Date(_) => "SD",
        }
    }

    /// `expval`: the number, or the date as `yyyy-MM-dd`.
    pub fn expval(&self) -> String {
        match self {
            Self::Seconds(n) | Self::Minutes(n) | Self::Hours(n) | Self::Days(n) | Self::Months(n) => n.to_string(),
            Self::Date(date) => {
                date.format(format_description!("[year]-[month]-[day]")).unwrap_or_else(|_| date.to_string())
            }
        }
    }

    /// The largest unit that divides `duration` exactly: `Days(1)` for 24 hours, `Minutes(90)`
    /// for an hour and a half, `Seconds(n)` otherwise. `None` past `u32::MAX` seconds.
    pub fn from_duration(duration: std::time::Duration) -> Option<Self> {
        let seconds = u32::try_from(duration.as_secs()).ok()?;
        Some(match seconds {
            s if s % 86_400 == 0 => Self::Days(s / 86_400),
            s if s % 3_600 == 0 => Self::Hours(s / 3_600),
            s if s % 60 == 0 => Self::Minutes(s / 60),
            s => Self::Seconds(s),
        })
    }
}

/// The transaction's description: up to three lines (`description.text_1` … `text_3`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Description {
    /// First line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_1: Option<String>,
    /// Second line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_2: Option<String>,
    /// Third line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_3: Option<String>,
}

impl Description {
    /// A description of one line.
    pub fn new(text_1: impl Into<String>) -> Self {
        Self { text_1: Some(text_1.into()), text_2: None, text_3: None }
    }

    /// Sets the second line.
    pub fn text_2(mut self, text: impl Into<String>) -> Self {
        self.text_2 = Some(text.into());
        self
    }

    /// Sets the third line.
    pub fn text_3(mut self, text: impl Into<String>) -> Self {
        self.text_3 = Some(text.into());
        self
    }
}

/// **Decision** (`PROVIDERS.md` §5): how the nested `description` object is sent in a form body.
/// The document shows it as a JSON object; its token's issuer (`"iss":"lumen-jwt"` in the
/// example JWT of `seeds/004_627801bf8e050898.txt`) is a PHP Lumen application, which reads
/// `description[text_1]=…` as that same nested object. So each line is its own field, keyed in
/// PHP's bracket notation (the brackets percent-encoded, as every form encoder does).
pub const DESCRIPTION_FIELDS: [&str; 3] = ["description[text_1]", "description[text_2]", "description[text_3]"];

/// A body of the transaction call: a charge, a cancellation or a registration.
///
/// Built with [`charge`](Self::charge), [`registration`](Self::registration) or
/// [`cancel`](Self::cancel) and the setters; [`validate`](Self::validate) checks it (the client
/// does, before sending). Its `Debug` hides the customer's e-mail and phone.
///
/// ```
/// use gerbang_ciputra::{Description, Expiry, NotificationTiming, PayCode, PayType, SendSwitch, TransactionRequest};
///
/// let request = TransactionRequest::charge("ECL00001", "Jhonny", 2_000_000, PayType::Ewallet, PayCode::Gopay)
///     .phone("080000022233")
///     .refno("0000000001")
///     .description(Description::new("Testing").text_2("Payment").text_3("Due 1"))
///     .expiry(Expiry::Days(3))
///     .send_email(SendSwitch::Off)
///     .notification_timing(NotificationTiming::After);
/// assert!(request.validate().is_ok());
/// assert!(TransactionRequest::charge("ECL00002", "Jhonny", 10_000, PayType::Va, PayCode::Gopay).validate().is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionRequest {
    /// `action`.
    pub action: Action,
    /// `paytype` (required for a charge and a registration).
    pub paytype: Option<PayType>,
    /// `paycode` (required for a charge and a registration).
    pub paycode: Option<PayCode>,
    /// `external_id`: the merchant's unique id for the transaction, which the status calls take.
    pub external_id: String,
    /// `name`: the customer's name (required for a charge and a registration).
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `phone`.
    pub phone: Option<String>,
    /// `refno`: the policy number.
    pub refno: Option<String>,
    /// `description`.
    pub description: Description,
    /// `amount`, whole rupiah (required for a charge).
    pub amount: Option<i64>,
    /// `exptype` and `expval`.
    pub expiry: Option<Expiry>,
    /// `redirect_url`.
    pub redirect_url: Option<String>,
    /// `callback_url`: where the gateway posts its callback.
    pub callback_url: Option<String>,
    /// `back_url`.
    pub back_url: Option<String>,
    /// `send_email`.
    pub send_email: Option<SendSwitch>,
    /// `send_sms`.
    pub send_sms: Option<SendSwitch>,
    /// `send_wa`.
    pub send_wa: Option<SendSwitch>,
    /// `notification_timing`.
    pub notification_timing: Option<NotificationTiming>,
}

macro_rules! text_setters {
    ($($(#[$meta:meta])* $name:ident;)+) => {
        $(
            $(#[$meta])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.$name = Some(value.into());
                self
            }
        )+
    };
}

impl TransactionRequest {
    fn new(action: Action, external_id: impl Into<String>) -> Self {
        Self {
            action,
            paytype: None,
            paycode: None,
            external_id: external_id.into(),
            name: None,
            email: None,
            phone: None,
            refno: None,
            description: Description::default(),
            amount: None,
            expiry: None,
            redirect_url: None,
            callback_url: None,
            back_url: None,
            send_email: None,
            send_sms: None,
            send_wa: None,
            notification_timing: None,
        }
    }

    /// `action=charge`: asks `name` to pay `amount` rupiah through `paytype`/`paycode`.
    pub fn charge(
        external_id: impl Into<String>,
        name: impl Into<String>,
        amount: i64,
        paytype: PayType,
        paycode: PayCode,
    ) -> Self {
        let mut request = Self::new(Action::Charge, external_id);
        request.name = Some(name.into());
        request.amount = Some(amount);
        request.paytype = Some(paytype);
        request.paycode = Some(paycode);
        request
    }

    /// `action=registration`: registers `name` for auto-debit through `paytype`/`paycode`
    /// (its outcome is read with
    /// [`registration_status`](crate::CiputraClient::registration_status)).
    pub fn registration(
        external_id: impl Into<String>,
        name: impl Into<String>,
        paytype: PayType,
        paycode: PayCode,
    ) -> Self {
        let mut request = Self::new(Action::Registration, external_id);
        request.name = Some(name.into());
        request.paytype = Some(paytype);
        request.paycode = Some(paycode);
        request
    }

    /// `action=cancel`: cancels the unpaid transaction `external_id`.
    ///
    /// **Decision** (`PROVIDERS.md` §5): the document lists one table for every action; a
    /// cancellation names the transaction by `external_id` alone, the key every other call
    /// uses, and sends nothing else.
    pub fn cancel(external_id: impl Into<String>) -> Self {
        Self::new(Action::Cancel, external_id)
    }

    text_setters! {
        /// Sets `email`.
        email;
        /// Sets `phone`.
        phone;
        /// Sets `refno`, the policy number.
        refno;
        /// Sets `redirect_url`.
        redirect_url;
        /// Sets `callback_url`.
        callback_url;
        /// Sets `back_url`.
        back_url;
    }

    /// Sets `description`.
    pub fn description(mut self, description: Description) -> Self {
        self.description = description;
        self
    }

    /// Sets `amount`, whole rupiah (for a registration, which does not need one).
    pub fn amount(mut self, rupiah: i64) -> Self {
        self.amount = Some(rupiah);
        self
    }

    /// Sets `exptype` and `expval`.
    pub fn expiry(mut self, expiry: Expiry) -> Self {
        self.expiry = Some(expiry);
        self
    }

    /// Sets `send_email`.
    pub fn send_email(mut self, switch: SendSwitch) -> Self {
        self.send_email = Some(switch);
        self
    }

    /// Sets `send_sms`.
    pub fn send_sms(mut self, switch: SendSwitch) -> Self {
        self.send_sms = Some(switch);
        self
    }

    /// Sets `send_wa`.
    pub fn send_wa(mut self, switch: SendSwitch) -> Self {
        self.send_wa = Some(switch);
        self
    }

    /// Sets `notification_timing`.
    pub fn notification_timing(mut self, timing: NotificationTiming) -> Self {
        self.notification_timing = Some(timing);
        self
    }

    /// Checks the request before it is sent: an `external_id` of 1 to 64 printable characters;
    /// for a charge or a registration a name, a paytype and a paycode that belongs to it
    /// ([`PayType::accepts`]); for a charge an amount above zero; an expiry value of at least 1;
    /// absolute http(s) URLs.
    pub fn validate(&self) -> Result<(), Error> {
        let id = &self.external_id;
        if id.trim().is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
            return Err(Error::validation("external_id", "expected 1 to 64 printable characters"));
        }
        if self.action != Action::Cancel {
            if self.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                return Err(Error::validation("name", "the customer's name is required"));
            }
            let paytype = self.paytype.ok_or_else(|| Error::validation("paytype", "is required"))?;
            let paycode = self.paycode.ok_or_else(|| Error::validation("paycode", "is required"))?;
            if !paytype.accepts(paycode) {
                return Err(Error::validation(
                    "paycode",
                    format!("{paycode} is not a channel of paytype {paytype}; see PayType::accepts"),
                ));
            }
        }
        match self.amount {
            None if self.action == Action::Charge => return Err(Error::validation("amount", "is required")),
            Some(n) if n <= 0 => return Err(Error::validation("amount", "must be more than zero")),
            _ => {}
        }
        if let Some(expiry) = &self.expiry
            && !matches!(expiry, Expiry::Date(_))
            && expiry.expval() == "0"
        {
            return Err(Error::validation("expval", "must be at least 1"));
        }
        for (field, url) in
            [("redirect_url", &self.redirect_url), ("callback_url", &self.callback_url), ("back_url", &self.back_url)]
        {
            if let Some(url) = url {
                let ok = url.starts_with("https://") || url.starts_with("http://");
                if !ok || url.chars().any(char::is_whitespace) {
                    return Err(Error::validation(field, "expected an absolute http:// or https:// URL"));
                }
            }
        }
        Ok(())
    }

    /// The fields as sent, in the document's order; unset optional fields are left out.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields: Vec<(&'static str, String)> = vec![("action", self.action.as_str().to_owned())];
        let mut push = |name: &'static str, value: Option<String>| {
            if let Some(value) = value {
                fields.push((name, value));
            }
        };
        push("paytype", self.paytype.map(|p| p.as_str().to_owned()));
        push("paycode", self.paycode.map(|p| p.as_str().to_owned()));
        push("external_id", Some(self.external_id.clone()));
        push("name", self.name.clone());
        push("email", self.email.clone());
        push("phone", self.phone.clone());
        push("refno", self.refno.clone());
        let d = &self.description;
        for (name, text) in DESCRIPTION_FIELDS.into_iter().zip([&d.text_1, &d.text_2, &d.text_3]) {
            push(name, text.clone());
        }
        push("amount", self.amount.map(|a| a.to_string()));
        push("exptype", self.expiry.map(|e| e.exptype().to_owned()));
        push("expval", self.expiry.map(|e| e.expval()));
        push("redirect_url", self.redirect_url.clone());
        push("callback_url", self.callback_url.clone());
        push("back_url", self.back_url.clone());
        push("send_email", self.send_email.map(|s| s.as_str().to_owned()));
        push("send_sms", self.send_sms.map(|s| s.as_str().to_owned()));
        push("send_wa", self.send_wa.map(|s| s.as_str().to_owned()));
        push("notification_timing", self.notification_timing.map(|n| n.as_str().to_owned()));
        fields
    }

    /// The body as sent: [`fields`](Self::fields), `application/x-www-form-urlencoded`.
    pub fn to_form(&self) -> String {
        form(&self.fields())
    }
}

/// `name=value&…`, form-encoded.
pub(crate) fn form(fields: &[(&str, String)]) -> String {
    // Encoding a list of string pairs cannot fail; an empty body is the harmless fallback.
    serde_urlencoded::to_string(fields).unwrap_or_default()
}

impl fmt::Debug for TransactionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("TransactionRequest")
            .field("action", &self.action)
            .field("paytype", &self.paytype)
            .field("paycode", &self.paycode)
            .field("external_id", &self.external_id)
            .field("name", &self.name)
            .field("email", &hidden(&self.email))
            .field("phone", &hidden(&self.phone))
            .field("refno", &self.refno)
            .field("description", &self.description)
            .field("amount", &self.amount)
            .field("expiry", &self.expiry)
            .field("callback_url", &self.callback_url)
            .finish_non_exhaustive()
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

    #[test]
    fn durations_become_the_largest_exact_unit() {
        use std::time::Duration;
        assert_eq!(Expiry::from_duration(Duration::from_secs(3 * 86_400)), Some(Expiry::Days(3)));
        assert_eq!(Expiry::from_duration(Duration::from_secs(7_200)), Some(Expiry::Hours(2)));
        assert_eq!(Expiry::from_duration(Duration::from_secs(5_400)), Some(Expiry::Minutes(90)));
        assert_eq!(Expiry::from_duration(Duration::from_secs(61)), Some(Expiry::Seconds(61)));
        assert_eq!(Expiry::from_duration(Duration::from_secs(u64::MAX)), None);
    }

    #[test]
    fn a_zero_expiry_or_a_relative_url_is_refused() {
        let base = || TransactionRequest::charge("E-1", "Budi", 10_000, PayType::Qris, PayCode::All);
        let field = |r: Result<(), Error>| match r {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(base().expiry(Expiry::Hours(0)).validate()), "expval");
        assert_eq!(field(base().callback_url("/hook").validate()), "callback_url");
        assert_eq!(field(base().amount(0).validate()), "amount");
        assert_eq!(field(TransactionRequest::cancel(" ").validate()), "external_id");
        assert!(TransactionRequest::cancel("E-1").validate().is_ok());
    }
}
