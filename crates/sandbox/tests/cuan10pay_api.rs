//! Cuan10pay's API as the sandbox serves it, over real HTTP: authentication, validation, and the
//! shapes of the answers (`seeds/000_b443c682d4d25840.txt`).

mod common;

use common::{assert_error, call, call_with, create_deposit, now};
use gerbang_core::ProviderId;
use gerbang_sandbox::Sandbox;
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};

#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn sandbox() -> (gerbang_sandbox::SandboxHandle, String) {
    let handle = Sandbox::builder().start().await.unwrap();
    let base = handle.base_url(ProviderId::Cuan10pay);
    (handle, base)
}

#[tokio::test]
async fn signed_deposit_create_is_accepted_and_shaped_like_the_document() {
    let (handle, base) = sandbox().await;
    let body = r#"{"channel_code": "BCA", "amount": 10000, "notes": "order 42", "customer_email": "john@example.com"}"#;
    let answer = call(&base, "POST", "/v1/deposit_create", body).await;

    assert_eq!(answer.status, 200, "{:?}", answer.json);
    assert_eq!(answer.json["status"], "success");
    assert_eq!(answer.json["message"], "Deposit request created successfully");
    let data = &answer.json["data"];
    let id = data["deposit_id"].as_str().unwrap();
    // CP-20250928-38B575
    assert_eq!(id.len(), 18, "{id}");
    assert!(id.starts_with("CP-") && id.as_bytes()[11] == b'-', "{id}");
    assert!(id[3..11].bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert!(id[12..].bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()), "{id}");
    assert_eq!(data["channel_name"], "BCA Virtual Account");
    assert_eq!(data["amount"], 10000);
    assert_eq!(data["fee"], 2500);
    assert_eq!(data["total"], 12500);
    assert_eq!(data["status"], "pending");
    let code = data["payment_code"].as_str().unwrap();
    assert_eq!(code.len(), 16);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(data["checkout_url"], format!("{base}/checkout/{id}"));
    assert_eq!(data["link_url"], format!("{base}/pay.php?ref={id}"));
    assert_eq!(data["payment_instructions"], "Please follow the payment instructions provided.");
    let created_at = data["created_at"].as_str().unwrap();
    assert!(gerbang_signing::jakarta::parse_local_datetime(created_at).is_ok(), "{created_at}");
    handle.shutdown().await;
}

#[tokio::test]
async fn qris_deposits_carry_a_qris_payload_and_a_per_mille_fee() {
    let (_handle, base) = sandbox().await;
    let data = create_deposit(&base, "qris", 100_000).await;
    assert_eq!(data["channel_name"], "QRIS");
    assert_eq!(data["fee"], 700);
    assert_eq!(data["total"], 100_700);
    assert!(data["payment_code"].as_str().unwrap().starts_with("000201010212"));
}

#[tokio::test]
async fn deposit_and_invoice_status_return_the_current_record() {
    let (_handle, base) = sandbox().await;
    let created = create_deposit(&base, "BNI", 50_000).await;
    let id = created["deposit_id"].as_str().unwrap();

    let status = call(&base, "GET", &format!("/v1/deposit_status?ref={id}"), "").await;
    assert_eq!(status.status, 200, "{:?}", status.json);
    assert_eq!(status.json["status"], "success");
    assert_eq!(status.json["data"]["deposit_id"], id);
    assert_eq!(status.json["data"]["status"], "pending");
    assert_eq!(status.json["data"]["total"], created["total"]);

    let invoice = call(&base, "GET", &format!("/v1/invoice_status?ref={id}"), "").await;
    assert_eq!(invoice.status, 200);
    assert_eq!(invoice.json["data"], status.json["data"]);
}

#[tokio::test]
async fn unknown_references_are_404() {
    let (_handle, base) = sandbox().await;
    assert_error(&call(&base, "GET", "/v1/deposit_status?ref=CP-20250101-000000", "").await, 404);
    assert_error(&call(&base, "GET", "/v1/invoice_status?ref=INV123", "").await, 404);
    assert_error(&call(&base, "GET", "/v1/deposit_status", "").await, 400);
}

#[tokio::test]
async fn a_wrong_signature_is_401() {
    let (_handle, base) = sandbox().await;
    let body = r#"{"channel_code": "BCA", "amount": 10000}"#;
    let answer = call_with(&base, "POST", "/v1/deposit_create", body, API_KEY, "another-private-key", now()).await;
    assert_error(&answer, 401);
    assert_eq!(answer.json["message"], "Invalid signature");
}

#[tokio::test]
async fn a_wrong_api_key_is_401() {
    let (_handle, base) = sandbox().await;
    let body = r#"{"channel_code": "BCA", "amount": 10000}"#;
    let answer = call_with(&base, "POST", "/v1/deposit_create", body, "someone-else", PRIVATE_KEY, now()).await;
    assert_error(&answer, 401);
    assert_eq!(answer.json["message"], "Invalid API key");
}

#[tokio::test]
async fn a_stale_or_future_timestamp_is_401() {
    let (_handle, base) = sandbox().await;
    for timestamp in [now() - 301, now() + 301] {
        let answer = call_with(&base, "GET", "/v1/ppob_products", "", API_KEY, PRIVATE_KEY, timestamp).await;
        assert_error(&answer, 401);
    }
    // Inside the window is fine.
    let answer = call_with(&base, "GET", "/v1/ppob_products", "", API_KEY, PRIVATE_KEY, now() - 200).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn a_body_changed_after_signing_is_401() {
    let (_handle, base) = sandbox().await;
    let signed = r#"{"channel_code": "BCA", "amount": 10000}"#;
    let sent = r#"{"channel_code": "BCA", "amount": 99000}"#;
    let timestamp = now();
    let signature = gerbang_signing::cuan10pay::sign_request(
        PRIVATE_KEY.as_bytes(),
        timestamp,
        "POST",
        "/v1/deposit_create",
        signed.as_bytes(),
    );
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/deposit_create"))
        .header("X-API-KEY", API_KEY)
        .header("X-TIMESTAMP", timestamp.to_string())
        .header("X-SIGNATURE", signature)
        .body(sent)
        .send()
        .await
        .unwrap();
    assert_error(&common::answer(response).await, 401);
}

#[tokio::test]
async fn the_signature_covers_the_query_string() {
    let (_handle, base) = sandbox().await;
    let id = create_deposit(&base, "BCA", 10_000).await["deposit_id"].as_str().unwrap().to_owned();
    let timestamp = now();
    // Signed over the path alone, sent with the query: refused.
    let signature =
        gerbang_signing::cuan10pay::sign_request(PRIVATE_KEY.as_bytes(), timestamp, "GET", "/v1/deposit_status", b"");
    let response = reqwest::Client::new()
        .get(format!("{base}/v1/deposit_status?ref={id}"))
        .header("X-API-KEY", API_KEY)
        .header("X-TIMESTAMP", timestamp.to_string())
        .header("X-SIGNATURE", signature)
        .send()
        .await
        .unwrap();
    assert_error(&common::answer(response).await, 401);
}

#[tokio::test]
async fn a_get_whose_query_was_shifted_into_a_body_is_401() {
    // A genuine `GET /v1/deposit_status?ref=<id>` re-pointed at `?ref=<id minus its last
    // character>` with that character as the body signs the same string: refused.
    let (_handle, base) = sandbox().await;
    let created = create_deposit(&base, "BNI", 50_000).await;
    let id = created["deposit_id"].as_str().unwrap().to_owned();
    let (prefix, last) = id.split_at(id.len() - 1);
    // Signing what is sent signs the genuine call's string: the same signature.
    let shifted =
        call_with(&base, "GET", &format!("/v1/deposit_status?ref={prefix}"), last, API_KEY, PRIVATE_KEY, now()).await;
    assert_error(&shifted, 401);
    assert_eq!(shifted.json["message"], "A GET request carries no body");
}

#[tokio::test]
async fn missing_headers_are_401() {
    let (_handle, base) = sandbox().await;
    let response = reqwest::Client::new().get(format!("{base}/v1/ppob_products")).send().await.unwrap();
    let answer = common::answer(response).await;
    assert_error(&answer, 401);
    assert_eq!(answer.json["message"], "Missing X-API-KEY header");
}

#[tokio::test]
async fn amounts_outside_the_documented_range_are_400() {
    let (_handle, base) = sandbox().await;
    for amount in ["9999", "10000001", "0", "15000.5", "\"10000\""] {
        let body = format!(r#"{{"channel_code": "BCA", "amount": {amount}}}"#);
        assert_error(&call(&base, "POST", "/v1/deposit_create", &body).await, 400);
    }
    for amount in ["10000", "10000000"] {
        let body = format!(r#"{{"channel_code": "BCA", "amount": {amount}}}"#);
        assert_eq!(call(&base, "POST", "/v1/deposit_create", &body).await.status, 200);
    }
}

#[tokio::test]
async fn invalid_deposit_requests_are_400_naming_the_problem() {
    let (_handle, base) = sandbox().await;
    let missing = call(&base, "POST", "/v1/deposit_create", r#"{"amount": 10000}"#).await;
    assert_error(&missing, 400);
    assert_eq!(missing.json["message"], "Missing required field: channel_code");

    let both = call(&base, "POST", "/v1/deposit_create", "{}").await;
    assert_eq!(both.json["message"], "Missing required fields: channel_code, amount");

    assert_error(&call(&base, "POST", "/v1/deposit_create", "{not json").await, 400);
    assert_error(&call(&base, "POST", "/v1/deposit_create", r#"{"channel_code": "XYZ", "amount": 10000}"#).await, 400);
    let past = format!(r#"{{"channel_code": "BCA", "amount": 10000, "expired_time": {}}}"#, now() - 10);
    assert_error(&call(&base, "POST", "/v1/deposit_create", &past).await, 400);
}

#[tokio::test]
async fn unknown_endpoints_are_404_in_cuan10pays_shape() {
    let (_handle, base) = sandbox().await;
    assert_error(&call(&base, "GET", "/v1/no_such_thing", "").await, 404);
}

#[tokio::test]
async fn catalogues_are_filtered_by_their_query() {
    let (_handle, base) = sandbox().await;
    let all = call(&base, "GET", "/v1/ppob_products", "").await;
    let xl = call(&base, "GET", "/v1/ppob_products?operator=xl", "").await;
    assert_eq!(xl.status, 200);
    let xl = xl.json["data"].as_array().unwrap().clone();
    assert!(!xl.is_empty() && xl.len() < all.json["data"].as_array().unwrap().len());
    assert!(xl.iter().all(|p| p["operator"] == "xl"));

    let tiktok = call(&base, "GET", "/v1/smm_services?category=tiktok", "").await;
    assert!(tiktok.json["data"].as_array().unwrap().iter().all(|s| s["category"] == "tiktok"));

    let ml = call(&base, "GET", "/v1/voucher_products?game=ml", "").await;
    let ml = ml.json["data"].as_array().unwrap().clone();
    assert!(ml.iter().any(|v| v["code"] == "ML_86_DIAMOND"));
    assert!(ml.iter().all(|v| v["game"] == "ml"));
}

#[tokio::test]
async fn the_documents_order_examples_are_accepted() {
    // The document's bodies, without its `callback_url`: the sandbox would really call it.
    let (_handle, base) = sandbox().await;
    let ppob = r#"{"product_code": "PULSA_50K", "target": "081234567890", "ref": "ORDER123"}"#;
    let smm = r#"{"service_id": 123, "link": "https://instagram.com/p/xxxx", "quantity": 1000, "ref": "SMM123"}"#;
    let voucher =
        r#"{"product_code": "ML_86_DIAMOND", "player_id": "12345678", "server_id": "9001", "ref": "VCHR123"}"#;
    for (path, body, client_ref) in [
        ("/v1/ppob_order", ppob, "ORDER123"),
        ("/v1/smm_order", smm, "SMM123"),
        ("/v1/voucher_order", voucher, "VCHR123"),
    ] {
        let answer = call(&base, "POST", path, body).await;
        assert_eq!(answer.status, 200, "{path}: {:?}", answer.json);
        assert_eq!(answer.json["status"], "success");
        let data = &answer.json["data"];
        assert_eq!(data["ref"], client_ref);
        assert_eq!(data["status"], "pending");
        assert!(data["order_id"].as_str().is_some_and(|id| !id.is_empty()));
        assert!(data["price"].as_u64().is_some_and(|p| p > 0));
    }
}

#[tokio::test]
async fn orders_are_validated() {
    let (_handle, base) = sandbox().await;
    let missing = call(&base, "POST", "/v1/ppob_order", r#"{"ref": "X"}"#).await;
    assert_error(&missing, 400);
    assert_eq!(missing.json["message"], "Missing required fields: product_code, target");

    let unknown = call(&base, "POST", "/v1/ppob_order", r#"{"product_code": "NOPE", "target": "081234567890"}"#).await;
    assert_error(&unknown, 404);

    let too_few = call(&base, "POST", "/v1/smm_order", r#"{"service_id": 123, "link": "x", "quantity": 1}"#).await;
    assert_error(&too_few, 400);

    let no_zone =
        call(&base, "POST", "/v1/voucher_order", r#"{"product_code": "ML_86_DIAMOND", "player_id": "1"}"#).await;
    assert_error(&no_zone, 400);
    let free_fire = r#"{"product_code": "FF_70_DIAMOND", "player_id": "1"}"#;
    assert_eq!(call(&base, "POST", "/v1/voucher_order", free_fire).await.status, 200);
}
