//! Rotating the private key: during the change, callbacks carrying the previous key and the new
//! one both verify (and the event says which); a third key is refused; once the previous key is
//! removed, its callbacks are refused; calls always send the current key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{Decimal, Error, KeyUsed, PaymentProvider, WebhookEvent, WebhookRequest};
use gerbang_crypto_invoice::{
    CreateInvoiceRequest, CryptoInvoiceClient, CryptoInvoiceConfig, ENV_BASE_URL, ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_PREVIOUS, ENV_PUBLIC_KEY, WebhookVerifier,
};
use gerbang_testkit::{
    WITH_PREVIOUS, WITHOUT_PREVIOUS, check_rotation_property, env_scenario, rotation_keys, run_previous_key_scenarios,
};
use httpmock::MockServer;

use common::{PRIVATE_KEY, PUBLIC_KEY, builder, fixture};

/// The key being rotated out.
const PREVIOUS_KEY: &str = "test-previous-key-PV3m8";
/// A key that is neither.
const THIRD_KEY: &str = "test-third-key-TK5w2";

/// A callback as the gateway posts it, carrying `key` in the field `field`.
fn callback(field: &str, key: &str) -> String {
    serde_json::json!({
        field: key,
        "id": 4711,
        "order_id": "ORDER-1001",
        "price_amount": "725.50",
        "price_currency": "USD",
        "amount": "725.5",
        "amount_currency": "USDT",
        "test": 0,
    })
    .to_string()
}

fn verify_with(verifier: &WebhookVerifier, body: &str) -> Result<WebhookEvent, Error> {
    let headers = HeaderMap::new();
    verifier.verify(&WebhookRequest::new(Method::POST, "/callbacks/crypto", &headers, body.as_bytes()))
}

fn check_rotation(verifier: &WebhookVerifier) {
    for field in ["private_key", "privatekey"] {
        let current = verify_with(verifier, &callback(field, PRIVATE_KEY)).unwrap();
        assert_eq!(current.verified_with, Some(KeyUsed::Current));
        let previous = verify_with(verifier, &callback(field, PREVIOUS_KEY)).unwrap();
        assert_eq!(previous.verified_with, Some(KeyUsed::Previous));
        assert_eq!(previous.dedup_key().unwrap(), current.dedup_key().unwrap(), "the same change either way");
        assert!(!previous.raw.to_string().contains(PREVIOUS_KEY), "the key is taken out of raw");
        let third = verify_with(verifier, &callback(field, THIRD_KEY)).unwrap_err();
        assert!(matches!(third, Error::InvalidSignature { .. }), "{third:?}");
    }
    // Both fields: each must be one of ours; the previous one is reported when either is.
    let both = |a: &str, b: &str| format!(r#"{{"private_key":"{a}","privatekey":"{b}","id":4711}}"#);
    assert_eq!(verify_with(verifier, &both(PRIVATE_KEY, PRIVATE_KEY)).unwrap().verified_with, Some(KeyUsed::Current));
    assert_eq!(verify_with(verifier, &both(PRIVATE_KEY, PREVIOUS_KEY)).unwrap().verified_with, Some(KeyUsed::Previous));
    assert!(verify_with(verifier, &both(PREVIOUS_KEY, THIRD_KEY)).is_err());
}

fn check_current_only(verifier: &WebhookVerifier) {
    assert_eq!(
        verify_with(verifier, &callback("private_key", PRIVATE_KEY)).unwrap().verified_with,
        Some(KeyUsed::Current)
    );
    for key in [PREVIOUS_KEY, THIRD_KEY] {
        let err = verify_with(verifier, &callback("private_key", key)).unwrap_err();
        assert!(matches!(err, Error::InvalidSignature { .. }), "{err:?}");
    }
}

fn client(previous: Option<&str>) -> CryptoInvoiceClient {
    let builder = builder("http://127.0.0.1:9/api/v1");
    let builder = match previous {
        Some(key) => builder.previous_private_key(key),
        None => builder,
    };
    CryptoInvoiceClient::new(builder.build().unwrap())
}

#[test]
fn callbacks_carrying_the_previous_and_the_current_key_both_verify_and_say_which() {
    check_rotation(client(Some(PREVIOUS_KEY)).webhook_verifier());
    check_rotation(&WebhookVerifier::new(PRIVATE_KEY).with_previous_key(PREVIOUS_KEY));
}

#[tokio::test]
async fn the_provider_trait_reports_the_key_too() {
    let client = client(Some(PREVIOUS_KEY));
    let body = callback("private_key", PREVIOUS_KEY);
    let headers = HeaderMap::new();
    let request = WebhookRequest::new(Method::POST, "/callbacks/crypto", &headers, body.as_bytes());
    assert_eq!(client.verify_webhook(&request).await.unwrap().verified_with, Some(KeyUsed::Previous));
}

#[test]
fn once_the_previous_key_is_removed_its_callbacks_are_refused() {
    check_current_only(client(None).webhook_verifier());
    check_current_only(&WebhookVerifier::new(PRIVATE_KEY));
    check_current_only(&WebhookVerifier::new(PRIVATE_KEY).with_previous_key(PREVIOUS_KEY).with_previous_secret(None));
}

#[test]
fn an_empty_previous_key_is_a_config_error() {
    let err = CryptoInvoiceConfig::builder(PUBLIC_KEY, PRIVATE_KEY).previous_private_key("").build().unwrap_err();
    assert_eq!(err, Error::config("the previous crypto invoice private key is empty"));
}

#[tokio::test]
async fn calls_send_the_current_key_only() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/create_invoice")
                .body_includes(format!(r#""private_key":"{PRIVATE_KEY}""#))
                .is_true(|request| !String::from_utf8_lossy(request.body().as_ref()).contains(PREVIOUS_KEY));
            then.status(200).header("content-type", "application/json").body(fixture("create_invoice.json"));
        })
        .await;
    let config = builder(&server.url("/api/v1")).previous_private_key(PREVIOUS_KEY).build().unwrap();
    CryptoInvoiceClient::new(config).create_invoice(&CreateInvoiceRequest::new(Decimal::ONE)).await.unwrap();
    mock.assert_async().await;
}

/// The name of [`from_env_reads_the_previous_key`] in this binary, for its child runs.
const FROM_ENV_TEST: &str = "from_env_reads_the_previous_key";

#[test]
fn from_env_reads_the_previous_key() {
    if let Some(scenario) = env_scenario() {
        return check_scenario(&scenario);
    }
    let remove = [ENV_PUBLIC_KEY, ENV_PRIVATE_KEY, ENV_PRIVATE_KEY_PREVIOUS, ENV_BASE_URL];
    let keys = [(ENV_PUBLIC_KEY, PUBLIC_KEY), (ENV_PRIVATE_KEY, PRIVATE_KEY)];
    run_previous_key_scenarios(FROM_ENV_TEST, &remove, &keys, (ENV_PRIVATE_KEY_PREVIOUS, PREVIOUS_KEY), "");
}

fn check_scenario(scenario: &str) {
    let client = CryptoInvoiceClient::from_env().unwrap();
    let verifier = WebhookVerifier::from_env().unwrap();
    match scenario {
        WITH_PREVIOUS => {
            check_rotation(client.webhook_verifier());
            check_rotation(&verifier);
        }
        WITHOUT_PREVIOUS => {
            check_current_only(client.webhook_verifier());
            check_current_only(&verifier);
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// For any current key, any previous key or none, and a callback carrying the current, the
/// previous or any other key: it verifies exactly when it carries a configured key, and the
/// event names that key.
#[test]
fn a_callback_verifies_iff_it_carries_a_configured_key() {
    let strategy = (rotation_keys(), proptest::bool::ANY);
    check_rotation_property("crypto-invoice", 512, strategy, |current, previous, sent, old_name| {
        let verifier = WebhookVerifier::new(current.clone()).with_previous_secret(previous.cloned().map(Into::into));
        let body = callback(if old_name { "privatekey" } else { "private_key" }, sent);
        verify_with(&verifier, &body).map(|event| event.verified_with)
    });
}
