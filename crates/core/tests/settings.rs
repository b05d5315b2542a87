//! The one reader of a gateway's configuration: every error names the variable and never shows
//! its value, the previous value of a secret is read from `…_PREVIOUS`, a previous value given
//! empty is refused, and the gateway's default base URL applies when none is set.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // Test code; the figures go to stderr.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use gerbang_core::Error;
use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::settings::{EnvVars, GatewaySettingsBuilder, GatewaySpec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const BASE_URL_VAR: &str = "GERBANG_TEST_BASE_URL";
const KEY_VAR: &str = "GERBANG_TEST_PRIVATE_KEY";
const LIMIT_VAR: &str = "GERBANG_TEST_RATE_LIMIT";
const DEFAULT_BASE_URL: &str = "https://gateway.example/api";

const WITH_DEFAULT: GatewaySpec = GatewaySpec::new("Test", BASE_URL_VAR).default_base_url(DEFAULT_BASE_URL);
const REQUIRED: GatewaySpec = GatewaySpec::new("Test", BASE_URL_VAR);

fn env(vars: &[(&str, &str)]) -> EnvVars {
    EnvVars::from_vars(vars.iter().copied())
}

fn base_url(spec: GatewaySpec, env: &EnvVars) -> Result<String, Error> {
    Ok(GatewaySettingsBuilder::from_env(spec, env)?.build()?.base_url.as_str().to_owned())
}

#[test]
fn a_missing_or_blank_variable_is_not_set_and_named() {
    for vars in [env(&[]), env(&[(KEY_VAR, "")]), env(&[(KEY_VAR, " \t\n")])] {
        assert_eq!(vars.var(KEY_VAR).unwrap(), None);
        assert_eq!(vars.secret(KEY_VAR).unwrap_err(), Error::config("GERBANG_TEST_PRIVATE_KEY is not set"));
        assert_eq!(
            vars.secret_with_previous(KEY_VAR).unwrap_err(),
            Error::config("GERBANG_TEST_PRIVATE_KEY is not set")
        );
        assert_eq!(vars.parse(LIMIT_VAR, "a number", |v| v.parse::<u32>().ok()).unwrap(), None);
    }
    assert_eq!(env(&[(KEY_VAR, " k ")]).required(KEY_VAR).unwrap(), " k ", "a set value is kept as given");
}

#[test]
fn the_previous_value_is_read_from_the_previous_suffix() {
    let vars = env(&[(KEY_VAR, "current-key"), ("GERBANG_TEST_PRIVATE_KEY_PREVIOUS", "previous-key")]);
    let (current, previous) = vars.secret_with_previous(KEY_VAR).unwrap();
    assert_eq!(current.expose_secret(), "current-key");
    assert_eq!(previous.unwrap().expose_secret(), "previous-key");

    // Only `{name}_PREVIOUS`: not another spelling, not another secret's.
    for other in ["GERBANG_TEST_PRIVATE_KEYPREVIOUS", "GERBANG_TEST_PREVIOUS_PRIVATE_KEY", "GERBANG_TEST_PREVIOUS"] {
        let vars = env(&[(KEY_VAR, "current-key"), (other, "previous-key")]);
        assert!(vars.secret_with_previous(KEY_VAR).unwrap().1.is_none(), "{other}");
    }
    // Emptied at the end of a rotation, as well as removed: no previous value.
    let vars = env(&[(KEY_VAR, "current-key"), ("GERBANG_TEST_PRIVATE_KEY_PREVIOUS", " ")]);
    assert!(vars.secret_with_previous(KEY_VAR).unwrap().1.is_none());
    // A previous value never stands in for a missing current one.
    let vars = env(&[("GERBANG_TEST_PRIVATE_KEY_PREVIOUS", "previous-key")]);
    assert_eq!(vars.secret_with_previous(KEY_VAR).unwrap_err(), Error::config("GERBANG_TEST_PRIVATE_KEY is not set"));
}

#[test]
fn an_empty_previous_value_is_refused() {
    for empty in ["", " ", "\t\n"] {
        let err = WITH_DEFAULT.require_previous(Some(&SecretString::from(empty)), "private key").unwrap_err();
        assert_eq!(err, Error::config("the previous Test private key is empty"));
    }
    assert!(WITH_DEFAULT.require_previous(Some(&SecretString::from("old-key")), "private key").is_ok());
    assert!(WITH_DEFAULT.require_previous(None, "private key").is_ok(), "no previous: no rotation");
    let err = WITH_DEFAULT.require_secret(&SecretString::from(" "), "API key").unwrap_err();
    assert_eq!(err, Error::config("the Test API key is empty"));
}

#[test]
fn the_default_base_url_applies_when_unset() {
    assert_eq!(base_url(WITH_DEFAULT, &env(&[])).unwrap(), DEFAULT_BASE_URL);
    assert_eq!(base_url(WITH_DEFAULT, &env(&[(BASE_URL_VAR, "  ")])).unwrap(), DEFAULT_BASE_URL);
    assert_eq!(
        base_url(WITH_DEFAULT, &env(&[(BASE_URL_VAR, "http://127.0.0.1:9/gw/")])).unwrap(),
        "http://127.0.0.1:9/gw"
    );

    // Given to the builder, it wins over the variable and the default.
    let mut settings =
        GatewaySettingsBuilder::from_env(WITH_DEFAULT, &env(&[(BASE_URL_VAR, "http://a.example")])).unwrap();
    settings.set_base_url("http://b.example/x");
    assert_eq!(settings.build().unwrap().base_url.as_str(), "http://b.example/x");

    // A default that depends on another setting (Cash In's environment) replaces the spec's.
    let settings = GatewaySettingsBuilder::new(WITH_DEFAULT).build_with_default_base_url("https://prod.example/v2");
    assert_eq!(settings.unwrap().base_url.as_str(), "https://prod.example/v2");

    // Without a default, the base URL is required: the error says how to give one.
    let err = base_url(REQUIRED, &env(&[])).unwrap_err();
    assert_eq!(
        err,
        Error::config(
            "the Test base URL is not set: the gateway's document names no host; set GERBANG_TEST_BASE_URL or call base_url()"
        )
    );
}

#[test]
fn the_other_shared_settings_have_the_gateways_defaults() {
    let spec = WITH_DEFAULT.default_webhook_tolerance(Duration::from_secs(42));
    let settings = GatewaySettingsBuilder::new(spec).build().unwrap();
    assert_eq!(settings.webhook_tolerance, Duration::from_secs(42));
    let settings = GatewaySettingsBuilder::new(REQUIRED.default_base_url(DEFAULT_BASE_URL)).build().unwrap();
    assert_eq!(settings.webhook_tolerance, Duration::from_secs(300), "five minutes unless the gateway says");
}

#[test]
fn debug_names_variables_and_never_values() {
    let vars = env(&[(KEY_VAR, "sk-live-Zq81"), (BASE_URL_VAR, "https://gw.example/?apikey=sk-live-Zq81")]);
    let shown = format!("{vars:?}");
    assert!(shown.contains(KEY_VAR) && !shown.contains("sk-live-Zq81"), "{shown}");
    assert_eq!(format!("{:?}", EnvVars::process()), "EnvVars(process)");
}

/// How a value is put where it cannot be read.
#[derive(Debug, Clone, Copy)]
enum Misuse {
    /// In the base URL's variable, behind `ftp://`: a scheme other than http(s).
    BaseUrlScheme,
    /// In the base URL's variable, as a query: a key pasted into the URL.
    BaseUrlQuery,
    /// The base URL's variable holding the bare value (the values hold no `:`): not an absolute URL.
    BaseUrlBare,
    /// The same three, given to the builder rather than the environment.
    BuilderBaseUrl,
    /// A typed variable whose parser finds nothing in it.
    Parse,
    /// The value followed by a byte that is not UTF-8.
    NotUnicode,
    /// The previous value set, the current one missing.
    PreviousWithoutCurrent,
}

const MISUSES: [Misuse; 7] = [
    Misuse::BaseUrlScheme,
    Misuse::BaseUrlQuery,
    Misuse::BaseUrlBare,
    Misuse::BuilderBaseUrl,
    Misuse::Parse,
    Misuse::NotUnicode,
    Misuse::PreviousWithoutCurrent,
];

/// The variable an error must name, and the error, for a value misused as `misuse`.
fn misuse(misuse: Misuse, value: &str) -> (&'static str, Error) {
    let string_vars = |name: &str, v: String| EnvVars::from_vars([(name.to_owned(), OsString::from(v))]);
    match misuse {
        Misuse::BaseUrlScheme => (
            BASE_URL_VAR,
            base_url(WITH_DEFAULT, &string_vars(BASE_URL_VAR, format!("ftp://gw.example/{value}"))).unwrap_err(),
        ),
        Misuse::BaseUrlQuery => (
            BASE_URL_VAR,
            base_url(WITH_DEFAULT, &string_vars(BASE_URL_VAR, format!("https://gw.example/api?apikey={value}")))
                .unwrap_err(),
        ),
        Misuse::BaseUrlBare => {
            (BASE_URL_VAR, base_url(REQUIRED, &string_vars(BASE_URL_VAR, value.to_owned())).unwrap_err())
        }
        Misuse::BuilderBaseUrl => {
            let mut settings = GatewaySettingsBuilder::new(WITH_DEFAULT);
            settings.set_base_url(format!("https://gw.example/?k={value}"));
            // The builder's error names no variable: the URL came from code, not the environment.
            ("base URL", settings.build().unwrap_err())
        }
        Misuse::Parse => {
            let vars = string_vars(LIMIT_VAR, value.to_owned());
            (LIMIT_VAR, vars.parse(LIMIT_VAR, "a positive whole number", |_| None::<u32>).unwrap_err())
        }
        Misuse::NotUnicode => {
            let mut bytes = value.as_bytes().to_vec();
            bytes.push(0xff);
            let vars = EnvVars::from_vars([(KEY_VAR.to_owned(), OsString::from_vec(bytes))]);
            (KEY_VAR, vars.secret_with_previous(KEY_VAR).unwrap_err())
        }
        Misuse::PreviousWithoutCurrent => {
            let vars = string_vars("GERBANG_TEST_PRIVATE_KEY_PREVIOUS", value.to_owned());
            (KEY_VAR, vars.secret_with_previous(KEY_VAR).unwrap_err())
        }
    }
}

/// Values as a merchant might paste them (printable, no space; no `:`, so that a bare one is never
/// an absolute URL), long enough that finding one in an error's fixed words would not be chance.
fn value() -> impl Strategy<Value = String> {
    "[!-9;-~]{8,48}"
}

/// For any value, and every way of putting it where it cannot be read, the error is a config
/// error naming the variable, and neither its text nor its `Debug` holds the value.
#[test]
fn no_error_shows_the_value_it_refused() {
    const CASES: u32 = 1024;
    let tried: RefCell<BTreeMap<String, u32>> = RefCell::default();
    let strategy = (value(), prop::sample::select(&MISUSES[..]));
    let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&strategy, |(value, how)| {
            let (variable, err) = misuse(how, &value);
            *tried.borrow_mut().entry(format!("{how:?}")).or_default() += 1;
            let (text, debug) = (err.to_string(), format!("{err:?}"));
            prop_assert!(matches!(err, Error::Config { .. }), "{how:?}: {debug}");
            prop_assert!(text.contains(variable), "{how:?}: {text} does not name {variable}");
            for shown in [&text, &debug] {
                if shown.contains(&value) {
                    return Err(TestCaseError::fail(format!("{how:?}: the value shows in {shown}")));
                }
            }
            Ok(())
        })
        .unwrap();
    let tried = tried.into_inner();
    eprintln!("no_error_shows_the_value_it_refused: {CASES} values, by misuse: {tried:?}");
    assert_eq!(tried.values().sum::<u32>(), CASES);
    assert_eq!(tried.len(), MISUSES.len(), "every misuse was tried: {tried:?}");
}
