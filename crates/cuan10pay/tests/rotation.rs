//! Rotating the private key: during the change, webhooks signed with the previous key and with
//! the new one both verify (and the event says which); a third key is refused; once the previous
//! key is removed, its webhooks are refused; requests are always signed with the current key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::sync::Arc;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{Error, FixedClock, KeyUsed, PaymentProvider, WebhookEvent, WebhookRequest};
use gerbang_cuan10pay::{
    Cuan10payClient, Cuan10payConfig, ENV_API_KEY, ENV_BASE_URL, ENV_PRIVATE_KEY, ENV_PRIVATE_KEY_PREVIOUS,
    WebhookVerifier,
};
use gerbang_testkit::{
    WITH_PREVIOUS, WITHOUT_PREVIOUS, check_rotation_property, env_scenario, rotation_keys, run_previous_key_scenarios,
};
use httpmock::MockServer;

use common::{API_KEY, NOW, PRIVATE_KEY, builder, fixture, signature};

/// The key being rotated out.
const PREVIOUS_KEY: &str = "test-previous-key-PV3m8";
/// A key that is neither.
const THIRD_KEY: &str = "test-third-key-TK5w2";

/// A webhook as the gateway would post it, signed with `key`, stamped `timestamp`.
fn webhook_signed_with(key: &str, timestamp: i64) -> String {
    WebhookVerifier::new(key).signed_body("CP-20261201-ABC123", "PAID", 150_000, timestamp)
}

fn verify_with(verifier: &WebhookVerifier, body: &str) -> Result<WebhookEvent, Error> {
    let headers = HeaderMap::new();
    verifier.verify(&WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body.as_bytes()))
}

fn client_with_previous(previous: Option<&str>) -> Cuan10payClient {
    let builder = builder("http://127.0.0.1:9/api");
    let builder = match previous {
        Some(key) => builder.previous_private_key(key),
        None => builder,
    };
    Cuan10payClient::new(builder.build().unwrap())
}

/// Checks the three cases of a rotation on `verifier`: current and previous verify and say
/// which, a third key is refused.
fn check_rotation(verifier: &WebhookVerifier, timestamp: i64) {
    let current = verify_with(verifier, &webhook_signed_with(PRIVATE_KEY, timestamp)).unwrap();
    assert_eq!(current.verified_with, Some(KeyUsed::Current));
    let previous = verify_with(verifier, &webhook_signed_with(PREVIOUS_KEY, timestamp)).unwrap();
    assert_eq!(previous.verified_with, Some(KeyUsed::Previous));
    assert_eq!(previous.dedup_key().unwrap(), current.dedup_key().unwrap(), "the same change either way");
    let third = verify_with(verifier, &webhook_signed_with(THIRD_KEY, timestamp)).unwrap_err();
    assert!(matches!(third, Error::InvalidSignature { .. }), "{third:?}");
}

/// Checks that only the current key verifies on `verifier`.
fn check_current_only(verifier: &WebhookVerifier, timestamp: i64) {
    let current = verify_with(verifier, &webhook_signed_with(PRIVATE_KEY, timestamp)).unwrap();
    assert_eq!(current.verified_with, Some(KeyUsed::Current));
    for key in [PREVIOUS_KEY, THIRD_KEY] {
        let err = verify_with(verifier, &webhook_signed_with(key, timestamp)).unwrap_err();
        assert!(matches!(err, Error::InvalidSignature { .. }), "{err:?}");
    }
}

#[test]
fn webhooks_signed_with_the_previous_and_the_current_key_both_verify_and_say_which() {
    check_rotation(client_with_previous(Some(PREVIOUS_KEY)).webhook_verifier(), NOW);
    let verifier = WebhookVerifier::new(PRIVATE_KEY)
        .with_previous_key(PREVIOUS_KEY)
        .with_clock(Arc::new(FixedClock::at_unix(NOW)));
    check_rotation(&verifier, NOW);
}

#[tokio::test]
async fn the_provider_trait_reports_the_key_too() {
    let client = client_with_previous(Some(PREVIOUS_KEY));
    let body = webhook_signed_with(PREVIOUS_KEY, NOW);
    let headers = HeaderMap::new();
    let request = WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body.as_bytes());
    assert_eq!(client.verify_webhook(&request).await.unwrap().verified_with, Some(KeyUsed::Previous));
}

#[test]
fn once_the_previous_key_is_removed_its_webhooks_are_refused() {
    check_current_only(client_with_previous(None).webhook_verifier(), NOW);
    let verifier = WebhookVerifier::new(PRIVATE_KEY).with_clock(Arc::new(FixedClock::at_unix(NOW)));
    check_current_only(&verifier, NOW);
    let verifier = verifier.with_previous_key(PREVIOUS_KEY).with_previous_secret(None);
    check_current_only(&verifier, NOW);
}

#[test]
fn an_empty_previous_key_is_a_config_error() {
    let err = Cuan10payConfig::builder(API_KEY, PRIVATE_KEY).previous_private_key(" ").build().unwrap_err();
    assert_eq!(err, Error::config("the previous Cuan10pay private key is empty"));
}

#[tokio::test]
async fn requests_are_signed_with_the_current_key_only() {
    let server = MockServer::start_async().await;
    let signed = "/v1/deposit_status?ref=CP-1";
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_status").header("x-signature", signature(NOW, "GET", signed, ""));
            then.status(200).header("content-type", "application/json").body(fixture("deposit_status_paid.json"));
        })
        .await;
    let client = Cuan10payClient::new(builder(&server.url("/api")).previous_private_key(PREVIOUS_KEY).build().unwrap());
    client.deposit_status("CP-1").await.unwrap();
    mock.assert_async().await;
}

/// The name of [`from_env_reads_the_previous_key`] in this binary, for its child runs.
const FROM_ENV_TEST: &str = "from_env_reads_the_previous_key";

#[test]
fn from_env_reads_the_previous_key() {
    if let Some(scenario) = env_scenario() {
        return check_scenario(&scenario);
    }
    let remove = [ENV_API_KEY, ENV_PRIVATE_KEY, ENV_PRIVATE_KEY_PREVIOUS, ENV_BASE_URL];
    let keys = [(ENV_API_KEY, API_KEY), (ENV_PRIVATE_KEY, PRIVATE_KEY)];
    run_previous_key_scenarios(FROM_ENV_TEST, &remove, &keys, (ENV_PRIVATE_KEY_PREVIOUS, PREVIOUS_KEY), " ");
}

fn check_scenario(scenario: &str) {
    // `from_env` verifiers use the system clock: stamp the webhooks now.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let now = i64::try_from(now).unwrap();
    let client = Cuan10payClient::from_env().unwrap();
    let verifier = WebhookVerifier::from_env().unwrap();
    match scenario {
        WITH_PREVIOUS => {
            check_rotation(client.webhook_verifier(), now);
            check_rotation(&verifier, now);
            assert!(format!("{:?}", client.config()).contains("previous_private_key: Some(\"<redacted>\")"));
        }
        WITHOUT_PREVIOUS => {
            check_current_only(client.webhook_verifier(), now);
            check_current_only(&verifier, now);
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// For any current key, any previous key or none, and a webhook signed with the current, the
/// previous or any other key: it verifies exactly when it was signed with a configured key, and
/// the event names that key.
#[test]
fn a_webhook_verifies_iff_it_was_signed_with_a_configured_key() {
    let strategy = (rotation_keys(), 1_u64..10_000_000_000);
    check_rotation_property("cuan10pay", 512, strategy, |current, previous, signer, amount| {
        let verifier = WebhookVerifier::new(current.clone())
            .with_previous_secret(previous.cloned().map(Into::into))
            .with_clock(Arc::new(FixedClock::at_unix(NOW)));
        let body = WebhookVerifier::new(signer.clone()).signed_body("CP-1", "PAID", amount, NOW);
        verify_with(&verifier, &body).map(|event| event.verified_with)
    });
}
