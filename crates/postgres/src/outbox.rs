//! [`PostgresOutbox`]: the [`Outbox`] on two Postgres tables, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use gerbang_core::Error;
use gerbang_core::outbox::{Attempt, DeliveryState, Enqueued, Message, Outbox, Query, Record, Replay, Stats, Taken};
use gerbang_core::time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use crate::conn::{Connection, Kind, Options, builder_methods};
use crate::error::Failure;
use crate::ledger::from_system_time;
use crate::table::TableName;

#[cfg(test)]
mod plans;
mod row;
mod sql;

use sql::Statements;
pub use sql::{DEFAULT_OUTBOX_TABLE, outbox_schema_sql};

/// What the outbox's messages call its tables.
const KIND: Kind = Kind { noun: "outbox", schema_fn: "outbox_schema_sql" };

/// How many rounds one [`take`](Outbox::take) makes at most: a round may find payments whose
/// `due` was early (a message enqueued behind one under lease), which then leave room for more.
const TAKE_ROUNDS: usize = 4;

/// How many payments one transaction of a [`replay`](Outbox::replay) locks.
const REPLAY_CHUNK: usize = 1_000;

/// How many messages one transaction of a [`prune`](Outbox::prune) deletes.
const PRUNE_BATCH: i64 = 1_000;

/// The longest lease there is, so that `now() + lease` stays a time Postgres keeps (a century).
const LONGEST_LEASE: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The [`Outbox`] on Postgres tables shared by every replica: a message table, and a table of one
/// row per payment that serialises its takes. [`take`](Outbox::take) locks the payments that are
/// due with `FOR UPDATE SKIP LOCKED`, so that replicas split them instead of waiting for each
/// other and never take one message twice; leases and due times are the server's clock
/// (`now()`), so that replicas with skewed clocks agree. See the [crate docs](crate#the-outbox)
/// for the tables and the statements.
///
/// Cheap to clone: clones share the pool.
///
/// ```no_run
/// use gerbang_core::outbox::{Attempt, Outbox};
/// use gerbang_postgres::PostgresOutbox;
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), gerbang_core::Error> {
/// let outbox = PostgresOutbox::builder()
///     .table("billing.gerbang_outbox")
///     .connect("postgres://app:secret@db.internal:5432/shop")
///     .await?;
/// for taken in outbox.take(32, Duration::from_secs(30)).await? {
///     // deliver taken.record.message.body, then:
///     outbox.settle(&taken, Attempt::Delivered { answer: "200 OK".into() }).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresOutbox {
    conn: Connection,
    sql: Arc<Statements>,
}

/// Options of a [`PostgresOutbox`], from [`PostgresOutbox::builder`].
///
/// | option | default |
/// | --- | --- |
/// | [`table`](Self::table) | `gerbang_outbox`, and `gerbang_outbox_payment` beside it (found through the `search_path`) |
/// | [`create_table`](Self::create_table) | `true` |
/// | [`max_connections`](Self::max_connections) | 16 |
/// | [`connect_timeout`](Self::connect_timeout) | 5 s |
/// | [`operation_timeout`](Self::operation_timeout) | 3 s |
/// | [`server_timeout`](Self::server_timeout) | a sixth below the operation timeout (2.5 s) |
/// | [`root_cert`](Self::root_cert) | none: the URL's `sslrootcert`, else the system's CAs |
#[derive(Debug, Clone)]
pub struct PostgresOutboxBuilder {
    options: Options,
}

impl Default for PostgresOutboxBuilder {
    fn default() -> Self {
        Self { options: Options::new(DEFAULT_OUTBOX_TABLE) }
    }
}

impl PostgresOutboxBuilder {
    builder_methods!(
        PostgresOutbox,
        outbox_schema_sql,
        "outbox ([`enqueue`](Outbox::enqueue), [`take`](Outbox::take)…)"
    );

    async fn finish(self, conn: Connection) -> Result<PostgresOutbox, Error> {
        let table = TableName::parse(&self.options.table)?;
        let outbox = PostgresOutbox { conn, sql: Arc::new(Statements::new(table)) };
        let sql = &outbox.sql;
        outbox.conn.ensure_tables(KIND, &[&sql.table, &sql.payments], &sql.ddl, self.options.create_table).await?;
        Ok(outbox)
    }
}

impl PostgresOutbox {
    /// Options other than the defaults: table, pool size, timeouts.
    pub fn builder() -> PostgresOutboxBuilder {
        PostgresOutboxBuilder::default()
    }

    /// Connects to `url` with the [default options](PostgresOutboxBuilder), and creates the
    /// tables `gerbang_outbox` and `gerbang_outbox_payment` if missing.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), gerbang_core::Error> {
    /// let outbox = gerbang_postgres::PostgresOutbox::connect("postgres://app@127.0.0.1:5432/shop").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`PostgresOutboxBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// Uses the application's own `deadpool_postgres` pool with the default options.
    ///
    /// # Errors
    ///
    /// As [`PostgresOutboxBuilder::connect`].
    pub async fn from_pool(pool: Pool) -> Result<Self, Error> {
        Self::builder().use_pool(pool).await
    }

    /// The pool, for the application's own queries (a report on the outbox table, say).
    pub fn pool(&self) -> &Pool {
        self.conn.pool()
    }

    /// Runs a statement that reads records, and reads them.
    async fn records(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Record>, Error> {
        self.conn
            .run("listing messages", async |client: &Object| {
                let statement = client.prepare_cached(sql).await?;
                client.query(&statement, params).await?.iter().map(row::read).collect::<Result<Vec<_>, Failure>>()
            })
            .await
    }

    /// The payments of the messages `replay` names.
    async fn payments_to_replay(&self, replay: &Replay) -> Result<Vec<String>, Error> {
        self.conn
            .run("replaying messages", async |client: &Object| {
                let rows = match replay {
                    Replay::Ids(ids) => {
                        let statement = client.prepare_cached(&self.sql.payments_of_ids).await?;
                        client.query(&statement, &[ids]).await?
                    }
                    Replay::Since(since) => {
                        let statement = client.prepare_cached(&self.sql.payments_since).await?;
                        client.query(&statement, &[&SystemTime::from(*since)]).await?
                    }
                };
                Ok(strings(&rows)?)
            })
            .await
    }
}

/// The first column of `rows`, as text.
fn strings(rows: &[tokio_postgres::Row]) -> Result<Vec<String>, tokio_postgres::Error> {
    rows.iter().map(|row| row.try_get(0)).collect()
}

/// A limit as `LIMIT` takes it.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A lease in milliseconds, as the statements add it to `now()`: at least 1 ms (a lease that
/// ran out as it was granted would let the same take hand the message out twice), at most a
/// century.
fn lease_millis(lease: Duration) -> f64 {
    lease.clamp(Duration::from_millis(1), LONGEST_LEASE).as_secs_f64() * 1000.0
}

#[async_trait]
impl Outbox for PostgresOutbox {
    async fn enqueue(&self, message: &Message) -> Result<Enqueued, Error> {
        let rank = i16::from(message.rank);
        self.conn
            .run_mut("enqueueing a message", async |client: &mut Object| {
                let tx = client.transaction().await?;
                let lock = tx.prepare_cached(&self.sql.lock_payment).await?;
                let add = tx.prepare_cached(&self.sql.add).await?;
                // The payment's row first: its delivered rank cannot change until this commits.
                let delivered: Option<i16> = tx.query_one(&lock, &[&message.payment]).await?.try_get(0)?;
                let superseded = delivered.is_some_and(|delivered| delivered > rank);
                let state =
                    if superseded { DeliveryState::Superseded } else { DeliveryState::Pending }.as_str().to_owned();
                let params: [&(dyn ToSql + Sync); 9] = [
                    &message.id,
                    &message.gateway.as_str(),
                    &message.payment,
                    &message.reference,
                    &message.provider_reference,
                    &message.status,
                    &rank,
                    &message.body,
                    &state,
                ];
                let added = tx.query_opt(&add, &params).await?;
                tx.commit().await?;
                Ok(match added {
                    None => Enqueued::Already,
                    Some(_) if superseded => Enqueued::Superseded,
                    Some(_) => Enqueued::New,
                })
            })
            .await
    }

    async fn take(&self, limit: usize, lease: Duration) -> Result<Vec<Taken>, Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // One token per take, each message's holder this token and its sequence number.
        let holder = Taken::new_holder();
        let millis = lease_millis(lease);
        let mut taken: Vec<(i64, Taken)> = self
            .conn
            .run_mut("taking the messages due", async |client: &mut Object| {
                let tx = client.transaction().await?;
                let lock = tx.prepare_cached(&self.sql.lock_due).await?;
                let supersede = tx.prepare_cached(&self.sql.supersede).await?;
                let take = tx.prepare_cached(&self.sql.take).await?;
                let reschedule = tx.prepare_cached(&self.sql.reschedule).await?;
                let mut taken = Vec::new();
                for _ in 0..TAKE_ROUNDS {
                    let wanted = limit - taken.len();
                    // The payments due that no one else holds, locked until the commit: their
                    // messages are this take's alone to change.
                    let payments = strings(&tx.query(&lock, &[&sql_limit(wanted)]).await?)?;
                    if payments.is_empty() {
                        break;
                    }
                    tx.execute(&supersede, &[&payments]).await?;
                    for row in tx.query(&take, &[&payments, &holder, &millis]).await? {
                        let record = row::read(&row)?;
                        let (holder, seq): (String, i64) = (row.try_get(14)?, row.try_get(15)?);
                        taken.push((seq, Taken { record, holder }));
                    }
                    // Each payment is due again when its lease runs out, or its first message is.
                    tx.execute(&reschedule, &[&payments]).await?;
                    if payments.len() < wanted || taken.len() == limit {
                        break;
                    }
                }
                tx.commit().await?;
                Ok(taken)
            })
            .await?;
        // The oldest due first, across rounds.
        taken.sort_by(|(a_seq, a), (b_seq, b)| (a.record.next_attempt, a_seq).cmp(&(b.record.next_attempt, b_seq)));
        Ok(taken.into_iter().map(|(_, taken)| taken).collect())
    }

    async fn settle(&self, taken: &Taken, attempt: Attempt) -> Result<bool, Error> {
        let message = &taken.record.message;
        let (state, next_attempt, delivered) = match &attempt {
            Attempt::Delivered { .. } => (DeliveryState::Delivered, None, true),
            Attempt::Retry { at, .. } => (DeliveryState::Pending, Some(SystemTime::from(*at)), false),
            Attempt::Failed { .. } => (DeliveryState::Failed, None, false),
        };
        let (state, answer) = (state.as_str(), attempt.answer());
        self.conn
            .run_mut("settling a message", async |client: &mut Object| {
                let tx = client.transaction().await?;
                let lock = tx.prepare_cached(&self.sql.lock_one).await?;
                let settle = tx.prepare_cached(&self.sql.settle).await?;
                let settled = tx.prepare_cached(&self.sql.settled).await?;
                // The payment's row first, as every writer: then no take is deciding about this
                // payment while the attempt is recorded.
                tx.query_opt(&lock, &[&message.payment]).await?;
                let params: [&(dyn ToSql + Sync); 6] =
                    [&message.id, &taken.holder, &message.payment, &answer, &state, &next_attempt];
                let Some(row) = tx.query_opt(&settle, &params).await? else {
                    tx.rollback().await?;
                    return Ok(false);
                };
                let rank: i16 = row.try_get(0)?;
                tx.execute(&settled, &[&message.payment, &delivered.then_some(rank)]).await?;
                tx.commit().await?;
                Ok(true)
            })
            .await
    }

    async fn list(&self, query: &Query) -> Result<Vec<Record>, Error> {
        let limit = sql_limit(query.limit);
        let state = query.state.map(DeliveryState::as_str);
        let since = query.since.map(SystemTime::from);
        let [all, by_state, by_since, by_both] = &self.sql.list;
        match (&state, &since) {
            (None, None) => self.records(all, &[&limit]).await,
            (Some(state), None) => self.records(by_state, &[state, &limit]).await,
            (None, Some(since)) => self.records(by_since, &[since, &limit]).await,
            (Some(state), Some(since)) => self.records(by_both, &[state, since, &limit]).await,
        }
    }

    async fn replay(&self, replay: &Replay) -> Result<u64, Error> {
        let payments = self.payments_to_replay(replay).await?;
        let mut found = 0;
        // In chunks: replaying everything since last week must not lock every payment at once.
        for chunk in payments.chunks(REPLAY_CHUNK) {
            found += self
                .conn
                .run_mut("replaying messages", async |client: &mut Object| {
                    let tx = client.transaction().await?;
                    let lock = tx.prepare_cached(&self.sql.lock_payments).await?;
                    let reschedule = tx.prepare_cached(&self.sql.reschedule).await?;
                    let locked = strings(&tx.query(&lock, &[&chunk]).await?)?;
                    let replayed = match replay {
                        Replay::Ids(ids) => {
                            let statement = tx.prepare_cached(&self.sql.replay_ids).await?;
                            tx.execute(&statement, &[&locked, ids]).await?
                        }
                        Replay::Since(since) => {
                            let statement = tx.prepare_cached(&self.sql.replay_since).await?;
                            tx.execute(&statement, &[&locked, &SystemTime::from(*since)]).await?
                        }
                    };
                    tx.execute(&reschedule, &[&locked]).await?;
                    tx.commit().await?;
                    Ok(replayed)
                })
                .await?;
        }
        Ok(found)
    }

    async fn prune(&self, before: OffsetDateTime) -> Result<u64, Error> {
        let before = SystemTime::from(before);
        let mut pruned = 0;
        // In batches, each its own transaction: a week of deliveries is not one long delete.
        loop {
            let deleted = self
                .conn
                .run_mut("pruning messages", async |client: &mut Object| {
                    let tx = client.transaction().await?;
                    let prune = tx.prepare_cached(&self.sql.prune).await?;
                    let mut payments = strings(&tx.query(&prune, &[&before, &PRUNE_BATCH]).await?)?;
                    let deleted = payments.len() as u64;
                    payments.sort_unstable();
                    payments.dedup();
                    if !payments.is_empty() {
                        // A payment with no message left is forgotten, as the memory outbox does;
                        // one held by a writer (an enqueue under way) is left for the next prune.
                        let lock = tx.prepare_cached(&self.sql.lock_idle).await?;
                        let forget = tx.prepare_cached(&self.sql.forget).await?;
                        let idle = strings(&tx.query(&lock, &[&payments]).await?)?;
                        tx.execute(&forget, &[&idle]).await?;
                    }
                    tx.commit().await?;
                    Ok(deleted)
                })
                .await?;
            pruned += deleted;
            if deleted < PRUNE_BATCH as u64 {
                return Ok(pruned);
            }
        }
    }

    async fn stats(&self) -> Result<Stats, Error> {
        self.conn
            .run("counting messages", async |client: &Object| {
                let statement = client.prepare_cached(&self.sql.stats).await?;
                let row = client.query_one(&statement, &[]).await?;
                let count = |at: usize| -> Result<u64, Failure> {
                    let n: i64 = row.try_get(at)?;
                    Ok(u64::try_from(n).unwrap_or(0))
                };
                let oldest: Option<SystemTime> = row.try_get(4)?;
                let oldest_pending = match oldest {
                    Some(at) => Some(from_system_time(at).ok_or_else(|| {
                        Failure::Corrupt("the oldest pending message was received past the year 9999".into())
                    })?),
                    None => None,
                };
                Ok(Stats {
                    pending: count(0)?,
                    delivered: count(1)?,
                    failed: count(2)?,
                    superseded: count(3)?,
                    oldest_pending,
                })
            })
            .await
    }

    async fn ping(&self) -> Result<(), Error> {
        self.conn
            .run("checking that the server answers", async |client: &Object| {
                client.simple_query("SELECT 1").await?;
                Ok(())
            })
            .await
    }
}

impl fmt::Debug for PostgresOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PostgresOutbox");
        d.field("table", &self.sql.table);
        self.conn.debug_fields(&mut d);
        d.finish()
    }
}
