//! What a gateway's document says it accepts for a create, and which of its refusals prove that
//! nothing was created: declared by each gateway crate on its [`Capabilities`](crate::Capabilities),
//! read by anything choosing among gateways (`gerbang-router`) without knowing any gateway by name.

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

    /// The same, citing `source`.
    pub const fn source(mut self, source: &'static str) -> Self {
        self.source = source;
        self
    }

    /// `Ok` when `request` is within the limits, else why not (no value of the request but its
    /// amount, currency and channel, which are not personal).
    pub fn check(&self, request: &PaymentRequest) -> Result<(), String> {
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

/// A refusal a gateway answers with, as [`SafeRefusal`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Refusal {
    /// [`Error::RateLimited`]: a 429, or the client's own budget refusing to send.
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
