//! Every way a call can fail, mapped to the right `Error` with the gateway's message kept
//! verbatim (`error_for`'s decision).

use gerbang_core::{Error, ProviderId};
use gerbang_qris::Invoice;
use gerbang_testkit::{Case, Endpoint, Expected, check_closed_port_is_a_transport_error};

use crate::common::{client_at, fixture};

/// The status call, answered by a mock gateway under `/gw`.
fn status_endpoint() -> Endpoint {
    Endpoint::new(ProviderId::Qris, "/gw", "/gw/api/v1/invoice/status")
}

async fn invoice_status(base_url: String) -> Result<Invoice, Error> {
    client_at(&base_url).invoice_status("64c8d9e").await
}

fn api(status: u16, message: &str) -> Error {
    Error::Api { status: Some(status), code: None, message: message.into() }
}

#[tokio::test]
async fn http_errors_map_by_status_and_keep_the_gateways_message() {
    let cases = [
        Case::new(
            "HTTP 400 with an error body is an API error with the message verbatim",
            400,
            fixture("error_400.json"),
            Expected::Error(api(400, "Parameter amount wajib diisi")),
        ),
        Case::unauthorized(fixture("error_401.json"), "API key tidak valid"),
        Case::not_found(fixture("error_404.json"), "Invoice tidak ditemukan"),
        Case::rate_limited(r#"{"error":"Terlalu banyak permintaan"}"#, 30),
        Case::new(
            "HTTP 500 is a transient API error with the message verbatim",
            500,
            fixture("error_500.json"),
            Expected::Transient(api(500, "Terjadi kesalahan pada server")),
        ),
        Case::error_page_not_json(fixture("bad_gateway.html")),
        Case::new(
            "success false under HTTP 200 is an API error",
            200,
            fixture("success_false.json"),
            Expected::Error(api(200, "Saldo tidak mencukupi")),
        ),
    ];
    status_endpoint().check(&cases, invoice_status).await;
}

/// The document's failed cancel, `{"error": "Invoice tidak bisa dibatalkan, status saat ini:
/// paid"}` (`seeds/002_70371d71cc9c4025.txt`), comes with no status the document names: under any
/// it is the gateway's refusal, word for word.
#[tokio::test]
async fn the_documents_cancel_refusal_keeps_its_indonesian_message_under_any_status() {
    let cases = [200, 400, 409, 422].map(|status| {
        Case::new(
            "the document's cancel refusal keeps its message",
            status,
            fixture("invoice_cancel_paid.json"),
            Expected::Error(api(status, "Invoice tidak bisa dibatalkan, status saat ini: paid")),
        )
    });
    status_endpoint().check(&cases, invoice_status).await;
}

#[tokio::test]
async fn broken_answers_are_decode_errors_naming_what_is_wrong() {
    let quoting = r#"{"invoice_id":"64c8d9e","amount":"budi@example.com","status":"pending"}"#;
    let fraction = r#"{"invoice_id":"64c8d9e","amount":10000.5,"status":"pending"}"#;
    let cases = [
        Case::malformed_json(fixture("malformed.json"), "invoice_status answer"),
        Case::new(
            "a missing id is named",
            200,
            fixture("invoice_missing_id.json"),
            Expected::DecodeNaming("invoice_id"),
        ),
        Case::quoting_no_value(quoting, "budi"),
        Case::new("a fraction of a rupiah", 200, fraction, Expected::DecodeNaming("whole number of rupiah")),
    ];
    status_endpoint().check(&cases, invoice_status).await;
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    check_closed_port_is_a_transport_error(
        ProviderId::Qris,
        "/gw",
        |base| async move { client_at(&base).balance().await },
    )
    .await;
}
