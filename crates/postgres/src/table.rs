//! Table names that are safe to put into SQL, and the advisory lock that creates a table once.

use std::fmt;

use gerbang_core::Error;

/// A table name that is safe to put into SQL: `table` or `schema.table`, each part of lowercase
/// ASCII letters, digits and `_`, not starting with a digit, at most 55 bytes (Postgres cuts names
/// at 63, and an index takes the table's name plus a suffix of at most 8 bytes, such as
/// `_expiry`). Always written double-quoted.
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
                    "the Postgres table {name:?} is not a valid name: expected `table` or `schema.table`, \
                     each of lowercase letters, digits and `_`, not starting with a digit, at most 55 bytes"
                )));
            }
        }
        Ok(Self { schema: schema.map(str::to_owned), table: table.to_owned() })
    }

    /// The quoted, possibly schema-qualified name.
    pub(crate) fn quoted(&self) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}\"", self.table),
            None => format!("\"{}\"", self.table),
        }
    }

    /// A table beside this one, in its schema, named after it with `suffix` (at most 8 bytes,
    /// `_` included: the name stays within the 63 bytes Postgres keeps): the outbox's
    /// per-payment table.
    pub(crate) fn sibling(&self, suffix: &str) -> Self {
        debug_assert!(suffix.len() <= 8, "{suffix} makes table names longer than Postgres keeps");
        Self { schema: self.schema.clone(), table: format!("{}{suffix}", self.table) }
    }

    /// The quoted name of the table's index ending in `suffix` (in the table's schema, where
    /// Postgres puts an index anyway).
    pub(crate) fn index(&self, suffix: &str) -> String {
        debug_assert!(suffix.len() < 8, "{suffix} makes index names longer than Postgres keeps");
        format!("\"{}_{suffix}\"", self.table)
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

/// An advisory-lock key for the `noun` (`inbox`, `ledger`) table, the same in every process:
/// replicas starting at once create the table one after the other (concurrent
/// `CREATE TABLE IF NOT EXISTS` can fail).
pub(crate) fn lock_key(noun: &str, table: &TableName) -> i64 {
    // FNV-1a: stable across processes and Rust versions, unlike the standard hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("gerbang-postgres {noun} {}", table.quoted()).bytes() {
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
    fn lock_keys_differ_by_table_and_store() {
        let key = |noun, name| lock_key(noun, &TableName::parse(name).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(key("inbox", "gerbang_inbox"), key("inbox", "gerbang_inbox"));
        assert_ne!(key("inbox", "gerbang_inbox"), key("inbox", "billing.gerbang_inbox"));
        assert_ne!(key("inbox", "events"), key("ledger", "events"));
    }
}
