//! A crypto invoice callback handler in axum, run against the in-process sandbox: verify the
//! raw bytes, handle each payment once, answer 200.
//!
//! ```sh
//! cargo run --example crypto_invoice_callback
//! ```
//!
//! The gateway "Tries 3 times, once every 5 minutes, until it reaches HTTP code 200", so the
//! same callback can come more than once: a 200 lost on the way is enough. The handler records
//! each event's `dedup_key()` (built from the invoice's `id`, the same on every try) and skips a
//! callback it has handled already, still answering 200 so that the gateway stops trying. Here
//! the handler fails its first try on purpose (a crash before the order was saved), so the
//! sandbox's retry shows.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this program's job

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use gerbang::crypto_invoice::WebhookVerifier;
use gerbang::sandbox::{Sandbox, crypto_invoice};
use gerbang::{Ack, Currency, Decimal, Money, PaymentProvider, PaymentRequest, ProviderId, WebhookRequest};
use gerbang_examples::crypto_invoice_sandbox_client;

#[derive(Clone)]
struct AppState {
    verifier: WebhookVerifier,
    /// Payments already handled, by `WebhookEvent::dedup_key`. A real shop keeps this in its
    /// database, with a unique index, in the same transaction that marks the order paid.
    handled: Arc<Mutex<HashSet<String>>>,
    /// Fail the next callback with a 500, to show the gateway's retry.
    crash_once: Arc<AtomicBool>,
}

async fn callback(State(app): State<AppState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if app.crash_once.swap(false, Ordering::SeqCst) {
        println!("callback try refused with 500 (pretending the database was down)");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let request = WebhookRequest::new(method, uri.path(), &headers, &body);
    let callback = match app.verifier.verify_callback(&request) {
        Ok(callback) => callback,
        Err(error) => {
            eprintln!("refused a callback: {error}");
            return respond(&Ack::rejection(&error));
        }
    };
    let event = match callback.to_event() {
        Ok(event) => event,
        Err(error) => return respond(&Ack::rejection(&error)),
    };
    // An event that names no payment (blank ids) cannot be told apart from another: refused.
    let key = match event.dedup_key() {
        Ok(key) => key,
        Err(error) => return respond(&Ack::rejection(&error)),
    };
    let first_time = app.handled.lock().unwrap_or_else(PoisonError::into_inner).insert(key);
    if !first_time {
        println!("invoice {} was handled already: answering 200, doing nothing", callback.id);
    } else if callback.is_test() {
        println!("TEST payment for order {:?}: {:?} (do not ship)", event.reference, event.amount);
    } else {
        println!("order {:?} is paid: {:?}; ship it", event.reference, event.amount);
    }
    respond(event.ack())
}

fn respond(ack: &Ack) -> Response {
    let status = StatusCode::from_u16(ack.status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, ack.content_type)], ack.body.clone()).into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The merchant's callback endpoint.
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let callback_url = format!("http://{}/callbacks/crypto", listener.local_addr()?);
    let state = AppState {
        verifier: WebhookVerifier::new(crypto_invoice::PRIVATE_KEY),
        handled: Arc::default(),
        crash_once: Arc::new(AtomicBool::new(true)),
    };
    let app = Router::new()
        .route("/callbacks/crypto", post(callback))
        .layer(DefaultBodyLimit::max(gerbang::MAX_WEBHOOK_BODY_BYTES))
        .with_state(state.clone());
    tokio::spawn(axum::serve(listener, app).into_future());

    // The gateway: the sandbox, retrying 0.5 s apart instead of 5 minutes.
    let sandbox =
        Sandbox::builder().webhook_retry(crypto_invoice::WEBHOOK_ATTEMPTS, Duration::from_millis(500)).start().await?;
    let client = crypto_invoice_sandbox_client(&sandbox)?;

    let price = Money::new(Decimal::new(1_250, 2), Currency::USD)?; // 12.50 USD
    let request = PaymentRequest::builder("ORDER-7001", price).callback_url(&callback_url).build()?;
    let payment = client.create_payment(&request).await?;
    println!("invoice created: pay at {}", payment.checkout_url.as_deref().unwrap_or("?"));

    sandbox.pay(ProviderId::CryptoInvoice, "ORDER-7001").await?;
    let deliveries = sandbox.wait_for_deliveries(2, Duration::from_secs(10)).await?;
    for d in &deliveries {
        println!("callback try {}: answered {:?}", d.attempt, d.status);
    }
    // The same callback once more, as a lost 200 would bring it: handled once all the same.
    let again = resend(&callback_url, &deliveries[deliveries.len() - 1].body).await;
    println!("a repeated callback was answered {again}");
    let handled = state.handled.lock().unwrap_or_else(PoisonError::into_inner).len();
    println!("payments handled: {handled}");
    println!("status now: {}", client.payment_status("ORDER-7001").await?.status);
    sandbox.shutdown().await;
    Ok(())
}

/// Posts `body` to `url` with a bare HTTP/1.1 request over a TCP socket (the examples depend on
/// nothing but gerbang, axum and tokio), returning the status line's code.
async fn resend(url: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(rest) = url.strip_prefix("http://") else { return "not sent".to_owned() };
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let Ok(mut stream) = tokio::net::TcpStream::connect(host).await else { return "not sent".to_owned() };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    if stream.write_all(request.as_bytes()).await.is_err() || stream.read_to_string(&mut answer).await.is_err() {
        return "not sent".to_owned();
    }
    answer.split_whitespace().nth(1).unwrap_or("?").to_owned()
}
