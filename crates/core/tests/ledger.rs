//! The in-memory ledger keeps the contract every store keeps; its look-ups never cross from a
//! merchant's reference to a gateway's id; a [`Watched`] create never reuses a reference.
//!
//! Run with `--nocapture` to see the property test's figures:
//! `cargo test -p gerbang-core --test ledger -- --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code.

use std::cell::Cell;
use std::sync::Arc;

use gerbang_core::ledger::{Begin, Ledger, MemoryLedger, WatchState, Watched, WatchedPayment};
use gerbang_core::time::{self, OffsetDateTime};
use gerbang_core::{Error, LookupKey, Money, PaymentProvider, PaymentRequest, ProviderId};
use gerbang_testkit::CountingGateway;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

#[tokio::test]
async fn memory_ledger_keeps_the_contract() {
    gerbang_testkit::check_ledger_contract(&MemoryLedger::new(), "memory").await;
    gerbang_testkit::check_watched_creates(Arc::new(MemoryLedger::new()), "memory").await;
}

fn t0() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_900_000_000)
}

fn request(reference: &str, amount: i64) -> PaymentRequest {
    PaymentRequest::builder(reference, Money::idr(amount))
        .customer_name("Budi Santoso")
        .customer_email("budi@example.com")
        .customer_phone("+6281234567890")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_reused_reference_is_refused_before_it_is_sent_unless_the_gateway_refused_it() {
    for lookup in [LookupKey::Reference, LookupKey::ProviderReference] {
        for state in WatchState::ALL {
            let ledger = Arc::new(MemoryLedger::new());
            let gateway = CountingGateway::new(ProviderId::CashIn, lookup);
            let watched = Watched::new(gateway.clone(), ledger.clone());
            let reference = format!("ORDER-{state}");
            let mut existing = WatchedPayment::new(ProviderId::CashIn, &reference, Money::idr(50_000), state, t0());
            existing.provider_reference = (state != WatchState::Unknown).then(|| "GW-FIRST".to_owned());
            ledger.record(&existing).await.unwrap();

            let answer = watched.create_payment(&request(&reference, 990_000)).await;
            let stored = ledger.find_by_reference(ProviderId::CashIn, &reference).await.unwrap().unwrap();
            if state == WatchState::NotCreated {
                let payment = answer.unwrap_or_else(|e| panic!("{state}: a refused create may be tried again: {e}"));
                assert_eq!(payment.provider_reference.as_deref(), Some(format!("GW-{reference}").as_str()));
                assert_eq!(gateway.creates(), 1, "{state}: sent once");
                assert_eq!((stored.state, stored.amount), (WatchState::Pending, Money::idr(990_000)), "{state}");
                continue;
            }
            let error = answer.expect_err(&format!("{state}: a reused reference must be refused"));
            assert_eq!(gateway.creates(), 0, "{state}: nothing reaches the gateway");
            assert_eq!(stored, existing, "{state}: the record is unchanged");
            let Error::ReferenceInUse { provider, reference: named, state: said, lookup_id } = &error else {
                panic!("{state}: {error:?}")
            };
            assert_eq!((*provider, named.as_str(), *said), (ProviderId::CashIn, reference.as_str(), state));
            let expected_id = match lookup {
                LookupKey::Reference => Some(reference.as_str()),
                _ => existing.provider_reference.as_deref(),
            };
            assert_eq!(lookup_id.as_deref(), expected_id, "{state}");
            let message = error.to_string();
            for part in ["cashin", reference.as_str(), &format!("`{state}`")] {
                assert!(message.contains(part), "{state}: the message names {part}: {message}");
            }
            for private in ["Budi", "budi@example.com", "6281234567890", "990"] {
                assert!(!message.contains(private), "{state}: the message shows {private}: {message}");
            }
            if matches!(state, WatchState::Creating | WatchState::Unknown) {
                assert!(message.contains("charge the customer twice"), "{message}");
                let look = expected_id.map_or("dashboard".to_owned(), |id| format!("`status {id}`"));
                assert!(message.contains(&look), "{state}: says how to look it up ({look}): {message}");
            }
            assert!(!message.contains('\n'), "one line: {message}");
        }
    }
}

#[tokio::test]
async fn creates_of_one_reference_at_once_send_one() {
    let ledger = Arc::new(MemoryLedger::new());
    let gateway = CountingGateway::new(ProviderId::Qris, LookupKey::ProviderReference);
    let watched = Watched::new(gateway.clone(), ledger.clone());
    let request = request("ORDER-RACE", 75_000);
    let answers = futures_util::future::join_all((0..16).map(|_| watched.create_payment(&request))).await;
    assert_eq!(gateway.creates(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 1, "{answers:?}");
    for answer in answers.iter().filter_map(|a| a.as_ref().err()) {
        let Error::ReferenceInUse { state, .. } = answer else { panic!("{answer:?}") };
        assert!(matches!(state, WatchState::Creating | WatchState::Pending), "{answer}");
    }
    // Created and pending now: a later create of it is refused too.
    let again = watched.create_payment(&request).await;
    assert!(matches!(again, Err(Error::ReferenceInUse { state: WatchState::Pending, .. })), "{again:?}");
    assert_eq!(gateway.creates(), 1);
}

/// The values references and gateway ids are drawn from: few, so that a reference is often
/// another record's gateway id (`100000` is both, in the attack).
const VALUES: [&str; 6] = ["100000", "100001", "ORD-A", "ORD-B", "7", "x y"];
const GATEWAYS: [ProviderId; 2] = [ProviderId::CryptoInvoice, ProviderId::Cuan10pay];
const CASES: u32 = 1_000;

/// Records of two gateways whose references and gateway ids come from [`VALUES`]: unique per
/// gateway within each namespace (the ledger's key, and a gateway's id of one payment), and
/// colliding across them.
fn records() -> impl Strategy<Value = Vec<WatchedPayment>> {
    let one =
        (0..GATEWAYS.len(), 0..VALUES.len(), prop::option::weighted(0.9, 0..VALUES.len()), 0..WatchState::ALL.len());
    prop::collection::vec(one, 0..16).prop_map(|drawn| {
        let mut records: Vec<WatchedPayment> = Vec::new();
        for (n, (gateway, reference, id, state)) in drawn.into_iter().enumerate() {
            let provider = GATEWAYS[gateway];
            let id = id.map(|i| VALUES[i].to_owned());
            let taken = |r: &WatchedPayment| {
                r.provider == provider
                    && (r.reference == VALUES[reference] || (id.is_some() && r.provider_reference == id))
            };
            if records.iter().any(taken) {
                continue;
            }
            let at = t0() + time::Duration::seconds(i64::try_from(n).unwrap());
            let mut record = WatchedPayment::new(
                provider,
                VALUES[reference],
                Money::idr(1_000 + n as i64),
                WatchState::ALL[state],
                at,
            );
            record.provider_reference = id;
            records.push(record);
        }
        records
    })
}

#[test]
fn every_look_up_finds_the_record_holding_the_value_in_that_namespace_only() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (cases, look_ups, crossings) = (Cell::new(0_u64), Cell::new(0_u64), Cell::new(0_u64));
    let (crossed_cases, records_written) = (Cell::new(0_u64), Cell::new(0_u64));
    let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&(records(), any::<bool>()), |(records, through_begin)| {
            cases.set(cases.get() + 1);
            records_written.set(records_written.get() + records.len() as u64);
            let crossings_before = crossings.get();
            let checked = runtime.block_on(async {
                let ledger = MemoryLedger::new();
                for record in &records {
                    // Written as a reconciler would, or begun as a create: the same record.
                    if through_begin {
                        prop_assert_eq!(ledger.begin_create(record).await.unwrap(), Begin::Started);
                    } else {
                        prop_assert!(ledger.record(record).await.unwrap());
                    }
                }
                for provider in GATEWAYS {
                    for value in VALUES {
                        let of = |r: &&WatchedPayment| r.provider == provider;
                        let by_reference = records.iter().filter(of).find(|r| r.reference == value);
                        let by_id = records.iter().filter(of).find(|r| r.provider_reference.as_deref() == Some(value));
                        if let (Some(a), Some(b)) = (by_reference, by_id)
                            && a.reference != b.reference
                        {
                            crossings.set(crossings.get() + 1);
                        }
                        look_ups.set(look_ups.get() + 2);
                        let found = ledger.find_by_reference(provider, value).await.unwrap();
                        prop_assert_eq!(found.as_ref(), by_reference, "by reference {} at {}", value, provider);
                        let found = ledger.find_by_gateway_id(provider, value).await.unwrap();
                        prop_assert_eq!(found.as_ref(), by_id, "by gateway id {} at {}", value, provider);
                    }
                }
                Ok::<(), TestCaseError>(())
            });
            if crossings.get() > crossings_before {
                crossed_cases.set(crossed_cases.get() + 1);
            }
            checked
        })
        .unwrap();
    eprintln!(
        "ledger namespaces: {} random ledgers of {} records in all, {} look-ups, each finding the record holding \
         the value in that namespace; {} times (in {} ledgers) a value was one record's reference and another's \
         gateway id",
        cases.get(),
        records_written.get(),
        look_ups.get(),
        crossings.get(),
        crossed_cases.get()
    );
    assert_eq!(cases.get(), u64::from(CASES));
    assert!(crossed_cases.get() > u64::from(CASES) / 2, "the values collide across namespaces too rarely");
}

/// What the in-memory ledger did before it kept indexes: every operation a scan of every record.
/// Ties are broken by gateway and reference, as the indexes order them.
struct Scan {
    records: Vec<WatchedPayment>,
    capacity: usize,
}

impl Scan {
    fn position(&self, record: &WatchedPayment) -> Option<usize> {
        self.records.iter().position(|r| r.provider == record.provider && r.reference == record.reference)
    }

    fn put(&mut self, record: &WatchedPayment) {
        if let Some(at) = self.position(record) {
            self.records[at] = record.clone();
            return;
        }
        if self.records.len() >= self.capacity {
            // Of records alike, the first written (the first in this list) is forgotten first.
            let oldest = (0..self.records.len()).min_by_key(|&i| {
                let r = &self.records[i];
                (r.state.is_watched(), r.recorded_at)
            });
            self.records.remove(oldest.unwrap());
        }
        self.records.push(record.clone());
    }

    fn record(&mut self, record: &WatchedPayment) -> bool {
        if self.position(record).is_some_and(|at| self.records[at].state.rank() > record.state.rank()) {
            return false;
        }
        self.put(record);
        true
    }

    fn begin_create(&mut self, record: &WatchedPayment) -> Begin {
        if let Some(at) = self.position(record).filter(|&at| self.records[at].state != WatchState::NotCreated) {
            return Begin::Exists(Box::new(self.records[at].clone()));
        }
        self.put(record);
        Begin::Started
    }

    fn due(&mut self, now: OffsetDateTime, limit: usize, until: OffsetDateTime) -> Vec<WatchedPayment> {
        let mut due: Vec<&mut WatchedPayment> = self
            .records
            .iter_mut()
            .filter(|r| r.state.is_watched() && r.next_check.is_some_and(|at| at <= now))
            .collect();
        // A stable sort: of records due at one instant, the first written comes first.
        due.sort_by_key(|r| r.next_check);
        due.into_iter()
            .take(limit)
            .map(|r| {
                let handed = r.clone();
                r.next_check = Some(until);
                handed
            })
            .collect()
    }

    fn find_by_gateway_id(&self, provider: ProviderId, id: &str) -> Option<&WatchedPayment> {
        self.records
            .iter()
            .filter(|r| r.provider == provider && r.provider_reference.as_deref() == Some(id))
            .max_by(|a, b| a.recorded_at.cmp(&b.recorded_at).then_with(|| a.reference.cmp(&b.reference)))
    }
}

/// One step of a random history: a write (through `record` or `begin_create`) of a record drawn
/// from few references, ids, states, times; or a batch of due records taken at some time.
#[derive(Debug, Clone)]
enum Step {
    Write { begin: bool, gateway: usize, reference: usize, id: Option<usize>, state: usize, at: i64, next: Option<i64> },
    Due { at: i64, limit: usize },
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let write = (any::<bool>(), 0..GATEWAYS.len(), 0..VALUES.len(), prop::option::of(0..VALUES.len())).prop_flat_map(
        |(begin, gateway, reference, id)| {
            (0..WatchState::ALL.len(), 0..8_i64, prop::option::weighted(0.8, 0..8_i64))
                .prop_map(move |(state, at, next)| Step::Write { begin, gateway, reference, id, state, at, next })
        },
    );
    let due = (0..12_i64, 0..5_usize).prop_map(|(at, limit)| Step::Due { at, limit });
    prop::collection::vec(prop_oneof![3 => write, 1 => due], 0..40)
}

/// The indexes the in-memory ledger keeps (by next check, by gateway id, by age for eviction)
/// agree, after every step of random histories, with a scan of every record: the same due
/// batches in the same order, the same records found and forgotten.
#[test]
fn memory_ledger_indexes_agree_with_a_scan_of_every_record() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let lease = std::time::Duration::from_secs(3);
    let at = |s: i64| t0() + time::Duration::seconds(s);
    let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&(steps(), 1..6_usize), |(steps, capacity)| {
            runtime.block_on(async {
                let ledger = MemoryLedger::with_capacity(capacity);
                let mut scan = Scan { records: Vec::new(), capacity };
                for step in &steps {
                    match *step {
                        Step::Write { begin, gateway, reference, id, state, at: recorded, next } => {
                            let state = WatchState::ALL[state];
                            let mut record = WatchedPayment::new(
                                GATEWAYS[gateway],
                                VALUES[reference],
                                Money::idr(1),
                                state,
                                at(recorded),
                            );
                            record.provider_reference = id.map(|i| VALUES[i].to_owned());
                            record.next_check = next.map(at);
                            if begin {
                                prop_assert_eq!(
                                    ledger.begin_create(&record).await.unwrap(),
                                    scan.begin_create(&record)
                                );
                            } else {
                                prop_assert_eq!(ledger.record(&record).await.unwrap(), scan.record(&record));
                            }
                        }
                        Step::Due { at: now, limit } => {
                            let until = at(now) + lease;
                            let due = ledger.due(at(now), limit, lease).await.unwrap();
                            prop_assert_eq!(due, scan.due(at(now), limit, until), "{:?}", step);
                        }
                    }
                    let mut held = ledger.list(usize::MAX).await.unwrap();
                    let mut expected = scan.records.clone();
                    for list in [&mut held, &mut expected] {
                        list.sort_by(|a, b| (a.provider, &a.reference).cmp(&(b.provider, &b.reference)));
                    }
                    prop_assert_eq!(&held, &expected, "after {:?}", step);
                    for provider in GATEWAYS {
                        for value in VALUES {
                            let found = ledger.find_by_gateway_id(provider, value).await.unwrap();
                            prop_assert_eq!(found.as_ref(), scan.find_by_gateway_id(provider, value));
                        }
                    }
                }
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
}
