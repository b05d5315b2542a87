//! A webhook that cannot be verified: refused with the gateway's 4xx when it is at fault (forged,
//! malformed, naming nothing the gateway holds), answered 503 when the failure is the merchant's
//! side or the confirming call's (so that the gateway delivers it again), and never answered with
//! the error's text, the gateway's answers or anything of the receiver's state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang_cashin::{CashinClient, CashinConfig};
use gerbang_ciputra::{CiputraClient, CiputraConfig};
use gerbang_core::http::{HeaderMap, HeaderValue, Method};
use gerbang_core::inbox::MemoryInbox;
use gerbang_core::{
    Bank, Channel, Error, HttpClient, Money, PaymentProvider, PaymentRequest, ProviderId, REFUSED_BODY,
    REFUSED_SIGNATURE_BODY, RetryPolicy, UNAVAILABLE_BODY,
};
use gerbang_crypto_invoice::{CryptoInvoiceClient, CryptoInvoiceConfig};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang_qris::{QrisClient, QrisConfig};
use gerbang_sandbox::{
    DeliveryPlan, Fault, FaultAction, Sandbox, SandboxHandle, cashin, ciputra, crypto_invoice, cuan10pay, qris,
};
use gerbang_webhooks::{Delivery, Outcome, Receiver, handler_fn};

/// What the gateway answered in each fault: none of it may reach the caller.
const GATEWAY_TEXT: &str = "gateway-internal-detail-Zq81";

/// Every gateway's client against `sandbox`, making each call once (a fault is not retried
/// away inside the client).
fn gateways(sandbox: &SandboxHandle) -> Vec<Arc<dyn PaymentProvider>> {
    let base = |p| sandbox.base_url(p);
    let once = || HttpClient::builder().retry(RetryPolicy::none()).build().unwrap();
    vec![
        Arc::new(Cuan10payClient::new(
            Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
                .base_url(base(ProviderId::Cuan10pay))
                .build()
                .unwrap(),
        )),
        Arc::new(CashinClient::new(
            CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY)
                .base_url(base(ProviderId::CashIn))
                .public_key_pem(cashin::public_key_pem())
                .build()
                .unwrap(),
        )),
        Arc::new(QrisClient::new(QrisConfig::builder(qris::API_KEY).base_url(base(ProviderId::Qris)).build().unwrap())),
        Arc::new(CryptoInvoiceClient::new(
            CryptoInvoiceConfig::builder(crypto_invoice::PUBLIC_KEY, crypto_invoice::PRIVATE_KEY)
                .base_url(base(ProviderId::CryptoInvoice))
                .test_mode(true)
                .build()
                .unwrap(),
        )),
        Arc::new(CiputraClient::new(
            CiputraConfig::builder(ciputra::API_KEY, ciputra::API_SECRET)
                .base_url(base(ProviderId::Ciputra))
                .http_client(once())
                .build()
                .unwrap(),
        )),
    ]
}

/// A receiver for every gateway of `sandbox`, counting its handler's calls.
fn receiver(sandbox: &SandboxHandle) -> (Receiver, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counting = Arc::clone(&calls);
    let receiver =
        Receiver::builder(Arc::new(MemoryInbox::new())).providers(gateways(sandbox)).build(handler_fn(move |_event| {
            counting.fetch_add(1, Ordering::SeqCst);
            async { Ok::<(), std::io::Error>(()) }
        }));
    (receiver, calls)
}

async fn deliver(receiver: &Receiver, gateway: ProviderId, headers: &HeaderMap, body: &str) -> Delivery {
    let path = format!("/webhooks/{gateway}");
    receiver.receive(gateway.as_str(), Method::POST, &path, headers, body.as_bytes()).await
}

async fn callback(receiver: &Receiver, external_id: &str) -> Delivery {
    let body = format!("external_id={external_id}&status=paid");
    deliver(receiver, ProviderId::Ciputra, &HeaderMap::new(), &body).await
}

/// A Ciputra transaction `external_id` that the sandbox holds as paid (its own callback dropped:
/// the test delivers it).
async fn paid_transaction(sandbox: &SandboxHandle, receiver: &Receiver, external_id: &str) {
    let request = PaymentRequest::builder(external_id, Money::idr(150_000))
        .channel(Channel::VirtualAccount(Bank::Bca))
        .customer_name("Budi")
        .build()
        .unwrap();
    receiver.gateway(ProviderId::Ciputra).unwrap().create_payment(&request).await.unwrap();
    sandbox.pay_with(ProviderId::Ciputra, external_id, DeliveryPlan::new().drop(true)).await.unwrap();
}

fn assert_unavailable(delivery: &Delivery) {
    assert_eq!(delivery.ack.status, 503, "{delivery:?}");
    assert_eq!(delivery.ack.body, UNAVAILABLE_BODY);
    assert!(matches!(delivery.outcome, Outcome::VerifyUnavailable(_)), "{delivery:?}");
}

/// A genuine callback whose confirming status call fails (a 503, a cut answer, a token refused)
/// is answered 503 with a body that says nothing of it; nothing is handled or marked, and the
/// gateway's next delivery, once it is healthy, is handled.
#[tokio::test(flavor = "multi_thread")]
async fn a_genuine_callback_whose_status_call_fails_is_answered_503_and_its_retry_handled() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let (receiver, calls) = receiver(&sandbox);
    paid_transaction(&sandbox, &receiver, "POLIS-503").await;

    let fault = Fault::new(ProviderId::Ciputra, "status", FaultAction::Status).status(503).body(GATEWAY_TEXT);
    sandbox.inject_fault(fault.times(1)).unwrap();
    let down = callback(&receiver, "POLIS-503").await;
    assert_unavailable(&down);
    assert!(matches!(&down.outcome, Outcome::VerifyUnavailable(Error::Api { status: Some(503), .. })), "{down:?}");

    sandbox.inject_fault(Fault::new(ProviderId::Ciputra, "status", FaultAction::Cut).times(1)).unwrap();
    let cut = callback(&receiver, "POLIS-503").await;
    assert_unavailable(&cut);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing is handled while the gateway is unhealthy");

    // Healthy again: the gateway's retry is handled, once (nothing was marked done before).
    let retry = callback(&receiver, "POLIS-503").await;
    assert!(matches!(retry.outcome, Outcome::Handled(_)), "{retry:?}");
    assert_eq!((retry.ack.status, calls.load(Ordering::SeqCst)), (200, 1));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_is_answered_503_when_no_token_can_be_had() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let (receiver, calls) = receiver(&sandbox);
    paid_transaction(&sandbox, &receiver, "POLIS-TOKEN").await;
    // A fresh client, with no token yet: the token call is refused, as 401 then as a 400.
    let (fresh, _) = self::receiver(&sandbox);
    for status in [401, 400] {
        let refused = Fault::new(ProviderId::Ciputra, "token", FaultAction::Status).status(status).body(GATEWAY_TEXT);
        sandbox.inject_fault(refused.times(1)).unwrap();
        let delivery = callback(&fresh, "POLIS-TOKEN").await;
        assert_unavailable(&delivery);
        assert!(
            matches!(&delivery.outcome, Outcome::VerifyUnavailable(Error::Unauthorized { .. })),
            "a token that cannot be had is the merchant's side failing: {delivery:?}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let retry = callback(&fresh, "POLIS-TOKEN").await;
    assert!(matches!(retry.outcome, Outcome::Handled(_)), "{retry:?}");
    sandbox.shutdown().await;
}

/// The status call is refused (401: the token expired at the gateway's side) and the new token
/// cannot be had either: still the merchant's side failing, never the callback's, so a 503.
#[tokio::test(flavor = "multi_thread")]
async fn a_callback_is_answered_503_when_the_token_fetched_after_a_401_cannot_be_had() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let (receiver, calls) = receiver(&sandbox);
    // Handled once: the client holds a token from now on.
    paid_transaction(&sandbox, &receiver, "POLIS-REFETCH").await;
    let before = calls.load(Ordering::SeqCst);
    for status in [400, 422] {
        let expired = Fault::new(ProviderId::Ciputra, "status", FaultAction::Status).status(401).body(GATEWAY_TEXT);
        let refused = Fault::new(ProviderId::Ciputra, "token", FaultAction::Status).status(status).body(GATEWAY_TEXT);
        sandbox.inject_fault(expired.times(1)).unwrap();
        sandbox.inject_fault(refused.times(1)).unwrap();
        let delivery = self::callback(&receiver, "POLIS-REFETCH").await;
        assert_unavailable(&delivery);
        assert!(
            matches!(&delivery.outcome, Outcome::VerifyUnavailable(Error::Unauthorized { .. })),
            "a token refused after a 401 is the merchant's side failing ({status}): {delivery:?}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), before, "nothing handled meanwhile");
    sandbox.shutdown().await;
}

/// A callback naming an `external_id` the gateway does not hold is forged: a 400 whose body
/// does not repeat the gateway's "not found" (it would tell which ids exist).
#[tokio::test(flavor = "multi_thread")]
async fn a_callback_for_an_unknown_external_id_is_refused_without_the_gateways_words() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let (receiver, calls) = receiver(&sandbox);
    let delivery = callback(&receiver, "NO-SUCH-POLICY").await;
    assert_eq!((delivery.ack.status, &*delivery.ack.body), (400, REFUSED_BODY), "{delivery:?}");
    let Outcome::Rejected(error) = &delivery.outcome else { panic!("{delivery:?}") };
    assert!(error.to_string().contains("not found"), "the detail stays in the outcome: {error}");
    assert!(!delivery.ack.body.to_lowercase().contains("not found"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    sandbox.shutdown().await;
}

/// Each gateway's forged or malformed webhooks, with the statuses its refusal may have.
fn forged() -> Vec<(ProviderId, HeaderMap, &'static str, &'static [u16])> {
    let mut cashin_headers = HeaderMap::new();
    for (name, value) in [
        ("x-timestamp", "2026-12-06T10:00:00+07:00"),
        ("x-signature", "Zm9yZ2Vk"),
        ("x-partner-id", cashin::CLIENT_ID),
        ("x-external-id", "1"),
        ("channel-id", "9552"),
        ("content-type", "application/json"),
    ] {
        cashin_headers.insert(name, HeaderValue::from_static(value));
    }
    let cashin_body = r#"{"originalReferenceNo":"ORDER-1","latestTransactionStatus":"00","amount":{"value":"150000.00","currency":"IDR"}}"#;
    vec![
        (
            ProviderId::Cuan10pay,
            HeaderMap::new(),
            r#"{"reference":"CP-1","status":"PAID","amount":150000,"timestamp":1,"signature":"00"}"#,
            &[400, 401],
        ),
        (ProviderId::Cuan10pay, HeaderMap::new(), "{\"reference\":", &[400]),
        (ProviderId::CashIn, cashin_headers.clone(), cashin_body, &[401]),
        (ProviderId::CashIn, cashin_headers, "{\"amount\":", &[400, 401]),
        (
            ProviderId::CryptoInvoice,
            HeaderMap::new(),
            r#"{"order_id":"ORD-1","status":"paid","signature":"00"}"#,
            &[400, 401],
        ),
        (ProviderId::Qris, HeaderMap::new(), r#"{"invoice_id":"INV-1","status":"paid"}"#, &[400]),
        (ProviderId::Ciputra, HeaderMap::new(), "order_id=TE1&status=paid", &[400]),
    ]
}

/// Every gateway's forged or malformed webhook gets that gateway's 4xx, with one of its fixed
/// bodies: never the verifier's message.
#[tokio::test(flavor = "multi_thread")]
async fn every_gateways_forged_webhook_gets_its_4xx_with_a_generic_body() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let (receiver, calls) = receiver(&sandbox);
    let generic = [
        REFUSED_BODY,
        REFUSED_SIGNATURE_BODY,
        gerbang_cashin::ACK_UNAUTHORIZED_BODY,
        gerbang_cashin::ACK_INVALID_FIELD_FORMAT_BODY,
    ];
    for (gateway, headers, body, statuses) in forged() {
        let delivery = deliver(&receiver, gateway, &headers, body).await;
        let Outcome::Rejected(error) = &delivery.outcome else { panic!("{gateway}: {delivery:?}") };
        assert!(statuses.contains(&delivery.ack.status), "{gateway}: {delivery:?}");
        assert!(generic.contains(&&*delivery.ack.body), "{gateway}: {:?}", delivery.ack.body);
        assert!(!delivery.ack.body.contains(&error.to_string()), "{gateway}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    sandbox.shutdown().await;
}

/// A gateway that verifies a webhook at once (`verify_webhook_now`: every one but Ciputra,
/// whose callbacks need a status call) answers as it does when asked to wait, genuine or not.
#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_verified_at_once_is_verified_as_when_awaited() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let genuine =
        gerbang_cuan10pay::WebhookVerifier::new(cuan10pay::PRIVATE_KEY).signed_body("CP-NOW-1", "PAID", 150_000, now);
    let mut asked: Vec<_> = forged().into_iter().map(|(gateway, headers, body, _)| (gateway, headers, body)).collect();
    asked.push((ProviderId::Cuan10pay, HeaderMap::new(), genuine.as_str()));
    let mut answered_now = 0;
    for (gateway, headers, body) in asked {
        let provider = gateways(&sandbox).into_iter().find(|p| p.id() == gateway).unwrap();
        let request = gerbang_core::WebhookRequest::new(Method::POST, "/webhook", &headers, body.as_bytes());
        if let Some(at_once) = provider.verify_webhook_now(&request) {
            answered_now += 1;
            let later = provider.verify_webhook(&request).await;
            assert_eq!(format!("{at_once:?}"), format!("{later:?}"), "{gateway}: {body}");
            assert_eq!(at_once.is_ok(), body == genuine, "only the genuine one verifies: {at_once:?}");
        }
    }
    assert_eq!(answered_now, 7, "every gateway but Ciputra answers at once");
    sandbox.shutdown().await;
}

/// The same answers over HTTP, through the router: the status and the body are what the
/// gateway reads.
#[tokio::test(flavor = "multi_thread")]
async fn over_http_a_failed_status_call_is_a_503_and_a_forgery_a_400() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let (receiver, _) = receiver(&sandbox);
    paid_transaction(&sandbox, &receiver, "POLIS-HTTP").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/ciputra", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, gerbang_webhooks::router(receiver)).await });
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let post = |body: &'static str| {
        let request = http.post(&url).header("content-type", "application/x-www-form-urlencoded").body(body);
        async move {
            let answer = request.send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    sandbox
        .inject_fault(Fault::new(ProviderId::Ciputra, "status", FaultAction::Status).status(502).body(GATEWAY_TEXT))
        .unwrap();
    assert_eq!(post("external_id=POLIS-HTTP").await, (503, UNAVAILABLE_BODY.to_owned()));
    sandbox.clear_faults();
    assert_eq!(post("external_id=NOPE").await, (400, REFUSED_BODY.to_owned()));
    assert_eq!(post("external_id=POLIS-HTTP").await.0, 200);
    sandbox.shutdown().await;
}
