//! Every payment of every gateway in one list (`GET /_sandbox/payments`, `Sandbox::payments`),
//! each with its history and webhook attempts, and the cancel control; payments made through
//! the SDK's clients, over real HTTP.

mod workbench;

use std::time::Duration;

use gerbang_core::ProviderId;
use gerbang_sandbox::{Cause, DeliveryPlan, PaymentState};
use serde_json::Value;
use workbench::{create, get_json, post_json};

const EVERY: [ProviderId; 5] =
    [ProviderId::Cuan10pay, ProviderId::CashIn, ProviderId::Qris, ProviderId::CryptoInvoice, ProviderId::Ciputra];

#[tokio::test]
async fn every_gateways_payments_are_listed_newest_first_and_filtered() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let mut references = Vec::new();
    for (i, provider) in EVERY.into_iter().enumerate() {
        let amount = 10_000 + i64::try_from(i).unwrap() * 1_000;
        let (_, reference) = create(&sandbox, provider, &format!("ORDER-{i}"), amount, &recorder).await;
        references.push((provider, reference));
    }
    let url = sandbox.url();
    let (status, list) = get_json(&format!("{url}/_sandbox/payments")).await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["provider"].as_str().unwrap().to_owned(), p["reference"].as_str().unwrap().to_owned()))
        .collect();
    let newest_first: Vec<(String, String)> =
        references.iter().rev().map(|(p, r)| (p.to_string(), r.clone())).collect();
    assert_eq!(listed, newest_first);

    // What each gateway calls its ids and the merchant's reference.
    let by =
        |provider: ProviderId| list.as_array().unwrap().iter().find(|p| p["provider"] == provider.as_str()).unwrap();
    assert_eq!(by(ProviderId::Cuan10pay)["merchant_reference"], "ORDER-0", "Cuan10pay keeps it in notes");
    assert_eq!(by(ProviderId::CashIn)["reference"], "ORDER-1");
    assert!(by(ProviderId::CashIn)["gateway_id"].as_str().unwrap().starts_with("PAY"));
    assert_eq!(by(ProviderId::Qris)["merchant_reference"], Value::Null);
    assert_eq!(by(ProviderId::CryptoInvoice)["merchant_reference"], "ORDER-3");
    assert_eq!(
        (by(ProviderId::CryptoInvoice)["amount"].as_str(), by(ProviderId::CryptoInvoice)["currency"].as_str()),
        (Some("13000"), Some("IDR"))
    );
    assert!(by(ProviderId::Ciputra)["gateway_id"].as_str().unwrap().starts_with("TE"));
    for payment in list.as_array().unwrap() {
        assert_eq!(payment["state"], "pending");
        assert_eq!(payment["history"].as_array().unwrap().len(), 1, "{payment}");
        assert_eq!(payment["history"][0]["cause"], "api");
        assert!(payment["page_url"].as_str().unwrap().starts_with(&url), "{payment}");
    }

    sandbox.pay(ProviderId::CashIn, "ORDER-1").await.unwrap();
    let (_, paid) = get_json(&format!("{url}/_sandbox/payments?state=paid")).await;
    assert_eq!(paid.as_array().unwrap().len(), 1);
    assert_eq!(paid[0]["reference"], "ORDER-1");
    let (_, qris) = get_json(&format!("{url}/_sandbox/payments?gateway=qris&state=")).await;
    assert_eq!(qris.as_array().unwrap().len(), 1);
    assert_eq!(qris[0]["provider"], "qris");
    for (query, needle) in
        [("gateway=stripe", "unknown gateway"), ("state=lost", "unknown state"), ("sort=old", "unknown query")]
    {
        let (status, body) = get_json(&format!("{url}/_sandbox/payments?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(body["error"].as_str().unwrap().contains(needle), "{query}: {body}");
    }
}

#[tokio::test]
async fn a_payment_has_its_history_and_every_webhook_attempt_with_headers_and_time() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let (_, id) = create(&sandbox, ProviderId::Cuan10pay, "ORDER-77", 25_000, &recorder).await;
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    sandbox.resend_webhook(ProviderId::Cuan10pay, &id, DeliveryPlan::new().copies(2)).await.unwrap();
    sandbox.wait_for_deliveries(3, workbench::WAIT).await.unwrap();

    let (status, payment) = get_json(&format!("{}/_sandbox/payments/cuan10pay/{id}", sandbox.url())).await;
    assert_eq!(status, 200, "{payment}");
    let history: Vec<(&str, &str)> = payment["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["state"].as_str().unwrap(), e["cause"].as_str().unwrap()))
        .collect();
    assert_eq!(history, [("pending", "api"), ("paid", "control")]);
    let deliveries = payment["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3);
    for delivery in deliveries {
        assert_eq!(delivery["url"], recorder.hook(ProviderId::Cuan10pay));
        assert_eq!(delivery["status"], 200);
        assert!(delivery["body"].as_str().unwrap().contains("\"PAID\""));
        assert_eq!(delivery["headers"][0], serde_json::json!(["content-type", "application/json"]));
        let at = time::OffsetDateTime::parse(
            delivery["at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        );
        assert!((sandbox.now() - at.unwrap()).whole_seconds() < 60, "{delivery}");
    }

    let (status, body) = get_json(&format!("{}/_sandbox/payments/cuan10pay/CP-NOPE", sandbox.url())).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("CP-NOPE"));
    let (status, _) = get_json(&format!("{}/_sandbox/payments/stripe/x", sandbox.url())).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_cancel_control_cancels_where_the_gateway_can_and_refuses_elsewhere() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let url = sandbox.url();
    let (_, qris) = create(&sandbox, ProviderId::Qris, "ORDER-Q", 10_000, &recorder).await;
    let (_, ciputra) = create(&sandbox, ProviderId::Ciputra, "ORDER-C", 10_000, &recorder).await;
    let (_, deposit) = create(&sandbox, ProviderId::Cuan10pay, "ORDER-D", 10_000, &recorder).await;

    // QRIS: a cancelled invoice reads expired at the gateway, and its history says why.
    let (status, body) = post_json(&format!("{url}/_sandbox/qris/payments/{qris}/cancel")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("expired")), "{body}");
    let last = sandbox.payment(ProviderId::Qris, &qris).unwrap().history.pop().unwrap();
    assert_eq!((last.state, last.cause), (PaymentState::Expired, Cause::Control));
    assert!(last.note.unwrap().contains("cancelled"));

    assert_eq!(sandbox.cancel(ProviderId::Ciputra, &ciputra).await, Ok(PaymentState::Cancelled));
    let ciputra_client = workbench::client(&sandbox, ProviderId::Ciputra, None);
    assert_eq!(ciputra_client.payment_status(&ciputra).await.unwrap().status, gerbang_core::PaymentStatus::Cancelled);

    let (status, body) = post_json(&format!("{url}/_sandbox/cuan10pay/payments/{deposit}/cancel")).await;
    assert_eq!(status, 409);
    assert!(body["error"].as_str().unwrap().contains("cannot become cancelled"), "{body}");
    let (status, _) = post_json(&format!("{url}/_sandbox/qris/payments/{qris}/cancel")).await;
    assert_eq!(status, 409, "only a pending one");
    // A cancel the merchant asked for sends no webhook.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(recorder.hits().is_empty(), "{:?}", recorder.hits());
}
