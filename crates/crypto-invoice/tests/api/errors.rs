//! Every way a call can fail, mapped to the right `Error` with all of the gateway's messages.

use gerbang_core::Error;
use httpmock::MockServer;

use crate::common::{client, fixture};

/// The error `get_invoices` gives when the gateway answers `status` with `body`.
async fn lookup_error(status: u16, body: String) -> Error {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/v1/get_invoices");
            then.status(status).body(body);
        })
        .await;
    client(&server).get_invoices("11").await.expect_err("the call should fail")
}

#[tokio::test]
async fn http_422_is_a_validation_error_with_every_message() {
    let err = lookup_error(422, fixture("error_422.json")).await;
    assert_eq!(
        err,
        Error::Validation {
            field: "price_amount, expiration_date".into(),
            reason: "The price amount field is required.; The expiration date must be between 1 and 12.".into(),
        }
    );
}

#[tokio::test]
async fn http_422_without_a_body_still_is_a_validation_error() {
    let err = lookup_error(422, String::new()).await;
    assert!(matches!(&err, Error::Validation { field, .. } if field == "request"), "{err:?}");
}

#[tokio::test]
async fn http_401_is_unauthorized_with_the_gateways_message() {
    let err = lookup_error(401, fixture("error_401.json")).await;
    assert_eq!(err, Error::Unauthorized { message: "Invalid public key or private key.".into() });
}

#[tokio::test]
async fn an_error_list_under_http_200_is_an_api_error_keeping_every_message() {
    let err = lookup_error(200, fixture("error_list_under_200.json")).await;
    assert_eq!(
        err,
        Error::Api {
            status: Some(200),
            code: None,
            message: "Insufficient balance for test invoices.; Contact support.".into()
        }
    );
}

#[tokio::test]
async fn an_error_message_that_is_one_string_is_kept_too() {
    let err = lookup_error(500, fixture("error_string_500.json")).await;
    assert_eq!(err, Error::Api { status: Some(500), code: None, message: "Service temporarily unavailable".into() });
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_error_page_that_is_not_json_still_maps_by_status() {
    let err = lookup_error(502, fixture("bad_gateway.html")).await;
    assert_eq!(err, Error::Api { status: Some(502), code: None, message: "Bad Gateway".into() });
}

#[tokio::test]
async fn malformed_json_is_a_decode_error() {
    let err = lookup_error(200, fixture("malformed.json")).await;
    assert!(matches!(&err, Error::Decode { context } if context.starts_with("get_invoices answer")), "{err:?}");
}

#[tokio::test]
async fn a_malformed_string_inside_the_answer_is_a_decode_error_not_a_panic() {
    for name in ["get_invoices_malformed_inner.json", "get_invoices_inner_not_array.json"] {
        let err = lookup_error(200, fixture(name)).await;
        assert!(
            matches!(&err, Error::Decode { context } if context.contains("array of invoices inside the string")),
            "{name}: {err:?}"
        );
    }
    let err = lookup_error(200, r#"{"status":"success","message":17}"#.to_owned()).await;
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn decode_errors_never_quote_values_from_the_body() {
    let body = r#"{"status":"success","message":"[{\"id\":1,\"price_amount\":\"budi@example.com\"}]"}"#;
    let err = lookup_error(200, body.to_owned()).await;
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(!err.to_string().contains("budi"), "{err}");
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = crate::common::builder(&format!("http://127.0.0.1:{port}/api/v1")).build().unwrap();
    let err = gerbang_crypto_invoice::CryptoInvoiceClient::new(config).get_invoices("11").await.expect_err("closed");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}
