//! Cuan10pay signs `reference + status + amount + timestamp` with nothing between the fields, so
//! a forger can move characters across a boundary and keep the signed string, and with it the
//! signature. This takes genuine signed webhooks, tries every shift of 1 to 8 characters across
//! each of the three boundaries, in both directions, with each signed field written in every
//! JSON form its text allows (a string, and a number where the text is one), and checks that
//! every one is refused while the genuine webhook still verifies.
//!
//! Run with `--nocapture` to see the figures:
//! `cargo test -p gerbang-cuan10pay --test webhook_shifts -- --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::cell::Cell;
use std::sync::Arc;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{FixedClock, Money, WebhookEvent, WebhookRequest};
use gerbang_cuan10pay::{WEBHOOK_STATUS_WORDS, WebhookVerifier};
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use common::{NOW, PRIVATE_KEY};

/// Genuine webhooks generated per run.
const CASES: u32 = 256;
/// The longest shift tried across a boundary.
const MAX_SHIFT: usize = 8;

/// A webhook as the gateway would sign it.
#[derive(Debug, Clone)]
struct Genuine {
    reference: String,
    status: &'static str,
    amount: u64,
    timestamp: i64,
}

impl Genuine {
    /// The signed fields' text, in the order they are signed.
    fn fields(&self) -> [String; 4] {
        [self.reference.clone(), self.status.to_owned(), self.amount.to_string(), self.timestamp.to_string()]
    }

    /// hex HMAC-SHA256(private key, reference + status + amount + timestamp), computed here with
    /// `hmac` rather than with the code under test.
    fn signature(&self) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(PRIVATE_KEY.as_bytes()).unwrap();
        mac.update(self.fields().concat().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// References of the gateway's own shape (`CP-20250928-38B575`), INV-like free text as in the
/// document's webhook example (`INV123`), references ending in letters (`XYZUN`) or in digits, and
/// looser free text.
fn reference() -> impl Strategy<Value = String> {
    prop_oneof![
        "CP-20[2-3][0-9](0[1-9]|1[0-2])(0[1-9]|[12][0-9])-[0-9A-F]{6}",
        "INV[0-9]{1,8}",
        "[A-Z]{2,8}[0-9]{0,8}",
        "[A-Z0-9]{1,6}[A-Z]{1,4}",
        "[1-9][0-9]{0,9}",
        "[A-Za-z0-9_./ -]{1,24}",
    ]
}

fn genuine() -> impl Strategy<Value = Genuine> {
    (reference(), proptest::sample::select(WEBHOOK_STATUS_WORDS), 10_000_u64..=10_000_000, -300_i64..=300)
        .prop_map(|(reference, status, amount, skew)| Genuine { reference, status, amount, timestamp: NOW + skew })
}

/// Every JSON form a field's text can be written in: always a string; also a number when the
/// text is a valid JSON number (`150000`, not `0150000` nor `""`).
fn forms(text: &str) -> Vec<String> {
    let mut forms = vec![serde_json::to_string(text).unwrap()];
    if serde_json::from_str::<serde_json::Number>(text).is_ok() {
        forms.push(text.to_owned());
    }
    forms
}

/// A body with the four fields written as given (raw JSON), in the document's order.
fn body(reference: &str, status: &str, amount: &str, timestamp: &str, signature: &str) -> String {
    format!(
        r#"{{"reference":{reference},"status":{status},"amount":{amount},"timestamp":{timestamp},"signature":"{signature}"}}"#
    )
}

/// Every body with the four fields in every combination of their forms, with `signature`.
fn bodies(fields: &[String; 4], signature: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for reference in forms(&fields[0]) {
        for status in forms(&fields[1]) {
            for amount in forms(&fields[2]) {
                for timestamp in forms(&fields[3]) {
                    bodies.push(body(&reference, &status, &amount, &timestamp, signature));
                }
            }
        }
    }
    bodies
}

/// Every shift of 1 to [`MAX_SHIFT`] characters across each of the three boundaries, both ways:
/// the last `k` characters of the left field moved to the front of the right one, or the first
/// `k` of the right field moved to the end of the left one. The signed string never changes.
fn shifts(fields: &[String; 4]) -> Vec<[String; 4]> {
    let mut shifted = Vec::new();
    for boundary in 0..3 {
        let (left, right) = (&fields[boundary], &fields[boundary + 1]);
        for k in 1..=MAX_SHIFT {
            let left_chars: Vec<char> = left.chars().collect();
            if k <= left_chars.len() {
                let cut = left_chars.len() - k;
                let mut moved = fields.clone();
                moved[boundary] = left_chars[..cut].iter().collect();
                moved[boundary + 1] = left_chars[cut..].iter().collect::<String>() + right;
                shifted.push(moved);
            }
            let right_chars: Vec<char> = right.chars().collect();
            if k <= right_chars.len() {
                let mut moved = fields.clone();
                moved[boundary] = left.clone() + &right_chars[..k].iter().collect::<String>();
                moved[boundary + 1] = right_chars[k..].iter().collect();
                shifted.push(moved);
            }
        }
    }
    shifted
}

fn verify(verifier: &WebhookVerifier, body: &str) -> Result<WebhookEvent, gerbang_core::Error> {
    let headers = HeaderMap::new();
    verifier.verify(&WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body.as_bytes()))
}

#[test]
fn every_shift_across_a_signed_boundary_is_refused_in_every_json_form() {
    let verifier = WebhookVerifier::new(PRIVATE_KEY).with_clock(Arc::new(FixedClock::at_unix(NOW)));
    let cases = Cell::new(0_u64);
    let attacks = Cell::new(0_u64);
    let encodings = Cell::new(0_u64);
    let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&genuine(), |webhook| {
            cases.set(cases.get() + 1);
            let fields = webhook.fields();
            let signature = webhook.signature();

            // The genuine webhook, as the gateway writes it (strings for the text, integers for
            // the numbers), verifies, in the document's field order or any other.
            let genuine = body(
                &serde_json::to_string(&webhook.reference).unwrap(),
                &serde_json::to_string(webhook.status).unwrap(),
                &fields[2],
                &fields[3],
                &signature,
            );
            let reordered = serde_json::json!({
                "timestamp": webhook.timestamp,
                "signature": signature,
                "amount": webhook.amount,
                "status": webhook.status,
                "reference": webhook.reference,
            })
            .to_string();
            for body in [&genuine, &reordered] {
                let event = verify(&verifier, body).map_err(|e| TestCaseError::fail(format!("{body}: {e}")))?;
                prop_assert_eq!(event.provider_reference.as_deref(), Some(webhook.reference.as_str()));
                prop_assert_eq!(event.provider_status.as_str(), webhook.status);
                prop_assert_eq!(event.amount, Some(Money::idr(i64::try_from(webhook.amount).unwrap())));
            }

            // The same fields in any other JSON form (a number quoted) are refused.
            for other in bodies(&fields, &signature).into_iter().filter(|b| *b != genuine) {
                encodings.set(encodings.get() + 1);
                prop_assert!(verify(&verifier, &other).is_err(), "re-encoded and accepted: {}", other);
            }

            // Every shift, in every form, is refused.
            for moved in shifts(&fields) {
                prop_assert_eq!(moved.concat(), fields.concat(), "a shift keeps the signed string");
                for forged in bodies(&moved, &signature) {
                    attacks.set(attacks.get() + 1);
                    if let Ok(event) = verify(&verifier, &forged) {
                        return Err(TestCaseError::fail(format!("forged and accepted: {forged} as {event:?}")));
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "cuan10pay webhook shifts: {} genuine webhooks verified; {} shifted forgeries (1..={MAX_SHIFT} characters, 3 boundaries, both ways, every JSON form) all refused; {} re-encodings of the genuine fields all refused",
        cases.get(),
        attacks.get(),
        encodings.get()
    );
    assert_eq!(cases.get(), u64::from(CASES));
    // Each genuine webhook gives at least 3 boundaries x 8 shifts x 2 ways, bar a short reference.
    assert!(attacks.get() > u64::from(CASES) * 40, "only {} attacks tried", attacks.get());
}

#[test]
fn the_shift_generator_moves_characters_as_the_issue_describes() {
    let fields = ["CP-20261201-ABC123", "PAID", "150000", "1764547200"].map(str::to_owned);
    let moved = shifts(&fields);
    // Up to 8 each way across each boundary, fewer where the donor is shorter: 8 + 4 from the
    // reference and the status, 4 + 6 from the status and the amount, 6 + 8 from the amount and
    // the timestamp.
    assert_eq!(moved.len(), 36);
    assert!(moved.contains(&["CP-20261201-ABC123", "PAID", "15", "00001764547200"].map(str::to_owned)));
    assert!(moved.contains(&["CP-20261201-ABC1", "23PAID", "150000", "1764547200"].map(str::to_owned)));
    assert_eq!(forms("0000"), vec![r#""0000""#.to_owned()]);
    assert_eq!(forms("15"), vec![r#""15""#.to_owned(), "15".to_owned()]);
}
