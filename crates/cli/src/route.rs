//! `gerbang route create --via A,B …`: one payment through several gateways, failing over only
//! when the payment provably does not exist at the gateway just tried (`gerbang::router`).

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use gerbang::ledger::Watched;
use gerbang::router::{Attempt, CircuitPolicy, Outcome, RouteError, Router, Rule};
use gerbang::{LookupKey, PaymentProvider, ProviderId};
use serde::Serialize;

use crate::common::{Failed, RequestArgs, name_flags, print_json};

/// `gerbang route …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RouteCommand {
    /// Create a payment at the first gateway of `--via` that takes it; print it with every
    /// attempt.
    ///
    /// The next gateway is tried only when nothing exists at the one before: it was never
    /// reached, its circuit is open, the request is outside its documented limits, or it refused
    /// in a way its documents say creates nothing. When the answer was lost, a gateway that
    /// looks payments up by the merchant's reference (Cash In, crypto invoices, Ciputra) is
    /// asked; one that cannot be asked (Cuan10pay, QRIS) stops the route: the payment may exist
    /// there, and no other gateway is tried.
    ///
    /// Prints the payment's JSON with `"attempts": [{"gateway", "outcome", "detail"?}]`; on
    /// failure `{"error", "attempts"}` on stdout, one line on stderr, and exit code 1. Each
    /// gateway's credentials and base URL come from its variables (`GERBANG_<GATEWAY>_*`).
    Create(RouteCreateArgs),
}

impl RouteCommand {
    pub(crate) async fn run(&self) -> Result<(), Failed> {
        match self {
            Self::Create(args) => args.run().await,
        }
    }
}

/// `route create`'s flags: the gateways, the request (every gateway's `create` flags) and the
/// store.
#[derive(Debug, Args)]
pub(crate) struct RouteCreateArgs {
    /// The gateways to try, in order: cuan10pay, cashin, qris, crypto-invoice, ciputra.
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_gateway)]
    via: Vec<ProviderId>,
    #[command(flatten)]
    request: RequestArgs,
    /// Record every attempt in the ledger of this store (each gateway's create as `creating`,
    /// then pending, unknown or not created), for `gerbang webhook serve --store` to reconcile
    /// and `gerbang watched` to show. With a Redis URL (`redis://`, `rediss://`,
    /// `redis+cluster://`) the circuits live there too, shared by every process given it; with
    /// any other store, or none, the circuits are this process's own, in memory (each run
    /// starts with every circuit closed).
    #[arg(long, env = "GERBANG_STORE_URL", hide_env_values = true)]
    store: Option<String>,
    /// The CA certificates (PEM) the store's TLS certificate must chain to, for a Postgres URL that
    /// names no `sslrootcert` or a `rediss://` (`rediss+cluster://`) URL (default: the system's
    /// trust store).
    #[arg(long, env = "GERBANG_STORE_CA")]
    store_ca: Option<std::path::PathBuf>,
    /// Consecutive failures that prove a gateway unhealthy (never reached, 5xx, answer lost)
    /// before its circuit opens and it is skipped.
    #[arg(long, value_name = "N", default_value_t = CircuitPolicy::default().failure_threshold,
        value_parser = clap::value_parser!(u32).range(1..))]
    circuit_failures: u32,
    /// Seconds an open circuit skips its gateway before one probe is let through.
    #[arg(long, value_name = "SECS", default_value_t = CircuitPolicy::default().cool_down.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..))]
    circuit_cool_down: u64,
}

/// A `--via` gateway, named as the other commands name it.
fn parse_gateway(text: &str) -> Result<ProviderId, String> {
    text.trim()
        .parse::<ProviderId>()
        .map_err(|_| format!("`{text}` is not a gateway: expected cuan10pay, cashin, qris, crypto-invoice or ciputra"))
}

/// What a failed route prints on stdout, so that a script sees every attempt.
#[derive(Serialize)]
struct Failure<'a> {
    error: String,
    attempts: &'a [Attempt],
}

impl RouteCreateArgs {
    /// The gateways named twice in `--via`, if any: a usage error.
    pub(crate) fn repeated_gateway(&self) -> Option<ProviderId> {
        self.via.iter().enumerate().find(|(i, id)| self.via[..*i].contains(id)).map(|(_, id)| *id)
    }

    async fn run(&self) -> Result<(), Failed> {
        let request = self.request.request()?;
        if let Some(url) = &self.store {
            crate::stores::check_url(url)?;
            // Cuan10pay's budget and Ciputra's token in the same store, as `webhook serve` does.
            crate::stores::use_url(url);
        }
        if let Some(ca) = &self.store_ca {
            crate::stores::use_ca(ca);
        }
        let ledger = match &self.store {
            Some(url) => crate::stores::ledger(url, true).await?,
            None => None,
        };
        let policy = CircuitPolicy::default()
            .failures(self.circuit_failures)
            .cool_down(Duration::from_secs(self.circuit_cool_down));
        let mut router = Router::builder().rule(Rule::new(self.via.iter().copied())).circuit_policy(policy);
        if let Some(circuits) = match &self.store {
            Some(url) => crate::stores::circuit_store(url).await?,
            None => None,
        } {
            router = router.circuit_store(circuits);
        }
        for &id in &self.via {
            let gateway = crate::providers::client(id).await?;
            router = router.gateway(match &ledger {
                // Every attempt recorded before it is sent, then with its answer.
                Some(ledger) => Arc::new(Watched::new(gateway, Arc::clone(ledger))) as Arc<dyn PaymentProvider>,
                None => gateway,
            });
        }
        let router = router.build()?;
        match router.route(&request).await {
            Ok(routed) => Ok(print_json(&routed)?),
            Err(failed) => {
                print_json(&Failure { error: failed.error.to_string(), attempts: &failed.attempts })?;
                let lookup = |id: ProviderId| router.gateway(id).map(|g| g.capabilities().lookup);
                Err(Failed(explain(failed, &request.reference, lookup, ledger.is_some())))
            }
        }
    }
}

/// The line on stderr for a route that returned no payment: every attempt and the error it
/// ended with; after an unknown outcome, that the payment may exist at that gateway and how to
/// find out (never "try elsewhere").
fn explain(
    failed: RouteError,
    reference: &str,
    lookup: impl Fn(ProviderId) -> Option<LookupKey>,
    recorded: bool,
) -> String {
    let error = name_flags(failed.error);
    let Some(last) = failed.attempts.last() else { return error.to_string() };
    if last.outcome != Outcome::Unknown {
        let tried: Vec<String> = failed.attempts.iter().map(|a| format!("{} {}", a.gateway, a.outcome)).collect();
        return format!("the route returned no payment ({}): {error}", tried.join(", "));
    }
    let gateway = last.gateway;
    let check = match lookup(gateway) {
        Some(LookupKey::Reference) => format!("`gerbang {gateway} status {reference}` tells whether it does"),
        _ => format!(
            "{gateway} finds payments only by its own id, which was in the lost answer: look for {reference} in \
             its dashboard"
        ),
    };
    let watched = if recorded { "; the ledger watches it as unknown (`gerbang watched`)" } else { "" };
    format!(
        "the payment may exist at {gateway}, so no other gateway was tried; {check} before creating it anywhere \
         else{watched} ({error})"
    )
}
