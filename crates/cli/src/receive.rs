//! `gerbang webhook serve [--port N] [--store URL] [--forward-to URL [--forward-timeout D]] [--reconcile-every D]`
//! (and the connection limits of `sandbox serve`, served by `gerbang-server`): the
//! webhook receiver for every configured gateway, and the reconciler of the payments its store's
//! ledger watches; one JSON line per new event on stdout.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use gerbang::reconcile::Reconciler;
use gerbang::webhooks::{Handler, HandlerError, Receiver, router};
use gerbang::{Error, PaymentProvider, ProviderId, WebhookEvent};
use serde::Serialize;

use crate::common::{eprint_line, parse_duration};
use crate::forward::Forward;

/// Receive webhooks for every gateway whose credentials are set, at `POST /webhooks/{gateway}`,
/// and reconcile the payments the store's ledger watches (recorded by `create --store`).
///
/// Each new event, from a webhook or found by a status check, is printed once as one JSON line on
/// stdout (the event, and its `dedup_key`); a duplicate is acknowledged and not printed. Where it
/// listens goes to stderr, as does a paid event that disagrees with the ledger (a mismatch).
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
    /// POST each new event's JSON to this URL; an answer other than 2xx (a redirect included: none
    /// is followed), or none within --forward-timeout, releases the claim and answers the gateway
    /// 500, so that its retry is handled again.
    #[arg(long)]
    forward_to: Option<String>,
    /// How long the application at --forward-to has to answer a forwarded event: 5s, 1m. Must
    /// stay below --lease, else another receiver could forward the same event while this one
    /// waits. Default: 10s, or half the lease if that is shorter.
    #[arg(long, value_parser = parse_duration)]
    forward_timeout: Option<Duration>,
    /// Check every watched payment this often, instead of each gateway's schedule (soon after
    /// creation, then backing off): `1s` in tests.
    #[arg(long, value_parser = parse_duration)]
    reconcile_every: Option<Duration>,
    /// Treat the ledger as the record of every payment: a paid event for a payment it does not
    /// know is a mismatch, not passed on.
    #[arg(long)]
    require_known: bool,
    #[command(flatten)]
    limits: crate::listen::LimitArgs,
}

/// How long the application has to answer a forwarded event, unless the lease is shorter.
const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// What is printed (and forwarded) for a new event: DESIGN.md's `WebhookEvent` and its key.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    event: &'a WebhookEvent,
    dedup_key: String,
}

impl ServeArgs {
    pub(crate) async fn run(&self) -> Result<(), Error> {
        let forward = match &self.forward_to {
            Some(url) => Some(self.forwarder(url)?),
            None => None,
        };
        crate::stores::use_url(&self.store);
        let gateways = gateways().await?;
        if gateways.is_empty() {
            return Err(Error::config(
                "no gateway is configured: set the credentials of at least one (GERBANG_CUAN10PAY_API_KEY, …)",
            ));
        }
        let inbox = crate::stores::inbox(&self.store).await?;
        let ledger = crate::stores::ledger(&self.store, false).await?;
        let mut builder = Receiver::builder(inbox)
            .providers(gateways)
            .lease(self.lease)
            .in_flight_wait(self.in_flight_wait)
            .require_known_payments(self.require_known);
        if let Some(ledger) = ledger {
            builder = builder.ledger(ledger);
        }
        let receiver = builder.build(Printing { forward });

        let listener = tokio::net::TcpListener::bind(SocketAddr::from((self.host, self.port)))
            .await
            .map_err(|e| Error::config(format!("cannot listen on {}:{}: {e}", self.host, self.port)))?;
        let addr = listener.local_addr().map_err(|e| Error::config(format!("no local address: {e}")))?;
        for gateway in receiver.gateways() {
            eprint_line(&format!("receiving {gateway} webhooks at http://{addr}/webhooks/{gateway}"));
        }
        let mut reconciler = Reconciler::builder(&receiver);
        if let Some(pace) = self.reconcile_every {
            reconciler = reconciler.pace(pace);
        }
        let reconciler = reconciler.build()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let reconciling = tokio::spawn(async move {
            let mut stopped = stopped;
            reconciler
                .run(async move {
                    let _ = stopped.changed().await;
                })
                .await;
        });
        eprint_line(&format!(
            "reconciling the payments watched in the {} ledger{}",
            crate::stores::kind_name(&self.store),
            self.reconcile_every.map(|d| format!(", every {} ms", d.as_millis())).unwrap_or_default()
        ));
        let limits = self.limits.limits();
        eprint_line(&format!(
            "at most {} connections at once; a request head must arrive within {:?}",
            limits.connection_cap(),
            limits.header_read_timeout
        ));
        // Ctrl-C drains: no new connection, the requests in progress answered. (A shutdown future,
        // so that SIGTERM can be added here.)
        let served = gerbang::server::serve(listener, router(receiver), limits, async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await;
        let _ = stop.send(true);
        let _ = reconciling.await;
        served.map_err(|e| Error::config(format!("the receiver stopped: {e}")))
    }
}

impl ServeArgs {
    /// The forwarder to `url`, its timeout checked against the lease.
    fn forwarder(&self, url: &str) -> Result<Forward, Error> {
        let timeout = match self.forward_timeout {
            Some(timeout) if timeout >= self.lease => {
                return Err(Error::config(format!(
                    "--forward-timeout ({timeout:?}) must be shorter than --lease ({:?}): past the lease another \
                     receiver may forward the same event while this one still waits for the application",
                    self.lease
                )));
            }
            Some(timeout) => timeout,
            None => DEFAULT_FORWARD_TIMEOUT.min(self.lease / 2),
        };
        if timeout.is_zero() {
            return Err(Error::config("--forward-timeout and --lease must be more than 0s"));
        }
        Forward::new(url, timeout)
    }
}

/// The handler: each new event printed as a JSON line (and forwarded, when asked). A mismatch is
/// not printed: the receiver logs it on stderr (`outcome=mismatch`).
struct Printing {
    forward: Option<Forward>,
}

#[gerbang::async_trait]
impl Handler for Printing {
    async fn handle(&self, event: &WebhookEvent) -> Result<(), HandlerError> {
        let line = serde_json::to_string(&Line { dedup_key: event.dedup_key()?, event })
            .map_err(|e| Error::decode(format!("event as JSON: {e}")))?;
        if let Some(forward) = &self.forward {
            forward.send(&line).await?;
        }
        print_line(&line);
        Ok(())
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
