//! Every way an answer can say no, mapped to the right `Error`: the envelope's refusals under
//! HTTP 200 included.

use gerbang_core::Error;
use httpmock::MockServer;

use crate::common::{client, fixture, serve_doc_token};

/// The error `transaction_status` gives when the gateway answers `status` with `body`.
async fn status_error(status: u16, body: &str) -> Error {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    server
        .mock_async(|when, then| {
            when.path("/api/transaction/status");
            then.status(status).header("retry-after", "7").body(body);
        })
        .await;
    client(&server).transaction_status("TEST00001111114").await.expect_err("an error")
}

#[tokio::test]
async fn a_code_other_than_00_under_http_200_is_an_api_error_with_code_and_message() {
    let err = status_error(200, &fixture("error_under_200.json")).await;
    assert_eq!(err, Error::Api { status: Some(200), code: Some("05".into()), message: "Transaction not found".into() });
}

#[tokio::test]
async fn status_false_under_http_200_is_an_api_error_even_with_code_00() {
    let err = status_error(200, &fixture("status_false_under_200.json")).await;
    assert_eq!(err, Error::Api { status: Some(200), code: Some("00".into()), message: "Paycode is not active".into() });
}

#[tokio::test]
async fn http_errors_map_by_status_and_keep_the_gateways_message() {
    let err = status_error(500, &fixture("error_500.json")).await;
    assert_eq!(
        err,
        Error::Api { status: Some(500), code: Some("500".into()), message: "Internal server error".into() }
    );
    assert!(err.is_transient());

    let err = status_error(404, r#"{"code":"404","status":false,"message":"Not found"}"#).await;
    assert_eq!(err, Error::NotFound { message: "Not found".into() });

    let err = status_error(429, r#"{"code":"429","status":false,"message":"Too many"}"#).await;
    assert_eq!(err, Error::RateLimited { retry_after: Some(std::time::Duration::from_secs(7)) });

    let err = status_error(502, &fixture("bad_gateway.html")).await;
    assert_eq!(err, Error::Api { status: Some(502), code: None, message: "Bad Gateway".into() });
}

#[tokio::test]
async fn broken_answers_are_decode_errors_naming_the_call() {
    for body in [fixture("malformed.json"), fixture("missing_data.json"), "[]".to_owned(), "{}".to_owned()] {
        let err = status_error(200, &body).await;
        assert!(
            matches!(&err, Error::Decode { context } if context.starts_with("transaction_status answer")),
            "{body}: {err:?}"
        );
    }
    let err = status_error(200, r#"{"code":"00","status":true,"data":{"amount":"lots"},"message":"Success"}"#).await;
    assert!(matches!(&err, Error::Decode { context } if !context.contains("lots")), "{err:?}");
}
