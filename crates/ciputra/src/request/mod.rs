//! The transaction call's body: its enums, its checks, and its form encoding.
//!
//! Field names, enum values and their meanings are those of the document's transaction table
//! (`seeds/004_627801bf8e050898.txt`); where it is vague, the Decisions below say what is sent.
//! The codes are in `codes`, the expiry in `expiry`, the description in `description`; the
//! body itself, its checks and its encoding here.

mod codes;
mod description;
mod expiry;

use std::fmt;

use gerbang_core::Error;

pub use codes::{Action, NotificationTiming, PayCode, PayType, SendSwitch};
pub use description::{DESCRIPTION_FIELDS, Description};
pub use expiry::Expiry;

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
