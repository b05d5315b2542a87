//! Rotating Cash In's public key: during the change, notifications signed with the previous key
//! and with the new one both verify (and the event says which); a third key is refused; once the
//! previous key is removed, its notifications are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_cashin::{
    CashinClient, CashinConfig, ENV_CLIENT_ID, ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_PREVIOUS, ENV_SECRET_KEY, NOTIFY_PATH,
    NotificationSigner, PrivateKey, WebhookVerifier, format_timestamp,
};
use gerbang_core::http::Method;
use gerbang_core::{Error, KeyUsed, PaymentProvider, WebhookEvent, WebhookRequest};
use gerbang_testkit::{check_rotation_property, env_scenario, run_env_scenario};
use proptest::strategy::Just;

use common::{CLIENT_ID, NOW_TEXT, SECRET_KEY, builder, clock, fixture, fixture_bytes};

/// Cash In's key (the fixtures' own), the key being rotated out, and a key that is neither.
const KEYS: [&str; 3] = [
    "webhook/cashin_private_pkcs8.pem",
    "webhook/rotation_previous_private_pkcs8.pem",
    "webhook/rotation_other_private_pkcs8.pem",
];
const CURRENT: usize = 0;
const PREVIOUS: usize = 1;
const THIRD: usize = 2;

fn private_key(index: usize) -> PrivateKey {
    PrivateKey::from_pem(&fixture(KEYS[index])).unwrap()
}

fn public_pem(index: usize) -> String {
    private_key(index).public_key().to_pem()
}

/// The document's notification, signed as Cash In would with key `index`, at `timestamp`.
fn verify_signed_with(verifier: &WebhookVerifier, index: usize, timestamp: &str) -> Result<WebhookEvent, Error> {
    let body = fixture_bytes("webhook/paid_compact.json");
    let headers =
        NotificationSigner::new(private_key(index), CLIENT_ID).headers(NOTIFY_PATH, &body, timestamp).unwrap();
    verifier.verify(&WebhookRequest::new(Method::POST, NOTIFY_PATH, &headers, &body))
}

fn check_rotation(verifier: &WebhookVerifier, timestamp: &str) {
    let current = verify_signed_with(verifier, CURRENT, timestamp).unwrap();
    assert_eq!(current.verified_with, Some(KeyUsed::Current));
    let previous = verify_signed_with(verifier, PREVIOUS, timestamp).unwrap();
    assert_eq!(previous.verified_with, Some(KeyUsed::Previous));
    assert_eq!(previous.dedup_key().unwrap(), current.dedup_key().unwrap(), "the same change either way");
    let third = verify_signed_with(verifier, THIRD, timestamp).unwrap_err();
    assert!(matches!(third, Error::InvalidSignature { .. }), "{third:?}");
}

fn check_current_only(verifier: &WebhookVerifier, timestamp: &str) {
    assert_eq!(verify_signed_with(verifier, CURRENT, timestamp).unwrap().verified_with, Some(KeyUsed::Current));
    for index in [PREVIOUS, THIRD] {
        let err = verify_signed_with(verifier, index, timestamp).unwrap_err();
        assert!(matches!(err, Error::InvalidSignature { .. }), "{err:?}");
    }
}

fn client(previous: Option<usize>) -> CashinClient {
    let builder = builder("http://127.0.0.1:9/pg/fo").public_key_pem(public_pem(CURRENT));
    let builder = match previous {
        Some(index) => builder.previous_public_key_pem(public_pem(index)),
        None => builder,
    };
    CashinClient::new(builder.build().unwrap())
}

#[test]
fn notifications_signed_with_the_previous_and_the_current_key_both_verify_and_say_which() {
    check_rotation(client(Some(PREVIOUS)).webhook_verifier().unwrap(), NOW_TEXT);
    let verifier = WebhookVerifier::new(private_key(CURRENT).public_key())
        .with_previous_key(private_key(PREVIOUS).public_key())
        .with_clock(clock());
    check_rotation(&verifier, NOW_TEXT);
    let config = builder("http://127.0.0.1:9/pg/fo").previous_public_key(private_key(PREVIOUS).public_key()).build();
    assert_eq!(config.unwrap().previous_public_key(), Some(&private_key(PREVIOUS).public_key()));
}

#[tokio::test]
async fn the_provider_trait_reports_the_key_too() {
    let client = client(Some(PREVIOUS));
    let body = fixture_bytes("webhook/paid_compact.json");
    let headers =
        NotificationSigner::new(private_key(PREVIOUS), CLIENT_ID).headers(NOTIFY_PATH, &body, NOW_TEXT).unwrap();
    let request = WebhookRequest::new(Method::POST, NOTIFY_PATH, &headers, &body);
    assert_eq!(client.verify_webhook(&request).await.unwrap().verified_with, Some(KeyUsed::Previous));
}

#[test]
fn once_the_previous_key_is_removed_its_notifications_are_refused() {
    check_current_only(client(None).webhook_verifier().unwrap(), NOW_TEXT);
    let verifier = WebhookVerifier::new(private_key(CURRENT).public_key()).with_clock(clock());
    check_current_only(&verifier, NOW_TEXT);
    let verifier = verifier.with_previous_key(private_key(PREVIOUS).public_key()).with_previous(None);
    check_current_only(&verifier, NOW_TEXT);
}

#[test]
fn a_previous_key_without_a_current_one_or_unreadable_is_a_config_error() {
    let err = CashinConfig::builder(CLIENT_ID, SECRET_KEY).previous_public_key_pem(public_pem(PREVIOUS)).build();
    assert!(matches!(&err, Err(Error::Config { message }) if message.contains(ENV_PUBLIC_KEY_PREVIOUS)), "{err:?}");
    let err = builder("http://127.0.0.1:9/pg/fo").previous_public_key_pem("not a key").build().unwrap_err();
    assert!(err.to_string().contains("the previous Cash In public key cannot be read"), "{err}");
}

/// The name of [`from_env_reads_the_previous_key`] in this binary, for its child runs.
const FROM_ENV_TEST: &str = "from_env_reads_the_previous_key";

#[test]
fn from_env_reads_the_previous_key() {
    if let Some(scenario) = env_scenario() {
        return check_scenario(&scenario);
    }
    let remove = [ENV_CLIENT_ID, ENV_SECRET_KEY, ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_PREVIOUS];
    let (current, previous) = (public_pem(CURRENT), public_pem(PREVIOUS));
    let keys = [(ENV_CLIENT_ID, CLIENT_ID), (ENV_SECRET_KEY, SECRET_KEY), (ENV_PUBLIC_KEY, current.as_str())];
    // The previous key as PEM text, and as the path of a PEM file.
    let previous_file = std::env::temp_dir().join(format!("gerbang-rotation-{}.pem", std::process::id()));
    std::fs::write(&previous_file, &previous).unwrap();
    let previous_path = previous_file.to_str().unwrap();
    run_env_scenario(
        FROM_ENV_TEST,
        "with-previous",
        &remove,
        &[keys[0], keys[1], keys[2], (ENV_PUBLIC_KEY_PREVIOUS, &previous)],
    );
    run_env_scenario(
        FROM_ENV_TEST,
        "with-previous",
        &remove,
        &[keys[0], keys[1], keys[2], (ENV_PUBLIC_KEY_PREVIOUS, previous_path)],
    );
    run_env_scenario(FROM_ENV_TEST, "without-previous", &remove, &keys);
    run_env_scenario(
        FROM_ENV_TEST,
        "previous-only",
        &remove,
        &[keys[0], keys[1], (ENV_PUBLIC_KEY_PREVIOUS, &previous)],
    );
    std::fs::remove_file(previous_file).unwrap();
}

fn check_scenario(scenario: &str) {
    // `from_env` verifiers use the system clock: stamp the notifications now.
    let now = format_timestamp(gerbang_core::time::OffsetDateTime::now_utc());
    match scenario {
        "with-previous" => {
            check_rotation(CashinClient::from_env().unwrap().webhook_verifier().unwrap(), &now);
            check_rotation(&WebhookVerifier::from_env().unwrap(), &now);
        }
        "without-previous" => {
            check_current_only(CashinClient::from_env().unwrap().webhook_verifier().unwrap(), &now);
            check_current_only(&WebhookVerifier::from_env().unwrap(), &now);
        }
        "previous-only" => {
            for err in [CashinClient::from_env().unwrap_err(), WebhookVerifier::from_env().unwrap_err()] {
                let text = err.to_string();
                assert!(matches!(err, Error::Config { .. }) && text.contains(ENV_PUBLIC_KEY_PREVIOUS), "{text}");
            }
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// For any current key, any previous key or none, of a pool of three, and a notification signed
/// with any of the three: it verifies exactly when it was signed with a configured key, and the
/// event names that key.
#[test]
fn a_notification_verifies_iff_it_was_signed_with_a_configured_key() {
    let keys: Vec<PrivateKey> = (0..KEYS.len()).map(private_key).collect();
    let body = fixture_bytes("webhook/paid_compact.json");
    let strategy = ((0..KEYS.len(), proptest::option::of(0..KEYS.len()), 0..KEYS.len()), Just(()));
    check_rotation_property("cashin", 256, strategy, |&current, previous, &signer, ()| {
        let verifier = WebhookVerifier::new(keys[current].public_key())
            .with_previous(previous.map(|&index| keys[index].public_key()))
            .with_clock(clock());
        let headers =
            NotificationSigner::new(keys[signer].clone(), CLIENT_ID).headers(NOTIFY_PATH, &body, NOW_TEXT).unwrap();
        verifier.verify(&WebhookRequest::new(Method::POST, NOTIFY_PATH, &headers, &body)).map(|e| e.verified_with)
    });
}
