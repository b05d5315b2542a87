//! Time travel: `POST /_sandbox/clock/advance?by=2h` (and `Sandbox::advance_clock`) moves the
//! sandbox's clock, expires what would have expired, and sends the webhooks that would have been
//! sent, while signed requests and webhooks keep working on real time. Over real HTTP, with the
//! SDK's clients and verifiers.

mod workbench;

use std::time::Duration;

use gerbang_core::{PaymentStatus, ProviderId, WebhookRequest, http::Method};
use gerbang_sandbox::{Cause, PaymentState};
use serde_json::Value;
use workbench::{client, create, post_json};

#[tokio::test]
async fn advancing_the_clock_expires_every_gateways_payments_and_sends_their_webhooks() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let mut created = Vec::new();
    for provider in
        [ProviderId::Cuan10pay, ProviderId::CashIn, ProviderId::Qris, ProviderId::CryptoInvoice, ProviderId::Ciputra]
    {
        let (payment, reference) = create(&sandbox, provider, &format!("ORDER-{provider}"), 50_000, &recorder).await;
        created.push((provider, reference, payment));
    }
    // The Cuan10pay deposit was made without an expiry: it never expires. Give it one.
    let cuan10pay = client(&sandbox, ProviderId::Cuan10pay, None);
    let mut request = workbench::request(ProviderId::Cuan10pay, "ORDER-EXPIRING", 50_000, &recorder);
    request.expires_in = Some(Duration::from_secs(30 * 60));
    let expiring = cuan10pay.create_payment(&request).await.unwrap().provider_reference.unwrap();

    // Ten minutes: nothing is due yet (the shortest lives 30 minutes).
    let (status, body) = post_json(&format!("{}/_sandbox/clock/advance?by=10m", sandbox.url())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offset_seconds"], 600);
    assert_eq!(body["expired"], serde_json::json!([]));
    assert!(sandbox.payments().iter().all(|p| p.state == PaymentState::Pending));

    // Two days: every payment with an expiry is past it (Ciputra's lives a day by default).
    let (status, body) = post_json(&format!("{}/_sandbox/clock/advance?by=2d", sandbox.url())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offset_seconds"], 600 + 2 * 86_400);
    let expired: Vec<(String, String)> = body["expired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["provider"].as_str().unwrap().to_owned(), e["reference"].as_str().unwrap().to_owned()))
        .collect();
    let mut expected: Vec<(String, String)> = created
        .iter()
        .filter(|(p, ..)| *p != ProviderId::Cuan10pay)
        .map(|(p, r, _)| (p.to_string(), r.clone()))
        .collect();
    expected.push((ProviderId::Cuan10pay.to_string(), expiring.clone()));
    let (mut got, mut want) = (expired.clone(), expected.clone());
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // Each expired at its own expiry, not at the time of the advance, and says why.
    for (provider, reference) in &expected {
        let provider: ProviderId = provider.parse().unwrap();
        let payment = sandbox.payment(provider, reference).unwrap();
        assert_eq!(payment.state, PaymentState::Expired, "{provider} {reference}");
        let last = payment.history.last().unwrap();
        assert_eq!((last.state, last.cause), (PaymentState::Expired, Cause::Expiry), "{provider}");
        let expires_at = payment.expires_at.unwrap();
        assert!(last.at >= expires_at && last.at <= sandbox.now(), "{provider}: {:?} vs {expires_at}", last.at);
    }
    let never = sandbox.payment(ProviderId::Cuan10pay, &created[0].1).unwrap();
    assert_eq!(never.state, PaymentState::Pending, "a deposit without expired_time does not expire");

    // The webhooks the gateways send for an expiry arrived, and verify on real time: Cuan10pay's
    // EXPIRED, Cash In's 05, Ciputra's expired callback. QRIS and crypto invoices send none.
    let cuan10pay_hook = &recorder.wait_for(ProviderId::Cuan10pay, 1).await[0];
    let verifier = gerbang_cuan10pay::WebhookVerifier::new(gerbang_sandbox::cuan10pay::PRIVATE_KEY);
    let request = WebhookRequest::new(Method::POST, "/hooks/cuan10pay", &cuan10pay_hook.headers, &cuan10pay_hook.body);
    let event = verifier.verify(&request).unwrap();
    assert_eq!((event.status, event.provider_reference.as_deref()), (PaymentStatus::Expired, Some(expiring.as_str())));
    let cashin_hook = &recorder.wait_for(ProviderId::CashIn, 1).await[0];
    let verifier = gerbang_cashin::WebhookVerifier::from_pem(&gerbang_sandbox::cashin::public_key_pem()).unwrap();
    let request = WebhookRequest::new(Method::POST, "/hooks/cashin", &cashin_hook.headers, &cashin_hook.body);
    assert_eq!(verifier.verify(&request).unwrap().status, PaymentStatus::Expired);
    let ciputra_hook = &recorder.wait_for(ProviderId::Ciputra, 1).await[0];
    assert!(String::from_utf8_lossy(&ciputra_hook.body).contains("status=expired"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let gateways: Vec<String> = recorder.hits().iter().map(|h| h.gateway.clone()).collect();
    assert!(!gateways.iter().any(|g| g == "qris" || g == "crypto-invoice"), "{gateways:?}");

    // The clients still work two days on: their X-TIMESTAMP is checked on real time, and
    // Ciputra's token, expired on the sandbox clock, is fetched again after the 401.
    for (provider, _, payment) in &created {
        let client = client(&sandbox, *provider, None);
        let status = client.payment_status(payment.lookup_id(client.capabilities().lookup).unwrap()).await;
        let status = status.unwrap_or_else(|e| panic!("{provider}: {e}"));
        let expected = match provider {
            ProviderId::Cuan10pay => PaymentStatus::Pending,
            // Cash In's status call says FAILED for an expired checkout (its notification said 05).
            ProviderId::CashIn => PaymentStatus::Failed,
            _ => PaymentStatus::Expired,
        };
        assert_eq!(status.status, expected, "{provider}");
    }
}

#[tokio::test]
async fn the_clock_answers_its_time_and_refuses_bad_advances_without_moving() {
    let (sandbox, _recorder) = workbench::start(|b| b).await;
    let url = sandbox.url();
    let before = sandbox.now();
    let clock = reqwest::get(format!("{url}/_sandbox/clock")).await.unwrap().bytes().await.unwrap();
    let clock: Value = serde_json::from_slice(&clock).unwrap();
    assert_eq!(clock["offset_seconds"], 0);
    assert!(clock["now"].as_str().unwrap().ends_with('Z'), "{clock}");

    for (query, needle) in [
        ("by=soon", "is not a duration"),
        ("by=401d", "at most 400 days"),
        ("", "by is required"),
        ("by=1h&back=true", "unknown query parameter"),
    ] {
        let (status, body) = post_json(&format!("{url}/_sandbox/clock/advance?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"].as_str().unwrap().contains(needle), "{query}: {body}");
    }
    assert_eq!(sandbox.clock_offset(), Duration::ZERO);

    let advance = sandbox.advance_clock(Duration::from_secs(5400)).await.unwrap();
    assert_eq!(advance.offset, Duration::from_secs(5400));
    assert!(advance.expired.is_empty());
    let moved = (sandbox.now() - before).whole_seconds();
    assert!((5400..5460).contains(&moved), "{moved}");
    let error = sandbox.advance_clock(Duration::from_secs(401 * 86_400)).await.unwrap_err();
    assert!(error.to_string().contains("did not move"), "{error}");
}

/// A QRIS invoice lives 30 minutes: created after an advance, it is stamped on the moved clock
/// and expires 30 minutes after that.
#[tokio::test]
async fn payments_made_after_an_advance_live_on_the_moved_clock() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    sandbox.advance_clock(Duration::from_secs(3 * 3600)).await.unwrap();
    let (payment, id) = create(&sandbox, ProviderId::Qris, "ORDER-LATE", 20_000, &recorder).await;
    let record = sandbox.payment(ProviderId::Qris, &id).unwrap();
    let lag = (record.created_at - sandbox.now()).whole_seconds().abs();
    assert!(lag < 60, "created on the moved clock: {lag}");
    assert_eq!(record.expires_at.unwrap() - record.created_at, time::Duration::minutes(30));
    assert_eq!(payment.status, PaymentStatus::Pending);

    sandbox.advance_clock(Duration::from_secs(29 * 60)).await.unwrap();
    let qris = client(&sandbox, ProviderId::Qris, None);
    assert_eq!(qris.payment_status(&id).await.unwrap().status, PaymentStatus::Pending);
    sandbox.advance_clock(Duration::from_secs(2 * 60)).await.unwrap();
    assert_eq!(qris.payment_status(&id).await.unwrap().status, PaymentStatus::Expired);
}
