//! The connection every store of this crate works through: a `deadpool-postgres` pool, opened
//! from a URL (its password never shown) or given by the application, a limit on every
//! operation, and the creation of a store's table when it is missing. The builders' common
//! options and methods are here too (`builder_methods!`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use gerbang_core::Error;
use tokio::time::{Instant, timeout_at};
use tokio_postgres::config::Host;

use crate::error::{Failure, Scrubber};
use crate::table::{TableName, lock_key};

/// What every builder of this crate holds: the table and how to reach it.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) table: String,
    pub(crate) create_table: bool,
    pub(crate) max_connections: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) operation_timeout: Duration,
    /// `statement_timeout` and `lock_timeout` on the server; `None`: [`server_timeout_for`].
    pub(crate) server_timeout: Option<Duration>,
    /// The CA file when the URL names no `sslrootcert` (`--store-ca`).
    pub(crate) root_cert: Option<PathBuf>,
}

impl Options {
    /// The defaults, on the table `table`.
    pub(crate) fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            create_table: true,
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            server_timeout: None,
            root_cert: None,
        }
    }

    /// How long the server lets one statement run or wait for a lock.
    fn server_timeout(&self) -> Duration {
        self.server_timeout.unwrap_or_else(|| server_timeout_for(self.operation_timeout))
    }
}

/// How long one operation may take by default: what a gateway waits for a webhook's answer is
/// often not much more (Redis's stores use the same).
pub(crate) const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

/// The server's limit for an operation timeout: a sixth below it (2.5 s for 3 s), so that the
/// server gives up on a statement (a lock waited for, a query run long) and says so before the
/// client stops listening. A statement the client abandoned then cannot land later: an abandoned
/// claim would otherwise hold its event for the whole lease.
fn server_timeout_for(operation_timeout: Duration) -> Duration {
    (operation_timeout - operation_timeout / 6).max(Duration::from_millis(1))
}

/// Which store a table belongs to, for the messages about it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind {
    /// `inbox` or `ledger`.
    pub(crate) noun: &'static str,
    /// The function that gives its SQL, for the DBA.
    pub(crate) schema_fn: &'static str,
}

/// A store's way to Postgres: cheap to clone (the pool inside is shared).
#[derive(Clone)]
pub(crate) struct Connection {
    pool: Pool,
    /// Where it connects, password left out (`postgres://app:***@db:5432/shop`).
    target: Arc<str>,
    scrubber: Scrubber,
    operation_timeout: Duration,
    /// How a cancel request reaches the server ([`connect`] only: a given pool's is unknown).
    tls: Option<crate::tls::RustlsConnect>,
}

impl Connection {
    /// A pool connecting to `url`, over TLS as its `sslmode` says (see [`crate::tls`]). Nothing
    /// is connected yet: the first operation (creating or checking the table) opens the first
    /// connection. Each connection sets the server's `statement_timeout` and `lock_timeout`.
    ///
    /// [`Error::Config`] for a malformed URL or an unreadable CA file; the message does not quote
    /// the URL.
    pub(crate) fn open(url: &str, options: &Options) -> Result<Self, Error> {
        let split = crate::tls::split(url)?;
        let mut config = tokio_postgres::Config::from_str(&split.rest).map_err(|e| invalid_url(&e))?;
        let tls = crate::tls::connector(&mut config, &split, options.root_cert.as_deref())?;
        if config.get_application_name().is_none() {
            config.application_name("gerbang-postgres");
        }
        config.connect_timeout(options.connect_timeout);
        let target = redacted_target(&config);
        let scrubber = Scrubber::new(config.get_password());
        let manager =
            Manager::from_config(config, tls.clone(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let millis = options.server_timeout().as_millis().max(1);
        let set_timeouts = format!("SET statement_timeout = {millis}; SET lock_timeout = {millis}");
        let pool = Pool::builder(manager)
            .post_create(Hook::async_fn(move |client, _| {
                let sql = set_timeouts.clone();
                Box::pin(async move { client.batch_execute(&sql).await.map_err(HookError::Backend) })
            }))
            .max_size(options.max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.operation_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| Error::config(format!("cannot build the Postgres connection pool: {e}")))?;
        Ok(Self { pool, target: target.into(), scrubber, operation_timeout: options.operation_timeout, tls: Some(tls) })
    }

    /// The application's own pool (its size and timeouts stay as they are).
    pub(crate) fn existing(pool: Pool, options: &Options) -> Self {
        Self {
            pool,
            target: "a pool given by the application".into(),
            scrubber: Scrubber::default(),
            operation_timeout: options.operation_timeout,
            tls: None,
        }
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }

    /// `Error::Store` for a failure while doing `what`, the password scrubbed out.
    pub(crate) fn store_error(&self, what: &str, failure: &Failure) -> Error {
        self.scrubber.store(what, failure)
    }

    pub(crate) fn timed_out(&self, what: &str) -> Error {
        self.store_error(what, &Failure::TimedOut(self.operation_timeout))
    }

    /// Runs `work` on a pooled connection within the operation timeout. A connection whose
    /// operation timed out is dropped, not handed out again: it may be stuck on a dead peer; so
    /// is one the failure closed (the server terminated its backend, or went away).
    pub(crate) async fn run<T>(
        &self,
        what: &str,
        work: impl AsyncFnOnce(&Object) -> Result<T, Failure>,
    ) -> Result<T, Error> {
        self.run_mut(what, async |client: &mut Object| work(client).await).await
    }

    /// [`run`](Self::run), for work that needs the connection mutably (a transaction).
    pub(crate) async fn run_mut<T>(
        &self,
        what: &str,
        work: impl AsyncFnOnce(&mut Object) -> Result<T, Failure>,
    ) -> Result<T, Error> {
        let deadline = Instant::now() + self.operation_timeout;
        let mut client = match timeout_at(deadline, self.pool.get()).await {
            Ok(client) => client.map_err(|e| self.store_error(what, &Failure::Pool(e)))?,
            Err(_) => return Err(self.timed_out(what)),
        };
        match timeout_at(deadline, work(&mut client)).await {
            Ok(Err(failure)) if failure.broke_connection() => {
                // Back in the pool, it would fail the next operation too: the pool's quick check
                // may run before the driver has seen the socket close.
                drop(Object::take(client));
                Err(self.store_error(what, &failure))
            }
            Ok(done) => done.map_err(|failure| self.store_error(what, &failure)),
            Err(_) => {
                self.cancel(&client);
                drop(Object::take(client));
                Err(self.timed_out(what))
            }
        }
    }

    /// Asks the server to cancel what `client` runs, in the background: the server's own timeouts
    /// end a statement the client gave up on, but one that started late (the pool's wait took
    /// part of the operation's time) could otherwise still land after the client said it failed.
    /// Best effort: for a pool given by the application, only when it connects without TLS.
    fn cancel(&self, client: &Object) {
        let token = client.cancel_token();
        let tls = self.tls.clone();
        tokio::spawn(async move {
            // A cancel that fails changes nothing: the statement ends at the server's timeout.
            let _ = match tls {
                Some(tls) => token.cancel_query(tls).await,
                None => token.cancel_query(tokio_postgres::NoTls).await,
            };
        });
    }

    /// Creates the store's `tables` with `ddl` if one is missing (with `create`), or checks that
    /// they exist (without). Run by the constructors; run again, it changes nothing. An existing
    /// table is never altered.
    pub(crate) async fn ensure_tables(
        &self,
        kind: Kind,
        tables: &[&TableName],
        ddl: &str,
        create: bool,
    ) -> Result<(), Error> {
        let noun = kind.noun;
        let Some(lead) = tables.first() else { return Ok(()) };
        let names: Vec<String> = tables.iter().map(ToString::to_string).collect();
        let missing = self
            .run(&format!("checking the {noun} table"), async |client: &Object| {
                let row = client
                    .query_one(
                        "SELECT array(SELECT n FROM unnest($1::text[]) AS n WHERE to_regclass(n) IS NULL)",
                        &[&names],
                    )
                    .await?;
                Ok(row.try_get::<_, Vec<String>>(0)?)
            })
            .await?;
        let Some(first) = missing.first() else { return Ok(()) };
        if !create {
            return Err(Error::config(format!(
                "the Postgres {noun} table {first} does not exist: create it with gerbang_postgres::{}, \
                 or let the {noun} create it",
                kind.schema_fn
            )));
        }
        let key = lock_key(noun, lead);
        self.run_mut(&format!("creating the {noun} table"), async |client: &mut Object| {
            let tx = client.transaction().await?;
            // Replicas starting at once create the table one after the other (concurrent
            // `CREATE TABLE IF NOT EXISTS` can fail).
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key]).await?;
            tx.batch_execute(ddl).await?;
            Ok(tx.commit().await?)
        })
        .await
    }

    /// The fields every store's `Debug` shows: where it connects (no password), the pool's size.
    pub(crate) fn debug_fields(&self, f: &mut fmt::DebugStruct<'_, '_>) {
        let status = self.pool.status();
        f.field("target", &self.target)
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .field("operation_timeout", &self.operation_timeout);
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Connection");
        self.debug_fields(&mut d);
        d.finish()
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

/// The options every builder of this crate has, `connect` and `use_pool`. The builder has an
/// `options: Options` field and an `async fn finish(self, Connection) -> Result<$store, Error>`;
/// `$schema_fn` names the function that gives its table's SQL, `$noun` what the store is.
macro_rules! builder_methods {
    ($store:ty, $schema_fn:ident, $noun:literal) => {
        /// The table: `table` or `schema.table`, of lowercase letters, digits and `_` (checked
        /// when connecting). The schema must exist; the table is created in it if missing.
        pub fn table(mut self, name: impl Into<String>) -> Self {
            self.options.table = name.into();
            self
        }

        /// Whether a missing table is created (`CREATE TABLE IF NOT EXISTS`, under an advisory
        /// lock so that replicas starting together do not race). Turn it off when the
        /// application's role may not create tables: the DBA creates it with
        #[doc = concat!("[`", stringify!($schema_fn), "`](crate::", stringify!($schema_fn), "),")]
        /// and connecting fails with [`Error::Config`](gerbang_core::Error::Config) if it is
        /// missing. An existing table is never altered either way.
        pub fn create_table(mut self, create: bool) -> Self {
            self.options.create_table = create;
            self
        }

        /// The most connections the pool opens (at least 1). Only for [`connect`](Self::connect).
        pub fn max_connections(mut self, max: usize) -> Self {
            self.options.max_connections = max.max(1);
            self
        }

        /// How long opening one connection may take. Only for [`connect`](Self::connect).
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options.connect_timeout = timeout;
            self
        }

        #[doc = concat!("How long one call of the ", $noun, " may take in all, waiting for a pooled")]
        /// connection included; past it the call fails with
        /// [`Error::Store`](gerbang_core::Error::Store) and its connection is dropped, not
        /// reused. It bounds how long a webhook or a payment waits on a database that stopped
        /// answering.
        /// 3 s by default.
        pub fn operation_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options.operation_timeout = timeout;
            self
        }

        /// How long the server itself lets one statement run (`statement_timeout`) or wait for
        /// a lock (`lock_timeout`), set on each connection when it opens. By default a sixth
        /// below the [operation timeout](Self::operation_timeout) (2.5 s for 3 s), so that the
        /// server gives up first and tells the client: a statement the client abandoned never
        /// lands later (a claim would hold its event for the whole lease). Keep it below the
        /// operation timeout. Only for [`connect`](Self::connect): give your own pool's
        /// connections these settings yourself.
        pub fn server_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options.server_timeout = Some(timeout);
            self
        }

        /// The CA certificates (a PEM file) that the server's certificate must chain to when the
        /// URL names no `sslrootcert` (the CLI's `--store-ca`, `GERBANG_STORE_CA`). With it, a URL
        /// without `sslmode` means `verify-full`. Only for [`connect`](Self::connect).
        pub fn root_cert(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.options.root_cert = Some(path.into());
            self
        }

        /// Connects to `url` (`postgres://user[:password]@host[:port]/database[?options]`, or a
        /// `key=value` connection string), over TLS as its `sslmode` and `sslrootcert` say (see
        /// [TLS](crate#tls)), and creates the table if missing.
        ///
        /// # Errors
        ///
        /// [`Error::Config`](gerbang_core::Error::Config) for a malformed URL or table name, or a
        /// missing table with [`create_table`](Self::create_table) off, or a server that refuses
        /// (a wrong password, no such database, no right to create the table, a certificate that
        /// does not verify, no TLS where `sslmode` requires it: trying again would not help); [`Error::Store`](gerbang_core::Error::Store) when the server cannot
        /// be reached (it may later). Neither message holds the URL or its password.
        pub async fn connect(self, url: &str) -> Result<$store, gerbang_core::Error> {
            let conn = crate::conn::Connection::open(url, &self.options)?;
            self.finish(conn).await
        }

        /// Uses the application's own pool (its size and timeouts stay as they are; those of
        /// this builder that concern the pool are ignored), and creates the table if missing.
        ///
        /// # Errors
        ///
        /// As [`connect`](Self::connect).
        pub async fn use_pool(self, pool: deadpool_postgres::Pool) -> Result<$store, gerbang_core::Error> {
            let conn = crate::conn::Connection::existing(pool, &self.options);
            self.finish(conn).await
        }
    };
}
pub(crate) use builder_methods;

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
