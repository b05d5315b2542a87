//! Every way an answer can say no, mapped to the right `Error`: the envelope's refusals under
//! HTTP 200 included.

use gerbang_ciputra::TransactionStatus;
use gerbang_core::{Error, ProviderId};
use gerbang_testkit::{Answer, Case, Endpoint, Expected, check_closed_port_is_a_transport_error};

use crate::common::{client_at, fixture};

/// The status call, answered by a mock gateway under `/api` that hands out the document's token
/// first.
fn status_endpoint() -> Endpoint {
    let token = Answer::new(200, fixture("token.json")).header("content-type", "application/json");
    Endpoint::new(ProviderId::Ciputra, "/api", "/api/transaction/status").also_answering("/api/auth/token", token)
}

async fn transaction_status(base_url: String) -> Result<TransactionStatus, Error> {
    client_at(&base_url).transaction_status("TEST00001111114").await
}

/// `cases`, every answer carrying `Retry-After: 7`, as every answer of these tests always has.
fn with_retry_after<const N: usize>(cases: [Case; N]) -> [Case; N] {
    cases.map(|case| case.header("retry-after", "7"))
}

#[tokio::test]
async fn http_errors_map_by_status_and_keep_the_gateways_message() {
    let api = |status, code: Option<&str>, message: &str| Error::Api {
        status: Some(status),
        code: code.map(Into::into),
        message: message.into(),
    };
    let cases = with_retry_after([
        // Every answer comes in the envelope `{"code":"00","status":true,…}`
        // (`seeds/004_627801bf8e050898.txt`): anything else, under HTTP 200 too, is a refusal.
        Case::new(
            "a code other than 00 under HTTP 200 is an API error with code and message",
            200,
            fixture("error_under_200.json"),
            Expected::Error(api(200, Some("05"), "Transaction not found")),
        ),
        Case::new(
            "status false under HTTP 200 is an API error even with code 00",
            200,
            fixture("status_false_under_200.json"),
            Expected::Error(api(200, Some("00"), "Paycode is not active")),
        ),
        Case::new(
            "HTTP 500 is a transient API error with the gateway's code",
            500,
            fixture("error_500.json"),
            Expected::Transient(api(500, Some("500"), "Internal server error")),
        ),
        Case::not_found(r#"{"code":"404","status":false,"message":"Not found"}"#, "Not found"),
        Case::rate_limited(r#"{"code":"429","status":false,"message":"Too many"}"#, 7),
        Case::error_page_not_json(fixture("bad_gateway.html")),
    ]);
    status_endpoint().check(&cases, transaction_status).await;
}

#[tokio::test]
async fn broken_answers_are_decode_errors_naming_the_call() {
    let naming_the_call = || Expected::DecodeStartingWith("transaction_status answer");
    let cases = with_retry_after([
        Case::malformed_json(fixture("malformed.json"), "transaction_status answer"),
        Case::new("an envelope without data", 200, fixture("missing_data.json"), naming_the_call()),
        Case::new("an array", 200, "[]", naming_the_call()),
        Case::new("an empty object", 200, "{}", naming_the_call()),
        Case::quoting_no_value(r#"{"code":"00","status":true,"data":{"amount":"lots"},"message":"Success"}"#, "lots"),
    ]);
    status_endpoint().check(&cases, transaction_status).await;
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    check_closed_port_is_a_transport_error(ProviderId::Ciputra, "/api", transaction_status).await;
}
