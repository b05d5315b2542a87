//! `gerbang events list [--store URL] [--state S] [--since TIME] [--limit N] [--body]` and
//! `gerbang events replay (--since TIME | ID…)`: the history of the outbox that `webhook serve
//! --forward-to` delivers from, and sending events again, each under its own `webhook-id`, so
//! that the application's dedup holds.

use std::sync::Arc;

use clap::{Args, Subcommand};
use gerbang::Error;
use gerbang::outbox::{DeliveryState, Outbox, Query, Replay};
use gerbang::time::OffsetDateTime;
use gerbang::time::format_description::well_known::Rfc3339;
use serde_json::Value;

use crate::common::parse_duration;

/// `events list` and `events replay`.
#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// The outbox's events as JSON lines, oldest first: id (the `webhook-id`), gateway,
    /// reference, provider_reference, status, state, attempts, last_answer, received_at,
    /// next_attempt, settled_at.
    List(ListArgs),
    /// Send events again (`failed` ones included), each under its own `webhook-id`, in its
    /// payment's order; prints how many were found.
    Replay(ReplayArgs),
}

/// The store the outbox is in.
#[derive(Debug, Args)]
struct StoreArgs {
    /// The store `webhook serve --store` forwards from: `redis://…` or `postgres://…` (a memory
    /// outbox lives only inside its `webhook serve` process).
    #[arg(long, env = "GERBANG_STORE_URL", hide_env_values = true)]
    store: String,
    /// The CA certificates (PEM) the store's TLS certificate must chain to (as `webhook serve`).
    #[arg(long, env = "GERBANG_STORE_CA")]
    store_ca: Option<std::path::PathBuf>,
}

/// `events list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only events in this state: pending, delivered, failed or superseded.
    #[arg(long, value_parser = parse_state)]
    state: Option<DeliveryState>,
    /// Only events received at or after TIME: RFC 3339 (`2026-12-06T10:00:00Z`) or a duration
    /// ago (`2h`: two hours ago).
    #[arg(long, value_parser = parse_time)]
    since: Option<OffsetDateTime>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Print each event's body too (the JSON the application receives).
    #[arg(long)]
    body: bool,
}

/// `events replay`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["since", "ids"]))]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Every event received at or after TIME: RFC 3339 or a duration ago (`2h`).
    #[arg(long, value_parser = parse_time)]
    since: Option<OffsetDateTime>,
    /// The events' ids (`msg_…`, as `events list` prints them).
    ids: Vec<String>,
}

impl EventsCommand {
    pub(crate) async fn run(&self) -> Result<(), Error> {
        match self {
            Self::List(args) => {
                let outbox = args.store.outbox().await?;
                let query = Query { state: args.state, since: args.since, limit: args.limit };
                for record in outbox.list(&query).await? {
                    let mut line = serde_json::to_value(&record)
                        .map_err(|e| Error::decode(format!("an outbox record as JSON: {e}")))?;
                    if !args.body
                        && let Value::Object(fields) = &mut line
                    {
                        fields.remove("body");
                    }
                    print_line(&line.to_string());
                }
                Ok(())
            }
            Self::Replay(args) => {
                let outbox = args.store.outbox().await?;
                let replay = match args.since {
                    Some(since) => Replay::Since(since),
                    None => Replay::Ids(args.ids.clone()),
                };
                let found = outbox.replay(&replay).await?;
                print_line(&serde_json::json!({ "replayed": found }).to_string());
                Ok(())
            }
        }
    }
}

impl StoreArgs {
    /// The outbox of `--store`, which must outlive this process.
    async fn outbox(&self) -> Result<Arc<dyn Outbox>, Error> {
        if self.store.trim() == "memory" {
            return Err(Error::config(
                "a memory outbox lives only inside its `webhook serve` process: give --store (or \
                 GERBANG_STORE_URL) the redis://… or postgres://… URL it forwards from",
            ));
        }
        crate::stores::use_url(&self.store);
        if let Some(ca) = &self.store_ca {
            crate::stores::use_ca(ca);
        }
        crate::stores::outbox(&self.store).await
    }
}

/// `--state`: a usage error (exit 2) names the four states.
fn parse_state(text: &str) -> Result<DeliveryState, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a delivery state: expected pending, delivered, failed or superseded"))
}

/// `--since`: RFC 3339, or a duration before now (`2h`).
fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    match parse_duration(text) {
        Ok(ago) => Ok(OffsetDateTime::now_utc() - ago),
        Err(_) => Err(format!(
            "`{text}` is not a time: expected RFC 3339 (2026-12-06T10:00:00Z) or a duration ago (90s, 30m, 2h, 1d)"
        )),
    }
}

/// One line on stdout, flushed at once.
fn print_line(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_a_duration_ago() {
        let at = parse_time("2026-12-06T10:00:00+07:00").unwrap();
        assert_eq!(at.unix_timestamp(), 1_796_526_000);
        let ago = parse_time("2h").unwrap();
        let expected = OffsetDateTime::now_utc() - std::time::Duration::from_secs(7200);
        assert!((ago - expected).abs() < gerbang::time::Duration::seconds(5), "{ago}");
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
        assert!(parse_state("lost").unwrap_err().contains("pending, delivered, failed or superseded"));
        assert_eq!(parse_state("failed"), Ok(DeliveryState::Failed));
    }
}
