//! What a hostile or broken gateway cannot make the client do: follow a redirect with the key
//! in its query (or in a `Referer`), or put the key and an account holder's details into an
//! error by echoing the request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_core::{Money, PaymentProvider, PaymentRequest};
use gerbang_qris::{QrisClient, WithdrawRequest};
use gerbang_testkit::{check_echoed_secrets_are_scrubbed, check_no_redirect_is_followed};

use common::{API_KEY, builder};

const ACCOUNT: &str = "081299990000";
const HOLDER: &str = "Siti Rahma Secret";

async fn calls(base_url: String) -> Vec<Result<(), gerbang_core::Error>> {
    let client = QrisClient::new(builder(&base_url).build().unwrap());
    let order = PaymentRequest::builder("ORDER-1001", Money::idr(25_000)).build().unwrap();
    vec![
        client.create_payment(&order).await.map(drop),
        client.payment_status("INV-1").await.map(drop),
        client.cancel_payment("INV-1").await.map(drop),
        client.balance().await.map(drop),
        client.withdraw_dana(&WithdrawRequest::new(50_000, ACCOUNT, HOLDER)).await.map(drop),
    ]
}

#[tokio::test]
async fn no_redirect_is_followed() {
    check_no_redirect_is_followed("/gw", calls).await;
}

#[tokio::test]
async fn an_echoed_request_leaves_no_key_or_account_in_the_error() {
    check_echoed_secrets_are_scrubbed("/gw", &[API_KEY, "81299990000", HOLDER], |_| None, calls).await;
}
