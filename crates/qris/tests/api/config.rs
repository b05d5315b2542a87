//! Configuration: the environment variables, the required base URL, and what `Debug` shows.

use std::process::Command;

use gerbang_core::Error;
use gerbang_qris::{ENV_API_KEY, ENV_BASE_URL, QrisClient, QrisConfig, QrisConfigBuilder};

use crate::common::API_KEY;

const SCENARIO: &str = "QRIS_TEST_ENV_SCENARIO";

/// Environment variables cannot be set safely in a multi-threaded test process (and this crate
/// forbids `unsafe`), so each scenario runs this test binary again, filtered to this test, with
/// its own environment.
#[test]
fn from_env_reads_exactly_the_two_variables() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        return check_scenario(&scenario);
    }
    let run = |scenario: &str, vars: &[(&str, &str)]| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args(["--exact", "config::from_env_reads_exactly_the_two_variables", "--test-threads=1"]);
        command.env_remove(ENV_API_KEY).env_remove(ENV_BASE_URL).env(SCENARIO, scenario);
        command.envs(vars.iter().copied());
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success() && stdout.contains("1 passed"), "scenario {scenario}: {stdout}");
    };
    run("both", &[(ENV_API_KEY, API_KEY), (ENV_BASE_URL, "http://127.0.0.1:9/qris/")]);
    run("missing-base-url", &[(ENV_API_KEY, API_KEY)]);
    run("missing-key", &[(ENV_BASE_URL, "http://127.0.0.1:9/qris")]);
    run("bad-base-url", &[(ENV_API_KEY, API_KEY), (ENV_BASE_URL, "ftp://secret-host.example")]);
}

fn check_scenario(scenario: &str) {
    match scenario {
        "both" => {
            let client = QrisClient::from_env().unwrap();
            assert_eq!(client.config().base_url().as_str(), "http://127.0.0.1:9/qris");
        }
        "missing-base-url" => {
            // The builder may still be given one; building without it names the variable.
            let builder = QrisConfigBuilder::from_env().unwrap();
            let text = builder.base_url("http://127.0.0.1:9/qris").build().map(|c| c.base_url().as_str().to_owned());
            assert_eq!(text.as_deref(), Ok("http://127.0.0.1:9/qris"));
            let text = QrisConfig::from_env().unwrap_err().to_string();
            assert!(text.contains("GERBANG_QRIS_BASE_URL") && text.contains("base_url()"), "{text}");
        }
        "missing-key" => {
            assert_eq!(QrisConfig::from_env().unwrap_err(), Error::config("GERBANG_QRIS_API_KEY is not set"));
        }
        "bad-base-url" => {
            let text = QrisConfig::from_env().unwrap_err().to_string();
            assert!(text.contains(ENV_BASE_URL) && !text.contains("secret-host"), "{text}");
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn the_builder_needs_a_base_url_and_a_key() {
    let err = QrisConfig::builder(API_KEY).build().unwrap_err();
    assert!(matches!(&err, Error::Config { message } if message.contains(ENV_BASE_URL)), "{err}");
    let err = QrisConfig::builder(" ").base_url("http://127.0.0.1:9").build().unwrap_err();
    assert_eq!(err, Error::config("the QRIS API key is empty"));
    let err =
        QrisConfig::builder(API_KEY).base_url(format!("https://x.example/?apikey={API_KEY}")).build().unwrap_err();
    assert!(!err.to_string().contains(API_KEY));
}

#[test]
fn debug_shows_the_base_url_and_never_the_key() {
    let builder = QrisConfig::builder(API_KEY).base_url("http://127.0.0.1:9/qris");
    let config = builder.clone().build().unwrap();
    for shown in [format!("{builder:?}"), format!("{config:?}"), format!("{:?}", QrisClient::new(config))] {
        assert!(shown.contains("127.0.0.1:9/qris") && !shown.contains(API_KEY), "{shown}");
    }
}
