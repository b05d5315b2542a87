//! The inbox table: its validated name, and every statement run on it.

use std::fmt;

use gerbang_core::Error;

/// The table's name when none is configured.
pub const DEFAULT_TABLE: &str = "gerbang_inbox";

/// A table name that is safe to put into SQL: `table` or `schema.table`, each part of lowercase
/// ASCII letters, digits and `_`, not starting with a digit, at most 55 bytes (Postgres cuts names
/// at 63, and the index takes the table's name plus `_expiry`). Always written double-quoted.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TableName {
    schema: Option<String>,
    table: String,
}

impl TableName {
    pub(crate) fn parse(name: &str) -> Result<Self, Error> {
        let (schema, table) = match name.split_once('.') {
            Some((schema, table)) => (Some(schema), table),
            None => (None, name),
        };
        for part in schema.into_iter().chain([table]) {
            let valid_start = part.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
            let valid_rest = part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid_start || !valid_rest || part.len() > 55 {
                return Err(Error::config(format!(
                    "the Postgres inbox table {name:?} is not a valid name: expected `table` or `schema.table`, \
                     each of lowercase letters, digits and `_`, not starting with a digit, at most 55 bytes"
                )));
            }
        }
        Ok(Self { schema: schema.map(str::to_owned), table: table.to_owned() })
    }

    /// The quoted, possibly schema-qualified name.
    fn quoted(&self) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}\"", self.table),
            None => format!("\"{}\"", self.table),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted())
    }
}

impl fmt::Debug for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "\"{schema}.{}\"", self.table),
            None => write!(f, "\"{}\"", self.table),
        }
    }
}

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
        let complete = format!(
            "UPDATE {t} SET state = 'done', done_at = now() \
             WHERE gateway = $1 AND dedup_key = $2 AND holder = $3 AND state = 'claimed'"
        );
        let release =
            format!("DELETE FROM {t} WHERE gateway = $1 AND dedup_key = $2 AND holder = $3 AND state = 'claimed'");
        let purge = format!(
            "DELETE FROM {t} WHERE coalesce(done_at, lease_until) < now() - $1::float8 * interval '1 millisecond'"
        );
        Self { ddl: ddl(&table), table, claim, state, complete, release, purge }
    }
}

/// The DDL of the table and its index, as the crate docs show it.
fn ddl(table: &TableName) -> String {
    let t = table.quoted();
    let index = format!("\"{}_expiry\"", table.table);
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

/// An advisory-lock key for the table, the same in every process: replicas starting at once
/// create the table one after the other (concurrent `CREATE TABLE IF NOT EXISTS` can fail).
pub(crate) fn lock_key(table: &TableName) -> i64 {
    // FNV-1a: stable across processes and Rust versions, unlike the standard hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("gerbang-postgres inbox {}", table.quoted()).bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_and_qualified_names() {
        assert_eq!(TableName::parse("gerbang_inbox").map(|t| t.to_string()).ok(), Some("\"gerbang_inbox\"".to_owned()));
        assert_eq!(
            TableName::parse("billing.inbox_2").map(|t| t.to_string()).ok(),
            Some("\"billing\".\"inbox_2\"".to_owned())
        );
    }

    #[test]
    fn rejects_names_that_could_inject_sql() {
        for bad in
            ["", "Inbox", "1inbox", "inbox; drop table orders", "a.b.c", "in\"box", ".inbox", "inbox.", &"x".repeat(56)]
        {
            assert!(matches!(TableName::parse(bad), Err(Error::Config { .. })), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_crate_docs_show_the_schema_that_is_run() {
        let docs: String = include_str!("lib.rs")
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

    #[test]
    fn lock_keys_differ_by_table() {
        let key = |name| lock_key(&TableName::parse(name).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(key("gerbang_inbox"), key("gerbang_inbox"));
        assert_ne!(key("gerbang_inbox"), key("billing.gerbang_inbox"));
    }
}
