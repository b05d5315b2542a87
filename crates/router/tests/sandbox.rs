//! The router against the sandbox over loopback, with its fault injection: it fails over only
//! when the payment provably does not exist, and one route call leaves at most one payment.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{
    cashin_at, cashin_order, cuan10pay_at, outcomes, qris_at, refusing_base_url, sandbox_with_webhooks_to_nowhere,
};
use gerbang_core::{
    Capabilities, Channel, Error, Money, Payment, PaymentProvider, PaymentRequest, ProviderId, WebhookEvent,
    WebhookRequest, async_trait,
};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang_router::{CircuitPolicy, Outcome, Router};
use gerbang_sandbox::{Fault, FaultAction, Sandbox, SandboxHandle, cuan10pay};

/// A gateway that counts the creates it is asked for, so a test can say "never called".
struct Counting {
    inner: Arc<dyn PaymentProvider>,
    creates: AtomicUsize,
}

impl Counting {
    fn new(inner: impl PaymentProvider + 'static) -> Arc<Self> {
        Arc::new(Self { inner: Arc::new(inner), creates: AtomicUsize::new(0) })
    }
    fn creates(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl PaymentProvider for Counting {
    fn id(&self) -> ProviderId {
        self.inner.id()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        self.inner.create_payment(request).await
    }
    async fn payment_status(&self, id: &str) -> Result<Payment, Error> {
        self.inner.payment_status(id).await
    }
    async fn cancel_payment(&self, id: &str) -> Result<Payment, Error> {
        self.inner.cancel_payment(id).await
    }
    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        self.inner.verify_webhook(request).await
    }
}

/// A QRIS payment that Cuan10pay and the QRIS gateway both take.
fn qris_order(reference: &str, rupiah: i64) -> PaymentRequest {
    PaymentRequest::builder(reference, Money::idr(rupiah)).channel(Channel::Qris).build().unwrap()
}

async fn sandbox() -> SandboxHandle {
    Sandbox::builder().start().await.unwrap()
}

#[tokio::test]
async fn a_gateway_refusing_connections_fails_over_and_one_payment_exists() {
    let sandbox = sandbox().await;
    let router = Router::builder()
        .gateway(Arc::new(cuan10pay_at(refusing_base_url().await)))
        .gateway(Arc::new(qris_at(&sandbox)))
        .build()
        .unwrap();
    let routed = router.route(&qris_order("R-REFUSED", 50_000)).await.unwrap();
    assert_eq!(
        outcomes(&routed.attempts),
        [(ProviderId::Cuan10pay, Outcome::NeverReached), (ProviderId::Qris, Outcome::Created)]
    );
    assert_eq!(routed.payment.provider, ProviderId::Qris);
    assert_eq!(sandbox.payments().len(), 1, "exactly one payment in all");
    // Status goes to the gateway that owns the payment.
    let id = routed.lookup_id().unwrap();
    assert!(id.starts_with("qris:"), "{id}");
    let status = router.payment_status(&id).await.unwrap();
    assert_eq!(status.provider, ProviderId::Qris);
}

#[tokio::test]
async fn cuan10pay_answer_lost_stops_with_outcome_unknown_and_never_calls_the_second() {
    let sandbox = sandbox().await;
    sandbox.inject_fault(Fault::new(ProviderId::Cuan10pay, "create", FaultAction::CutAfter).times(1)).unwrap();
    let qris = Counting::new(qris_at(&sandbox));
    let router = Router::builder()
        .gateway(Arc::new(cuan10pay_at(sandbox.base_url(ProviderId::Cuan10pay))))
        .gateway(qris.clone())
        .build()
        .unwrap();
    let error = router.route(&qris_order("R-CUT-AFTER", 50_000)).await.unwrap_err();
    assert!(matches!(error.error, Error::OutcomeUnknown { .. }), "{error}");
    assert_eq!(outcomes(&error.attempts), [(ProviderId::Cuan10pay, Outcome::Unknown)]);
    assert_eq!(qris.creates(), 0, "never a second gateway after an unknown outcome that cannot be looked up");
    let payments = sandbox.payments();
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0].provider, ProviderId::Cuan10pay, "the lost answer's payment exists");
}

#[tokio::test]
async fn cashin_answer_lost_is_found_by_reference_and_the_second_never_called() {
    let sandbox = sandbox().await;
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::CutAfter).times(1)).unwrap();
    let second = Counting::new(qris_at(&sandbox));
    let router = Router::builder().gateway(Arc::new(cashin_at(&sandbox))).gateway(second.clone()).build().unwrap();
    let routed = router.route(&cashin_order("R-FOUND")).await.unwrap();
    assert_eq!(
        outcomes(&routed.attempts),
        [(ProviderId::CashIn, Outcome::Unknown), (ProviderId::CashIn, Outcome::FoundByReference)]
    );
    assert_eq!(routed.payment.provider, ProviderId::CashIn);
    assert_eq!(routed.payment.reference.as_deref(), Some("R-FOUND"));
    assert_eq!(second.creates(), 0);
    assert_eq!(sandbox.payments().len(), 1);
}

#[tokio::test]
async fn cashin_cut_before_handling_is_not_found_and_the_second_creates() {
    let sandbox = sandbox().await;
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::Cut).times(1)).unwrap();
    let second = Arc::new(qris_at(&sandbox));
    let router = Router::builder().gateway(Arc::new(cashin_at(&sandbox))).gateway(second).build().unwrap();
    let routed = router.route(&cashin_order("R-NOT-FOUND")).await.unwrap();
    assert_eq!(
        outcomes(&routed.attempts),
        [
            (ProviderId::CashIn, Outcome::Unknown),
            (ProviderId::CashIn, Outcome::NotFoundByReference),
            (ProviderId::Qris, Outcome::Created)
        ]
    );
    // The QRIS gateway takes an amount and nothing else: the rest of Cash In's request was left
    // out of what it was sent, and its attempt says so.
    let left_out: Vec<&str> = routed.attempts[2].left_out.iter().map(|f| f.as_str()).collect();
    assert_eq!(left_out, ["customer.phone", "customer.id", "return_url"]);
    let payments = sandbox.payments();
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0].provider, ProviderId::Qris);
}

#[tokio::test]
async fn a_request_without_a_field_cashin_requires_skips_it_without_a_call() {
    let sandbox = sandbox().await;
    let cashin = Counting::new(cashin_at(&sandbox));
    let router = Router::builder().gateway(cashin.clone()).gateway(Arc::new(qris_at(&sandbox))).build().unwrap();
    let no_phone = PaymentRequest::builder("R-NO-PHONE", Money::idr(150_000))
        .channel(Channel::Qris)
        .customer_id("CUST-42")
        .return_url("https://shop.example/orders/42")
        .build()
        .unwrap();
    let routed = router.route(&no_phone).await.unwrap();
    assert_eq!(
        outcomes(&routed.attempts),
        [(ProviderId::CashIn, Outcome::SkippedLimits), (ProviderId::Qris, Outcome::Created)]
    );
    assert_eq!(routed.attempts[0].detail.as_deref(), Some("requires customer.phone"));
    assert_eq!(cashin.creates(), 0);
    assert_eq!(sandbox.payments().len(), 1);
}

#[tokio::test]
async fn an_amount_outside_cuan10pay_range_goes_to_the_next_without_a_call() {
    let sandbox = sandbox().await;
    let cuan10pay = Counting::new(cuan10pay_at(sandbox.base_url(ProviderId::Cuan10pay)));
    let router = Router::builder().gateway(cuan10pay.clone()).gateway(Arc::new(qris_at(&sandbox))).build().unwrap();
    for (reference, rupiah) in [("R-SMALL", 5_000), ("R-LARGE", 20_000_000)] {
        let routed = router.route(&qris_order(reference, rupiah)).await.unwrap();
        assert_eq!(
            outcomes(&routed.attempts),
            [(ProviderId::Cuan10pay, Outcome::SkippedLimits), (ProviderId::Qris, Outcome::Created)]
        );
        assert!(routed.attempts[0].detail.as_deref().unwrap().contains("10000"), "{:?}", routed.attempts[0]);
    }
    assert_eq!(cuan10pay.creates(), 0);
}

#[tokio::test]
async fn five_never_reached_open_the_circuit_and_one_probe_follows_the_cool_down() {
    let sandbox = sandbox().await;
    let cool_down = Duration::from_millis(300);
    let down = Counting::new(cuan10pay_at(refusing_base_url().await));
    let router = Router::builder()
        .gateway(down.clone())
        .gateway(Arc::new(qris_at(&sandbox)))
        .circuit_policy(CircuitPolicy::default().failures(5).cool_down(cool_down))
        .build()
        .unwrap();
    for n in 0..5 {
        let routed = router.route(&qris_order(&format!("R-C{n}"), 50_000)).await.unwrap();
        assert_eq!(routed.attempts[0].outcome, Outcome::NeverReached);
    }
    assert_eq!(down.creates(), 5);
    for n in 5..8 {
        let routed = router.route(&qris_order(&format!("R-C{n}"), 50_000)).await.unwrap();
        assert_eq!(
            outcomes(&routed.attempts),
            [(ProviderId::Cuan10pay, Outcome::CircuitOpen), (ProviderId::Qris, Outcome::Created)]
        );
    }
    assert_eq!(down.creates(), 5, "skipped without a call while open");
    tokio::time::sleep(cool_down + Duration::from_millis(50)).await;
    let probe = router.route(&qris_order("R-PROBE", 50_000)).await.unwrap();
    assert_eq!(probe.attempts[0].outcome, Outcome::NeverReached);
    assert_eq!(down.creates(), 6, "one probe after the cool-down");
    let after = router.route(&qris_order("R-AFTER", 50_000)).await.unwrap();
    assert_eq!(after.attempts[0].outcome, Outcome::CircuitOpen, "a failed probe opens it again");
    assert_eq!(down.creates(), 6);
    assert_eq!(sandbox.payments().len(), 10, "each route made one payment");
}

#[tokio::test]
async fn our_own_rate_budget_refusing_fails_over_without_a_request() {
    let sandbox = sandbox().await;
    // A budget of one call an hour: the second route's call is refused by the client, not sent.
    let cuan10pay = Cuan10payClient::new(
        Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
            .base_url(sandbox.base_url(ProviderId::Cuan10pay))
            .rate_budget(gerbang_cuan10pay::RateBudget::per_hour(std::num::NonZeroU32::MIN))
            .build()
            .unwrap(),
    );
    let router = Router::builder().gateway(Arc::new(cuan10pay)).gateway(Arc::new(qris_at(&sandbox))).build().unwrap();
    let first = router.route(&qris_order("R-BUDGET-1", 50_000)).await.unwrap();
    assert_eq!(outcomes(&first.attempts), [(ProviderId::Cuan10pay, Outcome::Created)]);
    let second = router.route(&qris_order("R-BUDGET-2", 50_000)).await.unwrap();
    assert_eq!(
        outcomes(&second.attempts),
        [(ProviderId::Cuan10pay, Outcome::RateLimited), (ProviderId::Qris, Outcome::Created)]
    );
    assert_eq!(sandbox.payments().len(), 2, "one payment per route");
}

#[tokio::test]
async fn a_request_no_rule_matches_is_refused_without_a_call() {
    let sandbox = sandbox().await;
    let qris = Counting::new(qris_at(&sandbox));
    let router = Router::builder()
        .gateway(qris.clone())
        .rule(gerbang_router::Rule::new([ProviderId::Qris]).channel(gerbang_core::ChannelKind::Qris))
        .build()
        .unwrap();
    let no_channel = PaymentRequest::builder("R-NO-RULE", Money::idr(50_000)).build().unwrap();
    let error = router.route(&no_channel).await.unwrap_err();
    assert!(matches!(error.error, Error::Validation { .. }), "{error}");
    assert!(error.attempts.is_empty());
    assert_eq!(qris.creates(), 0);
    assert!(sandbox.payments().is_empty());
}

#[tokio::test]
async fn a_5xx_from_a_gateway_that_cannot_be_looked_up_by_reference_stops_the_route() {
    let sandbox = sandbox().await;
    sandbox.inject_fault(Fault::new(ProviderId::Qris, "create", FaultAction::Status).status(503).times(1)).unwrap();
    let cuan10pay = Counting::new(cuan10pay_at(sandbox.base_url(ProviderId::Cuan10pay)));
    let router = Router::builder().gateway(Arc::new(qris_at(&sandbox))).gateway(cuan10pay.clone()).build().unwrap();
    let error = router.route(&qris_order("R-503", 50_000)).await.unwrap_err();
    assert_eq!(outcomes(&error.attempts), [(ProviderId::Qris, Outcome::Unknown)]);
    assert_eq!(error.error.http_status(), Some(503), "{error}");
    assert_eq!(cuan10pay.creates(), 0, "a 5xx may hide a payment: never a second gateway");
}

#[tokio::test]
async fn webhooks_are_verified_by_the_gateway_that_owns_the_payment() {
    use gerbang_core::http::{HeaderMap, HeaderName, HeaderValue, Method};

    let sandbox = sandbox_with_webhooks_to_nowhere().await;
    let router = Router::builder()
        .gateway(Arc::new(cuan10pay_at(sandbox.base_url(ProviderId::Cuan10pay))))
        .gateway(Arc::new(cashin_at(&sandbox)))
        .build()
        .unwrap();
    // Below Cuan10pay's smallest deposit: the second order goes to Cash In.
    let at_cuan10pay = router.route(&qris_order("R-HOOK-1", 50_000)).await.unwrap();
    let mut small = cashin_order("R-HOOK-2");
    small.amount = Money::idr(5_000);
    let at_cashin = router.route(&small).await.unwrap();
    assert_eq!(at_cashin.payment.provider, ProviderId::CashIn, "{:?}", at_cashin.attempts);
    sandbox.pay(ProviderId::Cuan10pay, at_cuan10pay.payment.provider_reference.as_deref().unwrap()).await.unwrap();
    sandbox.pay(ProviderId::CashIn, "R-HOOK-2").await.unwrap();
    let deliveries = sandbox.wait_for_deliveries(2, Duration::from_secs(10)).await.unwrap();
    let mut verified = Vec::new();
    for provider in [ProviderId::Cuan10pay, ProviderId::CashIn] {
        let delivery = deliveries.iter().find(|d| d.provider == provider).unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in &delivery.headers {
            headers
                .insert(HeaderName::try_from(name.as_str()).unwrap(), HeaderValue::try_from(value.as_str()).unwrap());
        }
        let path = delivery.url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
        let request = WebhookRequest::new(Method::POST, &path, &headers, delivery.body.as_bytes());
        let event = router.verify_webhook(&request).await.unwrap();
        verified.push(event.provider);
    }
    verified.sort();
    assert_eq!(verified, [ProviderId::Cuan10pay, ProviderId::CashIn]);
}
