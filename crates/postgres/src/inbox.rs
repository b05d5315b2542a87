//! [`PostgresInbox`]: the [`Inbox`] on a Postgres table, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use gerbang_core::Error;
use gerbang_core::inbox::{Claim, EventKey, Inbox, Lease};
use tokio::time::{Instant, timeout_at};

use crate::conn::{Connection, Kind, Options, builder_methods};
use crate::error::Failure;
use crate::table::TableName;

mod sql;

use sql::Statements;
pub use sql::{DEFAULT_TABLE, schema_sql};

/// What the inbox's messages call its table.
const KIND: Kind = Kind { noun: "inbox", schema_fn: "schema_sql" };

/// The [`Inbox`] on a Postgres table shared by every replica: a claim is one
/// `INSERT … ON CONFLICT … DO UPDATE … WHERE` on the server's clock, so exactly one of
/// concurrent claims wins and replicas' clocks do not matter. See the [crate docs](crate) for the
/// table and the statements.
///
/// Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresInbox {
    conn: Connection,
    sql: Arc<Statements>,
}

/// Options of a [`PostgresInbox`], from [`PostgresInbox::builder`].
///
/// | option | default |
/// | --- | --- |
/// | [`table`](Self::table) | `gerbang_inbox` (found through the `search_path`) |
/// | [`create_table`](Self::create_table) | `true` |
/// | [`max_connections`](Self::max_connections) | 16 |
/// | [`connect_timeout`](Self::connect_timeout) | 5 s |
/// | [`operation_timeout`](Self::operation_timeout) | 3 s |
/// | [`server_timeout`](Self::server_timeout) | a sixth below the operation timeout (2.5 s) |
/// | [`root_cert`](Self::root_cert) | none: the URL's `sslrootcert`, else the system's CAs |
#[derive(Debug, Clone)]
pub struct PostgresInboxBuilder {
    options: Options,
}

impl Default for PostgresInboxBuilder {
    fn default() -> Self {
        Self { options: Options::new(DEFAULT_TABLE) }
    }
}

impl PostgresInboxBuilder {
    builder_methods!(PostgresInbox, schema_sql, "inbox ([`claim`](Inbox::claim), [`complete`](Inbox::complete)…)");

    async fn finish(self, conn: Connection) -> Result<PostgresInbox, Error> {
        let table = TableName::parse(&self.options.table)?;
        let inbox = PostgresInbox { conn, sql: Arc::new(Statements::new(table)) };
        inbox.conn.ensure_tables(KIND, &[&inbox.sql.table], &inbox.sql.ddl, self.options.create_table).await?;
        Ok(inbox)
    }
}

impl PostgresInbox {
    /// Options other than the defaults: table, pool size, timeouts.
    pub fn builder() -> PostgresInboxBuilder {
        PostgresInboxBuilder::default()
    }

    /// Connects to `url` with the [default options](PostgresInboxBuilder), and creates the
    /// table `gerbang_inbox` if missing.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), gerbang_core::Error> {
    /// let inbox = gerbang_postgres::PostgresInbox::connect("postgres://app@127.0.0.1:5432/shop").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`PostgresInboxBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// Uses the application's own `deadpool_postgres` pool with the default options.
    ///
    /// # Errors
    ///
    /// As [`PostgresInboxBuilder::connect`].
    pub async fn from_pool(pool: Pool) -> Result<Self, Error> {
        Self::builder().use_pool(pool).await
    }

    /// The pool, for the application's own queries, such as the transaction that
    /// [`complete_in`](Self::complete_in) joins.
    pub fn pool(&self) -> &Pool {
        self.conn.pool()
    }

    /// Marks the claimed event done inside the caller's transaction `tx`, so that the
    /// application's own writes (the order marked paid) and the done marker commit together, or
    /// not at all. Returns `false` when the claim was no longer this lease's, or the event was done
    /// already; it is marked done in `tx` all the same, as [`Inbox::complete`] says. Another
    /// delivery then handled the event, or is handling it: roll back to leave it to that one, or
    /// commit to keep both (at least once). Commit afterwards; until the commit,
    /// other claims of this key wait for it (keep the transaction short), and then see
    /// [`Claim::Done`]. If the transaction rolls back, the claim stays as it was, held until its
    /// lease runs out, and a later delivery is handled again.
    ///
    /// The transaction must be on the database that holds the inbox table; it may come from
    /// [`pool`](Self::pool) or any other connection. See the [crate docs](crate) for an example.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the statement fails (the transaction is then aborted: roll it back).
    pub async fn complete_in(&self, tx: &tokio_postgres::Transaction<'_>, lease: &Lease) -> Result<bool, Error> {
        let deadline = Instant::now() + self.conn.operation_timeout();
        let key = &lease.key;
        let stored: &str = &key.stored();
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&key.provider.as_str(), &stored, &lease.holder];
        let row = match timeout_at(deadline, tx.query_opt(&self.sql.complete, &params)).await {
            Ok(done) => done.map_err(|e| self.conn.store_error("marking an event done", &Failure::Postgres(e)))?,
            Err(_) => return Err(self.conn.timed_out("marking an event done")),
        };
        ours(row).map_err(|e| self.conn.store_error("marking an event done", &Failure::Postgres(e)))
    }

    /// Deletes done markers completed more than `retention` ago, and claims whose lease ran out
    /// more than `retention` ago (a holder died and the gateway never delivered again); returns
    /// how many rows went. A key purged is new again: keep `retention` longer than any gateway
    /// retries (days), and run it from one replica now and then (daily).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the statement fails.
    pub async fn purge_done_older_than(&self, retention: Duration) -> Result<u64, Error> {
        let millis = retention.as_secs_f64() * 1000.0;
        self.conn
            .run("purging done markers", async |client: &Object| {
                let statement = client.prepare_cached(&self.sql.purge).await?;
                Ok(client.execute(&statement, &[&millis]).await?)
            })
            .await
    }
}

#[async_trait]
impl Inbox for PostgresInbox {
    async fn claim(&self, key: &EventKey, lease: Duration) -> Result<Claim, Error> {
        let granted = Lease::new(key.clone(), lease);
        let millis = lease.as_secs_f64() * 1000.0;
        let gateway = key.provider.as_str();
        // Postgres text refuses a NUL byte and cannot index 10 KB: the stored form is short
        // printable ASCII or a digest, the same key every inbox keeps.
        let stored: &str = &key.stored();
        let found = self
            .conn
            .run("claiming an event", async |client: &Object| {
                let claim = client.prepare_cached(&self.sql.claim).await?;
                let state = client.prepare_cached(&self.sql.state).await?;
                // A key released between the two statements is tried again; twice is plenty.
                for _ in 0..3 {
                    if client.query_opt(&claim, &[&gateway, &stored, &granted.holder, &millis]).await?.is_some() {
                        return Ok(None);
                    }
                    if let Some(row) = client.query_opt(&state, &[&gateway, &stored]).await? {
                        let state: String = row.try_get(0)?;
                        return Ok(Some(if state == "done" { Claim::Done } else { Claim::InFlight }));
                    }
                }
                Ok(Some(Claim::InFlight))
            })
            .await?;
        Ok(found.unwrap_or(Claim::New(granted)))
    }

    async fn complete(&self, lease: &Lease) -> Result<bool, Error> {
        self.by_holder("marking an event done", &self.sql.complete, lease).await
    }

    async fn release(&self, lease: &Lease) -> Result<bool, Error> {
        self.by_holder("releasing a claim", &self.sql.release, lease).await
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

impl PostgresInbox {
    /// Runs `sql` (complete or release) for `lease`: whether the row it touched was the
    /// holder's.
    async fn by_holder(&self, what: &str, sql: &str, lease: &Lease) -> Result<bool, Error> {
        let key = &lease.key;
        let stored: &str = &key.stored();
        self.conn
            .run(what, async |client: &Object| {
                let statement = client.prepare_cached(sql).await?;
                Ok(ours(client.query_opt(&statement, &[&key.provider.as_str(), &stored, &lease.holder]).await?)?)
            })
            .await
    }
}

/// Whether the row a completion or release returned (none: it touched no row) says the claim
/// was the lease's holder's.
fn ours(row: Option<tokio_postgres::Row>) -> Result<bool, tokio_postgres::Error> {
    row.map_or(Ok(false), |row| row.try_get(0))
}

impl fmt::Debug for PostgresInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PostgresInbox");
        d.field("table", &self.sql.table);
        self.conn.debug_fields(&mut d);
        d.finish()
    }
}
