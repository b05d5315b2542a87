//! Webhook verification and parsing per second on one core: what a receiver pays per event
//! before its own work, for a gateway signing with HMAC (Cuan10pay) and one signing with RSA
//! (Cash In, SNAP SHA256withRSA).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{FixedClock, WebhookRequest};
use gerbang_sandbox::cuan10pay::PRIVATE_KEY;

use crate::{Result, median};

/// Batches and webhooks per batch: 1 000 000 Cuan10pay webhooks, 20 000 Cash In ones.
const CUAN10PAY_BATCHES: (usize, usize) = (100, 10_000);
const CASHIN_BATCHES: (usize, usize) = (40, 500);
const NOW: i64 = 1_700_000_000;

/// Webhooks per second on one core: from the median batch, so that a batch in which the core
/// was lent to another process (the machine is shared) does not count.
fn per_second(
    (batches, per_batch): (usize, usize),
    mut verify: impl FnMut() -> std::result::Result<(), gerbang_core::Error>,
) -> Result<f64> {
    let mut times: Vec<Duration> = Vec::with_capacity(batches);
    for _ in 0..batches {
        let started = Instant::now();
        for _ in 0..per_batch {
            verify()?;
        }
        times.push(started.elapsed());
    }
    Ok(per_batch as f64 / median(&mut times).as_secs_f64())
}

/// A Cash In payment notification: the seed's example, pretty-printed as the gateway documents it
/// (so that verifying minifies it), from gerbang-cashin's test fixtures.
pub(crate) const CASHIN_BODY: &str = include_str!("../../cashin/tests/fixtures/webhook/paid_pretty.json");

/// Cuan10pay: hex HMAC-SHA256 over the canonical fields, then the typed event.
pub(crate) fn cuan10pay() -> Result<f64> {
    use gerbang_cuan10pay::WebhookVerifier;
    let verifier = WebhookVerifier::new(PRIVATE_KEY).with_clock(Arc::new(FixedClock::at_unix(NOW)));
    let body = verifier.signed_body("CP-20251121-38B575", "PAID", 150_000, NOW);
    let headers = HeaderMap::new();
    let request = WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body.as_bytes());
    verifier.verify(&request)?; // it must verify, or the loop measures the error path
    per_second(CUAN10PAY_BATCHES, || verifier.verify(black_box(&request)).map(|event| drop(black_box(event))))
}

/// Cash In: minify and hash the body, SHA256withRSA on the SNAP string with the key parsed when
/// the verifier was made, the timestamp window, then the typed event.
pub(crate) fn cashin() -> Result<f64> {
    use gerbang_cashin::{NOTIFY_PATH, NotificationSigner, PrivateKey, WebhookVerifier, format_timestamp};
    let clock = Arc::new(FixedClock::at_unix(NOW));
    let key = PrivateKey::generate(2048)?;
    let verifier = WebhookVerifier::new(key.public_key()).with_clock(clock.clone());
    let timestamp = format_timestamp(gerbang_core::Clock::now(&*clock));
    let headers =
        NotificationSigner::new(key, "CID1234567890").headers(NOTIFY_PATH, CASHIN_BODY.as_bytes(), &timestamp)?;
    let request = WebhookRequest::new(Method::POST, NOTIFY_PATH, &headers, CASHIN_BODY.as_bytes());
    verifier.verify(&request)?;
    per_second(CASHIN_BATCHES, || verifier.verify(black_box(&request)).map(|event| drop(black_box(event))))
}
