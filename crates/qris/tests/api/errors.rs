//! Every way a call can fail, mapped to the right `Error` with the gateway's message kept
//! verbatim (`error_for`'s decision).

use std::time::Duration;

use gerbang_core::Error;
use httpmock::MockServer;

use crate::common::{client, fixture};

/// The error `invoice_status` gives when the gateway answers `status` with `body`.
async fn status_error(status: u16, body: String, headers: &[(&str, &str)]) -> Error {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/invoice/status");
            let mut then = then.status(status).body(body);
            for (name, value) in headers {
                then = then.header(*name, *value);
            }
        })
        .await;
    client(&server).invoice_status("64c8d9e").await.expect_err("the call should fail")
}

#[tokio::test]
async fn http_400_with_an_error_body_is_an_api_error_with_the_message_verbatim() {
    let err = status_error(400, fixture("error_400.json"), &[]).await;
    assert_eq!(err, Error::Api { status: Some(400), code: None, message: "Parameter amount wajib diisi".into() });
}

#[tokio::test]
async fn the_documents_cancel_refusal_keeps_its_indonesian_message_under_any_status() {
    for status in [200, 400, 409, 422] {
        let err = status_error(status, fixture("invoice_cancel_paid.json"), &[]).await;
        assert_eq!(
            err,
            Error::Api {
                status: Some(status),
                code: None,
                message: "Invoice tidak bisa dibatalkan, status saat ini: paid".into()
            }
        );
    }
}

#[tokio::test]
async fn http_401_is_unauthorized_with_the_message_verbatim() {
    let err = status_error(401, fixture("error_401.json"), &[]).await;
    assert_eq!(err, Error::Unauthorized { message: "API key tidak valid".into() });
}

#[tokio::test]
async fn http_404_is_not_found_with_the_message_verbatim() {
    let err = status_error(404, fixture("error_404.json"), &[]).await;
    assert_eq!(err, Error::NotFound { message: "Invoice tidak ditemukan".into() });
}

#[tokio::test]
async fn http_429_is_rate_limited_with_the_retry_after_wait() {
    let err = status_error(429, r#"{"error":"Terlalu banyak permintaan"}"#.into(), &[("retry-after", "30")]).await;
    assert_eq!(err, Error::RateLimited { retry_after: Some(Duration::from_secs(30)) });
}

#[tokio::test]
async fn http_500_is_a_transient_api_error_with_the_message_verbatim() {
    let err = status_error(500, fixture("error_500.json"), &[]).await;
    assert_eq!(err, Error::Api { status: Some(500), code: None, message: "Terjadi kesalahan pada server".into() });
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_error_page_that_is_not_json_still_maps_by_status() {
    let err = status_error(502, fixture("bad_gateway.html"), &[]).await;
    assert_eq!(err, Error::Api { status: Some(502), code: None, message: "Bad Gateway".into() });
}

#[tokio::test]
async fn success_false_under_200_is_an_api_error() {
    let err = status_error(200, fixture("success_false.json"), &[]).await;
    assert_eq!(err, Error::Api { status: Some(200), code: None, message: "Saldo tidak mencukupi".into() });
}

#[tokio::test]
async fn malformed_json_is_a_decode_error() {
    let err = status_error(200, fixture("malformed.json"), &[]).await;
    assert!(matches!(&err, Error::Decode { context } if context.starts_with("invoice_status answer")), "{err:?}");
}

#[tokio::test]
async fn a_missing_field_is_a_decode_error_naming_it() {
    let err = status_error(200, fixture("invoice_missing_id.json"), &[]).await;
    assert!(matches!(&err, Error::Decode { context } if context.contains("invoice_id")), "{err:?}");
}

#[tokio::test]
async fn decode_errors_never_quote_values_from_the_body() {
    let body = r#"{"invoice_id":"64c8d9e","amount":"budi@example.com","status":"pending"}"#;
    let err = status_error(200, body.to_owned(), &[]).await;
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(!err.to_string().contains("budi"), "{err}");
}

#[tokio::test]
async fn a_fraction_of_a_rupiah_is_a_decode_error() {
    let body = r#"{"invoice_id":"64c8d9e","amount":10000.5,"status":"pending"}"#;
    let err = status_error(200, body.to_owned(), &[]).await;
    assert!(matches!(&err, Error::Decode { context } if context.contains("whole number of rupiah")), "{err:?}");
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = crate::common::builder(&format!("http://127.0.0.1:{port}/gw")).build().unwrap();
    let err = gerbang_qris::QrisClient::new(config).balance().await.expect_err("nothing listens");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}
