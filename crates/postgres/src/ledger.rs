//! [`PostgresLedger`]: the [`Ledger`] of watched payments on a Postgres table, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use gerbang_core::ledger::{Begin, Ledger, WatchedPayment};
use gerbang_core::time::OffsetDateTime;
use gerbang_core::{Error, ProviderId};

use crate::conn::{Connection, Kind, Options, builder_methods};
use crate::error::Failure;
use crate::table::TableName;

mod row;
mod sql;

/// Times read back from `timestamptz`, for every store of the crate.
pub(crate) use row::from_system_time;
use sql::Statements;
pub use sql::{DEFAULT_LEDGER_TABLE, ledger_schema_sql};

/// What the ledger's messages call its table.
const KIND: Kind = Kind { noun: "ledger", schema_fn: "ledger_schema_sql" };

/// The [`Ledger`] on a Postgres table shared by every replica: a record never moves back (one
/// `INSERT … ON CONFLICT … DO UPDATE … WHERE rank <= excluded.rank`), and each due payment is
/// handed to one caller at a time (`FOR UPDATE SKIP LOCKED`), so that replicas share the status
/// checks instead of repeating them. See the [crate docs](crate) for the table and the
/// statements.
///
/// Times are the caller's (the `now` given to [`due`](Ledger::due), the record's own), never the
/// server's clock, and are kept to the microsecond, as Postgres keeps them: a record written with
/// nanoseconds reads back with them cut off.
///
/// Cheap to clone: clones share the pool.
///
/// ```no_run
/// use gerbang_core::ledger::{Ledger, WatchState, WatchedPayment};
/// use gerbang_core::{Money, ProviderId};
/// use gerbang_postgres::PostgresLedger;
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), gerbang_core::Error> {
/// let ledger = PostgresLedger::connect("postgres://app:secret@db.internal:5432/shop").await?;
/// let now = gerbang_core::time::OffsetDateTime::now_utc();
/// let order = WatchedPayment::new(ProviderId::Qris, "ORDER-1", Money::idr(50_000), WatchState::Pending, now);
/// ledger.record(&order).await?;
/// // Each replica's reconciler asks for what is due; a payment goes to one of them.
/// for payment in ledger.due(now, 50, Duration::from_secs(30)).await? {
///     println!("check {} at {}", payment.reference, payment.provider);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresLedger {
    conn: Connection,
    sql: Arc<Statements>,
}

/// Options of a [`PostgresLedger`], from [`PostgresLedger::builder`].
///
/// | option | default |
/// | --- | --- |
/// | [`table`](Self::table) | `gerbang_ledger` (found through the `search_path`) |
/// | [`create_table`](Self::create_table) | `true` |
/// | [`max_connections`](Self::max_connections) | 16 |
/// | [`connect_timeout`](Self::connect_timeout) | 5 s |
/// | [`operation_timeout`](Self::operation_timeout) | 3 s |
/// | [`server_timeout`](Self::server_timeout) | a sixth below the operation timeout (2.5 s) |
/// | [`root_cert`](Self::root_cert) | none: the URL's `sslrootcert`, else the system's CAs |
#[derive(Debug, Clone)]
pub struct PostgresLedgerBuilder {
    options: Options,
}

impl Default for PostgresLedgerBuilder {
    fn default() -> Self {
        Self { options: Options::new(DEFAULT_LEDGER_TABLE) }
    }
}

impl PostgresLedgerBuilder {
    builder_methods!(PostgresLedger, ledger_schema_sql, "ledger ([`record`](Ledger::record), [`due`](Ledger::due)…)");

    async fn finish(self, conn: Connection) -> Result<PostgresLedger, Error> {
        let table = TableName::parse(&self.options.table)?;
        let ledger = PostgresLedger { conn, sql: Arc::new(Statements::new(table)) };
        ledger.conn.ensure_tables(KIND, &[&ledger.sql.table], &ledger.sql.ddl, self.options.create_table).await?;
        Ok(ledger)
    }
}

impl PostgresLedger {
    /// Options other than the defaults: table, pool size, timeouts.
    pub fn builder() -> PostgresLedgerBuilder {
        PostgresLedgerBuilder::default()
    }

    /// Connects to `url` with the [default options](PostgresLedgerBuilder), and creates the
    /// table `gerbang_ledger` if missing.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), gerbang_core::Error> {
    /// let ledger = gerbang_postgres::PostgresLedger::connect("postgres://app@127.0.0.1:5432/shop").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`PostgresLedgerBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// Uses the application's own `deadpool_postgres` pool with the default options.
    ///
    /// # Errors
    ///
    /// As [`PostgresLedgerBuilder::connect`].
    pub async fn from_pool(pool: Pool) -> Result<Self, Error> {
        Self::builder().use_pool(pool).await
    }

    /// The pool, for the application's own queries (a report on the ledger table, say).
    pub fn pool(&self) -> &Pool {
        self.conn.pool()
    }

    /// Deletes the records that are final (paid, expired, cancelled, failed, refunded, or never
    /// created) and were recorded more than `retention` before `now`; returns how many went.
    /// Records still watched, and mismatches (a person must look at them), stay. A purged payment
    /// is forgotten: a late webhook for it finds no record. Keep `retention` longer than
    /// anything looks payments up in the ledger (weeks), and run it from one replica now and
    /// then (daily).
    ///
    /// ```no_run
    /// # async fn run(ledger: gerbang_postgres::PostgresLedger) -> Result<(), gerbang_core::Error> {
    /// let now = gerbang_core::time::OffsetDateTime::now_utc();
    /// let forgotten = ledger.purge_final_older_than(now, std::time::Duration::from_secs(30 * 86_400)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the statement fails.
    pub async fn purge_final_older_than(&self, now: OffsetDateTime, retention: Duration) -> Result<u64, Error> {
        let Some(before) = gerbang_core::time::Duration::try_from(retention).ok().and_then(|r| now.checked_sub(r))
        else {
            return Ok(0); // before any time there is: nothing was recorded that early
        };
        let before = std::time::SystemTime::from(before);
        self.conn
            .run("purging final records", async |client: &Object| {
                let statement = client.prepare_cached(&self.sql.purge).await?;
                Ok(client.execute(&statement, &[&before]).await?)
            })
            .await
    }

    /// Runs a statement that reads records, and reads them.
    async fn records(
        &self,
        what: &str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<WatchedPayment>, Error> {
        self.conn
            .run(what, async |client: &Object| {
                let statement = client.prepare_cached(sql).await?;
                client.query(&statement, params).await?.iter().map(row::read).collect::<Result<Vec<_>, Failure>>()
            })
            .await
    }
}

/// How many times [`Ledger::begin_create`] tries its insert when the row that stopped it is gone
/// before it could be read.
const BEGIN_TRIES: usize = 3;

/// A limit as `LIMIT` takes it.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl Ledger for PostgresLedger {
    async fn record(&self, payment: &WatchedPayment) -> Result<bool, Error> {
        let params = row::Params::of(payment);
        let written = self
            .conn
            .run("recording a payment", async |client: &Object| {
                let statement = client.prepare_cached(&self.sql.record).await?;
                Ok(client.execute(&statement, &params.as_sql()).await?)
            })
            .await?;
        Ok(written == 1)
    }

    async fn begin_create(&self, payment: &WatchedPayment) -> Result<Begin, Error> {
        let params = row::Params::of(payment);
        // The insert decides, atomically; reading the row that stopped it is only for the
        // answer. A row that is gone by then (purged between the two) lets the insert try again.
        for _ in 0..BEGIN_TRIES {
            let written = self
                .conn
                .run("beginning a create", async |client: &Object| {
                    let statement = client.prepare_cached(&self.sql.begin).await?;
                    Ok(client.execute(&statement, &params.as_sql()).await?)
                })
                .await?;
            if written == 1 {
                return Ok(Begin::Started);
            }
            if let Some(existing) = self.find_by_reference(payment.provider, &payment.reference).await? {
                return Ok(Begin::Exists(Box::new(existing)));
            }
        }
        crate::error::count("beginning a create");
        Err(Error::Store {
            store: "postgres",
            message: format!(
                "the ledger's record of {} {} kept changing while a create began; try again",
                payment.provider, payment.reference
            ),
        })
    }

    async fn find_by_reference(&self, provider: ProviderId, reference: &str) -> Result<Option<WatchedPayment>, Error> {
        let found =
            self.records("finding a payment", &self.sql.find_by_reference, &[&provider.as_str(), &reference]).await?;
        Ok(found.into_iter().next())
    }

    /// One statement instead of one look-up per gateway.
    async fn find_at_other_gateways(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<Vec<WatchedPayment>, Error> {
        let others: Vec<&str> = ProviderId::ALL.iter().filter(|p| **p != provider).map(|p| p.as_str()).collect();
        let mut found = self
            .records("finding a payment at other gateways", &self.sql.find_at_other_gateways, &[&others, &reference])
            .await?;
        found.sort_by_key(|record| ProviderId::ALL.iter().position(|p| *p == record.provider));
        Ok(found)
    }

    async fn find_by_gateway_id(&self, provider: ProviderId, id: &str) -> Result<Option<WatchedPayment>, Error> {
        let found = self.records("finding a payment", &self.sql.find_by_gateway_id, &[&provider.as_str(), &id]).await?;
        Ok(found.into_iter().next())
    }

    async fn due(&self, now: OffsetDateTime, limit: usize, lease: Duration) -> Result<Vec<WatchedPayment>, Error> {
        let (at, until) = (std::time::SystemTime::from(now), row::lease_end(now, lease));
        self.records("taking the payments due", &self.sql.due, &[&at, &sql_limit(limit), &until]).await
    }

    async fn list(&self, limit: usize) -> Result<Vec<WatchedPayment>, Error> {
        self.records("listing payments", &self.sql.list, &[&sql_limit(limit)]).await
    }
}

impl fmt::Debug for PostgresLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PostgresLedger");
        d.field("table", &self.sql.table);
        self.conn.debug_fields(&mut d);
        d.finish()
    }
}
