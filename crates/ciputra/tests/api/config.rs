//! The config: what it requires, what it refuses, and the environment variables.

use std::process::Command;

use gerbang_ciputra::{CiputraClient, CiputraConfig, CiputraConfigBuilder, ENV_API_KEY, ENV_API_SECRET, ENV_BASE_URL};
use gerbang_core::Error;

use crate::common::{API_KEY, API_SECRET};

fn config_message(result: Result<CiputraConfig, Error>) -> String {
    match result {
        Err(Error::Config { message }) => message,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn the_base_url_is_required_and_checked() {
    let message = config_message(CiputraConfig::builder("k", "s").build());
    assert!(message.contains(ENV_BASE_URL), "{message}");
    config_message(CiputraConfig::builder("k", "s").base_url("https://x.example/api?key=1").build());
    config_message(CiputraConfig::builder(" ", "s").base_url("https://x.example").build());
    config_message(CiputraConfig::builder("k", "").base_url("https://x.example").build());
    let config = CiputraConfig::builder("k", "s").base_url("https://x.example/api/").build().unwrap();
    assert_eq!(config.base_url().as_str(), "https://x.example/api");
}

const SCENARIO: &str = "CIPUTRA_TEST_ENV_SCENARIO";

/// Environment variables cannot be set safely in a multi-threaded test process (and the crate
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
        command.env_remove(ENV_API_KEY).env_remove(ENV_API_SECRET).env_remove(ENV_BASE_URL).env(SCENARIO, scenario);
        command.envs(vars.iter().copied());
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success() && stdout.contains("1 passed"), "scenario {scenario}: {stdout}");
    };
    let all = [(ENV_API_KEY, API_KEY), (ENV_API_SECRET, API_SECRET), (ENV_BASE_URL, "http://127.0.0.1:9/ciputra/")];
    run("all-set", &all);
    run("missing-secret", &[all[0], all[2]]);
    run("missing-base-url", &all[..2]);
    run("bad-base-url", &[all[0], all[1], (ENV_BASE_URL, "ftp://secret-host.example")]);
}

fn check_scenario(scenario: &str) {
    match scenario {
        "all-set" => {
            let client = CiputraClient::from_env().unwrap();
            assert_eq!(client.config().base_url().as_str(), "http://127.0.0.1:9/ciputra");
            let shown = format!("{client:?}");
            assert!(!shown.contains(API_KEY) && !shown.contains(API_SECRET), "{shown}");
        }
        "missing-secret" => {
            assert_eq!(CiputraConfig::from_env().unwrap_err(), Error::config("GERBANG_CIPUTRA_API_SECRET is not set"));
        }
        "missing-base-url" => {
            // The builder may still be given one; building without it names the variable.
            let builder = CiputraConfigBuilder::from_env().unwrap();
            assert!(builder.base_url("http://127.0.0.1:9/ciputra").build().is_ok());
            let text = CiputraConfig::from_env().unwrap_err().to_string();
            assert!(text.contains("GERBANG_CIPUTRA_BASE_URL") && text.contains("base_url()"), "{text}");
        }
        "bad-base-url" => {
            let text = CiputraConfigBuilder::from_env().unwrap_err().to_string();
            assert!(text.contains(ENV_BASE_URL) && !text.contains("secret-host"), "{text}");
        }
        other => panic!("unknown scenario {other}"),
    }
}
