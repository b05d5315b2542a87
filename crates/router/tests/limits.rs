//! Every gateway's declared create limits are the truth of what its crate refuses: a router skips
//! and strips by the declaration alone, so a field a gateway refuses but does not declare would
//! make every routed request with it fail there, and a field it declares but takes would be
//! dropped for nothing.
//!
//! Each gateway points at a port where nothing listens: a request its crate accepts fails to
//! connect (`Transport`), one it refuses fails before sending (`Validation` naming the field).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::time::Duration;

use common::refusing_base_url;
use gerbang_cashin::{CashinClient, CashinConfig};
use gerbang_ciputra::{CiputraClient, CiputraConfig};
use gerbang_core::{
    Channel, Error, Field, HttpClient, Money, PaymentProvider, PaymentRequest, PaymentRequestBuilder, RetryPolicy,
};
use gerbang_crypto_invoice::{CryptoInvoiceClient, CryptoInvoiceConfig};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang_qris::{QrisClient, QrisConfig};
use gerbang_sandbox::{cashin, ciputra, crypto_invoice, cuan10pay, qris};

/// A client that fails at once: a refused connection is the answer this test waits for.
fn no_retries() -> HttpClient {
    HttpClient::builder().retry(RetryPolicy::none()).build().unwrap()
}

/// Every gateway, with a request holding just what it requires, within its limits.
async fn gateways() -> Vec<(Box<dyn PaymentProvider>, PaymentRequestBuilder)> {
    let base = refusing_base_url().await;
    let order = |rupiah: i64| PaymentRequest::builder("ORDER-LIMITS-1", Money::idr(rupiah));
    vec![
        (
            Box::new(Cuan10payClient::new(
                Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
                    .base_url(base.clone())
                    .http_client(no_retries())
                    .build()
                    .unwrap(),
            )),
            order(50_000).channel(Channel::Qris),
        ),
        (
            Box::new(CashinClient::new(
                CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY)
                    .base_url(base.clone())
                    .http_client(no_retries())
                    .public_key_pem(cashin::public_key_pem())
                    .build()
                    .unwrap(),
            )),
            order(150_000)
                .channel(Channel::Qris)
                .customer_id("CUST-42")
                .customer_phone("081234567890")
                .return_url("https://shop.example/orders/42"),
        ),
        (
            Box::new(QrisClient::new(
                QrisConfig::builder(qris::API_KEY).base_url(base.clone()).http_client(no_retries()).build().unwrap(),
            )),
            order(50_000).channel(Channel::Qris),
        ),
        (
            Box::new(CryptoInvoiceClient::new(
                CryptoInvoiceConfig::builder(crypto_invoice::PUBLIC_KEY, crypto_invoice::PRIVATE_KEY)
                    .base_url(base.clone())
                    .http_client(no_retries())
                    .build()
                    .unwrap(),
            )),
            order(50_000).channel(Channel::Crypto),
        ),
        (
            Box::new(CiputraClient::new(
                CiputraConfig::builder(ciputra::API_KEY, ciputra::API_SECRET)
                    .base_url(base)
                    .http_client(no_retries())
                    .build()
                    .unwrap(),
            )),
            order(50_000).channel(Channel::Qris).customer_name("Budi Santoso"),
        ),
    ]
}

/// `field` set to a value every gateway that has a place for it takes.
fn with(builder: PaymentRequestBuilder, field: Field) -> PaymentRequestBuilder {
    match field {
        Field::CustomerName => builder.customer_name("Budi Santoso"),
        Field::CustomerEmail => builder.customer_email("budi@example.com"),
        Field::CustomerPhone => builder.customer_phone("081234567890"),
        Field::CustomerId => builder.customer_id("42"),
        Field::Description => builder.description("Two coffees"),
        Field::SuccessUrl => builder.success_url("https://shop.example/paid"),
        Field::CancelUrl => builder.cancel_url("https://shop.example/cancelled"),
        Field::ReturnUrl => builder.return_url("https://shop.example/orders/42"),
        Field::CallbackUrl => builder.callback_url("https://shop.example/hooks"),
        Field::ExpiresIn => builder.expires_in(Duration::from_secs(2 * 3600)),
        other => panic!("a field this test does not know: {other}"),
    }
}

/// The fields an error refuses, or `None` when the request was sent (it failed to connect).
fn refused_fields(result: Result<gerbang_core::Payment, Error>) -> Option<Vec<String>> {
    match result.unwrap_err() {
        Error::Transport { .. } => None,
        Error::Validation { field, .. } => Some(vec![field]),
        Error::Invalid { problems } => Some(problems.into_iter().map(|p| p.field).collect()),
        other => panic!("neither sent nor refused for a field: {other:?}"),
    }
}

#[tokio::test]
async fn each_gateway_refuses_exactly_the_fields_it_declares() {
    for (gateway, base) in gateways().await {
        let limits = gateway.capabilities().limits;
        let bare = base.clone().build().unwrap();
        assert_eq!(limits.check(&bare), Ok(()), "{}: the base request is within its limits", gateway.id());
        assert_eq!(refused_fields(gateway.create_payment(&bare).await), None, "{}: the base request", gateway.id());
        for field in Field::ALL.into_iter().filter(|f| !f.is_set(&bare)) {
            let request = with(base.clone(), field).build().unwrap();
            let refused = refused_fields(gateway.create_payment(&request).await);
            if limits.refused_fields.contains(&field) {
                assert_eq!(refused, Some(vec![field.as_str().to_owned()]), "{} declares {field} refused", gateway.id());
                // What a router sends instead: the request without it, which goes out.
                let (sent, left_out) = limits.without_refused(&request);
                assert_eq!(left_out, [field]);
                assert_eq!(
                    refused_fields(gateway.create_payment(&sent).await),
                    None,
                    "{} without {field}",
                    gateway.id()
                );
            } else {
                assert_eq!(refused, None, "{} takes {field}, as it declares", gateway.id());
            }
        }
    }
}

#[tokio::test]
async fn each_gateway_requires_exactly_the_fields_it_declares() {
    for (gateway, base) in gateways().await {
        let limits = gateway.capabilities().limits;
        let bare = base.build().unwrap();
        for field in Field::ALL.into_iter().filter(|f| f.is_set(&bare)) {
            let mut without = bare.clone();
            clear(&mut without, field);
            let groups: Vec<&[Field]> =
                limits.required_fields.iter().copied().filter(|group| group.contains(&field)).collect();
            let refused = refused_fields(gateway.create_payment(&without).await);
            if groups.is_empty() {
                assert_eq!(refused, None, "{} does not require {field}", gateway.id());
                assert_eq!(limits.check(&without), Ok(()));
            } else {
                // Without it, some field of its group is refused as missing, and the declaration
                // alone says so before any call.
                let refused = refused.unwrap_or_else(|| panic!("{} declares {field} required", gateway.id()));
                assert!(
                    refused.iter().any(|name| groups.iter().any(|g| g.iter().any(|f| f.as_str() == name))),
                    "{}: {refused:?} names a field of {groups:?}",
                    gateway.id()
                );
                assert!(limits.check(&without).unwrap_err().starts_with("requires "));
            }
        }
    }
}

fn clear(request: &mut PaymentRequest, field: Field) {
    let customer = &mut request.customer;
    match field {
        Field::CustomerName => customer.name = None,
        Field::CustomerEmail => customer.email = None,
        Field::CustomerPhone => customer.phone = None,
        Field::CustomerId => customer.id = None,
        Field::Description => request.description = None,
        Field::SuccessUrl => request.success_url = None,
        Field::CancelUrl => request.cancel_url = None,
        Field::ReturnUrl => request.return_url = None,
        Field::CallbackUrl => request.callback_url = None,
        Field::ExpiresIn => request.expires_in = None,
        other => panic!("a field this test does not know: {other}"),
    }
}
