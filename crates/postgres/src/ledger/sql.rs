//! The ledger table's SQL: its DDL and every statement run on it.

use gerbang_core::Error;
use gerbang_core::ledger::WatchState;

use crate::table::TableName;

/// The ledger table's name when none is configured.
pub const DEFAULT_LEDGER_TABLE: &str = "gerbang_ledger";

/// Whether a record in `state` is done with for good: not watched any more, and not a mismatch
/// (which waits for a person). Only these are purged.
pub(crate) fn is_final(state: WatchState) -> bool {
    !state.is_watched() && state != WatchState::Mismatch
}

/// `'a', 'b'`: the states for which `pick` holds, as an SQL list.
fn states_where(pick: impl Fn(WatchState) -> bool) -> String {
    WatchState::ALL.into_iter().filter(|s| pick(*s)).map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
}

/// The columns a record is read from, in the order [`super::row`] reads them.
const COLUMNS: [&str; 12] = [
    "provider",
    "reference",
    "provider_reference",
    "amount::text",
    "currency",
    "state",
    "provider_status",
    "expires_at",
    "recorded_at",
    "next_check",
    "checks",
    "note",
];

/// The record's columns, each prefixed by `alias.`, `next_check` taken from `next_check_from`.
fn columns(alias: &str, next_check_from: &str) -> String {
    COLUMNS
        .iter()
        .map(|c| match *c {
            "next_check" => format!("{next_check_from}.next_check"),
            "amount::text" => format!("{alias}.amount::text AS amount"),
            c => format!("{alias}.{c}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every statement of one ledger, built once from its table name.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) table: TableName,
    pub(crate) ddl: String,
    pub(crate) record: String,
    pub(crate) begin: String,
    pub(crate) find_by_reference: String,
    pub(crate) find_at_other_gateways: String,
    pub(crate) find_by_gateway_id: String,
    pub(crate) due: String,
    pub(crate) list: String,
    pub(crate) purge: String,
}

impl Statements {
    pub(crate) fn new(table: TableName) -> Self {
        let t = table.quoted();
        let watched = states_where(WatchState::is_watched);
        let upsert = format!(
            "INSERT INTO {t} AS ledger (provider, reference, provider_reference, amount, currency, state, rank, \
             provider_status, expires_at, recorded_at, next_check, checks, note) \
             VALUES ($1, $2, $3, $4::text::numeric, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (provider, reference) DO UPDATE \
             SET provider_reference = excluded.provider_reference, amount = excluded.amount, \
             currency = excluded.currency, state = excluded.state, rank = excluded.rank, \
             provider_status = excluded.provider_status, expires_at = excluded.expires_at, \
             recorded_at = excluded.recorded_at, next_check = excluded.next_check, checks = excluded.checks, \
             note = excluded.note"
        );
        let record = format!("{upsert} WHERE ledger.rank <= excluded.rank");
        // The check and the write-ahead record of a create in one statement: a conflicting row
        // is replaced only when the gateway refused its create. A concurrent insert of the same
        // key waits for the first to commit, then sees its row and writes nothing.
        let begin = format!("{upsert} WHERE ledger.state = '{}'", WatchState::NotCreated.as_str());
        let find_by_reference =
            format!("SELECT {} FROM {t} AS ledger WHERE provider = $1 AND reference = $2", columns("ledger", "ledger"));
        // One probe of the primary key per gateway (`provider = ANY` on its first column).
        let find_at_other_gateways = format!(
            "SELECT {} FROM {t} AS ledger WHERE provider = ANY($1::text[]) AND reference = $2",
            columns("ledger", "ledger")
        );
        // The gateway's id only, never the reference: a reference may be another payment's id.
        let find_by_gateway_id = format!(
            "SELECT {} FROM {t} AS ledger WHERE provider = $1 AND provider_reference = $2 \
             ORDER BY recorded_at DESC, reference LIMIT 1",
            columns("ledger", "ledger")
        );
        let due = format!(
            "WITH due AS (\
             SELECT provider, reference, next_check FROM {t} \
             WHERE state IN ({watched}) AND next_check <= $1 \
             ORDER BY next_check LIMIT $2 \
             FOR UPDATE SKIP LOCKED\
             ), handed AS (\
             UPDATE {t} AS ledger SET next_check = $3 FROM due \
             WHERE ledger.provider = due.provider AND ledger.reference = due.reference \
             RETURNING {}\
             ) \
             SELECT * FROM handed ORDER BY next_check",
            columns("ledger", "due")
        );
        let list = format!(
            "SELECT {} FROM {t} AS ledger ORDER BY recorded_at DESC, provider, reference LIMIT $1",
            columns("ledger", "ledger")
        );
        let purge = format!("DELETE FROM {t} WHERE state IN ({}) AND recorded_at < $1", states_where(is_final));
        Self {
            ddl: ddl(&table),
            table,
            record,
            begin,
            find_by_reference,
            find_at_other_gateways,
            find_by_gateway_id,
            due,
            list,
            purge,
        }
    }
}

/// The DDL of the table and its indexes, as the crate docs show it.
fn ddl(table: &TableName) -> String {
    let t = table.quoted();
    let (lookup, due, recent) = (table.index("lookup"), table.index("due"), table.index("recent"));
    let watched = states_where(WatchState::is_watched);
    format!(
        "CREATE TABLE IF NOT EXISTS {t} (
    provider           text        NOT NULL,
    reference          text        NOT NULL,
    provider_reference text,
    amount             numeric     NOT NULL,
    currency           text        NOT NULL,
    state              text        NOT NULL,
    rank               smallint    NOT NULL,
    provider_status    text,
    expires_at         timestamptz,
    recorded_at        timestamptz NOT NULL,
    next_check         timestamptz,
    checks             bigint      NOT NULL,
    note               text,
    PRIMARY KEY (provider, reference)
);
CREATE INDEX IF NOT EXISTS {lookup} ON {t} (provider, provider_reference) WHERE provider_reference IS NOT NULL;
CREATE INDEX IF NOT EXISTS {due} ON {t} (next_check) WHERE state IN ({watched});
CREATE INDEX IF NOT EXISTS {recent} ON {t} (recorded_at);
"
    )
}

/// The SQL that creates the ledger table `table` (`table` or `schema.table`) and its indexes,
/// for a DBA or a migration tool: the same statements
/// [`PostgresLedger`](crate::PostgresLedger) runs when the table is missing.
///
/// ```
/// let sql = gerbang_postgres::ledger_schema_sql("billing.gerbang_ledger")?;
/// assert!(sql.starts_with(r#"CREATE TABLE IF NOT EXISTS "billing"."gerbang_ledger" ("#));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Config`] when `table` is not a valid name.
pub fn ledger_schema_sql(table: &str) -> Result<String, Error> {
    Ok(ddl(&TableName::parse(table)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements() -> Statements {
        Statements::new(TableName::parse(DEFAULT_LEDGER_TABLE).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn the_crate_docs_show_the_schema_and_the_due_statement() {
        let docs: String = include_str!("../lib.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//!"))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .collect::<Vec<_>>()
            .join("\n");
        let sql = ledger_schema_sql(DEFAULT_LEDGER_TABLE).unwrap_or_default();
        assert!(docs.contains(sql.trim_end()), "the crate docs must show:\n{sql}");
        let words =
            |text: &str| text.replace('(', " ( ").replace(')', " ) ").split_whitespace().collect::<Vec<_>>().join(" ");
        let sql = statements();
        for statement in [&sql.due, &sql.record, &sql.begin] {
            assert!(words(&docs).contains(&words(statement)), "the crate docs must show:\n{statement}");
        }
    }

    #[test]
    fn watched_and_final_states_split_as_the_core_says() {
        assert_eq!(states_where(WatchState::is_watched), "'creating', 'unknown', 'pending'");
        assert_eq!(
            states_where(is_final),
            "'not_created', 'paid', 'expired', 'cancelled', 'failed', 'refunded'",
            "a mismatch waits for a person"
        );
    }
}
