//! Credentials and settings of a [`CryptoInvoiceClient`](crate::CryptoInvoiceClient).

use std::fmt;
use std::str::FromStr;

use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::settings::{EnvVars, GatewaySettings, GatewaySettingsBuilder, GatewaySpec};
use gerbang_core::{BaseUrl, Error, HttpClient, SharedClock};

/// The environment variable holding the public key (sent as `public_key` in every call).
pub const ENV_PUBLIC_KEY: &str = "GERBANG_CRYPTO_INVOICE_PUBLIC_KEY";
/// The environment variable holding the private key (sent as `private_key` in every call, and
/// what the gateway's callbacks carry to prove where they come from).
pub const ENV_PRIVATE_KEY: &str = "GERBANG_CRYPTO_INVOICE_PRIVATE_KEY";
/// The environment variable holding the previous private key during a rotation: callbacks
/// carrying it are still accepted; calls always send the current one.
pub const ENV_PRIVATE_KEY_PREVIOUS: &str = "GERBANG_CRYPTO_INVOICE_PRIVATE_KEY_PREVIOUS";
/// The environment variable overriding the base URL.
pub const ENV_BASE_URL: &str = "GERBANG_CRYPTO_INVOICE_BASE_URL";
/// The environment variable turning test mode on: `1` or `true` (`0`, `false` or unset: live).
/// See [`CryptoInvoiceConfigBuilder::test_mode`].
pub const ENV_TEST: &str = "GERBANG_CRYPTO_INVOICE_TEST";
/// The environment variable choosing the request body: `json` (the default) or `form`.
/// See [`BodyFormat`].
pub const ENV_BODY: &str = "GERBANG_CRYPTO_INVOICE_BODY";
/// The base URL the `/create_invoice` and `/get_invoices` paths are appended to. The document
/// (`seeds/003_344fd773d4347651.txt`) names no host; its fields are Payid19's, whose API lives
/// here (`PROVIDERS.md` §4).
pub const DEFAULT_BASE_URL: &str = "https://payid19.com/api/v1";

/// The crypto invoice gateway's shared settings: how errors name it, its base URL and default.
const SPEC: GatewaySpec = GatewaySpec::new("crypto invoice", ENV_BASE_URL).default_base_url(DEFAULT_BASE_URL);

/// How request bodies are written.
///
/// **Decision** (`PROVIDERS.md` §4): the document's PHP example posts form fields
/// (`http_build_query`), its Python example posts JSON (`json=post_data`); the gateway takes
/// both. JSON is the default; [`Form`](Self::Form) is the switch for a deployment that turns out
/// to want form fields. The fields, their order and their values are the same in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BodyFormat {
    /// `application/json`; decimals are written as JSON numbers with their exact digits.
    #[default]
    Json,
    /// `application/x-www-form-urlencoded`, as the document's PHP example sends.
    Form,
}

impl BodyFormat {
    /// `json` or `form`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Form => "form",
        }
    }

    /// The `Content-Type` of a body in this format.
    pub(crate) const fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Form => "application/x-www-form-urlencoded",
        }
    }
}

impl FromStr for BodyFormat {
    type Err = Error;

    /// `json` or `form`, in any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "form" => Ok(Self::Form),
            _ => Err(Error::validation("body format", "expected json or form")),
        }
    }
}

impl fmt::Display for BodyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a [`CryptoInvoiceClient`](crate::CryptoInvoiceClient) needs: the two keys, the
/// base URL, test mode, the body format and the client-side settings.
///
/// Its `Debug` shows the base URL and whether test mode is on (so that a test client and a live
/// one are told apart in logs), never the keys.
///
/// ```
/// use gerbang_crypto_invoice::{BodyFormat, CryptoInvoiceConfig};
///
/// let config = CryptoInvoiceConfig::builder("my-public-key", "my-private-key")
///     .base_url("http://127.0.0.1:8080/crypto-invoice")
///     .test_mode(true)
///     .body_format(BodyFormat::Form)
///     .build()?;
/// let shown = format!("{config:?}");
/// assert!(shown.contains("test_mode: true") && !shown.contains("my-private-key"));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Clone)]
pub struct CryptoInvoiceConfig {
    pub(crate) public_key: SecretString,
    pub(crate) private_key: SecretString,
    pub(crate) previous_private_key: Option<SecretString>,
    pub(crate) base_url: BaseUrl,
    pub(crate) test_mode: bool,
    pub(crate) body_format: BodyFormat,
    pub(crate) clock: SharedClock,
    pub(crate) http: HttpClient,
}

impl CryptoInvoiceConfig {
    /// Starts a config from the two keys; every other setting has its default (live invoices,
    /// JSON bodies, the Payid19 base URL).
    pub fn builder(public_key: impl Into<String>, private_key: impl Into<String>) -> CryptoInvoiceConfigBuilder {
        CryptoInvoiceConfigBuilder {
            public_key: SecretString::from(public_key.into()),
            private_key: SecretString::from(private_key.into()),
            previous_private_key: None,
            test_mode: false,
            body_format: BodyFormat::Json,
            settings: GatewaySettingsBuilder::new(SPEC),
        }
    }

    /// A config from `GERBANG_CRYPTO_INVOICE_PUBLIC_KEY`, `GERBANG_CRYPTO_INVOICE_PRIVATE_KEY`
    /// (and `GERBANG_CRYPTO_INVOICE_PRIVATE_KEY_PREVIOUS` during a rotation),
    /// `GERBANG_CRYPTO_INVOICE_BASE_URL` (default `https://payid19.com/api/v1`), and the optional
    /// `GERBANG_CRYPTO_INVOICE_TEST` (`1`/`true`) and `GERBANG_CRYPTO_INVOICE_BODY`
    /// (`json`/`form`).
    ///
    /// A missing or malformed variable is [`Error::Config`] naming it, never showing its value.
    pub fn from_env() -> Result<Self, Error> {
        CryptoInvoiceConfigBuilder::from_env()?.build()
    }

    /// The base URL the `/create_invoice` and `/get_invoices` paths are appended to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// Whether every invoice is created as a test invoice (`test=1`).
    pub fn test_mode(&self) -> bool {
        self.test_mode
    }

    /// How request bodies are written.
    pub fn body_format(&self) -> BodyFormat {
        self.body_format
    }

    /// The clock used to work out when a created invoice expires.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }
}

impl fmt::Debug for CryptoInvoiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoInvoiceConfig")
            .field("base_url", &self.base_url)
            .field("test_mode", &self.test_mode)
            .field("body_format", &self.body_format)
            .field("public_key", &"<redacted>")
            .field("private_key", &"<redacted>")
            .field("previous_private_key", &self.previous_private_key.as_ref().map(|_| "<redacted>"))
            .field("clock", &self.clock)
            .field("http", &self.http)
            .finish()
    }
}

/// Builds a [`CryptoInvoiceConfig`]; [`build`](Self::build) checks it.
#[derive(Clone)]
pub struct CryptoInvoiceConfigBuilder {
    public_key: SecretString,
    private_key: SecretString,
    previous_private_key: Option<SecretString>,
    test_mode: bool,
    body_format: BodyFormat,
    settings: GatewaySettingsBuilder,
}

impl CryptoInvoiceConfigBuilder {
    /// A builder holding the keys, base URL, test mode and body format from the environment
    /// (see [`CryptoInvoiceConfig::from_env`]), so that settings can still be changed before
    /// `build`.
    pub fn from_env() -> Result<Self, Error> {
        let env = EnvVars::process();
        let public_key = env.secret(ENV_PUBLIC_KEY)?;
        let (private_key, previous_private_key) = env.secret_with_previous(ENV_PRIVATE_KEY)?;
        let settings = GatewaySettingsBuilder::from_env(SPEC, &env)?;
        let test_mode = env.parse(ENV_TEST, "1, true, 0 or false", parse_test_mode)?;
        let body_format = env.parse(ENV_BODY, "json or form", |v| v.parse().ok())?;
        Ok(Self {
            previous_private_key,
            test_mode: test_mode.unwrap_or(false),
            body_format: body_format.unwrap_or_default(),
            settings,
            ..CryptoInvoiceConfig::builder(public_key.expose_secret(), private_key.expose_secret())
        })
    }

    /// The private key being rotated out (default none): callbacks carrying it are still
    /// accepted, and the event's [`verified_with`](gerbang_core::WebhookEvent::verified_with) says so; calls always
    /// send the current key. To rotate: make the new key current and the old one previous,
    /// switch the key at the gateway, and remove the previous key once no callback has been
    /// verified with it (`key="previous"` in the log) for longer than the gateway retries (three
    /// tries, five minutes apart). [`ENV_PRIVATE_KEY_PREVIOUS`] in [`from_env`](Self::from_env).
    /// Empty is refused by [`build`](Self::build).
    pub fn previous_private_key(mut self, private_key: impl Into<String>) -> Self {
        self.previous_private_key = Some(SecretString::from(private_key.into()));
        self
    }

    /// Test mode (default off): every invoice is created with `test=1`, which the document
    /// describes as "a test invoice" (a live one has no `test`). A request can also ask for a
    /// test invoice on its own with
    /// [`CreateInvoiceRequest::test`](crate::CreateInvoiceRequest::test).
    pub fn test_mode(mut self, on: bool) -> Self {
        self.test_mode = on;
        self
    }

    /// JSON (the default) or form bodies; see [`BodyFormat`].
    pub fn body_format(mut self, format: BodyFormat) -> Self {
        self.body_format = format;
        self
    }

    /// Checks the settings and builds the config: non-empty keys and a usable base URL.
    pub fn build(self) -> Result<CryptoInvoiceConfig, Error> {
        SPEC.require_secret(&self.public_key, "public key")?;
        SPEC.require_secret(&self.private_key, "private key")?;
        SPEC.require_previous(self.previous_private_key.as_ref(), "private key")?;
        let GatewaySettings { base_url, clock, http, .. } = self.settings.build()?;
        Ok(CryptoInvoiceConfig {
            public_key: self.public_key,
            private_key: self.private_key,
            previous_private_key: self.previous_private_key,
            base_url,
            test_mode: self.test_mode,
            body_format: self.body_format,
            clock,
            http,
        })
    }
}

// The setters every gateway config has, written by core (`settings`) with this gateway's docs.
gerbang_core::gateway_settings_setters! {
    CryptoInvoiceConfigBuilder.settings {
        /// The base URL (default `https://payid19.com/api/v1`): point it at the sandbox
        /// (`{sandbox}/crypto-invoice`) or a test server. Checked by [`build`](Self::build).
        base_url;
        /// The clock used to work out `expires_at` of a created invoice (default the system clock).
        clock;
        http_client;
    }
}

impl fmt::Debug for CryptoInvoiceConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoInvoiceConfigBuilder")
            .field("base_url", &self.settings.base_url())
            .field("test_mode", &self.test_mode)
            .field("body_format", &self.body_format)
            .field("public_key", &"<redacted>")
            .field("private_key", &"<redacted>")
            .field("previous_private_key", &self.previous_private_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// [`ENV_TEST`]: `1` or `true` is on, `0` or `false` off, in any case.
fn parse_test_mode(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}
