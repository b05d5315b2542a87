//! The outbox tables' SQL: their DDL and every statement run on them.
//!
//! Two tables: the messages (`gerbang_outbox`), and one row per payment
//! (`gerbang_outbox_payment`) that holds the highest rank delivered and `due`, the earliest time
//! the payment may have a message to take. `due` is what `take` looks for, through its own
//! index, so that a payment whose first message waits for a retry or is under lease costs
//! nothing, however many of its messages wait behind it. Every writer locks the payment's row
//! before it touches the payment's messages and sets `due` again before it commits, never later
//! than the truth (earlier only costs a look); `take` skips the rows another replica holds.

use gerbang_core::Error;
use gerbang_core::outbox::DeliveryState;

use crate::table::TableName;

/// The outbox table's name when none is configured. The per-payment table is named after it,
/// with `_payment` (`gerbang_outbox_payment`).
pub const DEFAULT_OUTBOX_TABLE: &str = "gerbang_outbox";

/// What the per-payment table's name adds to the outbox table's.
const PAYMENT_SUFFIX: &str = "_payment";

/// The columns a record is read from, in the order [`super::row`] reads them.
const COLUMNS: [&str; 14] = [
    "id",
    "gateway",
    "payment",
    "reference",
    "provider_reference",
    "status",
    "rank",
    "body",
    "state",
    "attempts",
    "last_answer",
    "received_at",
    "next_attempt",
    "settled_at",
];

/// The record's columns, each prefixed by `alias.`.
fn columns(alias: &str) -> String {
    COLUMNS.iter().map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// `'a', 'b'`: the states given, as an SQL list.
fn states(states: &[DeliveryState]) -> String {
    states.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
}

/// The states [`prune`](gerbang_core::outbox::Outbox::prune) forgets.
const DONE: [DeliveryState; 2] = [DeliveryState::Delivered, DeliveryState::Superseded];

/// Every statement of one outbox, built once from its table name.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) table: TableName,
    pub(crate) payments: TableName,
    pub(crate) ddl: String,
    /// Creates or locks the payment's row; its delivered rank (`$1` payment).
    pub(crate) lock_payment: String,
    /// Adds a message unless its id is there; its state, or no row (`$1`..`$9`).
    pub(crate) add: String,
    /// Locks up to `$1` payments that are due, skipping those another caller holds.
    pub(crate) lock_due: String,
    /// Supersedes the pending messages of the payments `$1` ranked below a delivered one.
    pub(crate) supersede: String,
    /// Leases the first pending message of each of the payments `$1` that is due and free.
    pub(crate) take: String,
    /// Sets `due` of the payments `$1` from their messages.
    pub(crate) reschedule: String,
    /// Locks a payment's row (`$1`) for a settle.
    pub(crate) lock_one: String,
    /// Records an attempt on a message by its holder; its rank, or no row.
    pub(crate) settle: String,
    /// After a settle: the delivered rank (`$2`, null when not delivered) and `due` of `$1`.
    pub(crate) settled: String,
    /// The payments of the messages of ids `$1`.
    pub(crate) payments_of_ids: String,
    /// The payments of the messages received at or after `$1`.
    pub(crate) payments_since: String,
    /// Locks the rows of the payments `$1`, in a fixed order (replay).
    pub(crate) lock_payments: String,
    /// Replays the messages of ids `$2` among the payments `$1`.
    pub(crate) replay_ids: String,
    /// Replays the messages received at or after `$2` among the payments `$1`.
    pub(crate) replay_since: String,
    /// `list`, with neither filter, by state (`$1`), since (`$1`), or both (`$1`, `$2`); the
    /// limit is the last parameter.
    pub(crate) list: [String; 4],
    /// Deletes up to `$2` delivered or superseded messages settled before `$1`; their payments.
    pub(crate) prune: String,
    /// Locks, skipping those held, the rows of the payments `$1` (prune).
    pub(crate) lock_idle: String,
    /// Deletes the rows of the payments `$1` that have no message left.
    pub(crate) forget: String,
    /// Counts by state, and the oldest pending message's reception.
    pub(crate) stats: String,
}

impl Statements {
    pub(crate) fn new(table: TableName) -> Self {
        let payments = table.sibling(PAYMENT_SUFFIX);
        let (t, p) = (table.quoted(), payments.quoted());
        let pending = DeliveryState::Pending.as_str();
        // The payment `p` is due when its lease runs out, else when its first pending message
        // is; never when none is pending.
        let due = format!(
            "coalesce(\
             (SELECT max(l.lease_until) FROM {t} AS l \
             WHERE l.payment = p.payment AND l.state = '{pending}' AND l.lease_until > now()), \
             (SELECT h.next_attempt FROM {t} AS h \
             WHERE h.payment = p.payment AND h.state = '{pending}' ORDER BY h.rank, h.seq LIMIT 1))"
        );
        let leased = |alias: &str| {
            format!(
                "EXISTS (SELECT 1 FROM {t} AS l WHERE l.payment = {alias}.payment AND l.state = '{pending}' \
                 AND l.lease_until > now())"
            )
        };

        let lock_payment = format!(
            "INSERT INTO {p} AS p (payment) VALUES ($1) \
             ON CONFLICT (payment) DO UPDATE SET payment = excluded.payment \
             RETURNING p.delivered_rank"
        );
        let add = format!(
            "WITH added AS (\
             INSERT INTO {t} (id, gateway, payment, reference, provider_reference, status, rank, body, state, \
             received_at, next_attempt, settled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), \
             CASE WHEN $9 = '{pending}' THEN now() END, CASE WHEN $9 <> '{pending}' THEN now() END) \
             ON CONFLICT (id) DO NOTHING \
             RETURNING state\
             ), woken AS (\
             UPDATE {p} SET due = least(due, now()) \
             WHERE payment = $3 AND EXISTS (SELECT 1 FROM added WHERE state = '{pending}')\
             ) \
             SELECT state FROM added"
        );
        let lock_due =
            format!("SELECT payment FROM {p} WHERE due <= now() ORDER BY due LIMIT $1 FOR UPDATE SKIP LOCKED");
        let supersede = format!(
            "UPDATE {t} AS m SET state = '{}', settled_at = now(), next_attempt = NULL, holder = NULL, \
             lease_until = NULL \
             WHERE m.payment = ANY($1) AND m.state = '{pending}' AND NOT m.replayed \
             AND m.rank < (SELECT p.delivered_rank FROM {p} AS p WHERE p.payment = m.payment) \
             AND NOT {}",
            DeliveryState::Superseded.as_str(),
            leased("m")
        );
        let take = format!(
            "WITH head AS (\
             SELECT first.id FROM unnest($1::text[]) AS p(payment) \
             CROSS JOIN LATERAL (\
             SELECT m.id, m.next_attempt FROM {t} AS m \
             WHERE m.payment = p.payment AND m.state = '{pending}' ORDER BY m.rank, m.seq LIMIT 1\
             ) AS first \
             WHERE first.next_attempt <= now() AND NOT {}\
             ), taken AS (\
             UPDATE {t} AS m SET holder = $2::text || '.' || m.seq::text, \
             lease_until = now() + $3::float8 * interval '1 millisecond' \
             FROM head WHERE m.id = head.id \
             RETURNING {}, m.holder, m.seq\
             ) \
             SELECT * FROM taken ORDER BY next_attempt, seq",
            leased("p"),
            columns("m")
        );
        let reschedule = format!("UPDATE {p} AS p SET due = {due} WHERE p.payment = ANY($1)");
        let lock_one = format!("SELECT delivered_rank FROM {p} WHERE payment = $1 FOR UPDATE");
        let settle = format!(
            "UPDATE {t} SET attempts = attempts + 1, last_answer = $4, state = $5, next_attempt = $6, \
             settled_at = CASE WHEN $5 = '{pending}' THEN NULL ELSE now() END, holder = NULL, lease_until = NULL \
             WHERE id = $1 AND holder = $2 AND payment = $3 AND state = '{pending}' \
             RETURNING rank"
        );
        let settled = format!(
            "UPDATE {p} AS p SET delivered_rank = greatest(p.delivered_rank, $2::smallint), due = {due} \
             WHERE p.payment = $1"
        );
        let payments_of_ids = format!("SELECT DISTINCT payment FROM {t} WHERE id = ANY($1)");
        let payments_since = format!("SELECT DISTINCT payment FROM {t} WHERE received_at >= $1");
        let lock_payments = format!("SELECT payment FROM {p} WHERE payment = ANY($1) ORDER BY payment FOR UPDATE");
        // A message under lease keeps it (its holder may still settle); any other is pending
        // again with no holder.
        let replay = format!(
            "UPDATE {t} SET replayed = true, attempts = 0, next_attempt = now(), settled_at = NULL, \
             holder = CASE WHEN state = '{pending}' THEN holder END, \
             lease_until = CASE WHEN state = '{pending}' THEN lease_until END, \
             state = '{pending}' \
             WHERE payment = ANY($1)"
        );
        let replay_ids = format!("{replay} AND id = ANY($2)");
        let replay_since = format!("{replay} AND received_at >= $2");
        let select = format!("SELECT {} FROM {t} AS m", columns("m"));
        let list = [
            format!("{select} ORDER BY m.seq LIMIT $1"),
            format!("{select} WHERE m.state = $1 ORDER BY m.seq LIMIT $2"),
            format!("{select} WHERE m.received_at >= $1 ORDER BY m.seq LIMIT $2"),
            format!("{select} WHERE m.state = $1 AND m.received_at >= $2 ORDER BY m.seq LIMIT $3"),
        ];
        // SKIP LOCKED: pruning never waits, so it never deadlocks with a replay. `= ANY(ARRAY(…))`
        // rather than `IN (…)`: the batch is found through the primary key, never by a scan.
        let prune = format!(
            "DELETE FROM {t} WHERE id = ANY(ARRAY(\
             SELECT id FROM {t} WHERE state IN ({}) AND settled_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED\
             )) RETURNING payment",
            states(&DONE)
        );
        let lock_idle = format!("SELECT payment FROM {p} WHERE payment = ANY($1) FOR UPDATE SKIP LOCKED");
        let forget = format!(
            "DELETE FROM {p} AS p WHERE p.payment = ANY($1) AND NOT EXISTS (SELECT 1 FROM {t} AS m WHERE m.payment = p.payment)"
        );
        let count = |state: DeliveryState| format!("count(*) FILTER (WHERE state = '{}')", state.as_str());
        let stats = format!(
            "SELECT {}, {}, {}, {}, min(received_at) FILTER (WHERE state = '{pending}') FROM {t}",
            count(DeliveryState::Pending),
            count(DeliveryState::Delivered),
            count(DeliveryState::Failed),
            count(DeliveryState::Superseded)
        );
        Self {
            ddl: ddl(&table),
            table,
            payments,
            lock_payment,
            add,
            lock_due,
            supersede,
            take,
            reschedule,
            lock_one,
            settle,
            settled,
            payments_of_ids,
            payments_since,
            lock_payments,
            replay_ids,
            replay_since,
            list,
            prune,
            lock_idle,
            forget,
            stats,
        }
    }
}

/// The DDL of the two tables and their indexes, as the crate docs show it.
fn ddl(table: &TableName) -> String {
    let t = table.quoted();
    let p = table.sibling(PAYMENT_SUFFIX).quoted();
    let index = |suffix| table.index(suffix);
    let (seq, order, state, recent) = (index("seq"), index("order"), index("state"), index("recent"));
    let (settled, due) = (index("settled"), index("pay_due"));
    let all = states(&DeliveryState::ALL);
    let done = states(&DONE);
    format!(
        "CREATE TABLE IF NOT EXISTS {t} (
    id                 text        PRIMARY KEY,
    seq                bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    gateway            text        NOT NULL,
    payment            text        NOT NULL,
    reference          text,
    provider_reference text,
    status             text        NOT NULL,
    rank               smallint    NOT NULL,
    body               text        NOT NULL,
    state              text        NOT NULL CHECK (state IN ({all})),
    attempts           integer     NOT NULL DEFAULT 0,
    last_answer        text,
    received_at        timestamptz NOT NULL,
    next_attempt       timestamptz,
    settled_at         timestamptz,
    replayed           boolean     NOT NULL DEFAULT false,
    holder             text,
    lease_until        timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS {seq} ON {t} (seq);
CREATE INDEX IF NOT EXISTS {order} ON {t} (payment, state, rank, seq);
CREATE INDEX IF NOT EXISTS {state} ON {t} (state, seq);
CREATE INDEX IF NOT EXISTS {recent} ON {t} (received_at);
CREATE INDEX IF NOT EXISTS {settled} ON {t} (settled_at) WHERE state IN ({done});
CREATE TABLE IF NOT EXISTS {p} (
    payment        text        PRIMARY KEY,
    delivered_rank smallint,
    due            timestamptz
);
CREATE INDEX IF NOT EXISTS {due} ON {p} (due) WHERE due IS NOT NULL;
"
    )
}

/// The SQL that creates the outbox's tables for the outbox table `table` (`table` or
/// `schema.table`; the per-payment table is `table_payment` beside it) and their indexes, for a
/// DBA or a migration tool: the same statements [`PostgresOutbox`](crate::PostgresOutbox) runs
/// when they are missing.
///
/// ```
/// let sql = gerbang_postgres::outbox_schema_sql("billing.gerbang_outbox")?;
/// assert!(sql.starts_with(r#"CREATE TABLE IF NOT EXISTS "billing"."gerbang_outbox" ("#));
/// assert!(sql.contains(r#"CREATE TABLE IF NOT EXISTS "billing"."gerbang_outbox_payment" ("#));
/// # Ok::<(), gerbang_core::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Config`] when `table` is not a valid name.
pub fn outbox_schema_sql(table: &str) -> Result<String, Error> {
    Ok(ddl(&TableName::parse(table)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements() -> Statements {
        Statements::new(TableName::parse(DEFAULT_OUTBOX_TABLE).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn the_crate_docs_show_the_schema_and_the_take() {
        let docs: String = include_str!("../lib.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//!"))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .collect::<Vec<_>>()
            .join("\n");
        let sql = outbox_schema_sql(DEFAULT_OUTBOX_TABLE).unwrap_or_default();
        assert!(docs.contains(sql.trim_end()), "the crate docs must show:\n{sql}");
        let words =
            |text: &str| text.replace('(', " ( ").replace(')', " ) ").split_whitespace().collect::<Vec<_>>().join(" ");
        let sql = statements();
        for statement in [&sql.lock_due, &sql.supersede, &sql.take, &sql.reschedule] {
            assert!(words(&docs).contains(&words(statement)), "the crate docs must show:\n{statement}");
        }
    }

    #[test]
    fn the_longest_name_fits_what_postgres_keeps() {
        let longest = "x".repeat(55);
        let sql = outbox_schema_sql(&longest).unwrap_or_default();
        for name in sql.split('"').skip(1).step_by(2) {
            assert!(name.len() <= 63, "{name} is cut by Postgres");
        }
    }
}
