//! The Cash In emulator's API over real HTTP: signatures checked exactly, fields validated as the
//! document's table says, answers in the document's shapes.

mod cashin_support;

use cashin_support::{Credentials, assert_refused, call, call_with, checkout_body, create, status};
use gerbang_core::ProviderId;
use gerbang_sandbox::Sandbox;
use gerbang_signing::cashin::HmacAlgorithm;
use serde_json::json;

#[tokio::test]
async fn a_checkout_is_created_open_and_its_status_answered_in_the_documents_shape() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    assert!(base.ends_with("/cashin"));
    let data = create(&base, "TRX-MERCHANT-0001", 1000, Some("QRIS")).await;
    assert!(data["paymentToken"].as_str().unwrap().len() >= 32);
    let url = data["paymentUrl"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/cashin/checkout/", sandbox.url())), "{url}");

    let answer = call(&base, "/payment/status", r#"{"trxNo": " TRX-MERCHANT-0001"}"#).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["message"], "Successful");
    let data = &answer.json["data"];
    assert_eq!(data["trxNo"], "TRX-MERCHANT-0001", "the document's example trims the trxNo");
    assert_eq!(data["status"], "OPEN");
    assert_eq!(data["paymentMethod"], "QRIS");
    assert!(data["referenceNo"].as_str().unwrap().starts_with("PAY"));
    assert_eq!(data["amount"], json!(1000.0));

    let page = reqwest::get(url).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("TRX-MERCHANT-0001") && html.contains("/_sandbox/cashin/payments/TRX-MERCHANT-0001/pay"));
}

/// The raw text matters here: serde_json would read `4000.00` back as `4000.0`.
#[tokio::test]
async fn the_amount_is_a_number_with_two_decimals_as_in_the_document() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    create(&base, "T-1", 4000, None).await;
    let credentials = Credentials::default();
    let body = r#"{"trxNo":"T-1"}"#;
    let message = gerbang_signing::cashin::string_to_sign(
        body.as_bytes(),
        &credentials.client_id,
        &credentials.request_id,
        "/payment/status",
        &credentials.timestamp,
    )
    .unwrap();
    let raw = reqwest::Client::new()
        .post(format!("{base}/payment/status"))
        .header("X-CLIENT-ID", &credentials.client_id)
        .header("X-REQUEST-ID", &credentials.request_id)
        .header("X-TIMESTAMP", &credentials.timestamp)
        .header(
            "X-SIGNATURE",
            gerbang_signing::cashin::sign(credentials.secret.as_bytes(), &message, HmacAlgorithm::Sha256),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains(r#""amount":4000.00"#), "{raw}");
    assert!(raw.contains(r#""paymentMethod":"""#), "nothing chosen yet: {raw}");
}

#[tokio::test]
async fn every_credential_is_checked() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    let body = checkout_body("T-AUTH", 1000, None);
    let wrong = [
        Credentials { client_id: "CID-OTHER".into(), ..Credentials::default() },
        Credentials { secret: "not-the-secret".into(), ..Credentials::default() },
        Credentials { hmac: HmacAlgorithm::Sha512, ..Credentials::default() },
        Credentials { timestamp: "2020-01-01T00:00:00+07:00".into(), ..Credentials::default() },
        Credentials { timestamp: "1730689200".into(), ..Credentials::default() },
        Credentials { request_id: "x".repeat(37), ..Credentials::default() },
    ];
    for credentials in wrong {
        let answer = call_with(&base, "/payment", &body, &credentials).await;
        assert_refused(&answer, 401);
    }
    let answer = call_with(&base, "/payment/status", r#"{"trxNo":"T"}"#, &Credentials::default()).await;
    assert_eq!(answer.status, 404, "a correctly signed look-up of nothing");
    let response = reqwest::Client::new().post(format!("{base}/payment")).body(body.clone()).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_sha512_setting_accepts_hmac_sha512_only() {
    let sandbox = Sandbox::builder().cashin_hmac(HmacAlgorithm::Sha512).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    let body = checkout_body("T-512", 1000, None);
    let sha512 = Credentials { hmac: HmacAlgorithm::Sha512, ..Credentials::default() };
    assert_eq!(call_with(&base, "/payment", &body, &sha512).await.status, 200);
    assert_refused(&call(&base, "/payment", &checkout_body("T-256", 1000, None)).await, 401);
}

#[tokio::test]
async fn a_reused_request_id_or_trx_no_is_refused() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    let credentials = Credentials::default();
    assert_eq!(call_with(&base, "/payment", &checkout_body("T-A", 1000, None), &credentials).await.status, 200);
    assert_refused(&call_with(&base, "/payment", &checkout_body("T-B", 1000, None), &credentials).await, 409);
    assert_refused(&call(&base, "/payment", &checkout_body("T-A", 2000, None)).await, 409);
}

#[tokio::test]
async fn fields_are_validated_as_the_documents_table_says() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    let valid: serde_json::Value = serde_json::from_str(&checkout_body("T-V", 1000, Some("QRIS"))).unwrap();
    let mut cases = Vec::new();
    for (pointer, value) in [
        ("/amount", json!(0)),
        ("/amount", json!("1000")),
        ("/amount", json!(10.5)),
        ("/trxNo", json!("")),
        ("/trxNo", json!("X".repeat(65))),
        ("/duration", json!(null)),
        ("/successCallbackUrl", json!(null)),
        ("/cancelCallbackUrl", json!(42)),
        ("/paymentChannel", json!("OVO")),
        ("/customer", json!(null)),
        ("/customer/id", json!("")),
        ("/customer/phoneNumber", json!("08223223223111122")),
    ] {
        let mut body = valid.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        cases.push((pointer, body.to_string()));
    }
    cases.push(("not JSON", "{".into()));
    for (what, body) in cases {
        let answer = call(&base, "/payment", &body).await;
        assert_eq!(answer.status, 400, "{what}: {:?}", answer.json);
        assert_refused(&answer, 400);
    }
    // The valid body itself is accepted, with BANK_TRANSFER too.
    assert_eq!(call(&base, "/payment", &valid.to_string()).await.status, 200);
    create(&base, "T-BT", 1000, Some("BANK_TRANSFER")).await;
    assert_eq!(status(&base, "T-BT").await["paymentMethod"], "BANK_TRANSFER");
}

#[tokio::test]
async fn unknown_trx_numbers_and_routes_are_404_in_cash_ins_shape() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    assert_refused(&call(&base, "/payment/status", r#"{"trxNo":"NOPE"}"#).await, 404);
    let response = reqwest::get(format!("{base}/nowhere")).await.unwrap();
    assert_eq!(response.status(), 404);
    let response = reqwest::get(format!("{base}/checkout/nope")).await.unwrap();
    assert_eq!(response.status(), 404);
}
