//! Which gateways a request may go to, in which order.

use gerbang_core::{ChannelKind, Decimal, PaymentRequest, ProviderId};

/// A routing rule: the gateways to try, in order, for requests of a channel, a currency and an
/// amount range (each optional: unset matches any). The first rule that matches a request gives
/// its candidates.
///
/// ```
/// use gerbang_core::{ChannelKind, Decimal, ProviderId};
/// use gerbang_router::Rule;
/// // QRIS payments up to 10 million rupiah: Cuan10pay first, the QRIS gateway next.
/// let rule = Rule::new([ProviderId::Cuan10pay, ProviderId::Qris])
///     .channel(ChannelKind::Qris)
///     .currency("IDR")
///     .amount_between(Decimal::from(1), Decimal::from(10_000_000));
/// # let _ = rule;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    candidates: Vec<ProviderId>,
    channel: Option<ChannelKind>,
    currency: Option<String>,
    min: Option<Decimal>,
    max: Option<Decimal>,
}

impl Rule {
    /// Any request, to `candidates` in this order.
    pub fn new(candidates: impl IntoIterator<Item = ProviderId>) -> Self {
        Self { candidates: candidates.into_iter().collect(), channel: None, currency: None, min: None, max: None }
    }

    /// The same, for requests of this kind of channel only (a request without a channel does
    /// not match).
    #[must_use]
    pub fn channel(mut self, channel: ChannelKind) -> Self {
        self.channel = Some(channel);
        self
    }

    /// The same, for amounts in this currency only (ISO code, `IDR`).
    #[must_use]
    pub fn currency(mut self, currency: &str) -> Self {
        self.currency = Some(currency.to_ascii_uppercase());
        self
    }

    /// The same, for amounts from `min` to `max`, both included.
    #[must_use]
    pub fn amount_between(mut self, min: Decimal, max: Decimal) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    /// The gateways, in order.
    pub fn candidates(&self) -> &[ProviderId] {
        &self.candidates
    }

    /// Whether `request` falls under this rule.
    pub fn matches(&self, request: &PaymentRequest) -> bool {
        let value = request.amount.value();
        self.channel.is_none_or(|kind| request.channel.as_ref().is_some_and(|c| c.kind() == kind))
            && self.currency.as_deref().is_none_or(|c| c == request.amount.currency().as_str())
            && self.min.is_none_or(|min| value >= min)
            && self.max.is_none_or(|max| value <= max)
    }
}
