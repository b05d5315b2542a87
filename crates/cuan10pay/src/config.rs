//! Credentials and settings of a [`Cuan10payClient`](crate::Cuan10payClient).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::rate::{MemoryRateStore, Quota, RateStore};
use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::settings::{EnvVars, GatewaySettings, GatewaySettingsBuilder, GatewaySpec};
use gerbang_core::{BaseUrl, Error, HttpClient, SharedClock};

use crate::budget::{RateBudget, account_key};

/// The environment variable holding the merchant API key (`X-API-KEY`).
pub const ENV_API_KEY: &str = "GERBANG_CUAN10PAY_API_KEY";
/// The environment variable holding the private key that signs requests and webhooks.
pub const ENV_PRIVATE_KEY: &str = "GERBANG_CUAN10PAY_PRIVATE_KEY";
/// The environment variable holding the previous private key during a rotation: webhooks
/// signed with it are still accepted; requests are signed with the current one only.
pub const ENV_PRIVATE_KEY_PREVIOUS: &str = "GERBANG_CUAN10PAY_PRIVATE_KEY_PREVIOUS";
/// The environment variable overriding the base URL.
pub const ENV_BASE_URL: &str = "GERBANG_CUAN10PAY_BASE_URL";
/// The environment variable setting the rate budget: a positive whole number of calls per hour
/// (default [`DEFAULT_RATE_BUDGET_PER_HOUR`]).
pub const ENV_RATE_LIMIT: &str = "GERBANG_CUAN10PAY_RATE_LIMIT";
/// The production base URL, as given at the top of the Cuan10pay document
/// (`seeds/000_b443c682d4d25840.txt`); the `/v1/…` paths are appended to it.
pub const DEFAULT_BASE_URL: &str = "https://cuan10pay.com/api";
/// Requests allowed per hour by default: the document says "100 requests per hour per IP
/// address" and answers 429 beyond.
pub const DEFAULT_RATE_BUDGET_PER_HOUR: u32 = 100;
/// How far a webhook's `timestamp` may be from now, either way, by default.
pub const DEFAULT_WEBHOOK_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Cuan10pay's shared settings: how errors name it, its base URL and its defaults.
const SPEC: GatewaySpec = GatewaySpec::new("Cuan10pay", ENV_BASE_URL)
    .default_base_url(DEFAULT_BASE_URL)
    .default_webhook_tolerance(DEFAULT_WEBHOOK_TOLERANCE);

/// Everything a [`Cuan10payClient`](crate::Cuan10payClient) needs: the two keys, the base URL
/// and the client-side settings.
///
/// Its `Debug` shows the base URL (so a sandbox and a production client are told apart in logs)
/// and never the keys.
///
/// ```
/// use gerbang_cuan10pay::Cuan10payConfig;
/// use gerbang_core::rate::MemoryRateStore;
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let config = Cuan10payConfig::builder("my-api-key", "my-private-key")
///     .base_url("http://127.0.0.1:8080/cuan10pay/api")
///     .rate_store(Arc::new(MemoryRateStore::new())) // or a Redis store, shared by every replica
///     .rate_budget_per_hour(50)
///     .webhook_tolerance(Duration::from_secs(120))
///     .build()?;
/// let shown = format!("{config:?}");
/// assert!(shown.contains("127.0.0.1") && !shown.contains("my-private-key"));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Cuan10payConfig {
    pub(crate) api_key: SecretString,
    pub(crate) private_key: SecretString,
    pub(crate) previous_private_key: Option<SecretString>,
    pub(crate) base_url: BaseUrl,
    pub(crate) rate_budget: RateBudget,
    pub(crate) webhook_tolerance: Duration,
    pub(crate) confirm_webhooks_with_status: bool,
    pub(crate) clock: SharedClock,
    pub(crate) http: HttpClient,
}

impl Cuan10payConfig {
    /// Starts a config from the two keys; every other setting has its default.
    pub fn builder(api_key: impl Into<String>, private_key: impl Into<String>) -> Cuan10payConfigBuilder {
        Cuan10payConfigBuilder {
            api_key: SecretString::from(api_key.into()),
            private_key: SecretString::from(private_key.into()),
            previous_private_key: None,
            rate_budget: Budget::PerHour(DEFAULT_RATE_BUDGET_PER_HOUR),
            rate_store: None,
            confirm_webhooks_with_status: false,
            settings: GatewaySettingsBuilder::new(SPEC),
        }
    }

    /// A config from `GERBANG_CUAN10PAY_API_KEY`, `GERBANG_CUAN10PAY_PRIVATE_KEY` (and
    /// `GERBANG_CUAN10PAY_PRIVATE_KEY_PREVIOUS` during a rotation), `GERBANG_CUAN10PAY_BASE_URL` (default `https://cuan10pay.com/api`) and
    /// `GERBANG_CUAN10PAY_RATE_LIMIT` (calls per hour, a positive whole number, default 100),
    /// with default settings.
    ///
    /// A missing or malformed variable is [`Error::Config`] naming it, never showing its value.
    pub fn from_env() -> Result<Self, Error> {
        Cuan10payConfigBuilder::from_env()?.build()
    }

    /// The base URL the `/v1/…` paths are appended to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// The client-side rate budget.
    pub fn rate_budget(&self) -> &RateBudget {
        &self.rate_budget
    }

    /// How far a webhook's timestamp may be from now.
    pub fn webhook_tolerance(&self) -> Duration {
        self.webhook_tolerance
    }

    /// Whether the client confirms every webhook with a `deposit_status` call before trusting
    /// it (off by default); see
    /// [`Cuan10payConfigBuilder::confirm_webhooks_with_status`].
    pub fn confirms_webhooks_with_status(&self) -> bool {
        self.confirm_webhooks_with_status
    }

    /// The clock that stamps requests and judges webhook timestamps.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }
}

impl fmt::Debug for Cuan10payConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cuan10payConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("private_key", &"<redacted>")
            .field("previous_private_key", &self.previous_private_key.as_ref().map(|_| "<redacted>"))
            .field("rate_budget", &self.rate_budget)
            .field("webhook_tolerance", &self.webhook_tolerance)
            .field("confirm_webhooks_with_status", &self.confirm_webhooks_with_status)
            .field("clock", &self.clock)
            .field("http", &self.http)
            .finish()
    }
}

/// What the builder was told about the rate budget; the budget itself is made in `build`.
#[derive(Clone)]
enum Budget {
    PerHour(u32),
    Shared(RateBudget),
}

/// Builds a [`Cuan10payConfig`]; [`build`](Self::build) checks it.
#[derive(Clone)]
pub struct Cuan10payConfigBuilder {
    api_key: SecretString,
    private_key: SecretString,
    previous_private_key: Option<SecretString>,
    rate_budget: Budget,
    rate_store: Option<Arc<dyn RateStore>>,
    confirm_webhooks_with_status: bool,
    settings: GatewaySettingsBuilder,
}

impl Cuan10payConfigBuilder {
    /// A builder holding the keys, base URL and rate budget from the environment (see
    /// [`Cuan10payConfig::from_env`]), so that settings can still be changed before `build`.
    pub fn from_env() -> Result<Self, Error> {
        let env = EnvVars::process();
        let api_key = env.secret(ENV_API_KEY)?;
        let (private_key, previous_private_key) = env.secret_with_previous(ENV_PRIVATE_KEY)?;
        let settings = GatewaySettingsBuilder::from_env(SPEC, &env)?;
        let rate_limit = env.var(ENV_RATE_LIMIT)?.map(|v| parse_rate_limit(&v)).transpose()?;
        Ok(Self {
            previous_private_key,
            rate_budget: Budget::PerHour(rate_limit.unwrap_or(DEFAULT_RATE_BUDGET_PER_HOUR)),
            settings,
            ..Cuan10payConfig::builder(api_key.expose_secret(), private_key.expose_secret())
        })
    }

    /// The private key being rotated out (default none): webhooks signed with it are still
    /// accepted, and the event's [`verified_with`](gerbang_core::WebhookEvent::verified_with) says so; requests are
    /// always signed with the current key. To rotate: make the new key current and the old one
    /// previous, switch the key at Cuan10pay, and remove the previous key once no webhook has
    /// been verified with it (`key="previous"` in the log) for longer than the gateway retries.
    /// [`ENV_PRIVATE_KEY_PREVIOUS`] in [`from_env`](Self::from_env). Empty is refused by
    /// [`build`](Self::build).
    pub fn previous_private_key(mut self, private_key: impl Into<String>) -> Self {
        self.previous_private_key = Some(SecretString::from(private_key.into()));
        self
    }

    /// Requests allowed per hour, enforced by the client before sending (default 100, the
    /// gateway's own limit; [`ENV_RATE_LIMIT`] in [`from_env`](Self::from_env)), kept in the
    /// [`rate_store`](Self::rate_store) under the account's key. Zero is refused by
    /// [`build`](Self::build): use [`without_rate_budget`](Self::without_rate_budget) to turn
    /// the budget off.
    pub fn rate_budget_per_hour(mut self, per_hour: u32) -> Self {
        self.rate_budget = Budget::PerHour(per_hour);
        self
    }

    /// Where the rate budget is counted (default a [`MemoryRateStore`] of this config's own).
    /// Give every replica the same shared store (`gerbang-redis`) and they spend one budget
    /// together: it is kept under the account's key (`cuan10pay:` and a hash of the API key),
    /// so that clients of one account share it and other accounts have their own. When the store
    /// fails, calls are refused with [`Error::Store`] (see [`RateBudget`]).
    ///
    /// Ignored when a whole budget is given with [`rate_budget`](Self::rate_budget).
    pub fn rate_store(mut self, store: Arc<dyn RateStore>) -> Self {
        self.rate_store = Some(store);
        self
    }

    /// Uses an existing budget, shared with every other client given the same one (the gateway
    /// counts per IP address, not per client).
    pub fn rate_budget(mut self, budget: RateBudget) -> Self {
        self.rate_budget = Budget::Shared(budget);
        self
    }

    /// No client-side budget: for tests and benchmarks, or when something else limits the rate.
    /// A 429 from the gateway is still [`Error::RateLimited`].
    pub fn without_rate_budget(mut self) -> Self {
        self.rate_budget = Budget::Shared(RateBudget::unlimited());
        self
    }

    /// Confirms every webhook with a status call before it is trusted (default off).
    ///
    /// With it on, the client's
    /// [`verify_webhook`](gerbang_core::PaymentProvider::verify_webhook) checks the signature as
    /// the [`WebhookVerifier`](crate::WebhookVerifier) does, then asks `deposit_status` for the
    /// webhook's `reference` (a deposit id) and refuses the webhook
    /// ([`Error::InvalidSignature`]) unless the gateway knows that deposit with the same status
    /// and amount: see [`Cuan10payClient::confirm_webhook`](crate::Cuan10payClient::confirm_webhook).
    /// This closes the one forgery the signature leaves open, characters moved between the
    /// free-text reference and the status (a genuine `UNPAID` for `XYZ` read as `PAID` for
    /// `XYZUN`).
    ///
    /// It costs one request of the 100-per-hour budget per webhook (each retry of the gateway's
    /// too), and a webhook whose reference is not a deposit (an order's) is refused. Off, the
    /// webhook is trusted on its signature alone.
    pub fn confirm_webhooks_with_status(mut self, confirm: bool) -> Self {
        self.confirm_webhooks_with_status = confirm;
        self
    }

    /// Checks the settings and builds the config: non-empty keys, a usable base URL, a
    /// non-zero budget.
    pub fn build(self) -> Result<Cuan10payConfig, Error> {
        SPEC.require_secret(&self.api_key, "API key")?;
        SPEC.require_secret(&self.private_key, "private key")?;
        SPEC.require_previous(self.previous_private_key.as_ref(), "private key")?;
        let GatewaySettings { base_url, webhook_tolerance, clock, http, .. } = self.settings.build()?;
        let rate_budget = match self.rate_budget {
            Budget::Shared(budget) => budget,
            Budget::PerHour(n) => {
                let per_hour = NonZeroU32::new(n).ok_or_else(|| {
                    Error::config(
                        "a rate budget of 0 requests per hour allows no call; use without_rate_budget() to turn it off",
                    )
                })?;
                let store = self.rate_store.unwrap_or_else(|| Arc::new(MemoryRateStore::new()));
                RateBudget::new(store, account_key(self.api_key.expose_secret()), Quota::per_hour(per_hour))
            }
        };
        Ok(Cuan10payConfig {
            api_key: self.api_key,
            private_key: self.private_key,
            previous_private_key: self.previous_private_key,
            base_url,
            rate_budget,
            webhook_tolerance,
            confirm_webhooks_with_status: self.confirm_webhooks_with_status,
            clock,
            http,
        })
    }
}

// The setters every gateway config has, written by core (`settings`) with this gateway's docs.
gerbang_core::gateway_settings_setters! {
    Cuan10payConfigBuilder.settings {
        /// The base URL (default `https://cuan10pay.com/api`): point it at the sandbox or a test
        /// server. Checked by [`build`](Self::build).
        base_url;
        /// How far a webhook's timestamp may be from now, in the past or the future (default
        /// 5 minutes).
        webhook_tolerance;
        /// The clock used for `X-TIMESTAMP`, `expired_time` and webhook freshness (default the
        /// system clock); a [`FixedClock`](gerbang_core::FixedClock) in tests.
        clock;
        http_client;
    }
}

impl fmt::Debug for Cuan10payConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cuan10payConfigBuilder")
            .field("base_url", &self.settings.base_url())
            .field("api_key", &"<redacted>")
            .field("private_key", &"<redacted>")
            .field("previous_private_key", &self.previous_private_key.as_ref().map(|_| "<redacted>"))
            .field("rate_store", &self.rate_store)
            .field("webhook_tolerance", &self.settings.webhook_tolerance())
            .field("confirm_webhooks_with_status", &self.confirm_webhooks_with_status)
            .finish_non_exhaustive()
    }
}

/// [`ENV_RATE_LIMIT`] when set (unset or empty is the default): anything but a positive whole
/// number is [`Error::Config`] naming the variable, never its value.
fn parse_rate_limit(value: &str) -> Result<u32, Error> {
    value.trim().parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
        Error::config(format!(
            "{ENV_RATE_LIMIT} must be a positive whole number of calls per hour (unset it for the default, {DEFAULT_RATE_BUDGET_PER_HOUR})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_is_a_positive_whole_number() {
        assert_eq!(parse_rate_limit("100").unwrap(), 100);
        assert_eq!(parse_rate_limit(" 7 ").unwrap(), 7);
        for bad in ["0", "-5", "1.5", "ten", "99999999999", "100/h"] {
            let err = parse_rate_limit(bad).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::Config { .. }) && text.contains(ENV_RATE_LIMIT), "{text}");
            // "0" is in the variable's own name.
            assert!(bad == "0" || !text.contains(bad), "the value is never shown: {text}");
        }
    }
}
