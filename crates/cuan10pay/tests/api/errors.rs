//! Every way a call can fail, mapped to the right `Error` with the gateway's message kept.

use gerbang_core::{Error, ProviderId};
use gerbang_cuan10pay::{Deposit, DepositRequest};
use gerbang_testkit::{Case, Endpoint, Expected, check_closed_port_is_a_transport_error};
use httpmock::MockServer;

use crate::common::{client, client_at, fixture};

/// The call every table is tried on: `deposit_status`, answered by a mock gateway under `/api`.
fn deposit_status_endpoint() -> Endpoint {
    Endpoint::new(ProviderId::Cuan10pay, "/api", "/api/v1/deposit_status")
}

async fn deposit_status(base_url: String) -> Result<Deposit, Error> {
    client_at(&base_url).deposit_status("CP-1").await
}

#[tokio::test]
async fn http_errors_map_by_status_and_keep_the_gateways_message() {
    let api = |status, message: &str| Error::Api { status: Some(status), code: None, message: message.into() };
    let cases = [
        Case::new(
            "HTTP 400 is an API error with the gateway's message",
            400,
            fixture("error_400.json"),
            Expected::Error(api(400, "The amount field is required.")),
        ),
        Case::unauthorized(fixture("error_401.json"), "Invalid signature"),
        Case::not_found(fixture("error_404.json"), "Deposit tidak ditemukan"),
        Case::rate_limited(fixture("error_429.json"), 120),
        Case::new(
            "HTTP 500 is a transient API error with the gateway's message",
            500,
            fixture("error_500.json"),
            Expected::Transient(api(500, "Internal server error, please try again")),
        ),
        Case::error_page_not_json(fixture("bad_gateway.html")),
        Case::new(
            "a status error under HTTP 200 is an API error",
            200,
            fixture("error_under_200.json"),
            Expected::Error(api(200, "Saldo merchant tidak mencukupi")),
        ),
    ];
    deposit_status_endpoint().check(&cases, deposit_status).await;
}

#[tokio::test]
async fn broken_answers_are_decode_errors_naming_what_is_wrong() {
    let quoting = r#"{"status":"success","data":{"deposit_id":"CP-1","status":"pending","amount":"budi@example.com"}}"#;
    let cases = [
        Case::malformed_json(fixture("malformed.json"), "deposit_status answer"),
        Case::new(
            "a missing id is named",
            200,
            fixture("deposit_missing_id.json"),
            Expected::DecodeNaming("deposit_id"),
        ),
        Case::new("a missing `data` is named", 200, fixture("missing_data.json"), Expected::DecodeNaming("`data`")),
        Case::quoting_no_value(quoting, "budi"),
    ];
    deposit_status_endpoint().check(&cases, deposit_status).await;
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    check_closed_port_is_a_transport_error(ProviderId::Cuan10pay, "/api", deposit_status).await;
}

/// The document's deposit range, "min 10,000, max 10,000,000" (`seeds/000_b443c682d4d25840.txt`),
/// is checked before anything is sent.
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
