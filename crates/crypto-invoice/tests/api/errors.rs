//! Every way a call can fail, mapped to the right `Error` with all of the gateway's messages.

use gerbang_core::{Error, ProviderId};
use gerbang_crypto_invoice::Invoice;
use gerbang_testkit::{Case, Endpoint, Expected, check_closed_port_is_a_transport_error};

use crate::common::{client_at, fixture};

/// The look-up call, answered by a mock gateway under `/api/v1`.
fn lookup_endpoint() -> Endpoint {
    Endpoint::new(ProviderId::CryptoInvoice, "/api/v1", "/api/v1/get_invoices")
}

async fn get_invoices(base_url: String) -> Result<Vec<Invoice>, Error> {
    client_at(&base_url).get_invoices("11").await
}

#[tokio::test]
async fn http_errors_map_by_status_and_keep_the_gateways_message() {
    let api = |status, message: &str| Error::Api { status: Some(status), code: None, message: message.into() };
    let cases = [
        Case::new(
            "HTTP 422 is a validation error with every message",
            422,
            fixture("error_422.json"),
            Expected::Error(Error::Validation {
                field: "price_amount, expiration_date".into(),
                reason: "The price amount field is required.; The expiration date must be between 1 and 12.".into(),
            }),
        ),
        Case::new(
            "HTTP 422 without a body still is a validation error",
            422,
            "",
            Expected::Matching {
                what: "a validation error of the field `request`",
                accepts: |e| matches!(e, Error::Validation { field, .. } if field == "request"),
            },
        ),
        Case::unauthorized(fixture("error_401.json"), "Invalid public key or private key."),
        Case::new(
            "an error list under HTTP 200 is an API error keeping every message",
            200,
            fixture("error_list_under_200.json"),
            Expected::Error(api(200, "Insufficient balance for test invoices.; Contact support.")),
        ),
        Case::new(
            "an error message that is one string is kept too",
            500,
            fixture("error_string_500.json"),
            Expected::Transient(api(500, "Service temporarily unavailable")),
        ),
        Case::error_page_not_json(fixture("bad_gateway.html")),
    ];
    lookup_endpoint().check(&cases, get_invoices).await;
}

#[tokio::test]
async fn broken_answers_are_decode_errors_naming_what_is_wrong() {
    // The invoices come as a JSON string holding an array (`PROVIDERS.md` §4): a broken string,
    // or one holding no array, is a decode error, not a panic.
    let inner = Expected::DecodeNaming("array of invoices inside the string");
    let quoting = r#"{"status":"success","message":"[{\"id\":1,\"price_amount\":\"budi@example.com\"}]"}"#;
    let cases = [
        Case::malformed_json(fixture("malformed.json"), "get_invoices answer"),
        Case::new(
            "a malformed string inside the answer",
            200,
            fixture("get_invoices_malformed_inner.json"),
            inner.clone(),
        ),
        Case::new("a string holding no array", 200, fixture("get_invoices_inner_not_array.json"), inner),
        Case::new(
            "a message that is no string",
            200,
            r#"{"status":"success","message":17}"#,
            Expected::Matching { what: "a decode error", accepts: |e| matches!(e, Error::Decode { .. }) },
        ),
        Case::quoting_no_value(quoting, "budi"),
    ];
    lookup_endpoint().check(&cases, get_invoices).await;
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    check_closed_port_is_a_transport_error(ProviderId::CryptoInvoice, "/api/v1", get_invoices).await;
}
