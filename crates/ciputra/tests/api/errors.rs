//! Every way an answer can say no, mapped to the right `Error`: the envelope's refusals under
//! HTTP 200 included.

use std::time::Duration;

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

/// A row whose answer, like every answer here, carries `Retry-After: 7`.
fn case(name: &'static str, status: u16, body: impl Into<String>, expected: Expected) -> Case {
    Case::new(name, status, body, expected).header("retry-after", "7")
}

#[tokio::test]
async fn http_errors_map_by_status_and_keep_the_gateways_message() {
    let api = |status, code: Option<&str>, message: &str| Error::Api {
        status: Some(status),
        code: code.map(Into::into),
        message: message.into(),
    };
    let cases = [
        // Every answer comes in the envelope `{"code":"00","status":true,…}`
        // (`seeds/004_627801bf8e050898.txt`): anything else, under HTTP 200 too, is a refusal.
        case(
            "a code other than 00 under HTTP 200 is an API error with code and message",
            200,
            fixture("error_under_200.json"),
            Expected::Error(api(200, Some("05"), "Transaction not found")),
        ),
        case(
            "status false under HTTP 200 is an API error even with code 00",
            200,
            fixture("status_false_under_200.json"),
            Expected::Error(api(200, Some("00"), "Paycode is not active")),
        ),
        case(
            "HTTP 500 is a transient API error with the gateway's code",
            500,
            fixture("error_500.json"),
            Expected::Transient(api(500, Some("500"), "Internal server error")),
        ),
        case(
            "HTTP 404 is not found with the gateway's message",
            404,
            r#"{"code":"404","status":false,"message":"Not found"}"#,
            Expected::Error(Error::NotFound { message: "Not found".into() }),
        ),
        case(
            "HTTP 429 is rate limited with the Retry-After wait",
            429,
            r#"{"code":"429","status":false,"message":"Too many"}"#,
            Expected::Error(Error::RateLimited { retry_after: Some(Duration::from_secs(7)) }),
        ),
        case(
            "an error page that is not JSON still maps by status",
            502,
            fixture("bad_gateway.html"),
            Expected::Error(api(502, None, "Bad Gateway")),
        ),
    ];
    status_endpoint().check(&cases, transaction_status).await;
}

#[tokio::test]
async fn broken_answers_are_decode_errors_naming_the_call() {
    let naming_the_call = Expected::DecodeStartingWith("transaction_status answer");
    let cases = [
        case("malformed JSON", 200, fixture("malformed.json"), naming_the_call.clone()),
        case("an envelope without data", 200, fixture("missing_data.json"), naming_the_call.clone()),
        case("an array", 200, "[]", naming_the_call.clone()),
        case("an empty object", 200, "{}", naming_the_call),
        case(
            "no value from the body is quoted",
            200,
            r#"{"code":"00","status":true,"data":{"amount":"lots"},"message":"Success"}"#,
            Expected::DecodeQuotingNone("lots"),
        ),
    ];
    status_endpoint().check(&cases, transaction_status).await;
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    check_closed_port_is_a_transport_error(ProviderId::Ciputra, "/api", transaction_status).await;
}
