//! The inbox table's SQL: its DDL and every statement run on it.

use gerbang_core::Error;

use crate::table::TableName;

/// The inbox table's name when none is configured.
pub const DEFAULT_TABLE: &str = "gerbang_inbox";

/// Every statement of one inbox, built once from its table name.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) table: TableName,
    pub(crate) ddl: String,
    pub(crate) claim: String,
    pub(crate) state: String,
    pub(crate) complete: String,
    pub(crate) release: String,
    pub(crate) purge: String,
}

impl Statements {
    pub(crate) fn new(table: TableName) -> Self {
        let t = table.quoted();
        let claim = format!(
            "INSERT INTO {t} AS inbox (gateway, dedup_key, state, holder, lease_until) \
             VALUES ($1, $2, 'claimed', $3, now() + $4::float8 * interval '1 millisecond') \
             ON CONFLICT (gateway, dedup_key) DO UPDATE \
             SET holder = excluded.holder, lease_until = excluded.lease_until \
             WHERE inbox.state = 'claimed' AND inbox.lease_until < now() \
             RETURNING inbox.holder"
        );
        let state = format!("SELECT state FROM {t} WHERE gateway = $1 AND dedup_key = $2");
        // Whoever holds the claim (the handler ran: `Inbox::complete`); the row says whether
        // it was this holder's.
        let complete = format!(
            "UPDATE {t} SET state = 'done', done_at = now() \
             WHERE gateway = $1 AND dedup_key = $2 AND state = 'claimed' \
             RETURNING holder = $3"
        );
        let release = format!(
            "DELETE FROM {t} WHERE gateway = $1 AND dedup_key = $2 AND holder = $3 AND state = 'claimed' RETURNING true"
        );
        let purge = format!(
            "DELETE FROM {t} WHERE coalesce(done_at, lease_until) < now() - $1::float8 * interval '1 millisecond'"
        );
        Self { ddl: ddl(&table), table, claim, state, complete, release, purge }
    }
}

/// The DDL of the table and its index, as the crate docs show it.
fn ddl(table: &TableName) -> String {
    let t = table.quoted();
    let index = table.index("expiry");
    format!(
        "CREATE TABLE IF NOT EXISTS {t} (
    gateway     text        NOT NULL,
    dedup_key   text        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('claimed', 'done')),
    holder      text        NOT NULL,
    lease_until timestamptz NOT NULL,
    done_at     timestamptz,
    PRIMARY KEY (gateway, dedup_key)
);
CREATE INDEX IF NOT EXISTS {index} ON {t} ((coalesce(done_at, lease_until)));
"
    )
}

/// The SQL that creates the inbox table `table` (`table` or `schema.table`) and its index, for a
/// DBA or a migration tool: the same statements [`PostgresInbox`](crate::PostgresInbox) runs when
/// the table is missing.
///
/// ```
/// let sql = gerbang_postgres::schema_sql("billing.gerbang_inbox")?;
/// assert!(sql.starts_with(r#"CREATE TABLE IF NOT EXISTS "billing"."gerbang_inbox" ("#));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Config`] when `table` is not a valid name.
pub fn schema_sql(table: &str) -> Result<String, Error> {
    Ok(ddl(&TableName::parse(table)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_docs_show_the_schema_that_is_run() {
        let docs: String = include_str!("../lib.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//!"))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .collect::<Vec<_>>()
            .join("\n");
        let sql = schema_sql(DEFAULT_TABLE).unwrap_or_default();
        assert!(docs.contains(sql.trim_end()), "the crate docs must show:\n{sql}");
        let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        let claim = Statements::new(TableName::parse(DEFAULT_TABLE).unwrap_or_else(|e| panic!("{e}"))).claim;
        assert!(words(&docs).contains(&words(&claim)), "the crate docs must show:\n{claim}");
    }
}
