//! Both calls of PROVIDERS.md §4: method, path, content type, the exact body, and the answer.

use gerbang_core::{Currency, Decimal};
use gerbang_crypto_invoice::{BannedCoin, BodyFormat, CreateInvoiceRequest, CryptoInvoiceClient};
use httpmock::Method::POST;
use httpmock::{Mock, MockServer};

use crate::common::{builder, client, fixture};

/// A mock answering `answer` to a POST of `path` (under `/api/v1`) with exactly `body` as
/// `content_type`.
async fn post<'a>(server: &'a MockServer, path: &str, content_type: &str, body: &str, answer: &str) -> Mock<'a> {
    let answer = fixture(answer);
    let body = fixture(&format!("requests/{body}")).trim_end().to_owned();
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/api/v1{path}"))
                .query_param_count(".*", ".*", 0)
                .header("content-type", content_type)
                .header("accept", "application/json")
                .body(body);
            then.status(200).header("content-type", "application/json").body(answer);
        })
        .await
}

/// The document's example request (`seeds/003_344fd773d4347651.txt`), every field set.
fn documents_example() -> CreateInvoiceRequest {
    CreateInvoiceRequest::new(Decimal::from(725))
        .test(true)
        .email("budi@example.com")
        .merchant_id("5")
        .order_id("11")
        .customer_id(12)
        .price_currency(Currency::USD)
        .add_fee_to_price(true)
        .title("title")
        .description("description")
        .ban_coin(BannedCoin::new("BTC").unwrap())
        .ban_coin("eth".parse().unwrap())
        .ban_coin("USDT-ERC20".parse().unwrap())
        .callback_url("https://yourcallbackurl")
        .cancel_url("https://yourcancelurl")
        .success_url("https://yoursuccessurl")
        .expiration_hours(12)
        .margin_ratio(Decimal::new(15, 1))
}

#[tokio::test]
async fn create_invoice_posts_every_field_as_exact_json() {
    let server = MockServer::start_async().await;
    let mock = post(&server, "/create_invoice", "application/json", "create_invoice.json", "create_invoice.json").await;
    let created = client(&server).create_invoice(&documents_example()).await.unwrap();
    mock.assert_async().await;
    assert_eq!(created.invoice_url.as_deref(), Some("https://payid19.com/invoice/aB3dE9kQ"));
    assert_eq!(created.coins, None);
}

#[tokio::test]
async fn create_invoice_posts_the_same_fields_as_a_form_when_configured() {
    let server = MockServer::start_async().await;
    let mock = post(
        &server,
        "/create_invoice",
        "application/x-www-form-urlencoded",
        "create_invoice.form",
        "create_invoice.json",
    )
    .await;
    let config = builder(&server.url("/api/v1")).body_format(BodyFormat::Form).build().unwrap();
    CryptoInvoiceClient::new(config).create_invoice(&documents_example()).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn test_mode_in_the_config_makes_every_invoice_a_test_invoice() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/create_invoice").body(
                r#"{"public_key":"test-public-key-AK9f3xQ","private_key":"test-private-key-PK7q1","test":1,"price_amount":0.000000000000000001}"#,
            );
            then.status(200).body(fixture("create_invoice.json"));
        })
        .await;
    let config = builder(&server.url("/api/v1")).test_mode(true).build().unwrap();
    let tiny = CreateInvoiceRequest::new(Decimal::from_str_exact("0.000000000000000001").unwrap());
    CryptoInvoiceClient::new(config).create_invoice(&tiny).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn a_white_label_answer_gives_the_coins_typed_and_raw() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/create_invoice").body_includes(r#""white_label":1"#);
            then.status(200).body(fixture("create_invoice_white_label.json"));
        })
        .await;
    let request = CreateInvoiceRequest::new(Decimal::new(7255, 1)).white_label(true);
    let created = client(&server).create_invoice(&request).await.unwrap();
    assert_eq!(created.invoice_url, None);
    let coins = created.coins.as_ref().unwrap();
    assert_eq!(coins.len(), 3);
    assert_eq!(coins[0].coin.as_deref(), Some("BTC"));
    assert_eq!(coins[0].amount.unwrap().to_string(), "0.01208333");
    assert_eq!(coins[1].network.as_deref(), Some("TRC20"));
    assert_eq!(coins[1].amount, Some(Decimal::new(7255, 1)));
    assert_eq!(coins[2].coin.as_deref(), Some("BNB"));
    assert!(created.raw.is_array());
    insta::assert_json_snapshot!("white_label", created);
}

#[tokio::test]
async fn get_invoices_posts_the_order_id_and_decodes_the_string_inside_the_answer() {
    let server = MockServer::start_async().await;
    let mock = post(&server, "/get_invoices", "application/json", "get_invoices.json", "get_invoices.json").await;
    let invoices = client(&server).get_invoices("11").await.unwrap();
    mock.assert_async().await;
    assert_eq!(invoices.len(), 1);
    let invoice = &invoices[0];
    assert_eq!(invoice.id.as_deref(), Some("4711"));
    assert_eq!(invoice.status.as_deref(), Some("paid"));
    assert_eq!(invoice.price_amount.unwrap().to_string(), "725.00");
    // A coin amount with 18 decimals, exact.
    assert_eq!(invoice.amount.unwrap().to_string(), "725.123456789012345678");
    assert!(invoice.test);
    assert_eq!(invoice.extra["network"], "TRC20");
    insta::assert_json_snapshot!("get_invoices", invoices);
}

#[tokio::test]
async fn get_invoices_as_a_form() {
    let server = MockServer::start_async().await;
    let mock = post(
        &server,
        "/get_invoices",
        "application/x-www-form-urlencoded",
        "get_invoices.form",
        "get_invoices_empty.json",
    )
    .await;
    let config = builder(&server.url("/api/v1")).body_format(BodyFormat::Form).build().unwrap();
    assert!(CryptoInvoiceClient::new(config).get_invoices("11").await.unwrap().is_empty());
    mock.assert_async().await;
}

#[tokio::test]
async fn bad_values_are_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(fixture("create_invoice.json"));
        })
        .await;
    let client = client(&server);
    let price = || CreateInvoiceRequest::new(Decimal::ONE);
    let cases = [
        (price().expiration_hours(0), "expiration_date"),
        (price().expiration_hours(13), "expiration_date"),
        (CreateInvoiceRequest::new(Decimal::ZERO), "price_amount"),
        (CreateInvoiceRequest::new(Decimal::new(15, 1)).price_currency(Currency::IDR), "price_amount"),
        (price().margin_ratio(Decimal::NEGATIVE_ONE), "margin_ratio"),
        (price().callback_url("not a url"), "callback_url"),
        (price().order_id(" "), "order_id"),
    ];
    for (request, expected) in cases {
        match client.create_invoice(&request).await {
            Err(gerbang_core::Error::Validation { field, .. }) => assert_eq!(field, expected),
            other => panic!("expected a validation error on {expected}, got {other:?}"),
        }
    }
    assert!(client.get_invoices("  ").await.is_err());
    assert_eq!(mock.calls_async().await, 0);
    // The limits themselves are accepted.
    client.create_invoice(&price().expiration_hours(1)).await.unwrap();
    client.create_invoice(&price().expiration_hours(12)).await.unwrap();
    assert_eq!(mock.calls_async().await, 2);
}
