//! Helpers every gateway config uses: environment variables and base URLs.
//!
//! The functions read the process's environment through [`EnvVars`], the one reader of
//! variables; a gateway's config uses it and the rest of [`settings`](crate::settings).

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use secrecy::SecretString;
use url::Url;

use crate::Error;
use crate::settings::EnvVars;

/// Reads an environment variable; `Ok(None)` when unset or empty.
///
/// A value that is not Unicode is [`Error::Config`] naming the variable, never showing the value.
pub fn env_var(name: &str) -> Result<Option<String>, Error> {
    EnvVars::process().var(name)
}

/// Reads an environment variable that must be set: [`Error::Config`] naming it otherwise.
pub fn env_required(name: &str) -> Result<String, Error> {
    EnvVars::process().required(name)
}

/// Reads a secret that must be set.
pub fn env_secret(name: &str) -> Result<SecretString, Error> {
    EnvVars::process().secret(name)
}

/// What is appended to a secret's variable to name the value it replaces during a rotation:
/// `GERBANG_CUAN10PAY_PRIVATE_KEY_PREVIOUS` beside `GERBANG_CUAN10PAY_PRIVATE_KEY`.
pub const PREVIOUS_SUFFIX: &str = "_PREVIOUS";

/// The name of the variable holding the previous value of the secret in `name`.
///
/// ```
/// assert_eq!(gerbang_core::previous_var("GERBANG_X_KEY"), "GERBANG_X_KEY_PREVIOUS");
/// ```
pub fn previous_var(name: &str) -> String {
    format!("{name}{PREVIOUS_SUFFIX}")
}

/// Reads a secret that must be set, and its previous value (`{name}_PREVIOUS`, see
/// [`previous_var`]) when one is set: the pair a webhook verifier accepts during a key
/// rotation. Unset or empty previous is `None`; errors name the variable, never the value.
pub fn env_secret_with_previous(name: &str) -> Result<(SecretString, Option<SecretString>), Error> {
    EnvVars::process().secret_with_previous(name)
}

/// Refuses a credential given as empty or blank text: [`Error::Config`] saying `the {what} is
/// empty`, naming the credential, never showing it.
///
/// ```
/// use gerbang_core::require_credential;
/// assert!(require_credential("sk-123", "Cuan10pay API key").is_ok());
/// let err = require_credential("  ", "Cuan10pay API key").unwrap_err();
/// assert!(err.to_string().contains("the Cuan10pay API key is empty"));
/// ```
pub fn require_credential(value: &str, what: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::config(format!("the {what} is empty")));
    }
    Ok(())
}

/// A gateway's base URL: the prefix the documented paths are appended to.
///
/// Any trailing `/` is dropped, so `BaseUrl::parse("https://cuan10pay.com/api/")` and
/// `…/api` are the same, and the paths of the gateway documents (`/v1/deposit_create`) append as
/// written. A base URL may not carry a query or credentials: keys go through the config.
///
/// ```
/// use gerbang_core::BaseUrl;
/// let base = BaseUrl::parse("https://cuan10pay.com/api/").unwrap();
/// assert_eq!(base.join("/v1/deposit_status?ref=CP-1").unwrap().as_str(), "https://cuan10pay.com/api/v1/deposit_status?ref=CP-1");
/// assert_eq!(base.endpoint("/v1/deposit_create").unwrap().as_str(), "https://cuan10pay.com/api/v1/deposit_create");
/// ```
#[derive(Clone)]
pub struct BaseUrl {
    text: String,
    /// The URLs of the fixed paths [`endpoint`](Self::endpoint) has joined, each parsed once
    /// (parsing one costs more than the rest of building a request), shared by every clone.
    endpoints: Arc<RwLock<Vec<(&'static str, Url)>>>,
}

impl PartialEq for BaseUrl {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for BaseUrl {}

impl BaseUrl {
    /// Parses and checks a base URL.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::config(format!("base URL is not usable: {why}"));
        let url = Url::parse(value.trim()).map_err(|_| bad("expected an absolute http:// or https:// URL"))?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(bad("expected an absolute http:// or https:// URL"));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(bad("it may not carry a query, fragment or credentials"));
        }
        Ok(Self { text: url.as_str().trim_end_matches('/').to_owned(), endpoints: Arc::default() })
    }

    /// Parses the variable `name` as a base URL, or uses `default` when unset.
    pub fn from_env(name: &str, default: Option<&str>) -> Result<Self, Error> {
        match (Self::from_env_if_set(name)?, default) {
            (Some(url), _) => Ok(url),
            (None, Some(d)) => Self::parse(d),
            (None, None) => Err(Error::config(format!("{name} is not set"))),
        }
    }

    /// Parses the variable `name` as a base URL when it is set: a builder that can be given the
    /// base URL later (a command-line flag) reads it this way, and checks it is there when built.
    pub fn from_env_if_set(name: &str) -> Result<Option<Self>, Error> {
        EnvVars::process().base_url(name)
    }

    /// The URL of `path_and_query` (which starts with `/`) under this base.
    pub fn join(&self, path_and_query: &str) -> Result<Url, Error> {
        Url::parse(&format!("{}{}", self.text, path_and_query))
            .map_err(|_| Error::validation("path", "does not form a valid URL with the base URL"))
    }

    /// [`join`](Self::join) for one of a gateway's fixed paths (no id in it): parsed the first
    /// time, copied after.
    pub fn endpoint(&self, path: &'static str) -> Result<Url, Error> {
        let known = |endpoints: &[(&'static str, Url)]| {
            endpoints.iter().find(|(known, _)| *known == path).map(|(_, url)| url.clone())
        };
        if let Some(url) = known(&self.endpoints.read().unwrap_or_else(PoisonError::into_inner)) {
            return Ok(url);
        }
        let url = self.join(path)?;
        let mut endpoints = self.endpoints.write().unwrap_or_else(PoisonError::into_inner);
        if known(&endpoints).is_none() {
            endpoints.push((path, url.clone()));
        }
        Ok(url)
    }

    /// The base URL as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_its_joined_url_parsed_once_for_every_clone() {
        let base = BaseUrl::parse("http://127.0.0.1:8870/api/").unwrap();
        let copy = base.clone();
        for path in ["/v1/status", "/v1/create", "/v1/status"] {
            assert_eq!(base.endpoint(path).unwrap(), base.join(path).unwrap());
            assert_eq!(copy.endpoint(path).unwrap(), base.join(path).unwrap());
        }
        let parsed: Vec<&str> = base.endpoints.read().unwrap().iter().map(|(path, _)| *path).collect();
        assert_eq!(parsed, ["/v1/status", "/v1/create"]);
        assert_eq!(base, BaseUrl::parse("http://127.0.0.1:8870/api").unwrap(), "equal by their text alone");
    }

    #[test]
    fn refuses_queries_credentials_and_other_schemes() {
        for bad in ["ftp://x.com", "not a url", "https://x.com/api?apikey=1", "https://u:p@x.com"] {
            assert!(matches!(BaseUrl::parse(bad), Err(Error::Config { .. })), "{bad}");
        }
        let msg = BaseUrl::parse("https://x.com/?apikey=SECRET").unwrap_err().to_string();
        assert!(!msg.contains("SECRET"));
    }
}
