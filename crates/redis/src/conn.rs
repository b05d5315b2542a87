//! The connection every store of this crate works through: one [`ConnectionManager`] to a single
//! server, or one [`ClusterConnection`] to a Redis Cluster, opened from a URL (its password never
//! shown) or given by the application, and a limit on every operation, so that a store that
//! cannot reach Redis answers [`Error::Store`] promptly instead of hanging.
//!
//! Both kinds serve through [`Link`], one [`ConnectionLike`]: a store sends its commands and
//! scripts the same way to either; only the ledger names its keys differently on a cluster
//! (one hash tag per ledger: see [`Connection::is_cluster`]).

use std::future::Future;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use gerbang_core::Error;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Script, TlsCertificates, Value};

use crate::error::{redacted_url, refuses, store_error, timed_out, url_secrets};
use crate::{cluster, tls};

/// Each connection attempt's limit unless a builder's `connection_timeout` says otherwise.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
/// Each command's limit unless a builder's `response_timeout` says otherwise.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Deletes `KEYS[1]` if it holds `ARGV[1]`: 1 if it did (and is gone), else 0. How a holder
/// gives up what it holds (an inbox claim, a token refresh lock) without touching another's.
pub(crate) static COMPARE_AND_DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// The three limits of a store: each operation as a whole (reconnecting included), and for a
/// connection the store opens itself, each connection attempt and each command.
/// Also the CA file a `rediss://` server's certificate must chain to (the system's roots when
/// `None`).
#[derive(Debug, Clone)]
pub(crate) struct Timeouts {
    pub(crate) operation: Duration,
    pub(crate) connection: Duration,
    pub(crate) response: Duration,
    pub(crate) root_cert: Option<PathBuf>,
}

impl Timeouts {
    /// `operation` for each operation, the defaults for the rest.
    pub(crate) const fn new(operation: Duration) -> Self {
        Self { operation, connection: DEFAULT_CONNECTION_TIMEOUT, response: DEFAULT_RESPONSE_TIMEOUT, root_cert: None }
    }
}

/// A connection to one server or to a cluster: what a store sends its commands on. Cheap to
/// clone (either is shared inside); both reconnect by themselves, and a cluster connection
/// follows the slots as they move (`MOVED`, `ASK`).
#[derive(Clone)]
pub(crate) enum Link {
    /// One server (or a replicated one behind one address).
    Node(ConnectionManager),
    /// A Redis Cluster: each command goes to the master of its keys' slot.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(conn) => conn.req_packed_commands(cmd, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// A store's way to Redis: cheap to clone (the connection inside is shared), reconnecting by
/// itself.
#[derive(Clone)]
pub(crate) struct Connection {
    link: Link,
    operation_timeout: Duration,
    /// The URL with its password redacted, or how the connection was given.
    target: String,
}

impl Connection {
    /// Connects to `url` and checks that the server answers, within the timeouts.
    ///
    /// [`Error::Config`] if the URL does not parse (the message does not quote it);
    /// [`Error::Store`] if the server cannot be reached or does not answer in time;
    /// [`Error::Config`] if it refuses (a wrong password, a database it does not have), or its
    /// certificate does not verify (`rediss://`). No message holds the URL or its password.
    pub(crate) async fn open(url: &str, timeouts: Timeouts) -> Result<Self, Error> {
        if cluster::is_cluster(url) {
            return Self::open_cluster(url, timeouts).await;
        }
        let secrets = url_secrets(url);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let Some(parsed) = redis::parse_redis_url(url) else {
            return Err(Error::Config {
                message: "the redis URL does not parse: expected redis://[user:password@]host[:port][/db] \
                          (rediss:// for TLS; redis+cluster://host:port[,host:port…] for a cluster)"
                    .into(),
            });
        };
        let host = parsed.host_str().unwrap_or("(no host)").to_owned();
        // A CA file is for TLS: with a `redis://` URL it is not used (one `--store-ca` may be
        // meant for another store).
        let root_cert = timeouts.root_cert.as_deref().filter(|_| tls::is_tls(url));
        tls::check(url, root_cert)?;
        let client = tls::client(url, root_cert).map_err(|e| store_error("open", &e, &secrets))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeouts.connection))
            .set_response_timeout(Some(timeouts.response))
            // Give up reconnecting after a few quick attempts: a caller waiting on the store
            // should get its answer (an error it has a fallback for) rather than wait; the next
            // operation tries again.
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let limit = timeouts.operation.max(timeouts.connection);
        let connecting = async {
            if tls::is_tls(url) {
                // One plain attempt first: the manager would retry a certificate that does not
                // verify, with its backoff, before giving up; this answers at once. Any other
                // failure is left to the manager's retries, as without TLS.
                let probe = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeouts.connection))
                    .set_response_timeout(Some(timeouts.response));
                if let Err(e) = client.get_multiplexed_async_connection_with_config(&probe).await
                    && tls::rejected(&host, &e).is_some()
                {
                    return Err(e);
                }
            }
            ConnectionManager::new_with_config(client, config).await
        };
        let manager = match tokio::time::timeout(limit, connecting).await {
            Ok(Ok(manager)) => manager,
            Ok(Err(e)) => match tls::rejected(&host, &e) {
                Some(message) => return Err(tls::refusal(message)),
                None => return Err(store_error("connect", &e, &secrets)),
            },
            Err(_) => return Err(timed_out("connect", limit)),
        };
        Ok(Self { link: Link::Node(manager), operation_timeout: timeouts.operation, target: redacted_url(url) })
    }

    /// Connects to the cluster a `redis+cluster://` (`rediss+cluster://`) URL names, through
    /// the `redis` crate's cluster client: it asks the seed nodes for the cluster's slots and
    /// connects to each master. Errors as [`open`](Self::open)'s; a certificate that does not
    /// verify names the seed hosts.
    async fn open_cluster(url: &str, timeouts: Timeouts) -> Result<Self, Error> {
        let parsed = cluster::parse(url)?;
        let secrets: Vec<&str> = parsed.secrets.iter().map(String::as_str).collect();
        let root_cert = timeouts.root_cert.as_deref().filter(|_| parsed.tls);
        for node in &parsed.nodes {
            tls::check(node, root_cert)?;
        }
        let mut builder = ClusterClientBuilder::new(parsed.nodes.iter().map(String::as_str))
            .connection_timeout(timeouts.connection)
            .response_timeout(timeouts.response)
            // A command may be redirected (`MOVED`, `ASK`) or retried on another connection
            // within the operation's own limit, not only one response's.
            .overall_response_timeout(Some(timeouts.operation.max(timeouts.response)))
            // As for one server: a few quick attempts, then the caller gets its answer.
            .retries(2)
            .max_retry_wait(500);
        if parsed.tls {
            tls::ensure_provider();
            if let Some(path) = root_cert {
                let pem = std::fs::read(path).map_err(|e| store_error("open", &e.into(), &secrets))?;
                builder = builder.certs(TlsCertificates { client_tls: None, root_cert: Some(pem) });
            }
        }
        let client = builder.build().map_err(|e| store_error("open", &e, &secrets))?;
        // One plain connection to the first seed node first: the cluster client reports a
        // refusal (a wrong password, a certificate that does not verify) as a failure to
        // connect, which would be waited out as an outage. A seed that cannot be reached is
        // left to the cluster client, which tries the others.
        let probe = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeouts.connection))
            .set_response_timeout(Some(timeouts.response));
        let seed = tls::client(&parsed.nodes[0], root_cert).map_err(|e| store_error("open", &e, &secrets))?;
        let probing = seed.get_multiplexed_async_connection_with_config(&probe);
        if let Ok(Err(e)) = tokio::time::timeout(timeouts.connection.max(timeouts.response), probing).await {
            if let Some(message) = tls::rejected(&hosts_of(&parsed.addresses), &e) {
                return Err(tls::refusal(message));
            }
            if refuses(&e) {
                return Err(store_error("connect", &e, &secrets));
            }
        }
        let hosts = hosts_of(&parsed.addresses);
        let limit = timeouts.operation.max(timeouts.connection);
        let conn = match tokio::time::timeout(limit, client.get_async_connection()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => match tls::rejected(&hosts, &e) {
                Some(message) => return Err(tls::refusal(message)),
                None => {
                    let error = store_error("connect", &e, &secrets);
                    return Err(name_nodes(error, &parsed.addresses, "seed nodes"));
                }
            },
            Err(_) => return Err(name_nodes(timed_out("connect", limit), &parsed.addresses, "seed nodes")),
        };
        Ok(Self { link: Link::Cluster(conn), operation_timeout: timeouts.operation, target: parsed.shown })
    }

    /// An existing connection manager (its own timeouts and reconnection apply, within
    /// `operation_timeout`).
    pub(crate) fn existing(manager: ConnectionManager, operation_timeout: Duration) -> Self {
        Self { link: Link::Node(manager), operation_timeout, target: "an existing ConnectionManager".to_owned() }
    }

    /// An existing cluster connection (its own timeouts, retries and redirections apply, within
    /// `operation_timeout`).
    pub(crate) fn existing_cluster(conn: ClusterConnection, operation_timeout: Duration) -> Self {
        Self { link: Link::Cluster(conn), operation_timeout, target: "an existing ClusterConnection".to_owned() }
    }

    /// A handle to send commands on (a clone of the shared connection).
    pub(crate) fn link(&self) -> Link {
        self.link.clone()
    }

    /// Whether it goes to a Redis Cluster: where every key one script touches must share a
    /// slot, which the ledger gets with one hash tag per ledger.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.link, Link::Cluster(_))
    }

    /// Where it goes, fit to show: the URL with its password replaced by `***`.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    pub(crate) fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }

    /// Runs `call` within the operation timeout, mapping its error; `secrets` (a value the
    /// operation carries, such as a token) are blotted out of the message.
    pub(crate) async fn run<T>(
        &self,
        operation: &'static str,
        secrets: &[&str],
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        let error = match tokio::time::timeout(self.operation_timeout, call).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => store_error(operation, &e, secrets),
            Err(_) => timed_out(operation, self.operation_timeout),
        };
        // On a cluster, which node failed is the first thing an operator needs: the client's
        // error does not say (a refused connection names no address).
        match (&self.link, &error) {
            (Link::Cluster(conn), Error::Store { .. }) => {
                let silent = cluster::silent_masters(conn).await;
                Err(name_nodes(error, &silent, "cluster nodes that do not answer"))
            }
            _ => Err(error),
        }
    }
}

/// The hosts of `host:port` addresses, for a certificate's message: `a, b`.
fn hosts_of(addresses: &[String]) -> String {
    let hosts: Vec<&str> = addresses.iter().map(|a| a.rsplit_once(':').map_or(a.as_str(), |(host, _)| host)).collect();
    hosts.join(", ")
}

/// `error` with `nodes` (`host:port`, never a password) named after its message, as `what`; as
/// it is when `nodes` is empty or it is not a [`Error::Store`].
fn name_nodes(error: Error, nodes: &[String], what: &str) -> Error {
    match error {
        Error::Store { store, message } if !nodes.is_empty() => {
            Error::Store { store, message: format!("{message} (redis {what}: {})", nodes.join(", ")) }
        }
        other => other,
    }
}

/// A duration in whole milliseconds, rounded up, at least 1 (`PX 0` is an error, and a key must
/// not vanish before its time).
pub(crate) fn millis(d: Duration) -> u64 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

/// The connection half of every store's builder: its three timeouts, [`connect`] and `build` on
/// an existing connection manager. The builder has a `timeouts: Timeouts` field and a
/// `finish(self, Connection) -> $store` method; `$default` names its operation timeout's default
/// in the docs.
macro_rules! connection_methods {
    ($store:ty, $default:literal) => {
        #[doc = concat!("The longest one operation waits, waiting for a reconnection included (default ", $default, ").")]
        /// Applies to an [existing](Self::build) connection manager too.
        pub fn operation_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.timeouts.operation = timeout;
            self
        }

        /// Each connection attempt's limit (default 1 s). Only for [`connect`](Self::connect): an
        /// existing connection manager keeps its own configuration.
        pub fn connection_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.timeouts.connection = timeout;
            self
        }

        /// Each command's limit (default 1 s). Only for [`connect`](Self::connect).
        pub fn response_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.timeouts.response = timeout;
            self
        }

        /// The CA file (PEM) a `rediss://` server's certificate must chain to, for a private CA
        /// (default: the system's trust store). Not used for a `redis://` URL.
        pub fn root_cert(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.timeouts.root_cert = Some(path.into());
            self
        }

        /// Connects to `url` (`redis://[user:password@]host[:port][/db]`, `rediss://…` for TLS,
        /// or `redis+unix:///path?db=N&pass=…`) and checks that the server answers; or to a Redis
        /// Cluster, `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://…`
        /// for TLS, with the same CA file), given one or more of its nodes.
        ///
        /// # Errors
        ///
        /// [`Error::Config`](gerbang_core::Error::Config) if the URL does not parse (the message
        /// does not quote it) or the server refuses it (a wrong password, a database number it
        /// does not have, a certificate that does not verify, a `rediss://…#insecure` URL:
        /// trying again would not help); [`Error::Store`](gerbang_core::Error::Store)
        /// if the server cannot be reached or does not answer within the connection timeout (it
        /// may later). No message holds the URL or its password.
        pub async fn connect(self, url: &str) -> Result<$store, gerbang_core::Error> {
            let conn = crate::conn::Connection::open(url, self.timeouts.clone()).await?;
            Ok(self.finish(conn))
        }

        /// On an existing connection manager (its own timeouts and reconnection apply, within
        /// the [operation timeout](Self::operation_timeout)).
        pub fn build(self, conn: redis::aio::ConnectionManager) -> $store {
            let conn = crate::conn::Connection::existing(conn, self.timeouts.operation);
            self.finish(conn)
        }

        /// On an existing Redis Cluster connection (its own timeouts, retries and redirections
        /// apply, within the [operation timeout](Self::operation_timeout)).
        pub fn build_cluster(self, conn: redis::cluster_async::ClusterConnection) -> $store {
            let conn = crate::conn::Connection::existing_cluster(conn, self.timeouts.operation);
            self.finish(conn)
        }
    };
}
pub(crate) use connection_methods;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_is_never_zero_and_rounds_up() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 2);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
    }
}
