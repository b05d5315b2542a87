//! The control API under `/_sandbox`, the checkout pages, the rate limit, and the server's life
//! cycle, all over real HTTP.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{Receiver, assert_error, call, call_with, create_deposit};
use gerbang_core::{FixedClock, ProviderId};
use gerbang_sandbox::Sandbox;
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};
use serde_json::{Value, json};

#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn post(url: &str) -> (u16, Value) {
    let response = reqwest::Client::new().post(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_control_api_pays_and_expires_over_http() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, &receiver.url).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let url = sandbox.url();
    let paid = create_deposit(&base, "BCA", 10_000).await["deposit_id"].as_str().unwrap().to_owned();
    let expired = create_deposit(&base, "BCA", 10_000).await["deposit_id"].as_str().unwrap().to_owned();

    let (status, body) = post(&format!("{url}/_sandbox/cuan10pay/payments/{paid}/pay")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"provider": "cuan10pay", "reference": paid, "status": "paid", "webhook": {"to": [receiver.url]}})
    );

    let (status, body) = post(&format!("{url}/_sandbox/cuan10pay/payments/{expired}/expire")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "expired");

    let (status, body) = post(&format!("{url}/_sandbox/cuan10pay/payments/{paid}/pay")).await;
    assert_eq!(status, 409);
    assert!(body["error"].as_str().unwrap().contains("only a pending payment"), "{body}");

    let (status, body) = post(&format!("{url}/_sandbox/cuan10pay/payments/CP-NOPE/pay")).await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());

    let (status, _) = post(&format!("{url}/_sandbox/stripe/payments/x/pay")).await;
    assert_eq!(status, 404);
    let (status, body) = post(&format!("{url}/_sandbox/cuan10pay/payments/{expired}/fail")).await;
    assert_eq!(status, 409);
    assert!(body["error"].as_str().unwrap().contains("cannot become failed"), "{body}");

    sandbox.wait_for_deliveries(2, Duration::from_secs(10)).await.unwrap();
    let (status, text) = get(&format!("{url}/_sandbox/deliveries")).await;
    assert_eq!(status, 200);
    let list: Vec<gerbang_sandbox::Delivery> = serde_json::from_str(&text).unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|d| d.provider == ProviderId::Cuan10pay && d.status == Some(200)));

    let (status, text) = get(&format!("{url}/_sandbox/health")).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"status": "ok", "emulated": ["cuan10pay", "cashin", "qris", "crypto-invoice", "ciputra"]})
    );
}

#[tokio::test]
async fn the_checkout_pages_show_the_deposit() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let data = create_deposit(&sandbox.base_url(ProviderId::Cuan10pay), "BCA", 10_000).await;
    let id = data["deposit_id"].as_str().unwrap();
    for page in [&data["checkout_url"], &data["link_url"]] {
        let (status, html) = get(page.as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert!(html.contains(id) && html.contains("/pay\""), "{html}");
    }
    let (status, _) = get(&format!("{}/cuan10pay/checkout/CP-NOPE", sandbox.url())).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_when_on() {
    let clock = Arc::new(FixedClock::at_unix(common::now()));
    let sandbox = Sandbox::builder().clock(clock.clone()).cuan10pay_rate_limit(Some(2)).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let at = |clock: &FixedClock| gerbang_core::Clock::now(clock).unix_timestamp();

    for _ in 0..2 {
        let answer = call_with(&base, "GET", "/v1/smm_services", "", API_KEY, PRIVATE_KEY, at(&clock)).await;
        assert_eq!(answer.status, 200);
    }
    clock.advance(Duration::from_secs(600));
    let refused = call_with(&base, "GET", "/v1/smm_services", "", API_KEY, PRIVATE_KEY, at(&clock)).await;
    assert_error(&refused, 429);
    assert_eq!(refused.retry_after.as_deref(), Some("3000"));

    // An hour after the first request, there is room again.
    clock.advance(Duration::from_secs(3000));
    let answer = call_with(&base, "GET", "/v1/smm_services", "", API_KEY, PRIVATE_KEY, at(&clock)).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn there_is_no_rate_limit_by_default() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    for _ in 0..(gerbang_sandbox::cuan10pay::DOCUMENTED_RATE_LIMIT + 5) {
        assert_eq!(call(&base, "GET", "/v1/voucher_products", "").await.status, 200);
    }
}

#[tokio::test]
async fn shutdown_frees_the_port() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let addr = sandbox.addr();
    assert_eq!(sandbox.url(), format!("http://{addr}"));
    assert_eq!(get(&format!("{}/_sandbox/health", sandbox.url())).await.0, 200);
    sandbox.shutdown().await;
    assert!(reqwest::get(format!("http://{addr}/_sandbox/health")).await.is_err());
    // The port can be bound again.
    drop(std::net::TcpListener::bind(addr).unwrap());
}

#[tokio::test]
async fn serve_with_shutdown_serves_until_the_signal() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    drop(listener);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Sandbox::builder().serve_with_shutdown(addr, async move {
        let _ = stopped.await;
    }));
    let health = format!("http://{addr}/_sandbox/health");
    let mut up = false;
    for _ in 0..50 {
        if reqwest::get(&health).await.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(up, "the sandbox did not come up");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn the_keys_are_the_ones_this_sandbox_checks_and_signs_with() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let (status, text) = get(&format!("{}/_sandbox/keys", sandbox.url())).await;
    assert_eq!(status, 200);
    let keys: Value = serde_json::from_str(&text).unwrap();
    use gerbang_sandbox::{cashin, ciputra, crypto_invoice, qris};
    assert_eq!(
        keys,
        json!({
            "cuan10pay": {"api_key": API_KEY, "private_key": PRIVATE_KEY},
            "cashin": {
                "client_id": cashin::CLIENT_ID,
                "secret_key": cashin::SECRET_KEY,
                "public_key": cashin::public_key_pem(),
            },
            "qris": {"api_key": qris::API_KEY},
            "crypto-invoice": {"public_key": crypto_invoice::PUBLIC_KEY, "private_key": crypto_invoice::PRIVATE_KEY},
            "ciputra": {"api_key": ciputra::API_KEY, "api_secret": ciputra::API_SECRET},
        })
    );
}
