//! A webhook receiver in axum: verify the raw bytes, handle each change once, answer with what the
//! gateway expects.
//!
//! ```sh
//! cargo run --example webhook_server              # listens on 127.0.0.1:3000 (PORT to change)
//! cargo run --example webhook_server -- --demo    # also starts the sandbox, pays a deposit, shows it arrive, exits
//! ```
//!
//! Cuan10pay webhooks go to `POST /webhooks/cuan10pay`. The private key comes from
//! `GERBANG_CUAN10PAY_PRIVATE_KEY`, or is the sandbox's when that is unset.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this program's job

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use gerbang::cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang::sandbox::Sandbox;
use gerbang::{Ack, Money, PaymentProvider, PaymentRequest, ProviderId, WebhookRequest, env_var};

#[derive(Clone)]
struct AppState {
    cuan10pay: Arc<dyn PaymentProvider>,
    /// Changes already handled, by `WebhookEvent::dedup_key`: gateways retry, so the same
    /// webhook may come more than once. A real shop keeps this in its database, in the same
    /// transaction that marks the order.
    handled: Arc<Mutex<HashSet<String>>>,
}

async fn cuan10pay_webhook(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = WebhookRequest::new(method, uri.path(), &headers, &body);
    match app.cuan10pay.verify_webhook(&request).await {
        Ok(event) => {
            let first_time = app.handled.lock().unwrap_or_else(PoisonError::into_inner).insert(event.dedup_key());
            if first_time {
                println!(
                    "{}: payment {} is now {}",
                    event.provider,
                    event.provider_reference.as_deref().unwrap_or("?"),
                    event.status
                );
                // Here: mark the order paid, ship, e-mail the customer.
            }
            respond(event.ack())
        }
        Err(error) => {
            eprintln!("refused a webhook: {error}");
            respond(&app.cuan10pay.reject_webhook(&error))
        }
    }
}

fn respond(ack: &Ack) -> Response {
    let status = StatusCode::from_u16(ack.status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, ack.content_type)], ack.body.clone()).into_response()
}

fn app(state: AppState) -> Router {
    Router::new()
        .route("/webhooks/cuan10pay", post(cuan10pay_webhook))
        // Never read more than a webhook can weigh.
        .layer(DefaultBodyLimit::max(gerbang::MAX_WEBHOOK_BODY_BYTES))
        .with_state(state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = std::env::args().any(|a| a == "--demo");
    let port = if demo { 0 } else { env_var("PORT")?.map(|p| p.parse()).transpose()?.unwrap_or(3000) };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let addr = listener.local_addr()?;

    let private_key = env_var(gerbang::cuan10pay::ENV_PRIVATE_KEY)?
        .unwrap_or_else(|| gerbang::sandbox::cuan10pay::PRIVATE_KEY.to_owned());
    let api_key =
        env_var(gerbang::cuan10pay::ENV_API_KEY)?.unwrap_or_else(|| gerbang::sandbox::cuan10pay::API_KEY.to_owned());
    let sandbox = if demo {
        Some(
            Sandbox::builder()
                .webhook_url(ProviderId::Cuan10pay, format!("http://{addr}/webhooks/cuan10pay"))
                .start()
                .await?,
        )
    } else {
        None
    };
    let mut config = Cuan10payConfig::builder(api_key, private_key);
    if let Some(sandbox) = &sandbox {
        config = config.base_url(sandbox.base_url(ProviderId::Cuan10pay));
    }
    let client = Cuan10payClient::new(config.build()?);
    let state = AppState { cuan10pay: Arc::new(client.clone()), handled: Arc::default() };
    let server = tokio::spawn(axum::serve(listener, app(state.clone())).into_future());
    println!("listening on http://{addr}/webhooks/cuan10pay");

    let Some(sandbox) = sandbox else {
        server.await??;
        return Ok(());
    };
    let request = PaymentRequest::builder("WEBHOOK-DEMO-1", Money::idr(25_000)).channel("qris".parse()?).build()?;
    let deposit = client.create_payment(&request).await?;
    let id = deposit.provider_reference.unwrap_or_default();
    sandbox.pay(ProviderId::Cuan10pay, &id).await?;
    let deliveries = sandbox.wait_for_deliveries(1, Duration::from_secs(10)).await?;
    println!(
        "the sandbox delivered {} webhook(s); the first was answered HTTP {:?}",
        deliveries.len(),
        deliveries[0].status
    );
    let handled = state.handled.lock().unwrap_or_else(PoisonError::into_inner).len();
    println!("changes handled: {handled}");
    Ok(())
}
