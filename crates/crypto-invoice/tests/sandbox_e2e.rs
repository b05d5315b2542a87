//! End to end over real HTTP against `gerbang-sandbox`: create an invoice, play the customer
//! paying, receive the callback in a small axum receiver that fails the first try, see it tried
//! again, handled once, and the status paid.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::post;
use gerbang_core::{
    Currency, Decimal, Error, Money, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId, WebhookRequest,
};
use gerbang_crypto_invoice::{BannedCoin, BodyFormat, CreateInvoiceRequest, CryptoInvoiceClient, CryptoInvoiceConfig};
use gerbang_sandbox::{Sandbox, SandboxHandle, crypto_invoice};

/// The merchant's side: every try seen, the changes handled (by dedup key), and whether the
/// next answer is a failure.
#[derive(Default)]
struct Merchant {
    tries: usize,
    fail_next: bool,
    handled: HashSet<String>,
    shipped: Vec<String>,
}

/// A callback endpoint: answers 500 while told to (a crash before the order was saved), else
/// verifies the raw bytes and handles each change once.
async fn receive(
    State((client, merchant)): State<(CryptoInvoiceClient, Arc<Mutex<Merchant>>)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let fail = {
        let mut merchant = merchant.lock().unwrap();
        merchant.tries += 1;
        std::mem::take(&mut merchant.fail_next)
    };
    if fail {
        return (StatusCode::INTERNAL_SERVER_ERROR, "try again".to_owned());
    }
    let request = WebhookRequest::new(method, uri.path(), &headers, &body);
    match client.verify_webhook(&request).await {
        Ok(event) => {
            let mut merchant = merchant.lock().unwrap();
            if merchant.handled.insert(event.dedup_key().unwrap()) {
                merchant.shipped.push(event.reference.clone().unwrap_or_default());
            }
            (StatusCode::from_u16(event.ack().status).unwrap(), event.ack().body.to_string())
        }
        Err(error) => {
            let ack = client.reject_webhook(&error);
            (StatusCode::from_u16(ack.status).unwrap(), ack.body.into_owned())
        }
    }
}

async fn setup(format: BodyFormat) -> (SandboxHandle, CryptoInvoiceClient, String, Arc<Mutex<Merchant>>) {
    let sandbox = Sandbox::builder().webhook_retry(3, Duration::from_millis(50)).start().await.unwrap();
    let config = CryptoInvoiceConfig::builder(crypto_invoice::PUBLIC_KEY, crypto_invoice::PRIVATE_KEY)
        .base_url(sandbox.base_url(ProviderId::CryptoInvoice))
        .test_mode(true)
        .body_format(format)
        .build()
        .unwrap();
    let client = CryptoInvoiceClient::new(config);
    let merchant = Arc::new(Mutex::new(Merchant { fail_next: true, ..Merchant::default() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callbacks/crypto", listener.local_addr().unwrap());
    let app =
        axum::Router::new().route("/callbacks/crypto", post(receive)).with_state((client.clone(), merchant.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (sandbox, client, url, merchant)
}

#[tokio::test(flavor = "multi_thread")]
async fn create_pay_callback_retried_after_a_500_and_status_against_the_sandbox() {
    let (sandbox, client, callback_url, merchant) = setup(BodyFormat::Json).await;

    let price = Money::new(Decimal::new(72_550, 2), Currency::USD).unwrap();
    let request = PaymentRequest::builder("ORDER-1001", price.clone())
        .customer_email("budi@example.com")
        .callback_url(&callback_url)
        .expires_in(Duration::from_secs(3600))
        .build()
        .unwrap();
    let created = client.create_payment(&request).await.unwrap();
    assert_eq!(created.status, PaymentStatus::Pending);
    let page = created.checkout_url.clone().unwrap();
    assert!(page.starts_with(&sandbox.base_url(ProviderId::CryptoInvoice)), "{page}");
    assert_eq!(client.payment_status("ORDER-1001").await.unwrap().status, PaymentStatus::Pending);

    // Pay by order id, as the quickstart does.
    sandbox.pay(ProviderId::CryptoInvoice, "ORDER-1001").await.unwrap();
    let deliveries = sandbox.wait_for_deliveries(2, Duration::from_secs(10)).await.unwrap();
    assert_eq!(deliveries.iter().map(|d| (d.attempt, d.status)).collect::<Vec<_>>(), [(1, Some(500)), (2, Some(200))]);
    assert_eq!(deliveries[0].body, deliveries[1].body, "a retry is the same callback");

    {
        let merchant = merchant.lock().unwrap();
        assert_eq!(merchant.tries, 2);
        assert_eq!(merchant.shipped, ["ORDER-1001"]);
    }

    // The same callback once more (a 200 lost on the way): verified, not handled again.
    let headers = HeaderMap::new();
    let again = client
        .verify_webhook(&WebhookRequest::new(
            Method::POST,
            "/callbacks/crypto",
            &headers,
            deliveries[1].body.as_bytes(),
        ))
        .await
        .unwrap();
    assert!(merchant.lock().unwrap().handled.contains(&again.dedup_key().unwrap()));
    let callback = client
        .webhook_verifier()
        .verify_callback(&WebhookRequest::new(Method::POST, "/cb", &headers, deliveries[1].body.as_bytes()))
        .unwrap();
    assert!(callback.is_test(), "the client is in test mode, so the invoice was a test one");
    assert_eq!(again.amount, Some(price.clone()));

    let paid = client.payment_status("ORDER-1001").await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);
    assert_eq!(paid.amount, Some(price));
    assert_eq!(paid.provider_reference, again.provider_reference);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn form_bodies_every_parameter_and_white_label_are_accepted() {
    let (sandbox, client, callback_url, _merchant) = setup(BodyFormat::Form).await;
    let request = CreateInvoiceRequest::new(Decimal::new(150_000, 0))
        .price_currency(Currency::IDR)
        .email("budi@example.com")
        .merchant_id("5")
        .order_id("ORDER-2002")
        .customer_id(12)
        .add_fee_to_price(true)
        .title("Kopi")
        .description("2 x Kopi Susu")
        .ban_coin(BannedCoin::new("BTC").unwrap())
        .ban_coin("USDT-ERC20".parse().unwrap())
        .callback_url(callback_url)
        .cancel_url("https://shop.example/cancel")
        .success_url("https://shop.example/ok")
        .expiration_hours(12)
        .margin_ratio(Decimal::new(15, 1))
        .white_label(true);
    let created = client.create_invoice(&request).await.unwrap();
    let coins = created.coins.unwrap();
    assert!(!coins.is_empty());
    assert!(coins.iter().all(|c| c.coin.as_deref() != Some("BTC")));
    assert!(!coins.iter().any(|c| c.coin.as_deref() == Some("USDT") && c.network.as_deref() == Some("ERC20")));
    assert!(coins.iter().any(|c| c.coin.as_deref() == Some("USDT") && c.network.as_deref() == Some("TRC20")));

    let invoices = client.get_invoices("ORDER-2002").await.unwrap();
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].price_amount, Some(Decimal::from(150_000)));
    assert_eq!(invoices[0].price_currency.as_deref(), Some("IDR"));
    assert!(invoices[0].test && invoices[0].add_fee_to_price);

    // Expiry: no callback, and the status says so.
    sandbox.expire(ProviderId::CryptoInvoice, invoices[0].id.as_deref().unwrap()).await.unwrap();
    assert_eq!(client.payment_status("ORDER-2002").await.unwrap().status, PaymentStatus::Expired);
    assert!(sandbox.deliveries().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_refuses_wrong_keys_and_bad_values_in_the_gateways_shape() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config = CryptoInvoiceConfig::builder(crypto_invoice::PUBLIC_KEY, "not-the-sandbox-key")
        .base_url(sandbox.base_url(ProviderId::CryptoInvoice))
        .build()
        .unwrap();
    let err = CryptoInvoiceClient::new(config).get_invoices("ORDER-1").await.unwrap_err();
    assert_eq!(err, Error::Unauthorized { message: "Invalid public key or private key.".into() });

    let config = CryptoInvoiceConfig::builder(crypto_invoice::PUBLIC_KEY, crypto_invoice::PRIVATE_KEY)
        .base_url(sandbox.base_url(ProviderId::CryptoInvoice))
        .build()
        .unwrap();
    let client = CryptoInvoiceClient::new(config);
    let err = client
        .create_invoice(&CreateInvoiceRequest::new(Decimal::ONE).price_currency(Currency::new("XAU").unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Validation { field, .. } if field == "price_currency"), "{err:?}");
    assert!(matches!(client.payment_status("NO-SUCH-ORDER").await, Err(Error::NotFound { .. })));
    assert!(matches!(client.cancel_payment("ORDER-1").await, Err(Error::Unsupported { .. })));
    sandbox.shutdown().await;
}
