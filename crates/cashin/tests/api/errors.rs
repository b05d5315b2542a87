//! Every way a call can fail, mapped to the right `Error` with the gateway's message kept.

use gerbang_core::Error;
use httpmock::MockServer;

use crate::common::{client, fixture};

/// The error `checkout_status` gives when the gateway answers `status` with `body`.
async fn status_error(status: u16, body: String) -> Error {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/pg/fo/payment/status");
            then.status(status).body(body);
        })
        .await;
    client(&server).checkout_status("TRX001").await.expect_err("the call should fail")
}

#[tokio::test]
async fn http_400_is_an_api_error_with_the_gateways_message() {
    let err = status_error(400, fixture("error_400.json")).await;
    assert_eq!(
        err,
        Error::Api { status: Some(400), code: None, message: "Invalid field format: customer.phoneNumber".into() }
    );
}

#[tokio::test]
async fn http_401_is_unauthorized_with_the_gateways_message() {
    assert_eq!(
        status_error(401, fixture("error_401.json")).await,
        Error::Unauthorized { message: "Invalid signature".into() }
    );
    // A SNAP-shaped refusal keeps its message too.
    assert_eq!(
        status_error(401, fixture("error_snap_401.json")).await,
        Error::Unauthorized { message: "Unauthorized. [Signature]".into() }
    );
}

#[tokio::test]
async fn a_snap_error_code_is_kept() {
    let err = status_error(400, r#"{"responseCode":"4007301","responseMessage":"Invalid Field Format"}"#.into()).await;
    assert_eq!(
        err,
        Error::Api { status: Some(400), code: Some("4007301".into()), message: "Invalid Field Format".into() }
    );
}

#[tokio::test]
async fn http_404_is_not_found_with_the_gateways_message() {
    assert_eq!(
        status_error(404, fixture("error_404.json")).await,
        Error::NotFound { message: "Transaction not found".into() }
    );
}

#[tokio::test]
async fn http_500_is_a_transient_api_error() {
    let err = status_error(500, fixture("error_500.json")).await;
    assert_eq!(err, Error::Api { status: Some(500), code: None, message: "Internal server error".into() });
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_error_page_that_is_not_json_still_maps_by_status() {
    let err = status_error(502, fixture("bad_gateway.html")).await;
    assert_eq!(err, Error::Api { status: Some(502), code: None, message: "Bad Gateway".into() });
}

#[tokio::test]
async fn a_refusal_under_http_200_is_an_api_error() {
    let err = status_error(200, fixture("error_under_200.json")).await;
    assert_eq!(err, Error::Api { status: Some(200), code: None, message: "Transaction not found".into() });
}

#[tokio::test]
async fn malformed_json_is_a_decode_error() {
    let err = status_error(200, fixture("malformed.json")).await;
    assert!(matches!(&err, Error::Decode { context } if context.starts_with("payment/status answer")), "{err:?}");
    // The document's own checkout example is not JSON (an unquoted URL).
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/pg/fo/payment");
            then.status(200).body(fixture("checkout_seed_example.txt"));
        })
        .await;
    let request = gerbang_cashin::CheckoutRequest::new(
        "T",
        1000,
        30,
        "https://a.example/ok",
        "https://a.example/no",
        gerbang_cashin::CheckoutCustomer::new("C", "0812"),
    );
    let err = client(&server).create_checkout(&request).await.unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("not valid JSON")), "{err:?}");
}

#[tokio::test]
async fn a_missing_field_is_a_decode_error_naming_it() {
    let err = status_error(200, fixture("status_missing_status.json")).await;
    assert_eq!(err, Error::decode("payment/status answer: missing field `status`"));
    let err = status_error(200, r#"{"message":"Successful"}"#.into()).await;
    // A message without data is taken as the gateway's refusal.
    assert!(matches!(err, Error::Api { status: Some(200), .. }), "{err:?}");
    let err = status_error(200, "{}".into()).await;
    assert_eq!(err, Error::decode("payment/status answer: missing field `data`"));
}

#[tokio::test]
async fn a_fraction_of_a_rupiah_is_a_decode_error_through_the_provider() {
    use gerbang_core::PaymentProvider;
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/pg/fo/payment/status");
            then.status(200).body(fixture("status_fraction.json"));
        })
        .await;
    let err = client(&server).payment_status("TRX001").await.unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("`amount`")), "{err:?}");
}

#[tokio::test]
async fn decode_errors_never_quote_values_from_the_body() {
    let body = r#"{"message":"Successful","data":{"trxNo":"T","status":"OPEN","amount":"budi@example.com"}}"#;
    let err = status_error(200, body.to_owned()).await;
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(!err.to_string().contains("budi"), "{err}");
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = crate::common::builder(&format!("http://127.0.0.1:{port}/pg/fo")).build().unwrap();
    let err = gerbang_cashin::CashinClient::new(config).checkout_status("T").await.expect_err("nothing listens");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}
