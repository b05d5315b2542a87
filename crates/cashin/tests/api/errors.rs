//! Every way a call can fail, mapped to the right `Error` with the gateway's message kept.

use gerbang_cashin::{CheckoutCustomer, CheckoutRequest, CheckoutStatus};
use gerbang_core::{Error, PaymentProvider, ProviderId};
use gerbang_testkit::{Case, Endpoint, Expected, check_closed_port_is_a_transport_error};

use crate::common::{client_at, fixture};

/// The status call, answered by a mock gateway under `/pg/fo`.
fn status_endpoint() -> Endpoint {
    Endpoint::new(ProviderId::CashIn, "/pg/fo", "/pg/fo/payment/status")
}

async fn checkout_status(base_url: String) -> Result<CheckoutStatus, Error> {
    client_at(&base_url).checkout_status("TRX001").await
}

#[tokio::test]
async fn http_errors_map_by_status_and_keep_the_gateways_message() {
    let api = |status, message: &str| Error::Api { status: Some(status), code: None, message: message.into() };
    let snap_400 = r#"{"responseCode":"4007301","responseMessage":"Invalid Field Format"}"#;
    let cases = [
        Case::new(
            "HTTP 400 is an API error with the gateway's message",
            400,
            fixture("error_400.json"),
            Expected::Error(api(400, "Invalid field format: customer.phoneNumber")),
        ),
        Case::unauthorized(fixture("error_401.json"), "Invalid signature"),
        // The notification side of the document speaks SNAP, `responseCode` and
        // `responseMessage` (`seeds/001_3ab17dd2bbbc66f1.txt`): a refusal in that shape is read too.
        Case::new(
            "a SNAP-shaped refusal keeps its message too",
            401,
            fixture("error_snap_401.json"),
            Expected::Error(Error::Unauthorized { message: "Unauthorized. [Signature]".into() }),
        ),
        Case::new(
            "a SNAP error code is kept",
            400,
            snap_400,
            Expected::Error(Error::Api {
                status: Some(400),
                code: Some("4007301".into()),
                message: "Invalid Field Format".into(),
            }),
        ),
        Case::not_found(fixture("error_404.json"), "Transaction not found"),
        Case::new(
            "HTTP 500 is a transient API error",
            500,
            fixture("error_500.json"),
            Expected::Transient(api(500, "Internal server error")),
        ),
        Case::error_page_not_json(fixture("bad_gateway.html")),
        Case::new(
            "a refusal under HTTP 200 is an API error",
            200,
            fixture("error_under_200.json"),
            Expected::Error(api(200, "Transaction not found")),
        ),
        Case::new(
            "a message without data is taken as the gateway's refusal",
            200,
            r#"{"message":"Successful"}"#,
            Expected::Matching {
                what: "an API error under HTTP 200",
                accepts: |e| matches!(e, Error::Api { status: Some(200), .. }),
            },
        ),
    ];
    status_endpoint().check(&cases, checkout_status).await;
}

#[tokio::test]
async fn broken_answers_are_decode_errors_naming_what_is_wrong() {
    let quoting = r#"{"message":"Successful","data":{"trxNo":"T","status":"OPEN","amount":"budi@example.com"}}"#;
    let cases = [
        Case::malformed_json(fixture("malformed.json"), "payment/status answer"),
        Case::new(
            "a missing status is named",
            200,
            fixture("status_missing_status.json"),
            Expected::Error(Error::decode("payment/status answer: missing field `status`")),
        ),
        Case::new(
            "a missing `data` is named",
            200,
            "{}",
            Expected::Error(Error::decode("payment/status answer: missing field `data`")),
        ),
        Case::quoting_no_value(quoting, "budi"),
    ];
    status_endpoint().check(&cases, checkout_status).await;
}

#[tokio::test]
async fn a_fraction_of_a_rupiah_is_a_decode_error_through_the_provider() {
    let fraction = Case::new(
        "a fraction of a rupiah names `amount`",
        200,
        fixture("status_fraction.json"),
        Expected::DecodeNaming("`amount`"),
    );
    status_endpoint().check(&[fraction], |base| async move { client_at(&base).payment_status("TRX001").await }).await;
}

/// The document's own checkout answer (`seeds/001_3ab17dd2bbbc66f1.txt`) is not JSON: its
/// `paymentUrl` is unquoted. Read as it stands, it must be a decode error, not a checkout.
#[tokio::test]
async fn the_documents_checkout_example_is_a_decode_error() {
    let example = Case::new(
        "the document's checkout example is not valid JSON",
        200,
        fixture("checkout_seed_example.txt"),
        Expected::DecodeNaming("not valid JSON"),
    );
    let request = CheckoutRequest::new(
        "T",
        1000,
        30,
        "https://a.example/ok",
        "https://a.example/no",
        CheckoutCustomer::new("C", "0812"),
    );
    let create = |base: String| {
        let request = &request;
        async move { client_at(&base).create_checkout(request).await }
    };
    Endpoint::new(ProviderId::CashIn, "/pg/fo", "/pg/fo/payment").check(&[example], create).await;
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    check_closed_port_is_a_transport_error(ProviderId::CashIn, "/pg/fo", |base| async move {
        client_at(&base).checkout_status("T").await
    })
    .await;
}
