//! Configuration: the environment variables, the defaults, and what `Debug` shows.

use std::process::Command;
use std::time::Duration;

use gerbang_cashin::{
    CashinClient, CashinConfig, ENV_BASE_URL, ENV_CLIENT_ID, ENV_ENVIRONMENT, ENV_HMAC, ENV_PUBLIC_KEY, ENV_SECRET_KEY,
    Environment, HmacAlgorithm, WebhookVerifier,
};
use gerbang_core::Error;

use crate::common::{CLIENT_ID, SECRET_KEY, fixture};

const SCENARIO: &str = "CASHIN_TEST_ENV_SCENARIO";
const ALL: [&str; 6] = [ENV_CLIENT_ID, ENV_SECRET_KEY, ENV_PUBLIC_KEY, ENV_BASE_URL, ENV_ENVIRONMENT, ENV_HMAC];

fn key_file() -> String {
    format!("{}/tests/fixtures/webhook/cashin_public_pkcs1.pem", env!("CARGO_MANIFEST_DIR"))
}

/// Environment variables cannot be set safely in a multi-threaded test process (and this crate
/// forbids `unsafe`), so each scenario runs this test binary again, filtered to this test, with
/// its own environment.
#[test]
fn from_env_reads_the_documented_variables() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        return check_scenario(&scenario);
    }
    let run = |scenario: &str, vars: &[(&str, &str)]| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args(["--exact", "config::from_env_reads_the_documented_variables", "--test-threads=1"]);
        for name in ALL {
            command.env_remove(name);
        }
        command.env(SCENARIO, scenario).envs(vars.iter().copied());
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success() && stdout.contains("1 passed"), "scenario {scenario}: {stdout}");
    };
    let keys = [(ENV_CLIENT_ID, CLIENT_ID), (ENV_SECRET_KEY, SECRET_KEY)];
    let pem = fixture("webhook/cashin_public_spki.pem");
    let file = key_file();
    run("defaults", &keys);
    run(
        "everything",
        &[keys[0], keys[1], (ENV_PUBLIC_KEY, &pem), (ENV_ENVIRONMENT, "production"), (ENV_HMAC, "sha512")],
    );
    run(
        "key-file-and-base-url",
        &[keys[0], keys[1], (ENV_PUBLIC_KEY, &file), (ENV_BASE_URL, "http://127.0.0.1:9/cashin/")],
    );
    run("missing-secret", &keys[..1]);
    run("bad-values", &[keys[0], keys[1], (ENV_ENVIRONMENT, "live")]);
    run("bad-hmac", &[keys[0], keys[1], (ENV_HMAC, "md5")]);
    run("unreadable-key-file", &[keys[0], keys[1], (ENV_PUBLIC_KEY, "/nonexistent/secret-dir/key.pem")]);
    run(
        "bad-key",
        &[keys[0], keys[1], (ENV_PUBLIC_KEY, "-----BEGIN PUBLIC KEY-----\nc2VjcmV0\n-----END PUBLIC KEY-----")],
    );
}

fn check_scenario(scenario: &str) {
    let config_error = |err: Error, variable: &str, hidden: &str| {
        let text = err.to_string();
        assert!(matches!(err, Error::Config { .. }) && text.contains(variable) && !text.contains(hidden), "{text}");
    };
    match scenario {
        "defaults" => {
            let client = CashinClient::from_env().unwrap();
            let config = client.config();
            assert_eq!(config.base_url().as_str(), "https://sandbox-api.cashin.co.id/pg/fo");
            assert_eq!(config.environment(), Environment::Sandbox);
            assert_eq!(config.hmac(), HmacAlgorithm::Sha256);
            assert!(config.public_key().is_none());
            // Calls work without the public key; verifying does not.
            config_error(client.webhook_verifier().unwrap_err(), ENV_PUBLIC_KEY, "-----BEGIN");
            config_error(WebhookVerifier::from_env().unwrap_err(), ENV_PUBLIC_KEY, "-----BEGIN");
        }
        "everything" => {
            let config = CashinConfig::from_env().unwrap();
            assert_eq!(config.base_url().as_str(), "https://api.cashin.co.id/pg/fo");
            assert_eq!(config.environment(), Environment::Production);
            assert_eq!(config.hmac(), HmacAlgorithm::Sha512);
            assert!(config.public_key().is_some());
            assert!(WebhookVerifier::from_env().is_ok());
        }
        "key-file-and-base-url" => {
            let config = CashinConfig::from_env().unwrap();
            assert_eq!(config.base_url().as_str(), "http://127.0.0.1:9/cashin");
            assert_eq!(config.environment(), Environment::Sandbox);
            assert!(config.public_key().is_some(), "PKCS#1 read from the file");
            assert!(WebhookVerifier::from_env().is_ok());
        }
        "missing-secret" => {
            assert_eq!(CashinConfig::from_env().unwrap_err(), Error::config("GERBANG_CASHIN_SECRET_KEY is not set"));
        }
        "bad-values" => config_error(CashinConfig::from_env().unwrap_err(), ENV_ENVIRONMENT, "live"),
        "bad-hmac" => config_error(CashinConfig::from_env().unwrap_err(), ENV_HMAC, "md5"),
        "unreadable-key-file" => {
            config_error(CashinConfig::from_env().unwrap_err(), ENV_PUBLIC_KEY, "secret-dir");
            config_error(WebhookVerifier::from_env().unwrap_err(), ENV_PUBLIC_KEY, "secret-dir");
        }
        "bad-key" => config_error(CashinConfig::from_env().unwrap_err(), ENV_PUBLIC_KEY, "c2VjcmV0"),
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let config = CashinConfig::builder(CLIENT_ID, SECRET_KEY).build().unwrap();
    assert_eq!(config.base_url().as_str(), "https://sandbox-api.cashin.co.id/pg/fo");
    assert_eq!(config.environment(), Environment::Sandbox);
    assert_eq!(config.hmac(), HmacAlgorithm::Sha256);
    assert_eq!(config.webhook_tolerance(), Duration::from_secs(300));
    let production = CashinConfig::builder(CLIENT_ID, SECRET_KEY).environment(Environment::Production).build().unwrap();
    assert_eq!(production.base_url().as_str(), "https://api.cashin.co.id/pg/fo");
    // An explicit base URL wins over the environment, which is still reported.
    let pointed = CashinConfig::builder(CLIENT_ID, SECRET_KEY)
        .environment(Environment::Production)
        .base_url("http://127.0.0.1:9/cashin")
        .build()
        .unwrap();
    assert_eq!(
        (pointed.base_url().as_str(), pointed.environment()),
        ("http://127.0.0.1:9/cashin", Environment::Production)
    );
}

#[test]
fn both_public_key_formats_are_accepted() {
    for file in ["webhook/cashin_public_spki.pem", "webhook/cashin_public_pkcs1.pem"] {
        let config = CashinConfig::builder(CLIENT_ID, SECRET_KEY).public_key_pem(fixture(file)).build().unwrap();
        assert!(config.public_key().is_some(), "{file}");
    }
    let err = CashinConfig::builder(CLIENT_ID, SECRET_KEY).public_key_pem("not a key").build().unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

#[test]
fn empty_credentials_and_unusable_base_urls_are_config_errors() {
    assert!(matches!(CashinConfig::builder(" ", SECRET_KEY).build(), Err(Error::Config { .. })));
    assert!(matches!(CashinConfig::builder(CLIENT_ID, "").build(), Err(Error::Config { .. })));
    assert!(matches!(
        CashinConfig::builder(CLIENT_ID, SECRET_KEY).base_url("api.cashin.co.id/pg/fo").build(),
        Err(Error::Config { .. })
    ));
}

#[test]
fn debug_shows_the_environment_and_hides_the_secret() {
    let config = CashinConfig::builder(CLIENT_ID, SECRET_KEY).environment(Environment::Production).build().unwrap();
    let client = CashinClient::new(config.clone());
    for shown in [format!("{config:?}"), format!("{client:?}"), format!("{client:#?}")] {
        assert!(shown.contains("Production") && shown.contains("api.cashin.co.id"), "{shown}");
        assert!(!shown.contains(SECRET_KEY), "{shown}");
    }
    let builder = format!("{:?}", CashinConfig::builder(CLIENT_ID, SECRET_KEY));
    assert!(!builder.contains(SECRET_KEY), "{builder}");
}
