//! Ciputra's API as the sandbox serves it, over real HTTP: the token, the bearer check, every
//! call in the document's shapes, the states and the callback (`seeds/004_627801bf8e050898.txt`).
#![allow(clippy::unwrap_used)] // a test file with helpers: a panic is the failing test

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Answer, Receiver, answer};
use gerbang_core::{FixedClock, ProviderId};
use gerbang_sandbox::ciputra::{API_KEY, API_SECRET, DEFAULT_TOKEN_LIFETIME};
use gerbang_sandbox::{PaymentState, Sandbox, SandboxError, SandboxHandle};
use serde_json::Value;

const NOW: i64 = 1_760_000_000;

/// A sandbox on a clock the test moves, with short tokens.
async fn sandbox() -> (SandboxHandle, String, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at_unix(NOW));
    let handle = Sandbox::builder()
        .clock(clock.clone())
        .ciputra_token_lifetime(Duration::from_secs(5))
        .webhook_retry(1, Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let base = handle.base_url(ProviderId::Ciputra);
    (handle, base, clock)
}

async fn token_with(base: &str, key: Option<&str>, secret: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().post(format!("{base}/auth/token"));
    if let Some(key) = key {
        request = request.header("api-key", key);
    }
    if let Some(secret) = secret {
        request = request.header("api-secret", secret);
    }
    answer(request.send().await.unwrap()).await
}

async fn token(base: &str) -> String {
    let answer = token_with(base, Some(API_KEY), Some(API_SECRET)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    answer.json["access_token"].as_str().unwrap().to_owned()
}

async fn post(base: &str, path: &str, token: &str, form: &str) -> Answer {
    let request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    answer(request.send().await.unwrap()).await
}

fn assert_refused(answer: &Answer, http: u16, code: &str) {
    assert_eq!(answer.status, http, "{:?}", answer.json);
    assert_eq!(answer.json["code"], code, "{:?}", answer.json);
    assert_eq!(answer.json["status"], false, "{:?}", answer.json);
    assert!(answer.json["message"].as_str().is_some_and(|m| !m.is_empty()), "{:?}", answer.json);
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    // base64url without padding, decoded by hand-rolled lookup to stay independent of the sandbox.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in payload.bytes() {
        bits = (bits << 6) | alphabet.iter().position(|&a| a == c).unwrap() as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    serde_json::from_slice(&bytes).unwrap()
}

const CHARGE: &str = "action=charge&paytype=va&paycode=bca&external_id=POLIS-1&name=Budi+Santoso&phone=0812\
                      &description%5Btext_1%5D=Premi&amount=350000&exptype=H&expval=2";

#[tokio::test]
async fn the_token_is_a_jwt_living_the_configured_lifetime() {
    let (_handle, base, _clock) = sandbox().await;
    let answer = token_with(&base, Some(API_KEY), Some(API_SECRET)).await;
    assert_eq!(answer.status, 200);
    assert_eq!((answer.json["code"].as_str(), answer.json["status"].as_bool()), (Some("00"), Some(true)));
    assert_eq!(
        (answer.json["token_type"].as_str(), answer.json["message"].as_str()),
        (Some("Bearer"), Some("Success"))
    );
    // As in the document, expires_in is the absolute expiry.
    assert_eq!(answer.json["expires_in"], NOW + 5);
    let claims = claims(answer.json["access_token"].as_str().unwrap());
    assert_eq!((claims["iat"].as_i64(), claims["exp"].as_i64()), (Some(NOW), Some(NOW + 5)));
    assert_eq!(DEFAULT_TOKEN_LIFETIME, Duration::from_secs(3600));
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_401_in_the_envelope() {
    let (_handle, base, _clock) = sandbox().await;
    assert_refused(&token_with(&base, Some(API_KEY), Some("nope")).await, 401, "401");
    assert_refused(&token_with(&base, Some("nope"), Some(API_SECRET)).await, 401, "401");
    assert_refused(&token_with(&base, Some(API_KEY), None).await, 401, "401");
}

#[tokio::test]
async fn calls_need_a_live_token_of_this_sandbox() {
    let (_handle, base, clock) = sandbox().await;
    let (_other, other_base, _) = sandbox().await;
    let foreign = token(&other_base).await;
    let status = "external_id=POLIS-1";
    let missing = reqwest::Client::new().post(format!("{base}/transaction/status")).body(status).send().await.unwrap();
    assert_refused(&answer(missing).await, 401, "401");
    assert_refused(&post(&base, "/transaction/status", &foreign, status).await, 401, "401");
    let live = token(&base).await;
    let mut forged = live.clone();
    forged.replace_range(forged.len() - 2.., "AA");
    assert_refused(&post(&base, "/transaction/status", &forged, status).await, 401, "401");
    // A live token passes the check (and the transaction is unknown: a refusal under 200).
    assert_refused(&post(&base, "/transaction/status", &live, status).await, 200, "02");
    clock.advance(Duration::from_secs(5));
    let expired = post(&base, "/transaction/status", &live, status).await;
    assert_refused(&expired, 401, "401");
    assert_eq!(expired.json["message"], "Token expired");
}

#[tokio::test]
async fn a_charge_is_pending_and_its_status_has_the_documents_shape() {
    let (_handle, base, _clock) = sandbox().await;
    let token = token(&base).await;
    let created = post(&base, "/transaction", &token, CHARGE).await;
    assert_eq!(created.status, 200, "{:?}", created.json);
    let data = &created.json["data"];
    let order_id = data["order_id"].as_str().unwrap();
    assert!(order_id.starts_with("TE2025") && order_id.len() == 14, "{order_id}");
    assert_eq!(data["external_id"], "POLIS-1");
    assert_eq!(data["status_payment"], "pending");
    assert_eq!(
        data["expired_date"],
        gerbang_signing::jakarta::format_local_datetime(time::OffsetDateTime::from_unix_timestamp(NOW + 7200).unwrap())
    );
    assert!(data["virtual_account_number"].as_str().unwrap().starts_with("8808"));
    assert_eq!(data["shortlink"], format!("{base}/pay/{order_id}"));
    let page = reqwest::get(data["shortlink"].as_str().unwrap()).await.unwrap();
    assert_eq!(page.status(), 200);

    let status = post(&base, "/transaction/status", &token, "external_id=POLIS-1").await;
    assert_eq!(status.status, 200);
    let data = status.json["data"].as_object().unwrap();
    let keys: std::collections::BTreeSet<&str> = data.keys().map(String::as_str).collect();
    let documented = [
        "broker_id",
        "broker_name",
        "order_id",
        "external_id",
        "action",
        "payment_channel",
        "status",
        "name",
        "phone",
        "reference_number",
        "description",
        "virtual_account",
        "credit_card_number",
        "month_end",
        "year_end",
        "amount",
        "created_time",
        "transaction_time",
        "expired_time",
        "remark",
        "callback_url",
    ];
    assert_eq!(keys, documented.into_iter().collect(), "the document's fields, no more, no less");
    assert_eq!((data["status"].as_str(), data["amount"].as_u64()), (Some("pending"), Some(350_000)));
    assert_eq!(data["description"]["text_1"], "Premi");
    assert_eq!(data["payment_channel"], "bca");
}

#[tokio::test]
async fn refusals_come_under_http_200_with_a_code() {
    let (_handle, base, _clock) = sandbox().await;
    let token = token(&base).await;
    let cases = [
        ("action=charge&paytype=va&paycode=gopay&external_id=X&name=A&amount=1", "01"),
        ("action=charge&paytype=va&paycode=bca&external_id=X&amount=1", "01"),
        ("action=charge&paytype=va&paycode=bca&external_id=X&name=A&amount=1.5", "01"),
        ("action=charge&paytype=qris&paycode=all&external_id=X&name=A&amount=1&exptype=D&expval=0", "01"),
        ("action=charge&paytype=qris&paycode=all&external_id=X&name=A&amount=1&send_email=yes", "01"),
        ("action=refund&external_id=X", "01"),
        ("action=cancel&external_id=UNKNOWN", "02"),
    ];
    for (form, code) in cases {
        assert_refused(&post(&base, "/transaction", &token, form).await, 200, code);
    }
    assert_eq!(post(&base, "/transaction", &token, CHARGE).await.status, 200);
    assert_refused(&post(&base, "/transaction", &token, CHARGE).await, 200, "03");
}

#[tokio::test]
async fn paying_posts_a_form_callback_and_a_paid_transaction_cannot_be_cancelled() {
    let (handle, base, _clock) = sandbox().await;
    let receiver = Receiver::start(&[]).await;
    let token = token(&base).await;
    let form = format!("{CHARGE}&callback_url={}", receiver.url.replace(':', "%3A").replace('/', "%2F"));
    let created = post(&base, "/transaction", &token, &form).await;
    let order_id = created.json["data"]["order_id"].as_str().unwrap().to_owned();

    assert_eq!(handle.pay(ProviderId::Ciputra, "POLIS-1").await.unwrap(), PaymentState::Paid);
    let deliveries = handle.wait_for_deliveries(1, Duration::from_secs(5)).await.unwrap();
    assert!(deliveries[0].succeeded(), "{deliveries:?}");
    let body = &receiver.received()[0];
    assert!(
        body.starts_with(&format!(
            "external_id=POLIS-1&order_id={order_id}&action=charge&status=paid&amount=350000&transaction_time="
        )),
        "{body}"
    );

    let status = post(&base, "/transaction/status", &token, "external_id=POLIS-1").await;
    assert_eq!(status.json["data"]["status"], "paid");
    assert!(!status.json["data"]["transaction_time"].as_str().unwrap().is_empty());
    assert_refused(&post(&base, "/transaction", &token, "action=cancel&external_id=POLIS-1").await, 200, "04");
    assert!(matches!(
        handle.pay(ProviderId::Ciputra, &order_id).await,
        Err(SandboxError::NotPending { status: PaymentState::Paid, .. })
    ));
}

#[tokio::test]
async fn cancel_goes_through_the_api_and_the_controls_refuse_other_moves() {
    let (handle, base, _clock) = sandbox().await;
    let token = token(&base).await;
    post(&base, "/transaction", &token, CHARGE).await;
    let cancelled = post(&base, "/transaction", &token, "action=cancel&external_id=POLIS-1").await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.json);
    assert_eq!(cancelled.json["data"]["status_payment"], "cancel");
    assert!(cancelled.json["data"]["cancel_date"].is_string());
    assert!(matches!(
        handle.expire(ProviderId::Ciputra, "POLIS-1").await,
        Err(SandboxError::NotPending { status: PaymentState::Cancelled, .. })
    ));
    assert!(matches!(
        handle.fail(ProviderId::Ciputra, "POLIS-1").await,
        Err(SandboxError::UnsupportedTransition { .. })
    ));
    assert!(matches!(handle.pay(ProviderId::Ciputra, "NOPE").await, Err(SandboxError::UnknownPayment { .. })));
    // The control API says the same over HTTP.
    let url = format!("{}/_sandbox/ciputra/payments/POLIS-1/pay", handle.url());
    assert_eq!(reqwest::Client::new().post(url).send().await.unwrap().status(), 409);
}

#[tokio::test]
async fn a_registration_is_pending_until_the_customer_registers() {
    let (handle, base, _clock) = sandbox().await;
    let token = token(&base).await;
    let form = "action=registration&paytype=va&paycode=bca&external_id=REG-1&name=Jhone&phone=081111111111";
    let created = post(&base, "/transaction", &token, form).await;
    assert_eq!(created.status, 200, "{:?}", created.json);
    let pending = post(&base, "/registration/status", &token, "external_id=REG-1").await;
    assert_eq!(pending.json["data"]["status"], "pending");
    assert_eq!(pending.json["data"]["registration_channel"], "autodebet_bca");
    handle.pay(ProviderId::Ciputra, "REG-1").await.unwrap();
    let done = post(&base, "/registration/status", &token, "external_id=REG-1").await;
    let data = &done.json["data"];
    assert_eq!((data["status"].as_str(), data["action"].as_str()), (Some("success"), Some("registration")));
    assert_eq!(data["remark"], "customer successfully registers BCA autodebit");
    assert!(!data["account_number"].as_str().unwrap().is_empty());
    assert_refused(&post(&base, "/registration/status", &token, "external_id=REG-2").await, 200, "02");
    assert_refused(&post(&base, "/transaction/status", &token, "external_id=REG-1").await, 200, "02");
}
