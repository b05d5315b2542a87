//! Configuration: the environment variables, the defaults, and what `Debug` shows.

use std::process::Command;
use std::time::Duration;

use gerbang_core::Error;
use gerbang_cuan10pay::{
    Cuan10payClient, Cuan10payConfig, ENV_API_KEY, ENV_BASE_URL, ENV_PRIVATE_KEY, WebhookVerifier,
};

use crate::common::{API_KEY, PRIVATE_KEY};

const SCENARIO: &str = "CUAN10PAY_TEST_ENV_SCENARIO";

/// Environment variables cannot be set safely in a multi-threaded test process (and this crate
/// forbids `unsafe`), so each scenario runs this test binary again, filtered to this test, with
/// its own environment.
#[test]
fn from_env_reads_exactly_the_three_variables() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        return check_scenario(&scenario);
    }
    let run = |scenario: &str, vars: &[(&str, &str)]| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args(["--exact", "config::from_env_reads_exactly_the_three_variables", "--test-threads=1"]);
        command.env_remove(ENV_API_KEY).env_remove(ENV_PRIVATE_KEY).env_remove(ENV_BASE_URL).env(SCENARIO, scenario);
        command.envs(vars.iter().copied());
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success() && stdout.contains("1 passed"), "scenario {scenario}: {stdout}");
    };
    let keys = [(ENV_API_KEY, API_KEY), (ENV_PRIVATE_KEY, PRIVATE_KEY)];
    run("default-base-url", &keys);
    run("own-base-url", &[keys[0], keys[1], (ENV_BASE_URL, "http://127.0.0.1:9/cuan10pay/api/")]);
    run("missing-private-key", &keys[..1]);
    run("bad-base-url", &[keys[0], keys[1], (ENV_BASE_URL, "ftp://secret-host.example")]);
}

fn check_scenario(scenario: &str) {
    match scenario {
        "default-base-url" => {
            let client = Cuan10payClient::from_env().unwrap();
            assert_eq!(client.config().base_url().as_str(), "https://cuan10pay.com/api");
            assert!(WebhookVerifier::from_env().is_ok());
        }
        "own-base-url" => {
            let config = Cuan10payConfig::from_env().unwrap();
            assert_eq!(config.base_url().as_str(), "http://127.0.0.1:9/cuan10pay/api");
        }
        "missing-private-key" => {
            let err = Cuan10payConfig::from_env().unwrap_err();
            assert_eq!(err, Error::config("GERBANG_CUAN10PAY_PRIVATE_KEY is not set"));
            assert!(WebhookVerifier::from_env().is_err());
        }
        "bad-base-url" => {
            let err = Cuan10payConfig::from_env().unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, Error::Config { .. }) && text.contains(ENV_BASE_URL) && !text.contains("secret-host"),
                "{text}"
            );
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let config = Cuan10payConfig::builder(API_KEY, PRIVATE_KEY).build().unwrap();
    assert_eq!(config.base_url().as_str(), "https://cuan10pay.com/api");
    assert_eq!(config.rate_budget().limit_per_hour(), Some(100));
    assert_eq!(config.webhook_tolerance(), Duration::from_secs(300));
}

#[test]
fn empty_keys_and_unusable_base_urls_are_config_errors() {
    assert!(matches!(Cuan10payConfig::builder("", PRIVATE_KEY).build(), Err(Error::Config { .. })));
    assert!(matches!(Cuan10payConfig::builder(API_KEY, " ").build(), Err(Error::Config { .. })));
    assert!(matches!(
        Cuan10payConfig::builder(API_KEY, PRIVATE_KEY).base_url("cuan10pay.com/api").build(),
        Err(Error::Config { .. })
    ));
}

#[test]
fn debug_shows_the_base_url_and_hides_the_keys() {
    let config = Cuan10payConfig::builder(API_KEY, PRIVATE_KEY)
        .base_url("http://127.0.0.1:9/sandbox/cuan10pay/api")
        .build()
        .unwrap();
    let client = Cuan10payClient::new(config.clone());
    for shown in [format!("{config:?}"), format!("{client:?}"), format!("{client:#?}")] {
        assert!(shown.contains("127.0.0.1:9/sandbox/cuan10pay/api"), "{shown}");
        assert!(!shown.contains(API_KEY) && !shown.contains(PRIVATE_KEY), "{shown}");
    }
}
