//! What a hostile or broken gateway cannot make the client do: follow a redirect with the key,
//! the secret or the bearer token, or put them and the customer's e-mail and phone into an error
//! by echoing the request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_ciputra::CiputraClient;
use gerbang_core::{Money, PaymentProvider, PaymentRequest};
use gerbang_testkit::{check_echoed_secrets_are_scrubbed, check_no_redirect_is_followed};

use common::{API_KEY, API_SECRET, builder, token_answer};

const EMAIL: &str = "siti.rahma.secret@example.com";
const PHONE: &str = "081299990000";
/// The bearer token the echoing gateway issues.
const TOKEN: &str = "issued-bearer-token-TK55";

async fn calls(base_url: String) -> Vec<Result<(), gerbang_core::Error>> {
    let client = CiputraClient::new(builder(&base_url).build().unwrap());
    let order = PaymentRequest::builder("ECL00001", Money::idr(350_000))
        .customer_name("Budi Santoso")
        .customer_email(EMAIL)
        .customer_phone(PHONE)
        .build()
        .unwrap();
    vec![
        client.create_payment(&order).await.map(drop),
        client.payment_status("ECL00001").await.map(drop),
        client.cancel_payment("ECL00001").await.map(drop),
    ]
}

#[tokio::test]
async fn no_redirect_is_followed() {
    // The token call is the first to meet the redirect.
    check_no_redirect_is_followed("/api", calls).await;
}

#[tokio::test]
async fn an_echoed_request_leaves_no_credential_token_or_contact_in_the_error() {
    // The token call answers (so the calls after it go out with the token), then everything else
    // is echoed.
    let token = |path: &str| path.ends_with("/auth/token").then(|| (200, token_answer(TOKEN, 3_600)));
    check_echoed_secrets_are_scrubbed("/api", &[API_KEY, API_SECRET, TOKEN, EMAIL, "81299990000"], token, calls).await;
    // And when the token call itself is echoed, the key and secret it carried are scrubbed too.
    check_echoed_secrets_are_scrubbed("/api", &[API_KEY, API_SECRET], |_| None, calls).await;
}
