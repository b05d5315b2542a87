//! What the router's tests against the sandbox share: gateways pointed at it (or at nothing), and
//! the attempts of a route as `(gateway, outcome)` pairs.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use gerbang_cashin::{CashinClient, CashinConfig};
use gerbang_core::{Channel, Money, PaymentRequest, ProviderId};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang_qris::{QrisClient, QrisConfig};
use gerbang_router::{Attempt, Outcome};
use gerbang_sandbox::{Sandbox, SandboxHandle, cashin, cuan10pay, qris};

/// A base URL on loopback where nothing listens: every connection is refused.
pub async fn refusing_base_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/api")
}

/// A sandbox whose Cuan10pay and Cash In webhooks go where nothing listens, tried once more
/// after 10 ms: a test reads them from the sandbox's own record of what it sent.
pub async fn sandbox_with_webhooks_to_nowhere() -> SandboxHandle {
    let nowhere = refusing_base_url().await;
    Sandbox::builder()
        .webhook_url(ProviderId::Cuan10pay, format!("{nowhere}/hooks/cuan10pay"))
        .webhook_url(ProviderId::CashIn, format!("{nowhere}/v1.0/debit/notify"))
        .webhook_retry(1, std::time::Duration::from_millis(10))
        .start()
        .await
        .unwrap()
}

/// A QRIS payment that Cash In takes (its phone and return URL given); the router leaves out,
/// for the other gateways, the fields they have no place for.
pub fn cashin_order(reference: &str) -> PaymentRequest {
    PaymentRequest::builder(reference, Money::idr(150_000))
        .channel(Channel::Qris)
        .customer_id("CUST-42")
        .customer_phone("081234567890")
        .return_url("https://shop.example/orders/42")
        .build()
        .unwrap()
}

/// Cuan10pay with the sandbox's keys at `base`.
pub fn cuan10pay_at(base: String) -> Cuan10payClient {
    Cuan10payClient::new(
        Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY).base_url(base).build().unwrap(),
    )
}

/// The QRIS gateway at `sandbox`.
pub fn qris_at(sandbox: &SandboxHandle) -> QrisClient {
    QrisClient::new(QrisConfig::builder(qris::API_KEY).base_url(sandbox.base_url(ProviderId::Qris)).build().unwrap())
}

/// Cash In at `sandbox`.
pub fn cashin_at(sandbox: &SandboxHandle) -> CashinClient {
    CashinClient::new(
        CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY)
            .base_url(sandbox.base_url(ProviderId::CashIn))
            .public_key_pem(cashin::public_key_pem())
            .build()
            .unwrap(),
    )
}

/// Each attempt's gateway and outcome.
pub fn outcomes(attempts: &[Attempt]) -> Vec<(ProviderId, Outcome)> {
    attempts.iter().map(|a| (a.gateway, a.outcome)).collect()
}
