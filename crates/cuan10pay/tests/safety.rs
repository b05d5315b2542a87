//! What a hostile or broken gateway cannot make the client do: follow a redirect with the keys,
//! or put the keys and the customer's details into an error by echoing the request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_core::{Channel, Money, PaymentProvider, PaymentRequest};
use gerbang_cuan10pay::{Cuan10payClient, PpobOrderRequest};
use gerbang_testkit::{check_echoed_secrets_are_scrubbed, check_no_redirect_is_followed};

use common::{API_KEY, PRIVATE_KEY, builder};

const EMAIL: &str = "siti.rahma.secret@example.com";
const PHONE: &str = "081299990000";

fn order() -> PaymentRequest {
    PaymentRequest::builder("ORDER-1001", Money::idr(50_000))
        .channel(Channel::Qris)
        .customer_email(EMAIL)
        .customer_phone(PHONE)
        .build()
        .unwrap()
}

async fn calls(base_url: String) -> Vec<Result<(), gerbang_core::Error>> {
    let client = Cuan10payClient::new(builder(&base_url).build().unwrap());
    vec![
        client.create_payment(&order()).await.map(drop),
        client.payment_status("CP-20250928-38B575").await.map(drop),
        client.ppob_order(&PpobOrderRequest::new("PULSA_50K", PHONE)).await.map(drop),
    ]
}

#[tokio::test]
async fn no_redirect_is_followed() {
    check_no_redirect_is_followed("/api", calls).await;
}

#[tokio::test]
async fn an_echoed_request_leaves_no_key_email_or_phone_in_the_error() {
    check_echoed_secrets_are_scrubbed("/api", &[API_KEY, PRIVATE_KEY, EMAIL, "81299990000"], |_| None, calls).await;
}
