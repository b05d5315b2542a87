//! [`PostgresInbox`]: the [`Inbox`] on a Postgres table, and its builder.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use gerbang_core::Error;
use gerbang_core::inbox::{Claim, EventKey, Inbox, Lease};
use tokio::time::{Instant, timeout_at};
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;

use crate::error::{Failure, Scrubber};
use crate::table::{DEFAULT_TABLE, Statements, TableName, lock_key};

/// The [`Inbox`] on a Postgres table shared by every replica: a claim is one
/// `INSERT … ON CONFLICT … DO UPDATE … WHERE` on the server's clock, so exactly one of
/// concurrent claims wins and replicas' clocks do not matter. See the [crate docs](crate) for the
/// table and the statements.
///
/// Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresInbox {
    pool: Pool,
    sql: Arc<Statements>,
    /// Where it connects, password left out (`postgres://app:***@db:5432/shop`).
    target: Arc<str>,
    scrubber: Scrubber,
    operation_timeout: Duration,
}

/// Options of a [`PostgresInbox`], from [`PostgresInbox::builder`].
///
/// | option | default |
/// | --- | --- |
/// | [`table`](Self::table) | `gerbang_inbox` (found through the `search_path`) |
/// | [`create_table`](Self::create_table) | `true` |
/// | [`max_connections`](Self::max_connections) | 16 |
/// | [`connect_timeout`](Self::connect_timeout) | 5 s |
/// | [`operation_timeout`](Self::operation_timeout) | 10 s |
#[derive(Debug, Clone)]
pub struct PostgresInboxBuilder {
    table: String,
    create_table: bool,
    max_connections: usize,
    connect_timeout: Duration,
    operation_timeout: Duration,
}

impl Default for PostgresInboxBuilder {
    fn default() -> Self {
        Self {
            table: DEFAULT_TABLE.to_owned(),
            create_table: true,
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(10),
        }
    }
}

impl PostgresInboxBuilder {
    /// The table: `table` or `schema.table`, of lowercase letters, digits and `_` (checked when
    /// connecting). The schema must exist; the table is created in it if missing.
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = name.into();
        self
    }

    /// Whether a missing table is created (`CREATE TABLE IF NOT EXISTS`, under an advisory lock
    /// so that replicas starting together do not race). Turn it off when the application's role
    /// may not create tables: the DBA creates it with [`schema_sql`](crate::schema_sql), and
    /// connecting fails with [`Error::Config`] if it is missing. An existing table is never
    /// altered either way.
    pub fn create_table(mut self, create: bool) -> Self {
        self.create_table = create;
        self
    }

    /// The most connections the pool opens (at least 1). Only for [`connect`](Self::connect).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long opening one connection may take. Only for [`connect`](Self::connect).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one call ([`claim`](Inbox::claim), [`complete`](Inbox::complete)…) may take in
    /// all, waiting for a pooled connection included; past it the call fails with
    /// [`Error::Store`] and its connection is dropped, not reused. It bounds how long a webhook
    /// waits on a database that stopped answering.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Connects to `url` (`postgres://user[:password]@host[:port]/database[?options]`, or a
    /// `key=value` connection string), without TLS, and creates the table if missing.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a malformed URL or table name, or a missing table with
    /// [`create_table`](Self::create_table) off; [`Error::Store`] when the server cannot be
    /// reached or refuses. Neither message holds the URL or its password.
    pub async fn connect(self, url: &str) -> Result<PostgresInbox, Error> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| invalid_url(&e))?;
        if config.get_application_name().is_none() {
            config.application_name("gerbang-postgres");
        }
        config.connect_timeout(self.connect_timeout);
        let target = redacted_target(&config);
        let scrubber = Scrubber::new(config.get_password());
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(self.max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.operation_timeout))
            .create_timeout(Some(self.connect_timeout))
            .recycle_timeout(Some(self.connect_timeout))
            .build()
            .map_err(|e| Error::config(format!("cannot build the Postgres connection pool: {e}")))?;
        self.finish(pool, target.into(), scrubber).await
    }

    /// Uses the application's own pool (its size and timeouts stay as they are; those of this
    /// builder that concern the pool are ignored), and creates the table if missing.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn use_pool(self, pool: Pool) -> Result<PostgresInbox, Error> {
        self.finish(pool, "a pool given by the application".into(), Scrubber::default()).await
    }

    async fn finish(self, pool: Pool, target: Arc<str>, scrubber: Scrubber) -> Result<PostgresInbox, Error> {
        let sql = Arc::new(Statements::new(TableName::parse(&self.table)?));
        let inbox = PostgresInbox { pool, sql, target, scrubber, operation_timeout: self.operation_timeout };
        inbox.ensure_table(self.create_table).await?;
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
        &self.pool
    }

    /// Marks the claimed event done inside the caller's transaction `tx`, so that the
    /// application's own writes (the order marked paid) and the done marker commit together, or
    /// not at all. Returns `false` when the lease is no longer this holder's (then the event was
    /// handled more than once: roll back, or accept it). Commit afterwards; until the commit,
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
        let deadline = Instant::now() + self.operation_timeout;
        let key = &lease.key;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&key.provider.as_str(), &key.key, &lease.holder];
        let rows = match timeout_at(deadline, tx.execute(&self.sql.complete, &params)).await {
            Ok(done) => done.map_err(|e| self.scrubber.store("marking an event done", &Failure::Postgres(e)))?,
            Err(_) => return Err(self.timed_out("marking an event done")),
        };
        Ok(rows == 1)
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
        self.run("purging done markers", async |client: &Object| {
            let statement = client.prepare_cached(&self.sql.purge).await?;
            Ok(client.execute(&statement, &[&millis]).await?)
        })
        .await
    }

    /// Creates the table and its index if they are missing (with `create`), or checks that the
    /// table exists (without). Run by the constructors; callable again, it changes nothing.
    async fn ensure_table(&self, create: bool) -> Result<(), Error> {
        let exists = self
            .run("checking the inbox table", async |client: &Object| {
                let row =
                    client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.sql.table.to_string()]).await?;
                Ok(row.try_get::<_, bool>(0)?)
            })
            .await?;
        if exists {
            return Ok(());
        }
        if !create {
            return Err(Error::config(format!(
                "the Postgres inbox table {} does not exist: create it with gerbang_postgres::schema_sql, \
                 or let the inbox create it",
                self.sql.table
            )));
        }
        self.run_mut("creating the inbox table", async |client: &mut Object| {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(&self.sql.table)]).await?;
            tx.batch_execute(&self.sql.ddl).await?;
            Ok(tx.commit().await?)
        })
        .await
    }

    /// Runs `work` on a pooled connection within the operation timeout. A connection whose
    /// operation timed out is dropped, not handed out again: it may be stuck on a dead peer.
    async fn run<T>(&self, what: &str, work: impl AsyncFnOnce(&Object) -> Result<T, Failure>) -> Result<T, Error> {
        self.run_mut(what, async |client: &mut Object| work(client).await).await
    }

    async fn run_mut<T>(
        &self,
        what: &str,
        work: impl AsyncFnOnce(&mut Object) -> Result<T, Failure>,
    ) -> Result<T, Error> {
        let deadline = Instant::now() + self.operation_timeout;
        let mut client = match timeout_at(deadline, self.pool.get()).await {
            Ok(client) => client.map_err(|e| self.scrubber.store(what, &Failure::Pool(e)))?,
            Err(_) => return Err(self.timed_out(what)),
        };
        match timeout_at(deadline, work(&mut client)).await {
            Ok(done) => done.map_err(|failure| self.scrubber.store(what, &failure)),
            Err(_) => {
                drop(Object::take(client));
                Err(self.timed_out(what))
            }
        }
    }

    fn timed_out(&self, what: &str) -> Error {
        self.scrubber.store(what, &Failure::TimedOut(self.operation_timeout))
    }
}

#[async_trait]
impl Inbox for PostgresInbox {
    async fn claim(&self, key: &EventKey, lease: Duration) -> Result<Claim, Error> {
        let granted = Lease::new(key.clone(), lease);
        let millis = lease.as_secs_f64() * 1000.0;
        let gateway = key.provider.as_str();
        let found = self
            .run("claiming an event", async |client: &Object| {
                let claim = client.prepare_cached(&self.sql.claim).await?;
                let state = client.prepare_cached(&self.sql.state).await?;
                // A key released between the two statements is tried again; twice is plenty.
                for _ in 0..3 {
                    if client.query_opt(&claim, &[&gateway, &key.key, &granted.holder, &millis]).await?.is_some() {
                        return Ok(None);
                    }
                    if let Some(row) = client.query_opt(&state, &[&gateway, &key.key]).await? {
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
}

impl PostgresInbox {
    /// Runs `sql` (complete or release) for `lease`; true when it touched the holder's row.
    async fn by_holder(&self, what: &str, sql: &str, lease: &Lease) -> Result<bool, Error> {
        let key = &lease.key;
        let rows = self
            .run(what, async |client: &Object| {
                let statement = client.prepare_cached(sql).await?;
                Ok(client.execute(&statement, &[&key.provider.as_str(), &key.key, &lease.holder]).await?)
            })
            .await?;
        Ok(rows == 1)
    }
}

impl fmt::Debug for PostgresInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresInbox")
            .field("target", &self.target)
            .field("table", &self.sql.table)
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .field("operation_timeout", &self.operation_timeout)
            .finish()
    }
}

/// `postgres://user:***@host:port/db` from a parsed configuration: what `Debug` shows.
fn redacted_target(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().unwrap_or("");
    let password = if config.get_password().is_some() { ":***" } else { "" };
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            match ports.get(i).or(ports.first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    let dbname = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}{password}@{}/{dbname}", hosts.join(","))
}

/// A malformed URL, told without its text: a parse error may quote a character of the password.
fn invalid_url(e: &tokio_postgres::Error) -> Error {
    use std::error::Error as _;
    let cause = e.source().map(ToString::to_string).unwrap_or_default();
    // These causes name an option, never a value.
    let detail = if cause.starts_with("invalid value for option") || cause.starts_with("unknown option") {
        format!(" ({cause})")
    } else {
        String::new()
    };
    Error::config(format!(
        "the Postgres URL is not valid{detail}: expected postgres://user[:password]@host[:port]/database"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_shows_no_password() {
        let config = tokio_postgres::Config::from_str("postgres://app:hunter22@db.internal:6432/shop").ok();
        let target = config.as_ref().map(redacted_target);
        assert_eq!(target.as_deref(), Some("postgres://app:***@db.internal:6432/shop"));
    }

    #[test]
    fn a_malformed_url_is_told_without_its_text() {
        for url in [
            "postgres://app:hunter22@db:notaport/shop",
            "host=db password='hunter22",
            "postgres://app:hunter22@db/shop?bogus=1",
        ] {
            let Err(e) = tokio_postgres::Config::from_str(url) else { panic!("{url} parsed") };
            let Error::Config { message } = invalid_url(&e) else { panic!() };
            assert!(!message.contains("hunter22"), "{message}");
        }
    }
}
