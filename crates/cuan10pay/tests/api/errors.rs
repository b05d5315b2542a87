//! Every way a call can fail, mapped to the right `Error` with the gateway's message kept.

use std::time::Duration;

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
        Case::new(
            "HTTP 401 is unauthorized with the gateway's message",
            401,
            fixture("error_401.json"),
            Expected::Error(Error::Unauthorized { message: "Invalid signature".into() }),
        ),
        Case::new(
            "HTTP 404 is not found with the gateway's message",
            404,
            fixture("error_404.json"),
            Expected::Error(Error::NotFound { message: "Deposit tidak ditemukan".into() }),
        ),
        Case::new(
            "HTTP 429 is rate limited with the Retry-After wait",
            429,
            fixture("error_429.json"),
            Expected::Error(Error::RateLimited { retry_after: Some(Duration::from_secs(120)) }),
        )
        .header("retry-after", "120"),
        Case::new(
            "HTTP 500 is a transient API error with the gateway's message",
            500,
            fixture("error_500.json"),
            Expected::Transient(api(500, "Internal server error, please try again")),
        ),
        Case::new(
            "an error page that is not JSON still maps by status",
            502,
            fixture("bad_gateway.html"),
            Expected::Error(api(502, "Bad Gateway")),
        ),
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
        Case::new(
            "malformed JSON names the call",
            200,
            fixture("malformed.json"),
            Expected::DecodeStartingWith("deposit_status answer"),
        ),
        Case::new(
            "a missing id is named",
            200,
            fixture("deposit_missing_id.json"),
            Expected::DecodeNaming("deposit_id"),
        ),
        Case::new("a missing `data` is named", 200, fixture("missing_data.json"), Expected::DecodeNaming("`data`")),
        Case::new("no value from the body is quoted", 200, quoting, Expected::DecodeQuotingNone("budi")),
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
