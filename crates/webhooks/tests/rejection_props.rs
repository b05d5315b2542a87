//! Property: whatever error a verifier fails with, the receiver's answer never carries its
//! message (the gateway's words, a store's, an id), and it is a 4xx exactly when the webhook
//! itself is at fault; anything else is a 5xx, so that the gateway delivers it again.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::MemoryInbox;
use gerbang_core::{
    Ack, Capabilities, Error, FieldProblem, LookupKey, Payment, PaymentProvider, PaymentRequest, ProviderId,
    WebhookEvent, WebhookRequest, WebhookSupport,
};
use gerbang_webhooks::{Outcome, Receiver, handler_fn};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const CASES: u32 = 2_000;

/// A gateway whose verifier fails with the error it is given; it answers with the default
/// rejection (`PaymentProvider::reject_webhook`), or Cash In's where `cashin` says so.
struct Failing {
    error: Error,
    cashin: Option<gerbang_cashin::CashinClient>,
}

#[gerbang_core::async_trait]
impl PaymentProvider for Failing {
    fn id(&self) -> ProviderId {
        if self.cashin.is_some() { ProviderId::CashIn } else { ProviderId::Ciputra }
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(WebhookSupport::Signed).looked_up_by(LookupKey::Reference)
    }
    async fn create_payment(&self, _request: &PaymentRequest) -> Result<Payment, Error> {
        Err(self.error.clone())
    }
    async fn payment_status(&self, _reference: &str) -> Result<Payment, Error> {
        Err(self.error.clone())
    }
    async fn cancel_payment(&self, _reference: &str) -> Result<Payment, Error> {
        Err(self.error.clone())
    }
    async fn verify_webhook(&self, _request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        Err(self.error.clone())
    }
    fn reject_webhook(&self, error: &Error) -> Ack {
        match &self.cashin {
            Some(cashin) => cashin.reject_webhook(error),
            None => Ack::rejection(error),
        }
    }
}

/// Text that could be anything a gateway or a store says, long enough that it is not by
/// chance a part of a fixed answer.
fn message() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 :@._/-]{12,48}"
}

fn status() -> impl Strategy<Value = Option<u16>> {
    prop_oneof![
        Just(None),
        (100u16..600).prop_map(Some),
        prop::sample::select(vec![401u16, 403, 404, 408, 429, 500, 502, 503]).prop_map(Some)
    ]
}

/// Every variant, each message an arbitrary string.
fn error() -> impl Strategy<Value = (Error, String)> {
    let m = message;
    prop_oneof![
        m().prop_map(|s| (Error::Transport { message: s.clone() }, s)),
        m().prop_map(|s| (Error::Timeout { operation: s.clone() }, s)),
        (m(), m()).prop_map(|(s, r)| (
            Error::OutcomeUnknown {
                operation: "transaction_status".into(),
                reason: s.clone(),
                reference: Some(r),
                lookup: None
            },
            s
        )),
        (300u16..400, m()).prop_map(|(status, s)| (
            Error::Redirect { operation: "transaction_status".into(), status, host: Some(s.clone()) },
            s
        )),
        (status(), m(), m())
            .prop_map(|(status, code, s)| (Error::Api { status, code: Some(code), message: s.clone() }, s)),
        m().prop_map(|s| (Error::Unauthorized { message: s.clone() }, s)),
        (0u64..100_000)
            .prop_map(|secs| (Error::RateLimited { retry_after: Some(Duration::from_secs(secs)) }, String::new())),
        (0u64..100_000)
            .prop_map(|secs| (Error::BudgetSpent { retry_after: Some(Duration::from_secs(secs)) }, String::new())),
        m().prop_map(|s| (Error::NotFound { message: s.clone() }, s)),
        (m(), m()).prop_map(|(f, s)| (Error::Validation { field: f, reason: s.clone() }, s)),
        (m(), m())
            .prop_map(|(f, s)| (Error::Invalid { problems: vec![FieldProblem { field: f, reason: s.clone() }] }, s)),
        m().prop_map(|s| (Error::InvalidSignature { reason: s.clone() }, s)),
        (any::<i64>(), any::<u64>()).prop_map(|(skew, tol)| (
            Error::StaleTimestamp { skew_seconds: skew, tolerance_seconds: tol },
            String::new()
        )),
        m().prop_map(|s| (Error::Decode { context: s.clone() }, s)),
        Just((Error::Unsupported { provider: ProviderId::Qris, operation: "verify_webhook" }, String::new())),
        m().prop_map(|s| (Error::Store { store: "redis", message: s.clone() }, s)),
        m().prop_map(|s| (Error::Config { message: s.clone() }, s)),
        m().prop_map(|s| (
            Error::ReferenceInUse {
                provider: ProviderId::Ciputra,
                reference: s.clone(),
                state: gerbang_core::ledger::WatchState::Pending,
                lookup_id: None
            },
            s
        )),
    ]
}

/// The rule, written out apart from the code under test: the webhook is at fault when
/// it is forged, stale, malformed or names what the gateway does not hold (or the gateway has
/// no webhook); a store, the confirming call, its token or the configuration failing is not.
fn webhook_at_fault(error: &Error) -> bool {
    match error {
        Error::InvalidSignature { .. }
        | Error::StaleTimestamp { .. }
        | Error::Decode { .. }
        | Error::Validation { .. }
        | Error::Invalid { .. }
        | Error::NotFound { .. }
        | Error::Unsupported { .. } => true,
        Error::Api { status: Some(s), .. } => !(*s >= 500 || matches!(s, 401 | 403 | 407 | 408 | 429)),
        Error::Api { status: None, .. } => true,
        _ => false,
    }
}

#[test]
fn no_answer_repeats_the_error_and_only_a_webhook_at_fault_gets_a_4xx() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let cashin = gerbang_cashin::CashinClient::new(
        gerbang_cashin::CashinConfig::builder("CID-1", "secret")
            .base_url("http://127.0.0.1:9/pg")
            .public_key_pem(gerbang_sandbox::cashin::public_key_pem())
            .build()
            .unwrap(),
    );
    let (tried, refused, unavailable) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&(error(), any::<bool>()), |((error, message), as_cashin)| {
            let provider = Failing { error: error.clone(), cashin: as_cashin.then(|| cashin.clone()) };
            let gateway = provider.id();
            let calls = Arc::new(AtomicUsize::new(0));
            let counting = Arc::clone(&calls);
            let receiver = Receiver::builder(Arc::new(MemoryInbox::new())).provider(Arc::new(provider)).build(
                handler_fn(move |_event| {
                    counting.fetch_add(1, Ordering::SeqCst);
                    async { Ok::<(), std::io::Error>(()) }
                }),
            );
            let delivery = runtime.block_on(receiver.receive(
                gateway.as_str(),
                Method::POST,
                "/webhooks/x",
                &HeaderMap::new(),
                b"{\"external_id\":\"E-1\"}",
            ));
            tried.fetch_add(1, Ordering::SeqCst);
            let status = delivery.ack.status;
            if !message.is_empty() {
                prop_assert!(!delivery.ack.body.contains(&message), "{error:?} answered {:?}", delivery.ack);
            }
            prop_assert!(!delivery.ack.body.contains(&error.to_string()));
            if webhook_at_fault(&error) {
                refused.fetch_add(1, Ordering::SeqCst);
                prop_assert!((400..500).contains(&status), "{error:?} answered {status}");
                prop_assert!(matches!(delivery.outcome, Outcome::Rejected(_)), "{:?}", delivery.outcome);
            } else {
                unavailable.fetch_add(1, Ordering::SeqCst);
                prop_assert!((500..600).contains(&status), "{error:?} answered {status}: the gateway would not retry");
                prop_assert!(matches!(delivery.outcome, Outcome::VerifyUnavailable(_)), "{:?}", delivery.outcome);
            }
            prop_assert_eq!(error.is_verification_failure(), webhook_at_fault(&error));
            prop_assert_eq!(calls.load(Ordering::SeqCst), 0);
            Ok(())
        })
        .unwrap();
    let (tried, refused, unavailable) = (tried.into_inner(), refused.into_inner(), unavailable.into_inner());
    eprintln!("rejection property: {tried} errors tried, {refused} answered 4xx, {unavailable} answered 5xx");
    assert!(refused > CASES as usize / 5 && unavailable > CASES as usize / 5, "both sides exercised");
}
