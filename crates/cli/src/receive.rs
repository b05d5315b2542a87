//! `gerbang webhook serve [--port N] [--store URL] [--forward-to URL]`: the webhook receiver for
//! every configured gateway, one JSON line per new event on stdout.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use gerbang::webhooks::{Receiver, handler_fn, router};
use gerbang::{Error, PaymentProvider, ProviderId, WebhookEvent};
use serde::Serialize;

use crate::common::parse_duration;

/// Receive webhooks for every gateway whose credentials are set, at `POST /webhooks/{gateway}`.
///
/// Each new event is printed as one JSON line on stdout (the event, and its `dedup_key`);
/// a duplicate is acknowledged and not printed. Where it listens goes to stderr.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The port to listen on (0: any free one), on 127.0.0.1 unless --host says otherwise.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value_t = Ipv4Addr::LOCALHOST)]
    host: Ipv4Addr,
    /// Where claims and done markers live: `memory` (this process only), `redis://…` or
    /// `postgres://…` (shared by every receiver given the same URL). A Redis one also holds
    /// Cuan10pay's rate budget and Ciputra's token, shared with every other `gerbang` process.
    #[arg(long, env = "GERBANG_STORE_URL", default_value = "memory", hide_env_values = true)]
    store: String,
    /// How long a receiver's claim on an event holds: past it, a receiver that died mid-handler
    /// no longer blocks the event, and another handles the gateway's next delivery.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    lease: Duration,
    /// How long a delivery of an event another receiver is handling waits for it before asking
    /// the gateway to deliver it again later (503).
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    in_flight_wait: Duration,
    /// POST each new event's JSON to this URL; an answer other than 2xx (or none) releases the
    /// claim and answers the gateway 500, so that its retry is handled again.
    #[arg(long)]
    forward_to: Option<String>,
}

/// What is printed (and forwarded) for a new event: DESIGN.md's `WebhookEvent` and its key.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    event: &'a WebhookEvent,
    dedup_key: String,
}

impl ServeArgs {
    pub(crate) async fn run(&self) -> Result<(), Error> {
        crate::stores::use_url(&self.store);
        let gateways = gateways().await?;
        if gateways.is_empty() {
            return Err(Error::config(
                "no gateway is configured: set the credentials of at least one (GERBANG_CUAN10PAY_API_KEY, …)",
            ));
        }
        let inbox = crate::stores::inbox(&self.store).await?;
        let forward = self.forward_to.clone().map(|url| (reqwest::Client::new(), url));
        let builder =
            Receiver::builder(inbox).providers(gateways).lease(self.lease).in_flight_wait(self.in_flight_wait);
        let receiver = builder.build(handler_fn(move |event: WebhookEvent| {
            let forward = forward.clone();
            async move {
                let line = serde_json::to_string(&Line { dedup_key: event.dedup_key(), event: &event })
                    .map_err(|e| Error::decode(format!("event as JSON: {e}")))?;
                if let Some((http, url)) = forward {
                    let answer = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(line.clone())
                        .send()
                        .await
                        .map_err(|e| Error::Transport { message: e.without_url().to_string() })?;
                    if !answer.status().is_success() {
                        return Err(Error::Api {
                            status: Some(answer.status().as_u16()),
                            code: None,
                            message: "the application refused the forwarded event".to_owned(),
                        });
                    }
                }
                print_line(&line);
                Ok::<(), Error>(())
            }
        }));

        let listener = tokio::net::TcpListener::bind(SocketAddr::from((self.host, self.port)))
            .await
            .map_err(|e| Error::config(format!("cannot listen on {}:{}: {e}", self.host, self.port)))?;
        let addr = listener.local_addr().map_err(|e| Error::config(format!("no local address: {e}")))?;
        for gateway in receiver.gateways() {
            eprint_line(&format!("receiving {gateway} webhooks at http://{addr}/webhooks/{gateway}"));
        }
        axum::serve(listener, router(receiver))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Error::config(format!("the receiver stopped: {e}")))
    }
}

/// Every configured gateway, those with a shared store (Cuan10pay's budget, Ciputra's token)
/// on the one `--store` names, as every other command builds them.
async fn gateways() -> Result<Vec<Arc<dyn PaymentProvider>>, Error> {
    let mut gateways: Vec<Arc<dyn PaymentProvider>> = Vec::new();
    for gateway in gerbang::providers_from_env()? {
        gateways.push(match gateway.id() {
            ProviderId::Cuan10pay => Arc::new(crate::providers::cuan10pay::client(None).await?),
            ProviderId::Ciputra => Arc::new(crate::providers::ciputra::client(None).await?),
            _ => Arc::from(gateway),
        });
    }
    Ok(gateways)
}

/// One line on stdout, flushed at once: a reader (a test, a pipe) sees each event as it comes.
fn print_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

fn eprint_line(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
    let _ = stderr.flush();
}
