//! Fault injection in front of every gateway (`POST /_sandbox/faults`, `Sandbox::inject_fault`):
//! each fault's effect on the SDK's own clients, over real HTTP.

mod workbench;

use std::time::{Duration, Instant};

use gerbang_core::{Error, HttpClient, PaymentProvider, PaymentStatus, ProviderId, RetryPolicy};
use gerbang_sandbox::{Fault, FaultAction, PaymentState};
use serde_json::{Value, json};
use workbench::{client, create, request};

/// A transport that gives up quickly: a 300 ms timeout, one retry 10 ms later.
#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
fn impatient() -> HttpClient {
    let retry = RetryPolicy::default().max_retries(1).initial_backoff(Duration::from_millis(10));
    HttpClient::builder().timeout(Duration::from_millis(300)).retry(retry).build().unwrap()
}

#[tokio::test]
async fn a_cut_create_is_outcome_unknown_whether_or_not_the_gateway_acted() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let cashin = client(&sandbox, ProviderId::CashIn, None);

    // `cut`: read, not handled, no answer. The SDK cannot know: OutcomeUnknown, naming the look-up.
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::Cut).times(1)).unwrap();
    let err = cashin.create_payment(&request(ProviderId::CashIn, "ORDER-CUT", 10_000, &recorder)).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert!(err.to_string().contains("status ORDER-CUT"), "{err}");
    assert!(!err.is_transient(), "a create whose outcome is unknown must not be repeated blindly");
    assert!(sandbox.payment(ProviderId::CashIn, "ORDER-CUT").is_err(), "the gateway never handled it");
    // Following the advice: the look-up says it does not exist, so it is safe to create again.
    assert!(matches!(cashin.payment_status("ORDER-CUT").await, Err(Error::NotFound { .. })));
    assert!(sandbox.faults().is_empty(), "used up");
    cashin.create_payment(&request(ProviderId::CashIn, "ORDER-CUT", 10_000, &recorder)).await.unwrap();

    // `cut_after`: handled, then the answer lost. The same error; this time the payment exists.
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::CutAfter).times(1)).unwrap();
    let err = cashin.create_payment(&request(ProviderId::CashIn, "ORDER-LOST", 10_000, &recorder)).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sandbox.payment(ProviderId::CashIn, "ORDER-LOST").map(|p| p.state), Ok(PaymentState::Pending));
    assert_eq!(cashin.payment_status("ORDER-LOST").await.unwrap().status, PaymentStatus::Pending);
}

#[tokio::test]
async fn a_hang_times_a_lookup_out_and_leaves_a_create_unknown() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let (_, id) = create(&sandbox, ProviderId::Cuan10pay, "ORDER-H", 10_000, &recorder).await;
    let cuan10pay = client(&sandbox, ProviderId::Cuan10pay, Some(impatient()));
    sandbox.inject_fault(Fault::new(ProviderId::Cuan10pay, "any", FaultAction::Hang)).unwrap();

    let started = Instant::now();
    let err = cuan10pay.payment_status(&id).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "a look-up is safe to repeat: {err:?}");
    assert!(err.is_transient());
    assert!(started.elapsed() >= Duration::from_millis(600), "tried twice, 300 ms each: {:?}", started.elapsed());
    let err =
        cuan10pay.create_payment(&request(ProviderId::Cuan10pay, "ORDER-H2", 10_000, &recorder)).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "a create that got no answer: {err:?}");
    assert!(err.to_string().contains("no answer within 0.3 s"), "{err}");
    assert_eq!(sandbox.faults()[0].hits, 3, "two look-up attempts and one create");

    assert_eq!(sandbox.clear_faults(), 1);
    assert_eq!(cuan10pay.payment_status(&id).await.unwrap().status, PaymentStatus::Pending);
}

#[tokio::test]
async fn a_rate_limit_is_rate_limited_and_a_short_wait_is_waited_out() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let qris = client(&sandbox, ProviderId::Qris, None);
    sandbox.inject_fault(Fault::new(ProviderId::Qris, "create", FaultAction::RateLimit)).unwrap();
    let err = qris.create_payment(&request(ProviderId::Qris, "ORDER-R", 10_000, &recorder)).await.unwrap_err();
    assert_eq!(err, Error::RateLimited { retry_after: Some(Duration::from_secs(3600)) });
    assert!(sandbox.payments().is_empty());

    // A look-up told to come back in a second does, once, and gets its answer.
    let (_, id) = create(&sandbox, ProviderId::Cuan10pay, "ORDER-R2", 10_000, &recorder).await;
    let fault = Fault::new(ProviderId::Cuan10pay, "status", FaultAction::RateLimit).retry_after(Duration::from_secs(1));
    sandbox.inject_fault(fault.times(1)).unwrap();
    let started = Instant::now();
    let status = client(&sandbox, ProviderId::Cuan10pay, None).payment_status(&id).await.unwrap();
    assert_eq!(status.status, PaymentStatus::Pending);
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    let left: Vec<_> = sandbox.faults().into_iter().filter(|f| f.fault.gateway == ProviderId::Cuan10pay).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_status_fault_answers_for_its_times_then_the_gateway_does() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let crypto = client(&sandbox, ProviderId::CryptoInvoice, None);
    let fault = Fault::new(ProviderId::CryptoInvoice, "create", FaultAction::Status).status(500).times(1);
    sandbox.inject_fault(fault).unwrap();
    let err =
        crypto.create_payment(&request(ProviderId::CryptoInvoice, "ORDER-S", 10_000, &recorder)).await.unwrap_err();
    let Error::Api { status, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*status, Some(500));
    assert!(message.contains("fault injected by the gerbang sandbox"), "the gateway's own error shape: {message}");
    crypto.create_payment(&request(ProviderId::CryptoInvoice, "ORDER-S", 10_000, &recorder)).await.unwrap();

    // Ciputra's create and cancel are one path, told apart by the form's action: a fault on
    // `cancel` leaves creates alone.
    let ciputra = client(&sandbox, ProviderId::Ciputra, None);
    let body = r#"{"code":"99","status":false,"message":"Sistem sedang sibuk"}"#;
    sandbox
        .inject_fault(Fault::new(ProviderId::Ciputra, "cancel", FaultAction::Status).status(200).body(body))
        .unwrap();
    let created = ciputra.create_payment(&request(ProviderId::Ciputra, "ORDER-C", 10_000, &recorder)).await.unwrap();
    assert_eq!(created.status, PaymentStatus::Pending);
    let err = ciputra.cancel_payment("ORDER-C").await.unwrap_err();
    assert!(err.to_string().contains("Sistem sedang sibuk"), "the body given, verbatim: {err}");
    assert_eq!(sandbox.payment(ProviderId::Ciputra, "ORDER-C").map(|p| p.state), Ok(PaymentState::Pending));
    assert_eq!(sandbox.faults()[0].hits, 1);
}

#[tokio::test]
async fn a_delay_holds_the_real_answer_back() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let (_, id) = create(&sandbox, ProviderId::Qris, "ORDER-D", 10_000, &recorder).await;
    let fault = Fault::new(ProviderId::Qris, "status", FaultAction::Delay).delay(Duration::from_millis(400));
    sandbox.inject_fault(fault).unwrap();
    let qris = client(&sandbox, ProviderId::Qris, None);
    let started = Instant::now();
    assert_eq!(qris.payment_status(&id).await.unwrap().status, PaymentStatus::Pending);
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
    // Too slow for an impatient client: the same delay is a timeout there.
    let err = client(&sandbox, ProviderId::Qris, Some(impatient())).payment_status(&id).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn send(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

#[tokio::test]
async fn the_fault_api_adds_lists_refuses_and_clears() {
    let (sandbox, _recorder) = workbench::start(|b| b).await;
    let faults = format!("{}/_sandbox/faults", sandbox.url());
    let fault = json!({"gateway": "qris", "operation": "balance", "action": "status", "status": 503, "times": 2});
    let (status, added) = send(reqwest::Method::POST, &faults, Some(fault)).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        (added["id"].as_u64(), added["remaining"].as_u64(), added["hits"].as_u64()),
        (Some(1), Some(2), Some(0))
    );

    let balance =
        format!("{}/api/v1/balance?apikey={}", sandbox.base_url(ProviderId::Qris), gerbang_sandbox::qris::API_KEY);
    let answer = reqwest::get(&balance).await.unwrap();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert!(body["error"].as_str().unwrap().contains("fault injected"), "QRIS's own shape: {body}");
    let (_, listed) = send(reqwest::Method::GET, &faults, None).await;
    assert_eq!((listed[0]["hits"].as_u64(), listed[0]["remaining"].as_u64()), (Some(1), Some(1)));

    for (fault, needle) in [
        (json!({"gateway": "cashin", "operation": "cancel", "action": "cut"}), "cashin has no operation \"cancel\""),
        (
            json!({"gateway": "qris", "operation": "status", "action": "explode"}),
            "action one of status, delay, hang, cut, cut_after, rate_limit",
        ),
        (json!({"gateway": "qris", "operation": "status", "action": "delay"}), "delay_ms: a delay fault needs one"),
        (json!({"gateway": "qris", "operation": "status", "action": "cut", "colour": "red"}), "unknown field"),
        (json!({"gateway": "stripe", "operation": "create", "action": "cut"}), "the body must be a JSON fault"),
    ] {
        let (status, body) = send(reqwest::Method::POST, &faults, Some(fault.clone())).await;
        assert_eq!(status, 400, "{fault}");
        assert!(body["error"].as_str().unwrap().contains(needle), "{fault}: {body}");
    }

    let (status, _) = send(reqwest::Method::DELETE, &format!("{faults}/99"), None).await;
    assert_eq!(status, 404);
    let (status, body) = send(reqwest::Method::DELETE, &format!("{faults}/1"), None).await;
    assert_eq!((status, body["cleared"].as_u64()), (200, Some(1)));
    assert_eq!(reqwest::get(&balance).await.unwrap().status(), 200);
    sandbox.inject_fault(Fault::new(ProviderId::Qris, "any", FaultAction::Cut)).unwrap();
    let (status, body) = send(reqwest::Method::DELETE, &faults, None).await;
    assert_eq!((status, body["cleared"].as_u64()), (200, Some(1)));
    assert_eq!(reqwest::get(&balance).await.unwrap().status(), 200);
    // The pages are never faulted, nor other gateways.
    assert!(sandbox.faults().is_empty());
}

/// Every gateway gets the layer: one cut create each, and each client sees its answer lost.
#[tokio::test]
async fn every_gateway_is_behind_the_fault_layer() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    for provider in
        [ProviderId::Cuan10pay, ProviderId::CashIn, ProviderId::Qris, ProviderId::CryptoInvoice, ProviderId::Ciputra]
    {
        sandbox.inject_fault(Fault::new(provider, "create", FaultAction::Cut).times(1)).unwrap();
        let client: Box<dyn PaymentProvider> = client(&sandbox, provider, None);
        let err = client.create_payment(&request(provider, "ORDER-ANY", 10_000, &recorder)).await.unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{provider}: {err:?}");
    }
    assert!(sandbox.faults().is_empty());
    assert!(sandbox.payments().is_empty());
}
