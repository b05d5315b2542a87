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
///
/// With weights ([`Rule::weighted`]) the traffic is split: each request's order is drawn by
/// weight (a gateway of weight 3 comes first three times as often as one of weight 1), and the
/// others follow as fallbacks. The draw is seeded by the merchant's reference, so a request
/// retried with the same reference meets the gateways in the same order: the one that may hold
/// it from the first try is asked first.
///
/// ```
/// use gerbang_core::{Money, PaymentRequest, ProviderId};
/// use gerbang_router::Rule;
/// let rule = Rule::weighted([(ProviderId::Cuan10pay, 3), (ProviderId::CashIn, 1)]);
/// let first_at_cuan10pay = (0..4_000)
///     .filter(|n| rule.order(&format!("ORDER-{n}"))[0] == ProviderId::Cuan10pay)
///     .count();
/// assert!((2_800..3_200).contains(&first_at_cuan10pay), "{first_at_cuan10pay}");
/// assert_eq!(rule.order("ORDER-7"), rule.order("ORDER-7"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    candidates: Vec<ProviderId>,
    /// One per candidate, when the traffic is split.
    weights: Option<Vec<u32>>,
    channel: Option<ChannelKind>,
    currency: Option<String>,
    min: Option<Decimal>,
    max: Option<Decimal>,
}

impl Rule {
    /// Any request, to `candidates` in this order.
    pub fn new(candidates: impl IntoIterator<Item = ProviderId>) -> Self {
        Self {
            candidates: candidates.into_iter().collect(),
            weights: None,
            channel: None,
            currency: None,
            min: None,
            max: None,
        }
    }

    /// Any request, split between `candidates` by weight; the others follow the one drawn, in an
    /// order drawn the same way. A weight of 0 makes a gateway a fallback only.
    pub fn weighted(candidates: impl IntoIterator<Item = (ProviderId, u32)>) -> Self {
        let (candidates, weights): (Vec<ProviderId>, Vec<u32>) = candidates.into_iter().unzip();
        Self { weights: Some(weights), ..Self::new(candidates) }
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

    /// The gateways, in the order given.
    pub fn candidates(&self) -> &[ProviderId] {
        &self.candidates
    }

    /// The order in which the request of merchant reference `reference` meets the gateways: the
    /// order given, or, with weights, a weighted draw without replacement seeded by `reference`
    /// (Efraimidis and Spirakis: each gateway's key is `ln(u) / weight` for a uniform `u` hashed
    /// from the reference and the gateway, highest first, which puts gateway `i` first with
    /// probability `weight_i / Σ weights`).
    pub fn order(&self, reference: &str) -> Vec<ProviderId> {
        let Some(weights) = &self.weights else { return self.candidates.clone() };
        let seed = fnv1a(reference.as_bytes());
        let mut keyed: Vec<(f64, usize)> = weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| {
                let key = if weight == 0 {
                    f64::NEG_INFINITY
                } else {
                    unit(mix(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))).ln() / f64::from(weight)
                };
                (key, i)
            })
            .collect();
        // Highest key first; ties (weight 0) keep the order given.
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        keyed.into_iter().map(|(_, i)| self.candidates[i]).collect()
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

/// FNV-1a, 64 bits: a hash that is the same on every machine and every Rust release (the
/// standard library's is not promised to be), so that replicas draw the same order.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// SplitMix64's finaliser: spreads every bit of `x` over the result.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A number in (0, 1) from the top 53 bits of `x`: never 0, whose logarithm is infinite.
fn unit(x: u64) -> f64 {
    ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the weights: every gateway is met once, the same reference always meets them
        /// in the same order, a weight of 0 is never first while another is not 0, and each
        /// gateway is first for a share of the references close to its share of the weights.
        #[test]
        fn weights_split_the_first_choice_in_their_proportions(
            weights in proptest::collection::vec(0u32..10, 2..=5),
            salt in any::<u32>(),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let ids = &ProviderId::ALL[..weights.len()];
            let rule = Rule::weighted(ids.iter().copied().zip(weights.iter().copied()));
            let draws = 6_000;
            let mut first = vec![0usize; weights.len()];
            for n in 0..draws {
                let reference = format!("ORDER-{salt}-{n}");
                let order = rule.order(&reference);
                let mut sorted = order.clone();
                sorted.sort_by_key(|id| ids.iter().position(|x| x == id));
                prop_assert_eq!(&sorted[..], ids, "each gateway once");
                prop_assert_eq!(&order, &rule.order(&reference), "the same order for the same reference");
                first[ids.iter().position(|id| *id == order[0]).unwrap()] += 1;
            }
            let total: u32 = weights.iter().sum();
            for (i, &weight) in weights.iter().enumerate() {
                let expected = f64::from(weight) / f64::from(total);
                let share = first[i] as f64 / draws as f64;
                // Five standard deviations of a binomial share at this many draws, at least 1 %.
                let bound = (5.0 * (expected * (1.0 - expected) / draws as f64).sqrt()).max(0.01);
                prop_assert!((share - expected).abs() <= bound, "gateway {i}: weight {weight}/{total}, first {share:.4}");
                if weight == 0 {
                    prop_assert_eq!(first[i], 0);
                }
            }
        }
    }

    #[test]
    fn without_weights_the_order_is_the_one_given() {
        let rule = Rule::new([ProviderId::Qris, ProviderId::Cuan10pay]);
        assert_eq!(rule.order("ANY"), [ProviderId::Qris, ProviderId::Cuan10pay]);
    }
}
