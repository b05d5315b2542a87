//! Credentials and settings of a [`CiputraClient`](crate::CiputraClient).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::rate::Quota;
use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::settings::{EnvVars, GatewaySettings, GatewaySettingsBuilder, GatewaySpec};
use gerbang_core::token_store::{MemoryTokenStore, TokenStore};
use gerbang_core::{BaseUrl, Error, HttpClient, SharedClock};

use crate::confirm::DEFAULT_CALLBACK_CHECKS;

/// The environment variable holding the API key (`api-key` of the token call).
pub const ENV_API_KEY: &str = "GERBANG_CIPUTRA_API_KEY";
/// The environment variable holding the API secret (`api-secret` of the token call).
pub const ENV_API_SECRET: &str = "GERBANG_CIPUTRA_API_SECRET";
/// The environment variable holding the base URL. Required: the document
/// (`seeds/004_627801bf8e050898.txt`) gives no host.
pub const ENV_BASE_URL: &str = "GERBANG_CIPUTRA_BASE_URL";

/// Ciputra's shared settings: how errors name it and its base URL, which has no default.
const SPEC: GatewaySpec = GatewaySpec::new("Ciputra", ENV_BASE_URL);

/// How long before its expiry a cached token is replaced by a fresh one, by default: the
/// issue's "refreshed a minute before expiry", so that a call never leaves with a token that
/// dies on the way. A token living less than twice this is refreshed halfway through its life
/// instead (see [`CiputraConfigBuilder::refresh_before_expiry`]).
pub const DEFAULT_REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// Everything a [`CiputraClient`](crate::CiputraClient) needs: the key and secret, the base URL
/// and the client-side settings.
///
/// Its `Debug` shows the base URL (so a sandbox and a production client are told apart in logs)
/// and never the key or the secret.
///
/// ```
/// use gerbang_ciputra::CiputraConfig;
///
/// let config = CiputraConfig::builder("my-api-key", "my-api-secret")
///     .base_url("http://127.0.0.1:8080/ciputra")
///     .build()?;
/// let shown = format!("{config:?}");
/// assert!(shown.contains("127.0.0.1") && !shown.contains("my-api-secret"));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Clone)]
pub struct CiputraConfig {
    pub(crate) api_key: SecretString,
    pub(crate) api_secret: SecretString,
    pub(crate) base_url: BaseUrl,
    pub(crate) refresh_before_expiry: Duration,
    pub(crate) token_store: Arc<dyn TokenStore>,
    pub(crate) clock: SharedClock,
    pub(crate) http: HttpClient,
    pub(crate) callback_checks: Quota,
}

impl CiputraConfig {
    /// Starts a config from the API key and secret. The base URL must be set before
    /// [`build`](CiputraConfigBuilder::build): there is no default.
    pub fn builder(api_key: impl Into<String>, api_secret: impl Into<String>) -> CiputraConfigBuilder {
        CiputraConfigBuilder {
            api_key: SecretString::from(api_key.into()),
            api_secret: SecretString::from(api_secret.into()),
            refresh_before_expiry: DEFAULT_REFRESH_BEFORE_EXPIRY,
            token_store: None,
            callback_checks: DEFAULT_CALLBACK_CHECKS,
            settings: GatewaySettingsBuilder::new(SPEC),
        }
    }

    /// A config from `GERBANG_CIPUTRA_API_KEY`, `GERBANG_CIPUTRA_API_SECRET` and
    /// `GERBANG_CIPUTRA_BASE_URL` (all three required), with default settings.
    ///
    /// A missing or malformed variable is [`Error::Config`] naming it, never showing its value.
    pub fn from_env() -> Result<Self, Error> {
        CiputraConfigBuilder::from_env()?.build()
    }

    /// The base URL the paths (`/auth/token`, `/transaction`, …) are appended to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// How long before its expiry a token is replaced.
    pub fn refresh_before_expiry(&self) -> Duration {
        self.refresh_before_expiry
    }

    /// The clock that judges token expiry.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Where the bearer token is shared.
    pub fn token_store(&self) -> &Arc<dyn TokenStore> {
        &self.token_store
    }

    /// The budget of status calls made to confirm callbacks.
    pub fn callback_checks(&self) -> Quota {
        self.callback_checks
    }
}

impl fmt::Debug for CiputraConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CiputraConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("api_secret", &"<redacted>")
            .field("refresh_before_expiry", &self.refresh_before_expiry)
            .field("token_store", &self.token_store)
            .field("clock", &self.clock)
            .field("http", &self.http)
            .field("callback_checks", &self.callback_checks)
            .finish()
    }
}

/// Builds a [`CiputraConfig`]; [`build`](Self::build) checks it.
#[derive(Clone)]
pub struct CiputraConfigBuilder {
    api_key: SecretString,
    api_secret: SecretString,
    refresh_before_expiry: Duration,
    token_store: Option<Arc<dyn TokenStore>>,
    callback_checks: Quota,
    settings: GatewaySettingsBuilder,
}

impl CiputraConfigBuilder {
    /// A builder holding the key, secret and base URL from the environment (see
    /// [`CiputraConfig::from_env`]), so that settings can still be changed before `build`.
    pub fn from_env() -> Result<Self, Error> {
        let env = EnvVars::process();
        let api_key = env.secret(ENV_API_KEY)?;
        let api_secret = env.secret(ENV_API_SECRET)?;
        // Required, but it may still be given to the builder: `build` says when it is missing.
        let settings = GatewaySettingsBuilder::from_env(SPEC, &env)?;
        Ok(Self { settings, ..CiputraConfig::builder(api_key.expose_secret(), api_secret.expose_secret()) })
    }

    /// How long before its expiry a cached token is replaced (default
    /// [`DEFAULT_REFRESH_BEFORE_EXPIRY`], a minute). A token whose whole life is shorter than
    /// twice this is replaced halfway through its life, so that a short-lived token is still
    /// used rather than fetched anew for every call.
    pub fn refresh_before_expiry(mut self, margin: Duration) -> Self {
        self.refresh_before_expiry = margin;
        self
    }

    /// Where the bearer token is shared (default a [`MemoryTokenStore`] of this config's own,
    /// shared by every client built from it). Give every replica the same shared store
    /// (`gerbang-redis`) and they use one token: one replica fetches it under the store's refresh
    /// lock, the others wait for it and take it from the store. It is kept under `ciputra:` and a
    /// hash of the API key and base URL (never the key), until its refresh time, before it
    /// expires.
    ///
    /// When the store fails, the client fetches its token directly from the gateway, as without
    /// a store (still one request at a time in this process), and logs a warning: a token request
    /// is harmless, and the calls matter more than sharing the token.
    ///
    /// ```
    /// use gerbang_ciputra::{CiputraClient, CiputraConfig};
    /// use gerbang_core::token_store::MemoryTokenStore;
    /// use std::sync::Arc;
    ///
    /// let shared = Arc::new(MemoryTokenStore::new()); // or a Redis store, shared by every replica
    /// let config = CiputraConfig::builder("my-api-key", "my-api-secret")
    ///     .base_url("http://127.0.0.1:8080/ciputra")
    ///     .token_store(shared)
    ///     .build()?;
    /// let client = CiputraClient::new(config);
    /// # Ok::<(), gerbang_core::Error>(())
    /// ```
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.token_store = Some(store);
        self
    }

    /// How many status calls callbacks may cost (default [`DEFAULT_CALLBACK_CHECKS`](crate::DEFAULT_CALLBACK_CHECKS):
    /// 20 per 2 seconds, bursts of up to 20). The callback is unsigned, so each one that names a
    /// transaction costs an authenticated status call; past this budget a callback is answered
    /// [`Error::BudgetSpent`] without a call (the receiver answers 503, and the gateway delivers
    /// it again later). Callbacks for one transaction that arrive together share one call and
    /// spend one unit. The budget is this client's (and its clones'), in this process: with N
    /// replicas the gateway may see N times it.
    ///
    /// ```
    /// use gerbang_ciputra::CiputraConfig;
    /// use gerbang_core::rate::Quota;
    /// use std::num::NonZeroU32;
    /// use std::time::Duration;
    ///
    /// let five_a_second = Quota::new(NonZeroU32::new(5).unwrap(), Duration::from_secs(1));
    /// let config = CiputraConfig::builder("my-api-key", "my-api-secret")
    ///     .base_url("http://127.0.0.1:8080/ciputra")
    ///     .callback_checks(five_a_second)
    ///     .build()?;
    /// assert_eq!(config.callback_checks(), five_a_second);
    /// # Ok::<(), gerbang_core::Error>(())
    /// ```
    pub fn callback_checks(mut self, quota: Quota) -> Self {
        self.callback_checks = quota;
        self
    }

    /// Checks the settings and builds the config: a non-empty key and secret, a usable base URL.
    pub fn build(self) -> Result<CiputraConfig, Error> {
        SPEC.require_secret(&self.api_key, "API key")?;
        SPEC.require_secret(&self.api_secret, "API secret")?;
        let GatewaySettings { base_url, clock, http, .. } = self.settings.build()?;
        Ok(CiputraConfig {
            api_key: self.api_key,
            api_secret: self.api_secret,
            base_url,
            refresh_before_expiry: self.refresh_before_expiry,
            token_store: self.token_store.unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
            clock,
            http,
            callback_checks: self.callback_checks,
        })
    }
}

// The setters every gateway config has, written by core (`settings`) with this gateway's docs.
gerbang_core::gateway_settings_setters! {
    CiputraConfigBuilder.settings {
        /// The base URL (required): the gateway's, the sandbox's (`{sandbox}/ciputra`) or a test
        /// server's. Checked by [`build`](Self::build).
        base_url;
        /// The clock that judges token expiry (default the system clock); a
        /// [`FixedClock`](gerbang_core::FixedClock) in tests, to cross an expiry without waiting.
        clock;
        http_client;
    }
}

impl fmt::Debug for CiputraConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CiputraConfigBuilder")
            .field("base_url", &self.settings.base_url())
            .field("api_key", &"<redacted>")
            .field("api_secret", &"<redacted>")
            .field("refresh_before_expiry", &self.refresh_before_expiry)
            .field("token_store", &self.token_store)
            .field("callback_checks", &self.callback_checks)
            .finish_non_exhaustive()
    }
}
