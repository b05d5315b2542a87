//! Every control that takes a payment's id takes any of its ids (issue 11): the merchant's
//! reference or the gateway's own id, whatever the sandbox keys the payment by. Payments made
//! through the SDK's clients, controlled over real HTTP, read back through each gateway's own
//! status call.

mod workbench;

use gerbang_core::{Payment, PaymentStatus, ProviderId};
use gerbang_sandbox::{PaymentState, SandboxError, SandboxHandle};
use serde_json::Value;
use workbench::{Recorder, client, control_reference, create, get_json, post_json};

const EVERY: [ProviderId; 5] =
    [ProviderId::Cuan10pay, ProviderId::CashIn, ProviderId::Qris, ProviderId::CryptoInvoice, ProviderId::Ciputra];

/// `POST /_sandbox/{provider}/payments/{id}/{action}`, the id percent-encoded as a path segment.
#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn control(sandbox: &SandboxHandle, provider: ProviderId, id: &str, action: &str) -> (u16, Value) {
    let mut url = reqwest::Url::parse(&sandbox.url()).unwrap();
    url.path_segments_mut().unwrap().extend(["_sandbox", provider.as_str(), "payments", id, action]);
    post_json(url.as_str()).await
}

/// `GET /_sandbox/payments/{provider}/{id}`.
#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn look_up(sandbox: &SandboxHandle, provider: ProviderId, id: &str) -> (u16, Value) {
    let mut url = reqwest::Url::parse(&sandbox.url()).unwrap();
    url.path_segments_mut().unwrap().extend(["_sandbox", "payments", provider.as_str(), id]);
    get_json(url.as_str()).await
}

/// The payment's status as the gateway's own status call, through the SDK, reads it; called
/// with the id it takes (the gateway's id at Cuan10pay and QRIS, the merchant's reference
/// elsewhere).
#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn status_at_gateway(sandbox: &SandboxHandle, provider: ProviderId, payment: &Payment) -> PaymentStatus {
    let id = match provider {
        ProviderId::Cuan10pay | ProviderId::Qris => payment.provider_reference.clone().unwrap(),
        _ => payment.reference.clone().unwrap(),
    };
    client(sandbox, provider, None).payment_status(&id).await.unwrap().status
}

/// The gateway's own id for a payment the SDK created, as the sandbox lists it; the same as the
/// create answer's `provider_reference` where that answer has one.
#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
fn gateway_id(sandbox: &SandboxHandle, provider: ProviderId, payment: &Payment) -> String {
    let key = control_reference(sandbox, provider, payment);
    let listed = sandbox.payments().into_iter().find(|p| p.provider == provider && p.reference == key).unwrap();
    if let Some(answered) = &payment.provider_reference {
        assert_eq!(answered, &listed.gateway_id, "{provider}: the id create answered is the one listed");
    }
    listed.gateway_id
}

/// Pays `payment` by `id` over HTTP, and checks that the answer names its key and that the
/// gateway's own status call, and the sandbox's look-up by the same id, read paid.
#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn pay_by(sandbox: &SandboxHandle, provider: ProviderId, payment: &Payment, id: &str) {
    let key = control_reference(sandbox, provider, payment);
    let (status, body) = control(sandbox, provider, id, "pay").await;
    assert_eq!(status, 200, "{provider} by {id}: {body}");
    assert_eq!((body["reference"].as_str(), body["status"].as_str()), (Some(key.as_str()), Some("paid")), "{body}");
    let read = status_at_gateway(sandbox, provider, payment).await;
    assert_eq!(read, PaymentStatus::Paid, "{provider} by {id}: the gateway's status call");
    let (status, listed) = look_up(sandbox, provider, id).await;
    assert_eq!(
        (status, listed["reference"].as_str(), listed["state"].as_str()),
        (200, Some(key.as_str()), Some("paid"))
    );
}

async fn start() -> (SandboxHandle, Recorder) {
    workbench::start(|b| b).await
}

#[tokio::test]
async fn every_gateway_pays_by_the_merchant_reference_and_by_the_gateways_id() {
    let (sandbox, recorder) = start().await;
    for provider in EVERY {
        let by_reference = format!("BY-REF-{provider}");
        let (first, _) = create(&sandbox, provider, &by_reference, 20_000, &recorder).await;
        if provider == ProviderId::Qris {
            // The SDK's QRIS create sends the amount only: the gateway, and so the sandbox, never
            // learns the reference, and the refusal says which id to pass.
            let (status, body) = control(&sandbox, provider, &by_reference, "pay").await;
            assert_eq!(status, 404, "{body}");
            let error = body["error"].as_str().unwrap();
            assert!(error.contains("keep no merchant reference") && error.contains("provider_reference"), "{error}");
        } else {
            pay_by(&sandbox, provider, &first, &by_reference).await;
        }

        let (second, _) = create(&sandbox, provider, &format!("BY-ID-{provider}"), 20_000, &recorder).await;
        let id = gateway_id(&sandbox, provider, &second);
        pay_by(&sandbox, provider, &second, &id).await;
    }
}

#[tokio::test]
async fn every_payment_control_and_the_rust_api_take_either_id() {
    let (sandbox, recorder) = start().await;
    // Expire by Cash In's referenceNo, fail by its trxNo.
    let (expiring, _) = create(&sandbox, ProviderId::CashIn, "ORDER-E", 20_000, &recorder).await;
    let referenceno = gateway_id(&sandbox, ProviderId::CashIn, &expiring);
    let (status, body) = control(&sandbox, ProviderId::CashIn, &referenceno, "expire").await;
    assert_eq!((status, body["reference"].as_str(), body["status"].as_str()), (200, Some("ORDER-E"), Some("expired")));
    create(&sandbox, ProviderId::CashIn, "ORDER-F", 20_000, &recorder).await;
    let (status, body) = control(&sandbox, ProviderId::CashIn, "ORDER-F", "fail").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("failed")), "{body}");

    // Cancel by Ciputra's order_id; the answer names the external_id the sandbox keys it by.
    let (cancelled, _) = create(&sandbox, ProviderId::Ciputra, "ORDER-C", 20_000, &recorder).await;
    let order_id = gateway_id(&sandbox, ProviderId::Ciputra, &cancelled);
    let (status, body) = control(&sandbox, ProviderId::Ciputra, &order_id, "cancel").await;
    assert_eq!(
        (status, body["reference"].as_str(), body["status"].as_str()),
        (200, Some("ORDER-C"), Some("cancelled"))
    );

    // A webhook by Cuan10pay's merchant reference (the SDK keeps it in the deposit's notes).
    let (deposit, deposit_id) = create(&sandbox, ProviderId::Cuan10pay, "ORDER-W", 20_000, &recorder).await;
    let (status, body) = control(&sandbox, ProviderId::Cuan10pay, "ORDER-W", "webhook").await;
    assert_eq!(
        (status, body["reference"].as_str(), body["status"].as_str()),
        (200, Some(deposit_id.as_str()), Some("pending"))
    );
    recorder.wait_for(ProviderId::Cuan10pay, 1).await;

    // From Rust, the same ids: the look-up answers with the key.
    assert_eq!(sandbox.payment(ProviderId::Cuan10pay, "ORDER-W").unwrap().reference, deposit_id);
    assert_eq!(sandbox.pay(ProviderId::Cuan10pay, "ORDER-W").await, Ok(PaymentState::Paid));
    assert_eq!(status_at_gateway(&sandbox, ProviderId::Cuan10pay, &deposit).await, PaymentStatus::Paid);
    let (invoice, _) = create(&sandbox, ProviderId::CryptoInvoice, "ORDER-X", 20_000, &recorder).await;
    assert_eq!(sandbox.expire(ProviderId::CryptoInvoice, "ORDER-X").await, Ok(PaymentState::Expired));
    assert_eq!(status_at_gateway(&sandbox, ProviderId::CryptoInvoice, &invoice).await, PaymentStatus::Expired);
}

#[tokio::test]
async fn a_key_wins_over_a_merchant_reference_that_spells_it() {
    let (sandbox, recorder) = start().await;
    let (_, first) = create(&sandbox, ProviderId::Cuan10pay, "ORDER-K", 20_000, &recorder).await;
    // A second deposit whose merchant reference is the first one's deposit id.
    let (_, second) = create(&sandbox, ProviderId::Cuan10pay, &first, 20_000, &recorder).await;
    let (status, body) = control(&sandbox, ProviderId::Cuan10pay, &first, "pay").await;
    assert_eq!((status, body["reference"].as_str()), (200, Some(first.as_str())), "{body}");
    assert_eq!(sandbox.payment(ProviderId::Cuan10pay, &second).unwrap().state, PaymentState::Pending);
}

#[tokio::test]
async fn a_merchant_reference_of_several_payments_is_refused_naming_each() {
    let (sandbox, recorder) = start().await;
    // Cuan10pay's notes and a crypto invoice's order_id need not be unique: a merchant may try
    // again under the same reference.
    for provider in [ProviderId::Cuan10pay, ProviderId::CryptoInvoice] {
        let (_, older) = create(&sandbox, provider, "ORDER-AGAIN", 20_000, &recorder).await;
        let (_, newer) = create(&sandbox, provider, "ORDER-AGAIN", 20_000, &recorder).await;
        for (status, body) in
            [control(&sandbox, provider, "ORDER-AGAIN", "pay").await, look_up(&sandbox, provider, "ORDER-AGAIN").await]
        {
            assert_eq!(status, 409, "{provider}: {body}");
            let error = body["error"].as_str().unwrap();
            assert!(error.contains(&format!("`{older}`")) && error.contains(&format!("`{newer}`")), "{error}");
            assert!(error.contains("pass one of"), "{error}");
        }
        let refused = sandbox.pay(provider, "ORDER-AGAIN").await;
        assert_eq!(
            refused,
            Err(SandboxError::AmbiguousReference {
                provider,
                reference: "ORDER-AGAIN".to_owned(),
                candidates: vec![newer.clone(), older.clone()],
            })
        );
        for key in [&older, &newer] {
            assert_eq!(sandbox.payment(provider, key).unwrap().state, PaymentState::Pending, "none was picked");
        }
        // Either id still names one.
        assert_eq!(sandbox.pay(provider, &older).await, Ok(PaymentState::Paid));
    }
}

#[tokio::test]
async fn an_unknown_id_is_a_404_naming_the_ids_the_gateway_takes() {
    let (sandbox, _recorder) = start().await;
    for (provider, ids) in [
        (ProviderId::Cuan10pay, "deposit id or merchant reference"),
        (ProviderId::CashIn, "trxNo (the merchant reference) or referenceNo"),
        (ProviderId::Qris, "invoice id"),
        (ProviderId::CryptoInvoice, "invoice id or order id (the merchant reference)"),
        (ProviderId::Ciputra, "external_id (the merchant reference) or order_id"),
    ] {
        let wanted = format!("no {provider} payment has the {ids} `NOPE` in this sandbox");
        for (status, body) in
            [control(&sandbox, provider, "NOPE", "pay").await, look_up(&sandbox, provider, "NOPE").await]
        {
            assert_eq!(status, 404, "{provider}: {body}");
            assert!(body["error"].as_str().unwrap().starts_with(&wanted), "{provider}: {body}");
        }
        let refused = sandbox.pay(provider, "NOPE").await.unwrap_err();
        assert!(refused.to_string().starts_with(&wanted), "{refused}");
    }
}
