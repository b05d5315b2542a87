//! Credentials and settings of a [`QrisClient`](crate::QrisClient).

use std::fmt;

use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::settings::{EnvVars, GatewaySettings, GatewaySettingsBuilder, GatewaySpec};
use gerbang_core::{BaseUrl, Error, HttpClient};

use crate::poll::PollPolicy;

/// The environment variable holding the API key (sent as the `apikey` query parameter).
pub const ENV_API_KEY: &str = "GERBANG_QRIS_API_KEY";
/// The environment variable holding the base URL. Required: the document names no host.
pub const ENV_BASE_URL: &str = "GERBANG_QRIS_BASE_URL";

/// The QRIS gateway's shared settings: how errors name it and its base URL, which has no default.
const SPEC: GatewaySpec = GatewaySpec::new("QRIS", ENV_BASE_URL);

/// Everything a [`QrisClient`](crate::QrisClient) needs: the API key, the base URL, the HTTP
/// client and how [`wait_for_payment`](crate::QrisClient::wait_for_payment) polls.
///
/// The base URL is the prefix the document's paths (`/api/v1/balance`, …) are appended to. The
/// document (`seeds/002_70371d71cc9c4025.txt`) names no host, so there is no default: it must be
/// given.
///
/// Its `Debug` shows the base URL (so a sandbox and a production client are told apart in logs)
/// and never the key.
///
/// ```
/// use gerbang_qris::QrisConfig;
///
/// let config = QrisConfig::builder("my-api-key").base_url("http://127.0.0.1:8080/qris").build()?;
/// let shown = format!("{config:?}");
/// assert!(shown.contains("127.0.0.1") && !shown.contains("my-api-key"));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Clone)]
pub struct QrisConfig {
    pub(crate) api_key: SecretString,
    pub(crate) base_url: BaseUrl,
    pub(crate) poll: PollPolicy,
    pub(crate) http: HttpClient,
}

impl QrisConfig {
    /// Starts a config from the API key; the base URL must still be set with
    /// [`base_url`](QrisConfigBuilder::base_url).
    pub fn builder(api_key: impl Into<String>) -> QrisConfigBuilder {
        QrisConfigBuilder {
            api_key: SecretString::from(api_key.into()),
            poll: PollPolicy::default(),
            settings: GatewaySettingsBuilder::new(SPEC),
        }
    }

    /// A config from `GERBANG_QRIS_API_KEY` and `GERBANG_QRIS_BASE_URL` (both required), with
    /// default settings.
    ///
    /// A missing or malformed variable is [`Error::Config`] naming it, never showing its value.
    pub fn from_env() -> Result<Self, Error> {
        QrisConfigBuilder::from_env()?.build()
    }

    /// The base URL the `/api/v1/…` paths are appended to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// How [`wait_for_payment`](crate::QrisClient::wait_for_payment) spaces its look-ups.
    pub fn poll_policy(&self) -> &PollPolicy {
        &self.poll
    }
}

impl fmt::Debug for QrisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrisConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("poll", &self.poll)
            .field("http", &self.http)
            .finish()
    }
}

/// Builds a [`QrisConfig`]; [`build`](Self::build) checks it.
#[derive(Clone)]
pub struct QrisConfigBuilder {
    api_key: SecretString,
    poll: PollPolicy,
    settings: GatewaySettingsBuilder,
}

impl QrisConfigBuilder {
    /// A builder holding the key and base URL from the environment (see
    /// [`QrisConfig::from_env`]), so that settings can still be changed before `build`.
    pub fn from_env() -> Result<Self, Error> {
        let env = EnvVars::process();
        let api_key = env.secret(ENV_API_KEY)?;
        // Required, but it may still be given to the builder: `build` says when it is missing.
        let settings = GatewaySettingsBuilder::from_env(SPEC, &env)?;
        Ok(Self { settings, ..QrisConfig::builder(api_key.expose_secret()) })
    }

    /// How [`wait_for_payment`](crate::QrisClient::wait_for_payment) spaces its look-ups
    /// (default [`PollPolicy::default`]).
    pub fn poll_policy(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// Checks the settings and builds the config: a non-empty key without characters a URL
    /// query would mangle, and a usable base URL.
    pub fn build(self) -> Result<QrisConfig, Error> {
        SPEC.require_secret(&self.api_key, "API key")?;
        if self.api_key.expose_secret().chars().any(char::is_control) {
            return Err(Error::config("the QRIS API key holds control characters; check how it was copied"));
        }
        let GatewaySettings { base_url, http, .. } = self.settings.build()?;
        Ok(QrisConfig { api_key: self.api_key, base_url, poll: self.poll, http })
    }
}

// The setters every gateway config has, written by core (`settings`) with this gateway's docs.
gerbang_core::gateway_settings_setters! {
    QrisConfigBuilder.settings {
        /// The base URL (required): the gateway's, the sandbox's (`{sandbox}/qris`) or a test
        /// server's. Checked by [`build`](Self::build).
        base_url;
        http_client;
    }
}

impl fmt::Debug for QrisConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrisConfigBuilder")
            .field("base_url", &self.settings.base_url())
            .field("api_key", &"<redacted>")
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}
