//! A merchant's Cash In notification endpoint in axum: `POST /v1.0/debit/notify`, verified on the
//! raw bytes, answered with the SNAP acknowledgement Cash In expects.
//!
//! ```sh
//! cargo run --example cashin_webhook_axum
//! ```
//!
//! With `GERBANG_CASHIN_PUBLIC_KEY` set (Cash In's public key: PEM text or a file path) it serves
//! on `0.0.0.0:3000` until Ctrl-C; register `https://{your domain}/v1.0/debit/notify` in Cash In's
//! dashboard. Without it, it plays the whole flow against the in-process sandbox once: a checkout
//! is created and paid, the sandbox posts its signed notification here, and the program exits.
#![allow(clippy::print_stdout)] // printing is this program's job

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use gerbang::cashin::{CashinClient, CashinConfig, CheckoutCustomer, CheckoutRequest, WebhookVerifier, rejection};
use gerbang::sandbox::{Sandbox, cashin};
use gerbang::{Ack, MAX_WEBHOOK_BODY_BYTES, ProviderId, WebhookRequest, env_var};
use tokio::sync::mpsc;

/// What the handler needs: the verifier, and where to report each notification (the demo waits
/// on it; a real shop would mark the order paid, idempotently, by `event.dedup_key()`).
#[derive(Clone)]
struct App {
    verifier: Arc<WebhookVerifier>,
    seen: mpsc::UnboundedSender<String>,
}

async fn notify(State(app): State<App>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let request = WebhookRequest::new(method, uri.path(), &headers, &body);
    let (ack, line) = match app.verifier.verify(&request) {
        Ok(event) => {
            let line = format!(
                "{} is {} ({}), {:?}",
                event.reference.as_deref().unwrap_or("?"),
                event.status,
                event.provider_status,
                event.amount
            );
            (event.ack().clone(), line)
        }
        // 401 {"responseCode":"4015600",…} or 400 {"responseCode":"4005601",…}.
        Err(error) => (rejection(&error), format!("refused: {error}")),
    };
    let _ = app.seen.send(line);
    respond(ack)
}

fn respond(ack: Ack) -> Response {
    let status = StatusCode::from_u16(ack.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(ack.content_type))], ack.body).into_response()
}

fn router(app: App) -> Router {
    Router::new()
        .route("/v1.0/debit/notify", post(notify))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES))
        .with_state(app)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (seen, mut notifications) = mpsc::unbounded_channel();
    if env_var(gerbang::cashin::ENV_PUBLIC_KEY)?.is_some() {
        let app = App { verifier: Arc::new(WebhookVerifier::from_env()?), seen };
        tokio::spawn(async move {
            while let Some(line) = notifications.recv().await {
                println!("{line}");
            }
        });
        let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
        println!("listening on http://{}/v1.0/debit/notify", listener.local_addr()?);
        axum::serve(listener, router(app))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        return Ok(());
    }

    // The demo: this server, and the sandbox posting its notifications to it.
    let app = App { verifier: Arc::new(WebhookVerifier::from_pem(&cashin::public_key_pem())?), seen };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let notify_url = format!("http://{}/v1.0/debit/notify", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router(app)).await });
    let sandbox = Sandbox::builder().webhook_url(ProviderId::CashIn, &notify_url).start().await?;
    let client = CashinClient::new(
        CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY)
            .base_url(sandbox.base_url(ProviderId::CashIn))
            .build()?,
    );
    let request = CheckoutRequest::new(
        "ORDER-1001",
        150_000,
        30,
        "https://shop.example.com/paid",
        "https://shop.example.com/cart",
        CheckoutCustomer::new("CUST-42", "081234567890"),
    );
    let page = client.create_checkout(&request).await?;
    println!("checkout: {}", page.payment_url);
    sandbox.pay(ProviderId::CashIn, "ORDER-1001").await?;
    match tokio::time::timeout(Duration::from_secs(10), notifications.recv()).await {
        Ok(Some(line)) => println!("notification: {line}"),
        _ => println!("no notification within 10 s"),
    }
    let deliveries = sandbox.wait_for_deliveries(1, Duration::from_secs(5)).await?;
    println!("the sandbox got HTTP {:?} back", deliveries[0].status);
    sandbox.shutdown().await;
    Ok(())
}
