//! `gerbang watched [--store URL] [--limit N]`: the payments the ledger watches, as JSON.

use clap::Args;
use gerbang::Error;
use gerbang::ledger::WatchedPayment;
use serde::Serialize;

use crate::common::print_json;

/// Print the payments recorded in the ledger (by `create --store`), the most recent first: each
/// with its state (`pending`, `paid`, …, `unknown`, `not_created`, `mismatch`), its next check
/// and, where there is one, a note saying why it is no longer checked.
#[derive(Debug, Args)]
pub(crate) struct WatchedArgs {
    /// The store holding the ledger: `redis://…` or `postgres://…`.
    #[arg(long, env = "GERBANG_STORE_URL", hide_env_values = true)]
    store: Option<String>,
    /// At most this many payments.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// A record as printed: the ledger's fields, and `watched` (whether it is still checked).
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    record: &'a WatchedPayment,
    watched: bool,
}

impl WatchedArgs {
    pub(crate) async fn run(&self) -> Result<(), Error> {
        let missing = || {
            Error::config(
                "the ledger lives in a shared store: give --store redis://… or postgres://… (or set GERBANG_STORE_URL), \
                 the one `create --store` and `webhook serve --store` use",
            )
        };
        let url = self.store.as_deref().ok_or_else(missing)?;
        let ledger = crate::stores::ledger(url, true).await?.ok_or_else(missing)?;
        let records = ledger.list(self.limit).await?;
        let lines: Vec<Line<'_>> =
            records.iter().map(|record| Line { record, watched: record.next_check.is_some() }).collect();
        print_json(&lines)
    }
}
