//! Every way a call can fail, mapped to the right `Error` with the gateway's message kept.

use std::time::Duration;

use gerbang_core::Error;
use gerbang_cuan10pay::DepositRequest;
use httpmock::MockServer;

use crate::common::{client, fixture};

/// The error `deposit_status` gives when the gateway answers `status` with `body`.
async fn status_error(status: u16, body: String, headers: &[(&str, &str)]) -> Error {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_status");
            let mut then = then.status(status).body(body);
            for (name, value) in headers {
                then = then.header(*name, *value);
            }
        })
        .await;
    client(&server).deposit_status("CP-1").await.expect_err("the call should fail")
}

#[tokio::test]
async fn http_400_is_an_api_error_with_the_gateways_message() {
    let err = status_error(400, fixture("error_400.json"), &[]).await;
    assert_eq!(err, Error::Api { status: Some(400), code: None, message: "The amount field is required.".into() });
}

#[tokio::test]
async fn http_401_is_unauthorized_with_the_gateways_message() {
    let err = status_error(401, fixture("error_401.json"), &[]).await;
    assert_eq!(err, Error::Unauthorized { message: "Invalid signature".into() });
}

#[tokio::test]
async fn http_404_is_not_found_with_the_gateways_message() {
    let err = status_error(404, fixture("error_404.json"), &[]).await;
    assert_eq!(err, Error::NotFound { message: "Deposit tidak ditemukan".into() });
}

#[tokio::test]
async fn http_429_is_rate_limited_with_the_retry_after_wait() {
    let err = status_error(429, fixture("error_429.json"), &[("retry-after", "120")]).await;
    assert_eq!(err, Error::RateLimited { retry_after: Some(Duration::from_secs(120)) });
}

#[tokio::test]
async fn http_500_is_an_api_error_with_the_gateways_message() {
    let err = status_error(500, fixture("error_500.json"), &[]).await;
    assert_eq!(
        err,
        Error::Api { status: Some(500), code: None, message: "Internal server error, please try again".into() }
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_error_page_that_is_not_json_still_maps_by_status() {
    let err = status_error(502, fixture("bad_gateway.html"), &[]).await;
    assert_eq!(err, Error::Api { status: Some(502), code: None, message: "Bad Gateway".into() });
}

#[tokio::test]
async fn status_error_under_http_200_is_an_api_error() {
    let err = status_error(200, fixture("error_under_200.json"), &[]).await;
    assert_eq!(err, Error::Api { status: Some(200), code: None, message: "Saldo merchant tidak mencukupi".into() });
}

#[tokio::test]
async fn malformed_json_is_a_decode_error() {
    let err = status_error(200, fixture("malformed.json"), &[]).await;
    assert!(matches!(&err, Error::Decode { context } if context.starts_with("deposit_status answer")), "{err:?}");
}

#[tokio::test]
async fn a_missing_field_is_a_decode_error_naming_it() {
    let err = status_error(200, fixture("deposit_missing_id.json"), &[]).await;
    assert!(matches!(&err, Error::Decode { context } if context.contains("deposit_id")), "{err:?}");
    let err = status_error(200, fixture("missing_data.json"), &[]).await;
    assert!(matches!(&err, Error::Decode { context } if context.contains("`data`")), "{err:?}");
}

#[tokio::test]
async fn decode_errors_never_quote_values_from_the_body() {
    let body = r#"{"status":"success","data":{"deposit_id":"CP-1","status":"pending","amount":"budi@example.com"}}"#;
    let err = status_error(200, body.to_owned(), &[]).await;
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(!err.to_string().contains("budi"), "{err}");
}

#[tokio::test]
async fn amounts_outside_the_documented_range_are_refused_before_sending() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(fixture("deposit_create.json"));
        })
        .await;
    let client = client(&server);
    for amount in [9_999, 10_000_001, 0, -10_000] {
        let err = client.deposit_create(&DepositRequest::new("QRIS", amount)).await.expect_err("refused");
        match err {
            Error::Validation { field, reason } => {
                assert_eq!(field, "amount");
                assert!(reason.contains("10000 to 10000000 IDR"), "{reason}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
    assert_eq!(mock.calls_async().await, 0);
    // The limits themselves are accepted.
    client.deposit_create(&DepositRequest::new("QRIS", 10_000)).await.unwrap();
    client.deposit_create(&DepositRequest::new("QRIS", 10_000_000)).await.unwrap();
    assert_eq!(mock.calls_async().await, 2);
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = crate::common::builder(&format!("http://127.0.0.1:{port}/api")).build().unwrap();
    let err =
        gerbang_cuan10pay::Cuan10payClient::new(config).deposit_status("CP-1").await.expect_err("nothing listens");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}
