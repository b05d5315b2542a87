//! The settings every gateway's config shares, read and checked in one place.
//!
//! Each gateway's config has the same few settings beside its own keys: a base URL (with the
//! gateway's documented default, or none where the gateway publishes no host), a clock, an HTTP
//! client and, where webhooks carry a timestamp, how far one may be from now. They are read from
//! the environment and checked here, so that every gateway names its variables in its errors the
//! same way, never shows a value, and refuses the same mistakes with the same words.
//!
//! A gateway's crate describes itself once, in a [`GatewaySpec`] constant, and its config holds:
//! - in its builder, a [`GatewaySettingsBuilder`] for the shared settings, whose setters
//!   ([`gateway_settings_setters!`](crate::gateway_settings_setters)) write themselves with the
//!   gateway's own doc comments, as inherent methods a user calls without importing anything;
//! - in `from_env`, an [`EnvVars`] for its own variables (credentials, with their `…_PREVIOUS`
//!   during a key rotation, and typed settings), and [`GatewaySettingsBuilder::from_env`] for the
//!   base URL;
//! - in `build`, [`GatewaySpec::require`] for each credential and
//!   [`GatewaySettingsBuilder::build`], which gives the [`GatewaySettings`].
//!
//! The config keeps only what is the gateway's own: its keys, its quirks (a rate budget, an
//! environment, a body format), their docs, and its redacted `Debug`.
//!
//! # A sixth gateway
//!
//! Its config module declares its variables and its spec, holds a [`GatewaySettingsBuilder`] in
//! its builder, and writes only what is its own: here an API key, a webhook key that can be
//! rotated, and a test mode.
//!
//! ```
//! use std::fmt;
//!
//! use gerbang_core::secrecy::SecretString;
//! use gerbang_core::settings::{EnvVars, GatewaySettings, GatewaySettingsBuilder, GatewaySpec};
//! use gerbang_core::{BaseUrl, Error, HttpClient, SharedClock};
//! use std::time::Duration;
//!
//! /// The environment variable holding the API key.
//! pub const ENV_API_KEY: &str = "GERBANG_SIXTH_API_KEY";
//! /// The environment variable holding the key webhooks are signed with (and, during a
//! /// rotation, `GERBANG_SIXTH_WEBHOOK_KEY_PREVIOUS` the one being replaced).
//! pub const ENV_WEBHOOK_KEY: &str = "GERBANG_SIXTH_WEBHOOK_KEY";
//! /// The environment variable overriding the base URL.
//! pub const ENV_BASE_URL: &str = "GERBANG_SIXTH_BASE_URL";
//! /// The environment variable switching test mode on (`true` or `false`).
//! pub const ENV_TEST: &str = "GERBANG_SIXTH_TEST";
//!
//! const SPEC: GatewaySpec = GatewaySpec::new("Sixth", ENV_BASE_URL).default_base_url("https://api.sixth.example/v1");
//!
//! /// Everything a client of the sixth gateway needs.
//! #[derive(Clone)]
//! pub struct SixthConfig {
//!     api_key: SecretString,
//!     webhook_key: SecretString,
//!     previous_webhook_key: Option<SecretString>,
//!     test_mode: bool,
//!     base_url: BaseUrl,
//!     webhook_tolerance: Duration,
//!     clock: SharedClock,
//!     http: HttpClient,
//! }
//!
//! impl fmt::Debug for SixthConfig {
//!     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
//!         f.debug_struct("SixthConfig")
//!             .field("base_url", &self.base_url)
//!             .field("api_key", &"<redacted>")
//!             .field("webhook_key", &"<redacted>")
//!             .field("previous_webhook_key", &self.previous_webhook_key.as_ref().map(|_| "<redacted>"))
//!             .field("test_mode", &self.test_mode)
//!             .finish_non_exhaustive()
//!     }
//! }
//!
//! /// Builds a [`SixthConfig`].
//! #[derive(Clone)]
//! pub struct SixthConfigBuilder {
//!     api_key: SecretString,
//!     webhook_key: SecretString,
//!     previous_webhook_key: Option<SecretString>,
//!     test_mode: bool,
//!     settings: GatewaySettingsBuilder,
//! }
//!
//! impl SixthConfigBuilder {
//!     /// A builder from the two keys; every other setting has its default.
//!     pub fn new(api_key: impl Into<String>, webhook_key: impl Into<String>) -> Self {
//!         Self {
//!             api_key: SecretString::from(api_key.into()),
//!             webhook_key: SecretString::from(webhook_key.into()),
//!             previous_webhook_key: None,
//!             test_mode: false,
//!             settings: GatewaySettingsBuilder::new(SPEC),
//!         }
//!     }
//!
//!     /// A builder from `GERBANG_SIXTH_API_KEY`, `GERBANG_SIXTH_WEBHOOK_KEY` (and its
//!     /// `_PREVIOUS`), `GERBANG_SIXTH_BASE_URL` and `GERBANG_SIXTH_TEST`.
//!     pub fn from_env() -> Result<Self, Error> {
//!         let env = EnvVars::process();
//!         let api_key = env.secret(ENV_API_KEY)?;
//!         let (webhook_key, previous_webhook_key) = env.secret_with_previous(ENV_WEBHOOK_KEY)?;
//!         let test_mode = env.parse(ENV_TEST, "true or false", |v| v.trim().parse().ok())?;
//!         let settings = GatewaySettingsBuilder::from_env(SPEC, &env)?;
//!         Ok(Self { api_key, webhook_key, previous_webhook_key, test_mode: test_mode.unwrap_or(false), settings })
//!     }
//!
//!     /// The webhook key being rotated out: the gateway's own setting, with its own doc.
//!     pub fn previous_webhook_key(mut self, key: impl Into<String>) -> Self {
//!         self.previous_webhook_key = Some(SecretString::from(key.into()));
//!         self
//!     }
//!
//!     /// Test mode (default off).
//!     pub fn test_mode(mut self, on: bool) -> Self {
//!         self.test_mode = on;
//!         self
//!     }
//!
//!     /// Checks the settings and builds the config.
//!     pub fn build(self) -> Result<SixthConfig, Error> {
//!         SPEC.require_secret(&self.api_key, "API key")?;
//!         SPEC.require_secret(&self.webhook_key, "webhook key")?;
//!         SPEC.require_previous(self.previous_webhook_key.as_ref(), "webhook key")?;
//!         let GatewaySettings { base_url, webhook_tolerance, clock, http, .. } = self.settings.build()?;
//!         Ok(SixthConfig {
//!             api_key: self.api_key,
//!             webhook_key: self.webhook_key,
//!             previous_webhook_key: self.previous_webhook_key,
//!             test_mode: self.test_mode,
//!             base_url,
//!             webhook_tolerance,
//!             clock,
//!             http,
//!         })
//!     }
//! }
//!
//! // The shared setters, with this gateway's words where they say more than the defaults.
//! gerbang_core::gateway_settings_setters! {
//!     SixthConfigBuilder.settings {
//!         /// The base URL (default `https://api.sixth.example/v1`): point it at a test server.
//!         base_url;
//!         webhook_tolerance;
//!         clock;
//!         http_client;
//!     }
//! }
//!
//! let config = SixthConfigBuilder::new("sk-123", "wh-456").base_url("http://127.0.0.1:9/sixth/").build()?;
//! assert_eq!(config.base_url.as_str(), "http://127.0.0.1:9/sixth");
//! assert_eq!(config.webhook_tolerance, Duration::from_secs(300));
//! let err = SixthConfigBuilder::new("sk-123", "wh-456").previous_webhook_key(" ").build().unwrap_err();
//! assert_eq!(err, Error::config("the previous Sixth webhook key is empty"));
//! # Ok::<(), Error>(())
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::config::{BaseUrl, previous_var, require_credential};
use crate::{Error, HttpClient, SharedClock, SystemClock};

/// How far a webhook's timestamp may be from now, either way, unless a gateway says otherwise:
/// five minutes, what the gateways that sign a timestamp document.
pub const DEFAULT_WEBHOOK_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// What the shared settings need to know of a gateway: the name its errors call it by, the
/// variable of its base URL, and its defaults. A gateway's crate declares one as a constant.
///
/// ```
/// use gerbang_core::settings::GatewaySpec;
///
/// const SPEC: GatewaySpec =
///     GatewaySpec::new("Cuan10pay", "GERBANG_CUAN10PAY_BASE_URL").default_base_url("https://cuan10pay.com/api");
/// assert_eq!(SPEC.name(), "Cuan10pay");
/// let err = SPEC.require("  ", "API key").unwrap_err();
/// assert_eq!(err.to_string(), "configuration error: the Cuan10pay API key is empty");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewaySpec {
    name: &'static str,
    base_url_var: &'static str,
    default_base_url: Option<&'static str>,
    default_webhook_tolerance: Duration,
}

impl GatewaySpec {
    /// A gateway called `name` in errors (`"Cuan10pay"`, `"Cash In"`), whose base URL is read
    /// from the variable `base_url_var`. Without [`default_base_url`](Self::default_base_url)
    /// the base URL is required: for a gateway whose documents name no host.
    pub const fn new(name: &'static str, base_url_var: &'static str) -> Self {
        Self { name, base_url_var, default_base_url: None, default_webhook_tolerance: DEFAULT_WEBHOOK_TOLERANCE }
    }

    /// The base URL used when none is given: the one the gateway's documents name.
    pub const fn default_base_url(mut self, url: &'static str) -> Self {
        self.default_base_url = Some(url);
        self
    }

    /// How far a webhook's timestamp may be from now when none is given (default
    /// [`DEFAULT_WEBHOOK_TOLERANCE`]).
    pub const fn default_webhook_tolerance(mut self, tolerance: Duration) -> Self {
        self.default_webhook_tolerance = tolerance;
        self
    }

    /// The name errors call the gateway by.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The variable holding the base URL.
    pub const fn base_url_var(&self) -> &'static str {
        self.base_url_var
    }

    /// Refuses a credential given as empty or blank text: [`Error::Config`] saying `the {name}
    /// {what} is empty` ("the Cuan10pay API key is empty"), never showing the credential.
    pub fn require(&self, value: &str, what: &str) -> Result<(), Error> {
        require_credential(value, &format!("{} {what}", self.name))
    }

    /// [`require`](Self::require) for a secret.
    pub fn require_secret(&self, secret: &SecretString, what: &str) -> Result<(), Error> {
        self.require(secret.expose_secret(), what)
    }

    /// Refuses a previous value of a secret (the one being rotated out) given as empty or blank
    /// text: `the previous {name} {what} is empty`. None is fine: there is no rotation.
    ///
    /// An empty variable is not a previous value given as empty: [`EnvVars`] reads it as unset,
    /// so that an operator ends a rotation by emptying `…_PREVIOUS` as well as by removing it.
    pub fn require_previous(&self, previous: Option<&SecretString>, what: &str) -> Result<(), Error> {
        match previous {
            Some(previous) => require_credential(previous.expose_secret(), &format!("previous {} {what}", self.name)),
            None => Ok(()),
        }
    }
}

/// Where configs read their variables from: the process's environment, or a given set (for
/// tests, since setting the process's environment is not safe in a threaded test).
///
/// An unset variable and one set to blank text are the same: not set. Every error names the
/// variable and says what was expected, and never shows the value: a misplaced secret (a key
/// pasted into the base URL's variable) stays out of logs.
///
/// ```
/// use gerbang_core::settings::EnvVars;
///
/// let env = EnvVars::from_vars([("GERBANG_X_KEY", "k1"), ("GERBANG_X_KEY_PREVIOUS", "k0"), ("GERBANG_X_LIMIT", "ten")]);
/// let (current, previous) = env.secret_with_previous("GERBANG_X_KEY")?;
/// assert!(previous.is_some());
/// let err = env.parse("GERBANG_X_LIMIT", "a whole number", |v| v.parse::<u32>().ok()).unwrap_err();
/// assert_eq!(err.to_string(), "configuration error: GERBANG_X_LIMIT must be a whole number");
/// assert_eq!(env.secret("GERBANG_X_OTHER").unwrap_err().to_string(), "configuration error: GERBANG_X_OTHER is not set");
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct EnvVars {
    /// `None`: the process's environment.
    given: Option<Arc<BTreeMap<String, OsString>>>,
}

impl EnvVars {
    /// The process's environment variables, read when asked (not copied).
    pub fn process() -> Self {
        Self { given: None }
    }

    /// The given variables, and no others.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<OsString>,
    {
        let vars = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Self { given: Some(Arc::new(vars)) }
    }

    /// The variable `name`; `Ok(None)` when unset or blank. A value that is not Unicode is
    /// [`Error::Config`] naming the variable.
    pub fn var(&self, name: &str) -> Result<Option<String>, Error> {
        let value = match &self.given {
            None => std::env::var_os(name),
            Some(vars) => vars.get(name).cloned(),
        };
        match value.map(OsString::into_string) {
            None => Ok(None),
            Some(Ok(v)) if v.trim().is_empty() => Ok(None),
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(_)) => Err(Error::config(format!("{name} is not valid Unicode"))),
        }
    }

    /// The variable `name`, which must be set: `{name} is not set` otherwise.
    pub fn required(&self, name: &str) -> Result<String, Error> {
        self.var(name)?.ok_or_else(|| Error::config(format!("{name} is not set")))
    }

    /// A secret that must be set.
    pub fn secret(&self, name: &str) -> Result<SecretString, Error> {
        self.required(name).map(SecretString::from)
    }

    /// A secret that must be set, and its previous value (`{name}_PREVIOUS`, see
    /// [`previous_var`]) when one is set: the pair a webhook verifier
    /// accepts during a key rotation. An unset or blank previous value is `None`.
    pub fn secret_with_previous(&self, name: &str) -> Result<(SecretString, Option<SecretString>), Error> {
        let current = self.secret(name)?;
        let previous = self.var(&previous_var(name))?.map(SecretString::from);
        Ok((current, previous))
    }

    /// The variable `name` read by `parse`, when set: `{name} must be {expected}` when `parse`
    /// finds nothing in it (`expected` says what would do, as "sandbox or production").
    pub fn parse<T>(
        &self,
        name: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        match self.var(name)? {
            None => Ok(None),
            Some(value) => parse(&value).map(Some).ok_or_else(|| Error::config(format!("{name} must be {expected}"))),
        }
    }

    /// The variable `name` as a base URL, when set (see [`BaseUrl::parse`]).
    pub fn base_url(&self, name: &str) -> Result<Option<BaseUrl>, Error> {
        self.var(name)?
            .map(|v| {
                BaseUrl::parse(&v)
                    .map_err(|_| Error::config(format!("{name} is not an absolute http(s) URL without query")))
            })
            .transpose()
    }
}

impl fmt::Debug for EnvVars {
    /// Which variables, never their values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.given {
            None => f.write_str("EnvVars(process)"),
            Some(vars) => f.debug_tuple("EnvVars").field(&vars.keys().collect::<Vec<_>>()).finish(),
        }
    }
}

/// The shared settings of a gateway's config, as checked by [`GatewaySettingsBuilder::build`].
/// A config keeps the fields it uses (QRIS has no clock).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewaySettings {
    /// The base URL the gateway's paths are appended to.
    pub base_url: BaseUrl,
    /// How far a webhook's timestamp may be from now.
    pub webhook_tolerance: Duration,
    /// The clock that stamps requests and judges timestamps and expiries.
    pub clock: SharedClock,
    /// The HTTP client every call goes through.
    pub http: HttpClient,
}

/// The shared settings of a gateway's config while it is built: a gateway's builder holds one
/// and gives its setters with [`gateway_settings_setters!`](crate::gateway_settings_setters).
///
/// Its `Debug` shows the base URL as given, the tolerance and the clock: no secret goes here.
#[derive(Clone)]
pub struct GatewaySettingsBuilder {
    spec: GatewaySpec,
    base_url: Option<String>,
    webhook_tolerance: Duration,
    clock: Option<SharedClock>,
    http: Option<HttpClient>,
}

impl GatewaySettingsBuilder {
    /// The gateway's defaults: its default base URL (if any), its webhook tolerance, the system
    /// clock and [`HttpClient::new`].
    pub fn new(spec: GatewaySpec) -> Self {
        Self { spec, base_url: None, webhook_tolerance: spec.default_webhook_tolerance, clock: None, http: None }
    }

    /// The defaults, and the base URL from the spec's variable when it is set (checked now, so
    /// that the error names the variable). Unset, it may still be given before
    /// [`build`](Self::build), which says when a required one is missing.
    pub fn from_env(spec: GatewaySpec, env: &EnvVars) -> Result<Self, Error> {
        let mut settings = Self::new(spec);
        settings.base_url = env.base_url(spec.base_url_var)?.map(|url| url.as_str().to_owned());
        Ok(settings)
    }

    /// Sets the base URL; checked by [`build`](Self::build).
    pub fn set_base_url(&mut self, base_url: impl Into<String>) {
        self.base_url = Some(base_url.into());
    }

    /// Sets how far a webhook's timestamp may be from now.
    pub fn set_webhook_tolerance(&mut self, tolerance: Duration) {
        self.webhook_tolerance = tolerance;
    }

    /// Sets the clock.
    pub fn set_clock(&mut self, clock: SharedClock) {
        self.clock = Some(clock);
    }

    /// Sets the HTTP client.
    pub fn set_http_client(&mut self, http: HttpClient) {
        self.http = Some(http);
    }

    /// The base URL as given (or read from the environment), before it is checked.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    /// How far a webhook's timestamp may be from now.
    pub fn webhook_tolerance(&self) -> Duration {
        self.webhook_tolerance
    }

    /// Checks the settings: a usable base URL, the given one or the gateway's default; without
    /// either, [`Error::Config`] naming the variable and `base_url()`.
    pub fn build(self) -> Result<GatewaySettings, Error> {
        let default = self.spec.default_base_url;
        self.build_with(default)
    }

    /// As [`build`](Self::build), with `default` as the default base URL: for a gateway whose
    /// default depends on another setting (Cash In's sandbox or production).
    pub fn build_with_default_base_url(self, default: &str) -> Result<GatewaySettings, Error> {
        self.build_with(Some(default))
    }

    fn build_with(self, default: Option<&str>) -> Result<GatewaySettings, Error> {
        let base_url = match self.base_url.as_deref().or(default) {
            Some(url) => BaseUrl::parse(url)?,
            None => {
                let GatewaySpec { name, base_url_var, .. } = self.spec;
                return Err(Error::config(format!(
                    "the {name} base URL is not set: the gateway's document names no host; set {base_url_var} or call base_url()"
                )));
            }
        };
        Ok(GatewaySettings {
            base_url,
            webhook_tolerance: self.webhook_tolerance,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            http: self.http.unwrap_or_default(),
        })
    }
}

impl fmt::Debug for GatewaySettingsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewaySettingsBuilder")
            .field("gateway", &self.spec.name)
            .field("base_url", &self.base_url)
            .field("webhook_tolerance", &self.webhook_tolerance)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Writes the shared setters of a gateway's config builder, as inherent methods that delegate to
/// the builder's [`GatewaySettingsBuilder`] field: `base_url(impl Into<String>)`,
/// `webhook_tolerance(Duration)`, `clock(SharedClock)`, `http_client(HttpClient)`, each taking
/// and returning the builder. Name the ones the gateway has; doc comments written above a name
/// replace its default doc (say the gateway's default base URL, or what its clock stamps).
///
/// Why a macro and not a trait with provided methods: a trait's methods are callable only where
/// the trait is imported, so every `Config::builder(..).base_url(..)` a user wrote would need a
/// new `use`; and one trait would give QRIS a clock it has no use for, with one doc for five
/// gateways whose defaults differ. These are plain methods in rustdoc, with each gateway's docs.
///
/// ```
/// use gerbang_core::settings::{GatewaySettingsBuilder, GatewaySpec};
///
/// /// A builder.
/// #[derive(Debug)]
/// pub struct ExampleBuilder {
///     settings: GatewaySettingsBuilder,
/// }
///
/// gerbang_core::gateway_settings_setters! {
///     ExampleBuilder.settings {
///         /// The base URL (required: the example gateway publishes none).
///         base_url;
///         http_client;
///     }
/// }
///
/// let builder = ExampleBuilder { settings: GatewaySettingsBuilder::new(GatewaySpec::new("Example", "GERBANG_EXAMPLE_BASE_URL")) };
/// assert_eq!(builder.base_url("http://127.0.0.1:9").settings.base_url(), Some("http://127.0.0.1:9"));
/// ```
#[macro_export]
macro_rules! gateway_settings_setters {
    ($builder:ident . $field:ident { $( $(#[$doc:meta])* $setter:ident; )* }) => {
        impl $builder {
            $( $crate::gateway_settings_setters!(@setter $field [$(#[$doc])*] $setter); )*
        }
    };
    (@setter $field:ident [] base_url) => {
        $crate::gateway_settings_setters!(@setter $field [
            /// The base URL the gateway's paths are appended to: the gateway's, the sandbox's or
            /// a test server's. Checked by [`build`](Self::build).
        ] base_url);
    };
    (@setter $field:ident [] webhook_tolerance) => {
        $crate::gateway_settings_setters!(@setter $field [
            /// How far a webhook's timestamp may be from now, in the past or the future.
        ] webhook_tolerance);
    };
    (@setter $field:ident [] clock) => {
        $crate::gateway_settings_setters!(@setter $field [
            /// The clock (default the system clock); a
            /// [`FixedClock`](gerbang_core::FixedClock) in tests.
        ] clock);
    };
    (@setter $field:ident [] http_client) => {
        $crate::gateway_settings_setters!(@setter $field [
            /// The HTTP client (default [`HttpClient::new`](gerbang_core::HttpClient::new):
            /// default timeouts and retries).
        ] http_client);
    };
    (@setter $field:ident [$($doc:tt)+] base_url) => {
        $($doc)+
        pub fn base_url(mut self, base_url: impl ::std::convert::Into<::std::string::String>) -> Self {
            self.$field.set_base_url(base_url);
            self
        }
    };
    (@setter $field:ident [$($doc:tt)+] webhook_tolerance) => {
        $($doc)+
        pub fn webhook_tolerance(mut self, tolerance: ::std::time::Duration) -> Self {
            self.$field.set_webhook_tolerance(tolerance);
            self
        }
    };
    (@setter $field:ident [$($doc:tt)+] clock) => {
        $($doc)+
        pub fn clock(mut self, clock: $crate::SharedClock) -> Self {
            self.$field.set_clock(clock);
            self
        }
    };
    (@setter $field:ident [$($doc:tt)+] http_client) => {
        $($doc)+
        pub fn http_client(mut self, http: $crate::HttpClient) -> Self {
            self.$field.set_http_client(http);
            self
        }
    };
    (@setter $field:ident [$($doc:tt)*] $other:ident) => {
        ::std::compile_error!(::std::concat!(
            "gateway_settings_setters! knows base_url, webhook_tolerance, clock and http_client, not ",
            ::std::stringify!($other)
        ));
    };
}
