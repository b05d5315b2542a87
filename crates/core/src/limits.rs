//! What a gateway's document says it accepts for a create, and which of its refusals prove that
//! nothing was created: declared by each gateway crate on its [`Capabilities`](crate::Capabilities),
//! read by anything choosing among gateways (`gerbang-router`) without knowing any gateway by name.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::{Channel, Error, PaymentRequest};

/// A [`Channel`] without its bank, wallet or outlet: what a gateway's limits and a routing rule
/// name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChannelKind {
    /// [`Channel::Qris`].
    Qris,
    /// [`Channel::VirtualAccount`], any bank.
    VirtualAccount,
    /// [`Channel::EWallet`], any wallet.
    EWallet,
    /// [`Channel::CreditCard`].
    CreditCard,
    /// [`Channel::Retail`], any outlet.
    Retail,
    /// [`Channel::Crypto`].
    Crypto,
    /// [`Channel::Other`]: a gateway's own code.
    Other,
}

impl Channel {
    /// Which kind of channel this is.
    ///
    /// ```
    /// use gerbang_core::{Bank, Channel, ChannelKind};
    /// assert_eq!(Channel::VirtualAccount(Bank::Bca).kind(), ChannelKind::VirtualAccount);
    /// ```
    pub fn kind(&self) -> ChannelKind {
        match self {
            Self::Qris => ChannelKind::Qris,
            Self::VirtualAccount(_) => ChannelKind::VirtualAccount,
            Self::EWallet(_) => ChannelKind::EWallet,
            Self::CreditCard => ChannelKind::CreditCard,
            Self::Retail(_) => ChannelKind::Retail,
            Self::Crypto => ChannelKind::Crypto,
            Self::Other(_) => ChannelKind::Other,
        }
    }
}

/// The limits a gateway's document sets on a create: a request outside them is refused by the
/// gateway crate before anything is sent, so a router skips that gateway without calling it.
/// `None` and empty mean "no documented limit".
///
/// ```
/// use gerbang_core::{ChannelKind, CreateLimits, Money, PaymentRequest};
/// const LIMITS: CreateLimits = CreateLimits::none()
///     .currencies(&["IDR"])
///     .whole_amount_between(10_000, 10_000_000)
///     .channels(&[ChannelKind::Qris, ChannelKind::VirtualAccount], true)
///     .source("seeds/000: deposit_create");
/// let small = PaymentRequest::builder("A-1", Money::idr(5_000)).channel("qris".parse().unwrap()).build().unwrap();
/// assert!(LIMITS.check(&small).unwrap_err().contains("10000"));
/// let ok = PaymentRequest::builder("A-2", Money::idr(50_000)).channel("qris".parse().unwrap()).build().unwrap();
/// assert!(LIMITS.check(&ok).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CreateLimits {
    /// The currencies taken (ISO codes); empty: any.
    pub currencies: &'static [&'static str],
    /// The smallest amount, in whole units of the currency.
    pub min_whole_amount: Option<i64>,
    /// The largest amount, in whole units of the currency.
    pub max_whole_amount: Option<i64>,
    /// The channels offered; empty: any (the gateway crate refuses what it cannot map).
    pub channels: &'static [ChannelKind],
    /// Whether a request without a channel is refused.
    pub channel_required: bool,
    /// The optional fields of a [`PaymentRequest`] the gateway has no place for: set, it refuses
    /// the request ([`Error::Validation`]) rather than drop them. A router gives the gateway the
    /// request without them ([`CreateLimits::without_refused`]).
    pub refused_fields: &'static [Field],
    /// The fields the gateway requires: each entry is satisfied by any one of its fields
    /// (`[SuccessUrl, ReturnUrl]`: a success page, or a return page standing in for it).
    pub required_fields: &'static [&'static [Field]],
    /// Where the limits come from (the seed document and its section).
    pub source: &'static str,
}

impl CreateLimits {
    /// No documented limit.
    pub const fn none() -> Self {
        Self {
            currencies: &[],
            min_whole_amount: None,
            max_whole_amount: None,
            channels: &[],
            channel_required: false,
            refused_fields: &[],
            required_fields: &[],
            source: "",
        }
    }

    /// The same, taking only `currencies`.
    pub const fn currencies(mut self, currencies: &'static [&'static str]) -> Self {
        self.currencies = currencies;
        self
    }

    /// The same, taking amounts from `min` to `max` whole units, both included.
    pub const fn whole_amount_between(mut self, min: i64, max: i64) -> Self {
        self.min_whole_amount = Some(min);
        self.max_whole_amount = Some(max);
        self
    }

    /// The same, offering only `channels`, and refusing a request without one when `required`.
    pub const fn channels(mut self, channels: &'static [ChannelKind], required: bool) -> Self {
        self.channels = channels;
        self.channel_required = required;
        self
    }

    /// The same, refusing `fields` when they are set.
    pub const fn refuses(mut self, fields: &'static [Field]) -> Self {
        self.refused_fields = fields;
        self
    }

    /// The same, requiring one field of each entry of `fields`.
    pub const fn requires(mut self, fields: &'static [&'static [Field]]) -> Self {
        self.required_fields = fields;
        self
    }

    /// The same, citing `source`.
    pub const fn source(mut self, source: &'static str) -> Self {
        self.source = source;
        self
    }

    /// `Ok` when `request` is within the limits and holds every field the gateway requires, else
    /// why not (no value of the request but its amount, currency and channel, which are not
    /// personal). Fields the gateway refuses are not checked here: see
    /// [`without_refused`](Self::without_refused).
    pub fn check(&self, request: &PaymentRequest) -> Result<(), String> {
        if let Some(missing) = self.required_fields.iter().find(|any| !any.iter().any(|f| f.is_set(request))) {
            let names: Vec<&str> = missing.iter().map(|f| f.as_str()).collect();
            return Err(format!("requires {}", names.join(" or ")));
        }
        let currency = request.amount.currency().as_str();
        if !self.currencies.is_empty() && !self.currencies.contains(&currency) {
            return Err(format!("takes {} only, not {currency}", self.currencies.join(", ")));
        }
        let value = request.amount.value();
        if let Some(min) = self.min_whole_amount
            && value < crate::Decimal::from(min)
        {
            return Err(format!("takes amounts from {min}; {value} is below"));
        }
        if let Some(max) = self.max_whole_amount
            && value > crate::Decimal::from(max)
        {
            return Err(format!("takes amounts up to {max}; {value} is above"));
        }
        match &request.channel {
            None if self.channel_required => Err("requires a channel".to_owned()),
            Some(channel) if !self.channels.is_empty() && !self.channels.contains(&channel.kind()) => {
                Err(format!("does not offer {:?} channels", channel.kind()))
            }
            _ => Ok(()),
        }
    }
}

/// The optional fields of a [`PaymentRequest`] a gateway may refuse or require: named in
/// [`CreateLimits`], and as [`Error::Validation`] names them (`customer.phone`, `return_url`).
///
/// ```
/// use gerbang_core::{Field, Money, PaymentRequest};
/// let request = PaymentRequest::builder("A-1", Money::idr(50_000)).customer_phone("081234567890").build().unwrap();
/// assert!(Field::CustomerPhone.is_set(&request));
/// assert_eq!(Field::CustomerPhone.to_string(), "customer.phone");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// [`Customer::name`](crate::Customer::name).
    CustomerName,
    /// [`Customer::email`](crate::Customer::email).
    CustomerEmail,
    /// [`Customer::phone`](crate::Customer::phone).
    CustomerPhone,
    /// [`Customer::id`](crate::Customer::id).
    CustomerId,
    /// [`PaymentRequest::description`].
    Description,
    /// [`PaymentRequest::success_url`].
    SuccessUrl,
    /// [`PaymentRequest::cancel_url`].
    CancelUrl,
    /// [`PaymentRequest::return_url`].
    ReturnUrl,
    /// [`PaymentRequest::callback_url`].
    CallbackUrl,
    /// [`PaymentRequest::expires_in`].
    ExpiresIn,
}

impl Field {
    /// Every field.
    pub const ALL: [Self; 10] = [
        Self::CustomerName,
        Self::CustomerEmail,
        Self::CustomerPhone,
        Self::CustomerId,
        Self::Description,
        Self::SuccessUrl,
        Self::CancelUrl,
        Self::ReturnUrl,
        Self::CallbackUrl,
        Self::ExpiresIn,
    ];

    /// The name [`Error::Validation`] gives it: `customer.name`, `success_url`, …
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CustomerName => "customer.name",
            Self::CustomerEmail => "customer.email",
            Self::CustomerPhone => "customer.phone",
            Self::CustomerId => "customer.id",
            Self::Description => "description",
            Self::SuccessUrl => "success_url",
            Self::CancelUrl => "cancel_url",
            Self::ReturnUrl => "return_url",
            Self::CallbackUrl => "callback_url",
            Self::ExpiresIn => "expires_in",
        }
    }

    /// Whether `request` sets it.
    pub fn is_set(self, request: &PaymentRequest) -> bool {
        let customer = &request.customer;
        match self {
            Self::CustomerName => customer.name.is_some(),
            Self::CustomerEmail => customer.email.is_some(),
            Self::CustomerPhone => customer.phone.is_some(),
            Self::CustomerId => customer.id.is_some(),
            Self::Description => request.description.is_some(),
            Self::SuccessUrl => request.success_url.is_some(),
            Self::CancelUrl => request.cancel_url.is_some(),
            Self::ReturnUrl => request.return_url.is_some(),
            Self::CallbackUrl => request.callback_url.is_some(),
            Self::ExpiresIn => request.expires_in.is_some(),
        }
    }

    fn clear(self, request: &mut PaymentRequest) {
        let customer = &mut request.customer;
        match self {
            Self::CustomerName => customer.name = None,
            Self::CustomerEmail => customer.email = None,
            Self::CustomerPhone => customer.phone = None,
            Self::CustomerId => customer.id = None,
            Self::Description => request.description = None,
            Self::SuccessUrl => request.success_url = None,
            Self::CancelUrl => request.cancel_url = None,
            Self::ReturnUrl => request.return_url = None,
            Self::CallbackUrl => request.callback_url = None,
            Self::ExpiresIn => request.expires_in = None,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl CreateLimits {
    /// `request` without the fields the gateway refuses, and which were left out (in
    /// [`Field::ALL`]'s order); the request itself, borrowed, when it sets none of them.
    ///
    /// ```
    /// use gerbang_core::{CreateLimits, Field, Money, PaymentRequest};
    /// const LIMITS: CreateLimits = CreateLimits::none().refuses(&[Field::CallbackUrl, Field::Description]);
    /// let request = PaymentRequest::builder("A-1", Money::idr(50_000))
    ///     .callback_url("https://shop.example/hook")
    ///     .build()
    ///     .unwrap();
    /// let (taken, left_out) = LIMITS.without_refused(&request);
    /// assert_eq!(left_out, [Field::CallbackUrl]);
    /// assert!(taken.callback_url.is_none());
    /// ```
    pub fn without_refused<'a>(&self, request: &'a PaymentRequest) -> (Cow<'a, PaymentRequest>, Vec<Field>) {
        let left_out: Vec<Field> =
            Field::ALL.into_iter().filter(|f| self.refused_fields.contains(f) && f.is_set(request)).collect();
        if left_out.is_empty() {
            return (Cow::Borrowed(request), left_out);
        }
        let mut taken = request.clone();
        for field in &left_out {
            field.clear(&mut taken);
        }
        (Cow::Owned(taken), left_out)
    }
}

/// A refusal a gateway answers with, as [`SafeRefusal`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Refusal {
    /// [`Error::RateLimited`]: the gateway answered 429. (The client's own budget refusing to send,
    /// [`Error::BudgetSpent`], sent nothing: a router always fails over on it, table or not.)
    RateLimited,
    /// [`Error::Unauthorized`]: 401 or 403, credentials or signature refused.
    Unauthorized,
    /// [`Error::Api`] with this HTTP status.
    Status(u16),
}

impl Refusal {
    /// Whether `error` is this refusal.
    pub fn matches(self, error: &Error) -> bool {
        match (self, error) {
            (Self::RateLimited, Error::RateLimited { .. }) => true,
            (Self::Unauthorized, Error::Unauthorized { .. }) => true,
            (Self::Status(s), Error::Api { status: Some(got), .. }) => s == *got,
            _ => false,
        }
    }
}

/// One row of a gateway's table of refusals after which its document says no payment exists:
/// a router may then try another gateway without risking two payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SafeRefusal {
    /// The refusal.
    pub refusal: Refusal,
    /// The document and the words that say it creates nothing.
    pub source: &'static str,
}

impl SafeRefusal {
    /// A row: `refusal`, because of `source`.
    pub const fn new(refusal: Refusal, source: &'static str) -> Self {
        Self { refusal, source }
    }
}
