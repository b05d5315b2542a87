//! The attack on the router: random outcomes at random gateways. Whatever happens, one route
//! call never leaves payments at two gateways, and never calls another gateway after one whose
//! outcome is unknown and cannot be looked up by the merchant's reference.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gerbang_core::{
    Capabilities, Error, LookupKey, Money, Payment, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId,
    Refusal, SafeRefusal, WebhookEvent, WebhookRequest, WebhookSupport, async_trait,
};
use gerbang_router::{CircuitPolicy, Router};
use proptest::prelude::*;

/// What a fake gateway does with a create.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Creates,
    NeverReached,
    /// The answer lost: `true` when the gateway did create it.
    AnswerLost(bool),
    /// A 5xx answered: `true` when it created it all the same.
    ServerError(bool),
    /// A refusal in its table (400).
    SafeRefusal,
    /// A refusal not in its table (409).
    OtherRefusal,
    Validation,
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        Just(Behaviour::Creates),
        Just(Behaviour::NeverReached),
        any::<bool>().prop_map(Behaviour::AnswerLost),
        any::<bool>().prop_map(Behaviour::ServerError),
        Just(Behaviour::SafeRefusal),
        Just(Behaviour::OtherRefusal),
        Just(Behaviour::Validation),
    ]
}

const TABLE: &[SafeRefusal] = &[SafeRefusal::new(Refusal::Status(400), "the fake's own document")];

struct Fake {
    id: ProviderId,
    behaviour: Behaviour,
    lookup: LookupKey,
    /// Whether its look-up by reference fails (a timeout) instead of answering.
    lookup_fails: bool,
    holds_payment: AtomicBool,
    creates: AtomicUsize,
    /// The order it was called in, among all fakes.
    called_at: AtomicUsize,
    clock: Arc<AtomicUsize>,
}

impl Fake {
    fn payment(&self, reference: &str) -> Payment {
        let mut payment = Payment::new(self.id, PaymentStatus::Pending, "pending");
        payment.reference = Some(reference.to_owned());
        payment.provider_reference = Some(format!("{}-1", self.id));
        payment
    }
}

#[async_trait]
impl PaymentProvider for Fake {
    fn id(&self) -> ProviderId {
        self.id
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(WebhookSupport::Signed).looked_up_by(self.lookup).with_safe_refusals(TABLE)
    }
    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        self.called_at.store(self.clock.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
        let created = match self.behaviour {
            Behaviour::Creates => true,
            Behaviour::AnswerLost(created) | Behaviour::ServerError(created) => created,
            _ => false,
        };
        if created {
            self.holds_payment.store(true, Ordering::SeqCst);
        }
        match self.behaviour {
            Behaviour::Creates => Ok(self.payment(&request.reference)),
            Behaviour::NeverReached => Err(Error::Transport { message: "connection refused".into() }),
            Behaviour::AnswerLost(_) => Err(Error::OutcomeUnknown {
                operation: "create".into(),
                reason: "connection closed".into(),
                reference: None,
                lookup: None,
            }),
            Behaviour::ServerError(_) => {
                Err(Error::Api { status: Some(502), code: None, message: "bad gateway".into() })
            }
            Behaviour::SafeRefusal => Err(Error::Api { status: Some(400), code: None, message: "invalid".into() }),
            Behaviour::OtherRefusal => Err(Error::Api { status: Some(409), code: None, message: "conflict".into() }),
            Behaviour::Validation => Err(Error::validation("customer.phone", "required")),
        }
    }
    async fn payment_status(&self, reference: &str) -> Result<Payment, Error> {
        if self.lookup_fails {
            return Err(Error::Timeout { operation: "status".into() });
        }
        if self.holds_payment.load(Ordering::SeqCst) {
            Ok(self.payment(reference))
        } else {
            Err(Error::NotFound { message: "no such payment".into() })
        }
    }
    async fn cancel_payment(&self, _: &str) -> Result<Payment, Error> {
        Err(Error::Unsupported { provider: self.id, operation: "cancel_payment" })
    }
    async fn verify_webhook(&self, _: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        Err(Error::invalid_signature("fake"))
    }
}

type Setup = Vec<(Behaviour, bool, bool)>;

fn setup() -> impl Strategy<Value = Setup> {
    prop::collection::vec((behaviour(), any::<bool>(), any::<bool>()), 1..=ProviderId::ALL.len())
}

fn run(setup: &Setup) -> Result<(), TestCaseError> {
    let clock = Arc::new(AtomicUsize::new(0));
    let fakes: Vec<Arc<Fake>> = setup
        .iter()
        .zip(ProviderId::ALL)
        .map(|(&(behaviour, by_reference, lookup_fails), id)| {
            Arc::new(Fake {
                id,
                behaviour,
                lookup: if by_reference { LookupKey::Reference } else { LookupKey::ProviderReference },
                lookup_fails,
                holds_payment: AtomicBool::new(false),
                creates: AtomicUsize::new(0),
                called_at: AtomicUsize::new(0),
                clock: clock.clone(),
            })
        })
        .collect();
    let mut builder = Router::builder().circuit_policy(CircuitPolicy::default().failures(100));
    for fake in &fakes {
        builder = builder.gateway(fake.clone());
    }
    let router = builder.build().unwrap();
    let request = PaymentRequest::builder("ORDER-1", Money::idr(50_000)).build().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let result = runtime.block_on(router.route(&request));

    let holders: Vec<ProviderId> =
        fakes.iter().filter(|f| f.holds_payment.load(Ordering::SeqCst)).map(|f| f.id).collect();
    prop_assert!(holders.len() <= 1, "payments at {holders:?}");
    for fake in &fakes {
        prop_assert!(fake.creates.load(Ordering::SeqCst) <= 1, "{} asked twice", fake.id);
    }
    // Once a gateway may hold the payment and cannot say whether it does, nobody after it is called.
    for (i, fake) in fakes.iter().enumerate() {
        let ambiguous =
            matches!(fake.behaviour, Behaviour::AnswerLost(_) | Behaviour::ServerError(_) | Behaviour::OtherRefusal)
                && (fake.lookup == LookupKey::ProviderReference || fake.lookup_fails);
        let stops =
            fake.creates.load(Ordering::SeqCst) == 1 && (ambiguous || fake.holds_payment.load(Ordering::SeqCst));
        if stops {
            for later in &fakes[i + 1..] {
                prop_assert_eq!(later.creates.load(Ordering::SeqCst), 0, "{} called after {}", later.id, fake.id);
            }
        }
    }
    match result {
        Ok(routed) => {
            prop_assert_eq!(holders, vec![routed.payment.provider], "the payment returned is the only one");
            prop_assert_eq!(routed.attempts.last().map(|a| a.gateway), Some(routed.payment.provider));
        }
        Err(error) => {
            // A payment that exists is never lost behind a failure: it is at the gateway the route
            // stopped at, with an error saying its outcome is unknown.
            if let Some(holder) = holders.first() {
                prop_assert_eq!(error.attempts.last().map(|a| a.gateway), Some(*holder));
                prop_assert!(matches!(error.error, Error::OutcomeUnknown { .. } | Error::Api { .. }), "{}", error);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn one_route_never_makes_two_payments_nor_passes_an_unknown_outcome(setup in setup()) {
        run(&setup)?;
    }
}
