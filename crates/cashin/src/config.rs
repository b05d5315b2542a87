//! Credentials and settings of a [`CashinClient`](crate::CashinClient).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::settings::{EnvVars, GatewaySettings, GatewaySettingsBuilder, GatewaySpec};
use gerbang_core::{BaseUrl, Error, HttpClient, SharedClock};
use gerbang_signing::cashin::{HmacAlgorithm, SigningKey};
use gerbang_signing::rsa::PublicKey;

/// The environment variable holding the client id (`X-CLIENT-ID`).
pub const ENV_CLIENT_ID: &str = "GERBANG_CASHIN_CLIENT_ID";
/// The environment variable holding the secret key that signs requests.
pub const ENV_SECRET_KEY: &str = "GERBANG_CASHIN_SECRET_KEY";
/// The environment variable holding Cash In's RSA public key: PEM text (when it starts with
/// `-----BEGIN`) or the path of a PEM file. Needed only to verify notifications.
pub const ENV_PUBLIC_KEY: &str = "GERBANG_CASHIN_PUBLIC_KEY";
/// The environment variable holding Cash In's previous public key during a rotation (PEM text
/// or a path, as [`ENV_PUBLIC_KEY`]): notifications signed with either key are accepted.
pub const ENV_PUBLIC_KEY_PREVIOUS: &str = "GERBANG_CASHIN_PUBLIC_KEY_PREVIOUS";
/// The environment variable overriding the base URL.
pub const ENV_BASE_URL: &str = "GERBANG_CASHIN_BASE_URL";
/// The environment variable choosing the environment: `sandbox` (the default) or `production`.
pub const ENV_ENVIRONMENT: &str = "GERBANG_CASHIN_ENVIRONMENT";
/// The environment variable choosing the request HMAC: `sha256` (the default) or `sha512`.
pub const ENV_HMAC: &str = "GERBANG_CASHIN_HMAC";

/// Cash In's sandbox, as the document gives it (`seeds/001_3ab17dd2bbbc66f1.txt`); `/payment`
/// and `/payment/status` are appended to it.
pub const SANDBOX_BASE_URL: &str = "https://sandbox-api.cashin.co.id/pg/fo";
/// Cash In's production, as the document gives it.
pub const PRODUCTION_BASE_URL: &str = "https://api.cashin.co.id/pg/fo";
/// The base URL when neither an environment nor a URL is chosen: the sandbox (DESIGN.md), so that
/// real money moves only when production is asked for by name.
pub const DEFAULT_BASE_URL: &str = SANDBOX_BASE_URL;
/// How far a notification's `X-TIMESTAMP` may be from now, either way, by default
/// (`PROVIDERS.md` §2: "reject one more than 5 minutes (configurable) from now").
pub const DEFAULT_WEBHOOK_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Cash In's shared settings: how errors name it, its base URL and its defaults (the base URL's
/// default is the chosen [`Environment`]'s, given at `build`).
const SPEC: GatewaySpec = GatewaySpec::new("Cash In", ENV_BASE_URL)
    .default_base_url(DEFAULT_BASE_URL)
    .default_webhook_tolerance(DEFAULT_WEBHOOK_TOLERANCE);

/// Which Cash In the client talks to. It shows in the config's `Debug`, so that a sandbox and a
/// production client are told apart in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Environment {
    /// `https://sandbox-api.cashin.co.id/pg/fo`: test credentials, no real money. The default.
    #[default]
    Sandbox,
    /// `https://api.cashin.co.id/pg/fo`: real money. Must be chosen explicitly.
    Production,
}

impl Environment {
    /// The documented base URL of this environment.
    pub const fn base_url(self) -> &'static str {
        match self {
            Self::Sandbox => SANDBOX_BASE_URL,
            Self::Production => PRODUCTION_BASE_URL,
        }
    }

    /// `sandbox` or `production`, as [`ENV_ENVIRONMENT`] spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Ok(Self::Sandbox),
            "production" => Ok(Self::Production),
            _ => Err(Error::validation("environment", "expected sandbox or production")),
        }
    }
}

/// Everything a [`CashinClient`](crate::CashinClient) needs: client id, secret key, Cash In's
/// public key (for notifications), the environment, the base URL and the client-side settings.
///
/// Its `Debug` shows the client id, the environment and the base URL, never the secret key.
///
/// ```
/// use gerbang_cashin::{CashinConfig, Environment, HmacAlgorithm};
///
/// let config = CashinConfig::builder("CID1234567890", "my-secret-key")
///     .environment(Environment::Production)
///     .hmac(HmacAlgorithm::Sha512)
///     .build()?;
/// assert_eq!(config.base_url().as_str(), "https://api.cashin.co.id/pg/fo");
/// let shown = format!("{config:?}");
/// assert!(shown.contains("Production") && !shown.contains("my-secret-key"));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Clone)]
pub struct CashinConfig {
    pub(crate) client_id: String,
    pub(crate) secret_key: SecretString,
    /// The secret key made ready for [`hmac`](Self::hmac), to sign every request.
    pub(crate) signing_key: SigningKey,
    pub(crate) public_key: Option<PublicKey>,
    pub(crate) previous_public_key: Option<PublicKey>,
    pub(crate) environment: Environment,
    pub(crate) base_url: BaseUrl,
    pub(crate) hmac: HmacAlgorithm,
    pub(crate) webhook_tolerance: Duration,
    pub(crate) clock: SharedClock,
    pub(crate) http: HttpClient,
}

impl CashinConfig {
    /// Starts a config from the client id and secret key; every other setting has its default
    /// (sandbox, HMAC-SHA256, no public key, 5-minute notification tolerance).
    pub fn builder(client_id: impl Into<String>, secret_key: impl Into<String>) -> CashinConfigBuilder {
        CashinConfigBuilder {
            client_id: client_id.into(),
            secret_key: SecretString::from(secret_key.into()),
            public_key: None,
            previous_public_key: None,
            environment: Environment::default(),
            hmac: HmacAlgorithm::default(),
            settings: GatewaySettingsBuilder::new(SPEC),
        }
    }

    /// A config from the environment: see [`CashinConfigBuilder::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        CashinConfigBuilder::from_env()?.build()
    }

    /// The client id (`X-CLIENT-ID`).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The environment.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The base URL `/payment` and `/payment/status` are appended to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// The request HMAC.
    pub fn hmac(&self) -> HmacAlgorithm {
        self.hmac
    }

    /// Cash In's public key, when configured.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public_key.as_ref()
    }

    /// Cash In's previous public key, while it is being rotated out.
    pub fn previous_public_key(&self) -> Option<&PublicKey> {
        self.previous_public_key.as_ref()
    }

    /// How far a notification's timestamp may be from now.
    pub fn webhook_tolerance(&self) -> Duration {
        self.webhook_tolerance
    }

    /// The clock that stamps requests and judges notification timestamps.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }
}

impl fmt::Debug for CashinConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CashinConfig")
            .field("environment", &self.environment)
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("secret_key", &"<redacted>")
            .field("public_key", &self.public_key)
            .field("previous_public_key", &self.previous_public_key)
            .field("hmac", &self.hmac)
            .field("webhook_tolerance", &self.webhook_tolerance)
            .field("clock", &self.clock)
            .field("http", &self.http)
            .finish()
    }
}

/// Builds a [`CashinConfig`]; [`build`](Self::build) checks it.
#[derive(Clone)]
pub struct CashinConfigBuilder {
    client_id: String,
    secret_key: SecretString,
    public_key: Option<PublicKeySource>,
    previous_public_key: Option<PublicKeySource>,
    environment: Environment,
    hmac: HmacAlgorithm,
    settings: GatewaySettingsBuilder,
}

/// Where the public key comes from; PEM text is read in `build`, so that the error is reported
/// there with the rest.
#[derive(Clone)]
enum PublicKeySource {
    Key(PublicKey),
    Pem(String),
}

impl PublicKeySource {
    fn read(self, what: &str) -> Result<PublicKey, Error> {
        match self {
            Self::Key(key) => Ok(key),
            Self::Pem(pem) => {
                PublicKey::from_pem(&pem).map_err(|e| Error::config(format!("{what} cannot be read: {e}")))
            }
        }
    }
}

impl CashinConfigBuilder {
    /// A builder holding what the environment says, so that settings can still be changed
    /// before `build`:
    ///
    /// - `GERBANG_CASHIN_CLIENT_ID` and `GERBANG_CASHIN_SECRET_KEY`, required;
    /// - `GERBANG_CASHIN_PUBLIC_KEY`, optional: PEM text (SPKI or PKCS#1) when it starts with
    ///   `-----BEGIN`, otherwise the path of a PEM file;
    /// - `GERBANG_CASHIN_PUBLIC_KEY_PREVIOUS`, optional, the same: Cash In's key being rotated
    ///   out ([`previous_public_key`](Self::previous_public_key));
    /// - `GERBANG_CASHIN_ENVIRONMENT`, optional: `sandbox` (default) or `production`;
    /// - `GERBANG_CASHIN_BASE_URL`, optional: overrides the environment's URL;
    /// - `GERBANG_CASHIN_HMAC`, optional: `sha256` (default) or `sha512`.
    ///
    /// A missing or malformed variable is [`Error::Config`] naming it, never showing its value.
    pub fn from_env() -> Result<Self, Error> {
        let env = EnvVars::process();
        let client_id = env.required(ENV_CLIENT_ID)?;
        let secret_key = env.required(ENV_SECRET_KEY)?;
        let (current, previous) = public_keys_from_env()?;
        let environment = env.parse(ENV_ENVIRONMENT, "sandbox or production", |v| v.parse().ok())?;
        let settings = GatewaySettingsBuilder::from_env(SPEC, &env)?;
        let hmac = env.parse(ENV_HMAC, "sha256 or sha512", parse_hmac)?;
        Ok(Self {
            public_key: current.map(PublicKeySource::Key),
            previous_public_key: previous.map(PublicKeySource::Key),
            environment: environment.unwrap_or_default(),
            hmac: hmac.unwrap_or_default(),
            settings,
            ..CashinConfig::builder(client_id, secret_key)
        })
    }

    /// The environment (default [`Environment::Sandbox`]); it sets the base URL unless
    /// [`base_url`](Self::base_url) overrides it.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Cash In's public key, to verify notifications.
    pub fn public_key(mut self, key: PublicKey) -> Self {
        self.public_key = Some(PublicKeySource::Key(key));
        self
    }

    /// Cash In's public key as PEM text (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`); read by
    /// [`build`](Self::build).
    pub fn public_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.public_key = Some(PublicKeySource::Pem(pem.into()));
        self
    }

    /// Cash In's previous public key, while Cash In rotates its key (default none):
    /// notifications signed with it are still accepted, and the event's
    /// [`verified_with`](gerbang_core::WebhookEvent::verified_with) says so. To rotate: make Cash In's new key the
    /// current one and the old one previous, and remove the previous key once no notification
    /// has been verified with it (`key="previous"` in the log) for longer than Cash In retries.
    /// [`ENV_PUBLIC_KEY_PREVIOUS`] in [`from_env`](Self::from_env). [`build`](Self::build)
    /// refuses a previous key without a current one.
    pub fn previous_public_key(mut self, key: PublicKey) -> Self {
        self.previous_public_key = Some(PublicKeySource::Key(key));
        self
    }

    /// The same as PEM text; read by [`build`](Self::build).
    pub fn previous_public_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.previous_public_key = Some(PublicKeySource::Pem(pem.into()));
        self
    }

    /// The hash of the request HMAC (default SHA-256; see [`HmacAlgorithm`] for why there is a
    /// choice).
    pub fn hmac(mut self, hmac: HmacAlgorithm) -> Self {
        self.hmac = hmac;
        self
    }

    /// Checks the settings and builds the config: a non-empty client id and secret key, a
    /// readable public key when one is given, a usable base URL.
    pub fn build(self) -> Result<CashinConfig, Error> {
        let client_id = self.client_id.trim().to_owned();
        SPEC.require(&client_id, "client id")?;
        SPEC.require_secret(&self.secret_key, "secret key")?;
        let public_key = self.public_key.map(|source| source.read("the Cash In public key")).transpose()?;
        let previous_public_key =
            self.previous_public_key.map(|source| source.read("the previous Cash In public key")).transpose()?;
        if public_key.is_none() && previous_public_key.is_some() {
            return Err(no_current_key());
        }
        let GatewaySettings { base_url, webhook_tolerance, clock, http, .. } =
            self.settings.build_with_default_base_url(self.environment.base_url())?;
        Ok(CashinConfig {
            client_id,
            signing_key: SigningKey::new(self.secret_key.expose_secret().as_bytes(), self.hmac),
            secret_key: self.secret_key,
            public_key,
            previous_public_key,
            environment: self.environment,
            base_url,
            hmac: self.hmac,
            webhook_tolerance,
            clock,
            http,
        })
    }
}

// The setters every gateway config has, written by core (`settings`) with this gateway's docs.
gerbang_core::gateway_settings_setters! {
    CashinConfigBuilder.settings {
        /// The base URL, overriding the environment's: point it at the gerbang sandbox
        /// (`{sandbox}/cashin`) or a test server. Checked by [`build`](Self::build).
        base_url;
        /// How far a notification's `X-TIMESTAMP` may be from now, in the past or the future
        /// (default 5 minutes).
        webhook_tolerance;
        /// The clock used for `X-TIMESTAMP`, expiry times and notification freshness (default the
        /// system clock); a [`FixedClock`](gerbang_core::FixedClock) in tests.
        clock;
        http_client;
    }
}

impl fmt::Debug for CashinConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CashinConfigBuilder")
            .field("environment", &self.environment)
            .field("base_url", &self.settings.base_url())
            .field("client_id", &self.client_id)
            .field("secret_key", &"<redacted>")
            .field("hmac", &self.hmac)
            .finish_non_exhaustive()
    }
}

/// `sha256` or `sha512`, any case, with or without the dash.
fn parse_hmac(text: &str) -> Option<HmacAlgorithm> {
    match text.trim().to_ascii_lowercase().replace('-', "").as_str() {
        "sha256" => Some(HmacAlgorithm::Sha256),
        "sha512" => Some(HmacAlgorithm::Sha512),
        _ => None,
    }
}

/// The error of a previous public key given without a current one.
pub(crate) fn no_current_key() -> Error {
    Error::config(format!(
        "a previous Cash In public key ({ENV_PUBLIC_KEY_PREVIOUS}) is set without a current one ({ENV_PUBLIC_KEY}): set the new key as the current one"
    ))
}

/// Reads [`ENV_PUBLIC_KEY`] and [`ENV_PUBLIC_KEY_PREVIOUS`] (see [`public_key_from_env`]); a
/// previous key without a current one is [`Error::Config`].
pub(crate) fn public_keys_from_env() -> Result<(Option<PublicKey>, Option<PublicKey>), Error> {
    let env = EnvVars::process();
    let current = public_key_from_env(&env, ENV_PUBLIC_KEY)?;
    let previous = public_key_from_env(&env, ENV_PUBLIC_KEY_PREVIOUS)?;
    if current.is_none() && previous.is_some() {
        return Err(no_current_key());
    }
    Ok((current, previous))
}

/// Reads the public key in the variable `name`: `None` when unset; PEM text when it starts with
/// `-----BEGIN`, else the path of a PEM file. Errors name the variable, never its value (nor
/// the path).
fn public_key_from_env(env: &EnvVars, name: &str) -> Result<Option<PublicKey>, Error> {
    let Some(value) = env.var(name)? else {
        return Ok(None);
    };
    let value = value.trim();
    let pem = if value.starts_with("-----BEGIN") {
        value.to_owned()
    } else {
        std::fs::read_to_string(value).map_err(|e| {
            Error::config(format!(
                "{name} does not start with -----BEGIN, so it is read as a file path, and that file cannot be read ({})",
                e.kind()
            ))
        })?
    };
    PublicKey::from_pem(&pem).map(Some).map_err(|e| Error::config(format!("{name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_names_are_read_loosely() {
        assert_eq!(parse_hmac("SHA-512"), Some(HmacAlgorithm::Sha512));
        assert_eq!(parse_hmac(" sha256 "), Some(HmacAlgorithm::Sha256));
        assert_eq!(parse_hmac("md5"), None);
    }

    #[test]
    fn environments_parse_and_print() {
        assert_eq!("Production".parse::<Environment>().unwrap(), Environment::Production);
        assert_eq!(Environment::Sandbox.to_string(), "sandbox");
        assert!("live".parse::<Environment>().is_err());
    }
}
