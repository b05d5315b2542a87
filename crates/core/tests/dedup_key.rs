//! The dedup key names one change of one payment: two genuine events of different payments (or
//! of different states) never share a key, whatever their ids and status words hold, and no
//! event is keyed by a blank id. The stored form of a key is accepted by every store and keeps
//! different keys apart.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // Test code; the figures go to stderr.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use gerbang_core::inbox::{EventKey, MAX_PLAIN_STORED_BYTES};
use gerbang_core::{Ack, PaymentStatus, ProviderId, WebhookEvent};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

const GATEWAYS: [ProviderId; 5] =
    [ProviderId::Cuan10pay, ProviderId::CashIn, ProviderId::Qris, ProviderId::CryptoInvoice, ProviderId::Ciputra];

/// Pieces that make the old `{gateway}:{id}:{status}` ambiguous, and blanks, unicode, controls.
const PIECES: [&str; 16] =
    [":", "%", "%3A", "3A", "ref", "ref:", "a", "A", " ", "\t", "unknown(", ")", "paid", "é", "\0", "\u{1F4B8}"];

/// A short text from [`PIECES`]: short and from few pieces, so that pairs of events meet often.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(&PIECES[..]), 0..4).prop_map(|pieces| pieces.concat())
}

/// One event's choices, as indices into a case's shared pools: events of one case then share
/// ids, pieces of ids and status words, so that different changes with look-alike keys meet.
type Choice = (usize, Option<usize>, Option<usize>, usize, Option<usize>);

fn choice() -> impl Strategy<Value = Choice> {
    (0..2usize, prop::option::of(0..6usize), prop::option::of(0..6usize), 0..9usize, prop::option::of(0..6usize))
}

/// A case: a pool of six texts, two gateways, and events made of them.
fn events() -> impl Strategy<Value = Vec<WebhookEvent>> {
    let gateways = (prop::sample::select(&GATEWAYS[..]), prop::sample::select(&GATEWAYS[..]));
    (prop::collection::vec(text(), 6), gateways, prop::collection::vec(choice(), 2..12)).prop_map(
        |(pool, (g0, g1), choices)| {
            choices
                .into_iter()
                .map(|(gateway, provider_reference, reference, status, word)| {
                    let text = |i: usize| pool[i].clone();
                    let status = match status {
                        0 => PaymentStatus::Pending,
                        1 => PaymentStatus::Paid,
                        2 => PaymentStatus::Expired,
                        3 => PaymentStatus::Cancelled,
                        4 => PaymentStatus::Failed,
                        5 => PaymentStatus::Refunded,
                        // Unknown words (item 9): a gateway's own, and texts of the pool.
                        6 => PaymentStatus::Unknown("on_hold".into()),
                        7 => PaymentStatus::Unknown("chargeback".into()),
                        _ => PaymentStatus::Unknown(word.map(text).unwrap_or_default()),
                    };
                    // The raw word is usually the one the mapping kept, sometimes another (or blank).
                    let raw = match (&status, word) {
                        (PaymentStatus::Unknown(kept), None) => kept.clone(),
                        (_, Some(i)) => text(i),
                        (known, None) => known.as_str().to_uppercase(),
                    };
                    let mut event = WebhookEvent::new([g0, g1][gateway], status, raw, Ack::text(200, "OK"));
                    event.provider_reference = provider_reference.map(text);
                    event.reference = reference.map(text);
                    event
                })
                .collect()
        },
    )
}

/// What makes two events the same change, as the docs define it: the gateway; the id that names
/// the payment, and which of the two ids it is (the gateway's, else the merchant's reference,
/// never a blank one); the normalised status, and for a status no mapping knows, the gateway's
/// word (trimmed; the raw `provider_status`, else the word the mapping kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Change {
    gateway: ProviderId,
    id: (&'static str, String),
    status: (String, String),
}

fn change(event: &WebhookEvent) -> Option<Change> {
    let non_blank = |id: &Option<String>| id.clone().filter(|id| !id.trim().is_empty());
    let id = non_blank(&event.provider_reference)
        .map(|id| ("gateway", id))
        .or_else(|| non_blank(&event.reference).map(|id| ("reference", id)))?;
    let status = match &event.status {
        PaymentStatus::Unknown(kept) => {
            let word = [event.provider_status.trim(), kept.trim()].into_iter().find(|w| !w.is_empty());
            ("unknown".to_owned(), word.unwrap_or_default().to_owned())
        }
        known => (known.as_str().to_owned(), String::new()),
    };
    Some(Change { gateway: event.provider, id, status })
}

/// The key before this change, to count the pairs it merged.
fn old_key(event: &WebhookEvent) -> String {
    let id = event.provider_reference.as_deref().or(event.reference.as_deref()).unwrap_or("");
    format!("{}:{}:{}", event.provider, id, event.status)
}

/// How often each thing happened over the run, printed at its end.
#[derive(Default)]
struct Figures {
    cases: AtomicUsize,
    pairs: AtomicUsize,
    same_key: AtomicUsize,
    refused: AtomicUsize,
    old_merged: AtomicUsize,
}

fn count(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One case: every event keyed, every pair compared.
fn check_events(events: &[WebhookEvent], figures: &Figures) -> Result<(), TestCaseError> {
    count(&figures.cases);
    let mut seen: HashMap<String, Change> = HashMap::new();
    for event in events {
        let key = event.dedup_key();
        let Some(change) = change(event) else {
            // No non-blank id: refused, never keyed (and never `gateway::status`).
            prop_assert!(key.is_err(), "an event with blank ids was keyed {key:?}: {event:?}");
            prop_assert!(EventKey::of(event).is_err());
            count(&figures.refused);
            continue;
        };
        let key = key.unwrap();
        prop_assert_eq!(&EventKey::of(event).unwrap().key, &key);
        prop_assert!(!key.contains(|c: char| c.is_control()), "a control character in {key:?}");
        for (other_key, other) in &seen {
            count(&figures.pairs);
            if *other_key == key {
                count(&figures.same_key);
            }
            // key(a) == key(b) <=> same gateway, same id (of the same kind), same status.
            prop_assert_eq!(
                *other_key == key,
                *other == change,
                "{:?} vs {:?}: {:?} vs {:?}",
                other_key,
                key,
                other,
                change
            );
        }
        seen.insert(key, change);
    }
    for (i, a) in events.iter().enumerate() {
        for b in &events[i + 1..] {
            if old_key(a) == old_key(b) && change(a) != change(b) {
                count(&figures.old_merged);
            }
        }
    }
    Ok(())
}

#[test]
fn two_events_share_a_key_only_if_they_are_the_same_change() {
    let cases = std::env::var("GERBANG_PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new(config);
    let figures = Figures::default();
    let result = runner.run(&events(), |events| check_events(&events, &figures));
    eprintln!(
        "dedup_key property: {} cases, {} pairs of keyed events compared, {} pairs sharing a key (each the same \
         change), {} events with blank ids refused, {} pairs of different changes the old format merged",
        figures.cases.load(Ordering::Relaxed),
        figures.pairs.load(Ordering::Relaxed),
        figures.same_key.load(Ordering::Relaxed),
        figures.refused.load(Ordering::Relaxed),
        figures.old_merged.load(Ordering::Relaxed),
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
    // The generator tries the attack: the old format merged different changes here.
    assert!(figures.old_merged.load(Ordering::Relaxed) > 0, "the cases never tried a collision");
    assert!(figures.same_key.load(Ordering::Relaxed) > 0, "the cases never met the same change twice");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn stored_keys_are_storable_and_stay_apart(a in key_text(), b in key_text()) {
        let ka = EventKey { provider: ProviderId::Qris, key: a.clone() };
        let kb = EventKey { provider: ProviderId::Qris, key: b.clone() };
        let (sa, sb) = (ka.stored(), kb.stored());
        for stored in [&sa, &sb] {
            prop_assert!(!stored.is_empty() && stored.len() <= MAX_PLAIN_STORED_BYTES);
            prop_assert!(stored.bytes().all(|c| c == b' ' || c.is_ascii_graphic()), "{stored:?}");
        }
        prop_assert_eq!(sa == sb, a == b);
    }
}

/// Keys for the stored form: ordinary, long (around the limit), `#`-prefixed, odd.
fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        "[ -~]{0,8}",
        "#[a-f0-9]{64}",
        (Just("x".repeat(MAX_PLAIN_STORED_BYTES - 2)), "[ab]{0,4}").prop_map(|(long, tail)| long + &tail),
        "\\PC{0,300}",
    ]
}

#[test]
fn keys_of_ordinary_events_stay_readable() {
    let mut event = WebhookEvent::new(ProviderId::Qris, PaymentStatus::Paid, "PAID", Ack::text(200, "OK"));
    event.provider_reference = Some("INV-7".into());
    let key = EventKey::of(&event).unwrap();
    assert_eq!(key.key, "qris:INV-7:paid");
    assert_eq!(key.to_string(), "qris/qris:INV-7:paid");
    assert_eq!(key.stored(), "qris:INV-7:paid");
}

#[test]
fn unknown_states_of_one_payment_are_two_changes() {
    let event = |word: &str| {
        let mut event =
            WebhookEvent::new(ProviderId::Ciputra, PaymentStatus::Unknown(word.into()), word, Ack::text(200, "OK"));
        event.provider_reference = Some("T-1".into());
        event.dedup_key().unwrap()
    };
    assert_eq!(event("on_hold"), "ciputra:T-1:unknown(on_hold)");
    assert_eq!(event("chargeback"), "ciputra:T-1:unknown(chargeback)");
    assert_eq!(event(" on_hold "), event("on_hold"), "trimmed, to be stable");
}
