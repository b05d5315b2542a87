//! Every call of the document: the exact request (path, headers, form body) and the parsing of
//! the document's example answers.

use gerbang_ciputra::{Description, Expiry, NotificationTiming, PayCode, PayType, SendSwitch, TransactionRequest};
use gerbang_core::Error;
use httpmock::Method::POST;
use httpmock::MockServer;
use rust_decimal::Decimal;

use crate::common::{client, doc_bearer, fixture, serve_doc_token};

const FORM: &str = "application/x-www-form-urlencoded";

/// Serves `answer` at `path` to a request with exactly `body`, the form content type and the
/// document's token.
async fn expect<'a>(server: &'a MockServer, path: &str, body: &str, answer: &str) -> httpmock::Mock<'a> {
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/api{path}"))
                .header("authorization", doc_bearer())
                .header("content-type", FORM)
                .header("accept", "application/json")
                .body(body);
            then.status(200).body(answer);
        })
        .await
}

/// The document's example transaction request.
fn document_charge() -> TransactionRequest {
    TransactionRequest::charge("ECL00001", "Jhonny", 2_000_000, PayType::Ewallet, PayCode::Gopay)
        .phone("080000022233")
        .refno("0000000001")
        .description(Description::new("Testing").text_2("Payment").text_3("Due 1"))
        .expiry(Expiry::Days(3))
        .send_email(SendSwitch::Off)
        .send_sms(SendSwitch::Off)
        .send_wa(SendSwitch::Off)
        .notification_timing(NotificationTiming::After)
}

#[tokio::test]
async fn a_charge_is_the_documents_example_form_encoded() {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    let mock =
        expect(&server, "/transaction", &fixture("request_charge.form"), &fixture("transaction_charge.json")).await;
    let result = client(&server).transaction(&document_charge()).await.unwrap();
    mock.assert_async().await;
    assert_eq!(result.order_id.as_deref(), Some("TE202100000002"));
    assert_eq!(result.virtual_account_number.as_deref(), Some("8808000011112222"));
    assert_eq!(result.cancel_date, None);
    assert!(result.extra.contains_key("payment_instruction"));
    insta::assert_json_snapshot!("transaction_charge", result);
}

#[test]
fn the_form_has_every_field_in_the_documents_order_and_blank_switches() {
    let request = TransactionRequest::charge("E 1&2", "Siti Rahma", 10_000, PayType::Va, PayCode::Bca)
        .email("siti@example.com")
        .expiry(Expiry::Date(time::macros::date!(2026 - 12 - 31)))
        .redirect_url("https://insurer.example.com/paid")
        .callback_url("https://insurer.example.com/hook")
        .back_url("https://insurer.example.com/back")
        .send_email(SendSwitch::Default)
        .send_sms(SendSwitch::On)
        .notification_timing(NotificationTiming::BeforeAfter);
    assert_eq!(
        request.to_form(),
        "action=charge&paytype=va&paycode=bca&external_id=E+1%262&name=Siti+Rahma&email=siti%40example.com\
         &amount=10000&exptype=SD&expval=2026-12-31&redirect_url=https%3A%2F%2Finsurer.example.com%2Fpaid\
         &callback_url=https%3A%2F%2Finsurer.example.com%2Fhook&back_url=https%3A%2F%2Finsurer.example.com%2Fback\
         &send_email=&send_sms=1&notification_timing=before_after"
    );
}

#[tokio::test]
async fn a_cancel_sends_the_action_and_the_external_id() {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    let mock =
        expect(&server, "/transaction", "action=cancel&external_id=ECL00001", &fixture("transaction_cancel.json"))
            .await;
    let result = client(&server).cancel_transaction("ECL00001").await.unwrap();
    mock.assert_async().await;
    assert_eq!(result.order_id.as_deref(), Some("TE202100000001"));
    assert_eq!(result.status_payment.as_deref(), Some("cancel"));
    assert_eq!(result.cancel_date.as_deref(), Some("2021-05-17 15:04:43"));
}

#[tokio::test]
async fn a_registration_sends_its_action_and_channel() {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    let body = "action=registration&paytype=va&paycode=bca&external_id=REG-0001&name=Jhone&phone=081111111111\
                &callback_url=https%3A%2F%2Finsurer.example.com%2Fhook";
    let mock = expect(&server, "/transaction", body, &fixture("transaction_charge.json")).await;
    let request = TransactionRequest::registration("REG-0001", "Jhone", PayType::Va, PayCode::Bca)
        .phone("081111111111")
        .callback_url("https://insurer.example.com/hook");
    client(&server).transaction(&request).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn transaction_status_reads_the_documents_answer() {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    let mock =
        expect(&server, "/transaction/status", "external_id=TEST00001111114", &fixture("transaction_status_paid.json"))
            .await;
    let status = client(&server).transaction_status("TEST00001111114").await.unwrap();
    mock.assert_async().await;
    assert_eq!(status.status.as_deref(), Some("paid"));
    assert_eq!(status.broker_id.as_deref(), Some("1"));
    assert_eq!(status.amount, Some(Decimal::from(300_000)));
    let description = status.description.clone().unwrap();
    assert_eq!(description.text_1.as_deref(), Some("Pembayaran Asuransi Jiwa"));
    assert_eq!(description.text_3, None);
    insta::assert_json_snapshot!("transaction_status", status);
}

#[tokio::test]
async fn registration_status_reads_the_documents_answer() {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    let mock =
        expect(&server, "/registration/status", "external_id=TEST00001111114", &fixture("registration_status.json"))
            .await;
    let registration = client(&server).registration_status("TEST00001111114").await.unwrap();
    mock.assert_async().await;
    assert_eq!(registration.status.as_deref(), Some("success"));
    assert_eq!(registration.registration_channel.as_deref(), Some("autodebet_bca"));
    // A plain-text description, unlike the transaction status's object.
    assert_eq!(registration.description.and_then(|d| d.text_1).as_deref(), Some("Clics"));
    let registration = client(&server).registration_status("TEST00001111114").await.unwrap();
    insta::assert_json_snapshot!("registration_status", registration);
}

#[tokio::test]
async fn a_paycode_of_another_paytype_is_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(fixture("token.json"));
        })
        .await;
    let client = client(&server);
    let gopay_by_va = TransactionRequest::charge("E-1", "Budi", 10_000, PayType::Va, PayCode::Gopay);
    let err = client.transaction(&gopay_by_va).await.unwrap_err();
    assert!(matches!(&err, Error::Validation { field, .. } if field == "paycode"), "{err:?}");
    let no_name = TransactionRequest::charge("E-1", " ", 10_000, PayType::Qris, PayCode::All);
    assert!(matches!(client.transaction(&no_name).await, Err(Error::Validation { field, .. }) if field == "name"));
    assert!(
        matches!(client.transaction_status(" ").await, Err(Error::Validation { field, .. }) if field == "external_id")
    );
    any.assert_calls_async(0).await;
}
