//! What a hostile or broken gateway cannot make the client do: follow a redirect with the
//! signature, or put the secret and the customer's phone into an error by echoing the request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_cashin::CashinClient;
use gerbang_core::{Money, PaymentProvider, PaymentRequest};
use gerbang_testkit::{check_echoed_secrets_are_scrubbed, check_no_redirect_is_followed};

use common::{SECRET_KEY, builder};

const PHONE: &str = "081299990000";

async fn calls(base_url: String) -> Vec<Result<(), gerbang_core::Error>> {
    let client = CashinClient::new(builder(&base_url).build().unwrap());
    let order = PaymentRequest::builder("ORDER-1001", Money::idr(150_000))
        .customer_id("CUST-42")
        .customer_phone(PHONE)
        .success_url("https://shop.example.com/paid")
        .cancel_url("https://shop.example.com/cart")
        .build()
        .unwrap();
    vec![client.create_payment(&order).await.map(drop), client.payment_status("ORDER-1001").await.map(drop)]
}

#[tokio::test]
async fn no_redirect_is_followed() {
    check_no_redirect_is_followed("/pg/fo", calls).await;
}

#[tokio::test]
async fn an_echoed_request_leaves_no_secret_or_phone_in_the_error() {
    check_echoed_secrets_are_scrubbed("/pg/fo", &[SECRET_KEY, "81299990000"], |_| None, calls).await;
}
