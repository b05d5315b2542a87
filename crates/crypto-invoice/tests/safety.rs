//! What a hostile or broken gateway cannot make the client do: follow a redirect with the keys
//! in the body, or put the keys and the customer's e-mail into an error by echoing the request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_core::{Channel, Currency, Decimal, Money, PaymentProvider, PaymentRequest};
use gerbang_crypto_invoice::CryptoInvoiceClient;
use gerbang_testkit::{check_echoed_secrets_are_scrubbed, check_no_redirect_is_followed};

use common::{PRIVATE_KEY, PUBLIC_KEY, builder};

const EMAIL: &str = "siti.rahma.secret@example.com";

async fn calls(base_url: String) -> Vec<Result<(), gerbang_core::Error>> {
    let client = CryptoInvoiceClient::new(builder(&base_url).build().unwrap());
    let price = Money::new(Decimal::from_str_exact("725.50").unwrap(), Currency::USD).unwrap();
    let order =
        PaymentRequest::builder("ORDER-1001", price).channel(Channel::Crypto).customer_email(EMAIL).build().unwrap();
    vec![client.create_payment(&order).await.map(drop), client.payment_status("ORDER-1001").await.map(drop)]
}

#[tokio::test]
async fn no_redirect_is_followed() {
    check_no_redirect_is_followed("/api/v1", calls).await;
}

#[tokio::test]
async fn an_echoed_request_leaves_no_key_or_email_in_the_error() {
    check_echoed_secrets_are_scrubbed("/api/v1", &[PUBLIC_KEY, PRIVATE_KEY, EMAIL], |_| None, calls).await;
}
