//! Redis Cluster: `redis+cluster://` and `rediss+cluster://` URLs, read into one URL per seed
//! node for the `redis` crate's [`ClusterClient`](redis::cluster::ClusterClient), which finds
//! the rest of the cluster and routes each command to the node that owns its slot; and the
//! names of the nodes that do not answer, for an error to show.

use std::time::Duration;

use gerbang_core::Error;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};

use crate::error::url_secrets;

/// The scheme of a cluster URL without TLS.
const PLAIN: &str = "redis+cluster";
/// The scheme of a cluster URL over TLS.
const TLS: &str = "rediss+cluster";

/// How long finding which nodes fail may add to an error (asking one node for the cluster's
/// nodes, then `PING` to each master at once).
const DIAGNOSIS: Duration = Duration::from_millis(500);

/// A cluster URL, read: the seed nodes' own URLs and what may be shown of it.
pub(crate) struct ClusterUrl {
    /// One `redis://` (`rediss://`) URL per seed node, each with the URL's user, password,
    /// database and fragment.
    pub(crate) nodes: Vec<String>,
    /// Whether it is `rediss+cluster://`.
    pub(crate) tls: bool,
    /// `host:port` of each seed node (never a password): for messages.
    pub(crate) addresses: Vec<String>,
    /// The URL with its password replaced by `***`.
    pub(crate) shown: String,
    /// The password as written and decoded, to blot out of messages.
    pub(crate) secrets: Vec<String>,
}

/// Whether `url` names a Redis Cluster (`redis+cluster://` or `rediss+cluster://`).
pub(crate) fn is_cluster(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, _)| scheme == PLAIN || scheme == TLS)
}

/// Reads `url`, `redis+cluster://[user:password@]host:port[,host:port…][/db][#fragment]`: one
/// node URL per `host:port`, all with the same credentials (the cluster's), TLS with
/// `rediss+cluster://`.
///
/// [`Error::Config`] if it does not read so; the message does not quote it.
pub(crate) fn parse(url: &str) -> Result<ClusterUrl, Error> {
    let malformed = || {
        Error::config(
            "the redis cluster URL does not parse: expected redis+cluster://[user:password@]host:port[,host:port…] \
             (rediss+cluster:// for TLS)",
        )
    };
    let Some((scheme, rest)) = url.trim().split_once("://") else { return Err(malformed()) };
    let tls = match scheme {
        PLAIN => false,
        TLS => true,
        _ => return Err(malformed()),
    };
    // A password may hold `/` or `?` only percent-encoded, as in any URL: the hosts follow the
    // last `@`, and end where the path, query or fragment begins.
    let (userinfo, after) = match rest.rfind('@') {
        Some(at) => (&rest[..=at], &rest[at + 1..]),
        None => ("", rest),
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (hosts, tail) = after.split_at(end);
    let node_scheme = if tls { "rediss" } else { "redis" };
    let mut nodes = Vec::new();
    let mut addresses = Vec::new();
    for host in hosts.split(',') {
        let host = host.trim();
        if host.is_empty() {
            return Err(malformed());
        }
        let node = format!("{node_scheme}://{userinfo}{host}{tail}");
        let parsed = redis::parse_redis_url(&node).ok_or_else(malformed)?;
        let name = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(malformed)?;
        addresses.push(format!("{name}:{}", parsed.port().unwrap_or(6379)));
        nodes.push(node);
    }
    let secrets = url_secrets(&nodes[0]);
    let shown_userinfo = match userinfo.trim_end_matches('@').split_once(':') {
        Some((user, _)) => format!("{user}:***@"),
        None => userinfo.to_owned(),
    };
    let mut shown = format!("{scheme}://{shown_userinfo}{hosts}{tail}");
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        shown = shown.replace(secret.as_str(), "***");
    }
    Ok(ClusterUrl { nodes, tls, addresses, shown, secrets })
}

/// The masters of the cluster `conn` is connected to that do not answer `PING` now, as
/// `host:port`, within [`DIAGNOSIS`]: what an error names when an operation failed. Empty when
/// every master answers, or when no node answers to say which masters there are (the error
/// then names none).
pub(crate) async fn silent_masters(conn: &ClusterConnection) -> Vec<String> {
    let asking = async {
        let mut conn = conn.clone();
        let mut nodes = None;
        // A random node each time: the first may be the one that is down.
        for _ in 0..3 {
            let answer = conn
                .route_command(
                    redis::cmd("CLUSTER").arg("NODES").clone(),
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
                )
                .await;
            if let Ok(value) = answer
                && let Ok(text) = redis::from_redis_value::<String>(value)
            {
                nodes = Some(text);
                break;
            }
        }
        let masters = masters(&nodes?);
        let pings = masters.into_iter().map(|(host, port)| {
            let mut conn = conn.clone();
            async move {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host: host.clone(), port });
                let ping = tokio::time::timeout(DIAGNOSIS, conn.route_command(redis::cmd("PING"), routing)).await;
                (!matches!(ping, Ok(Ok(_)))).then(|| format!("{host}:{port}"))
            }
        });
        Some(futures_util::future::join_all(pings).await.into_iter().flatten().collect::<Vec<_>>())
    };
    tokio::time::timeout(DIAGNOSIS, asking).await.ok().flatten().unwrap_or_default()
}

/// The masters in `CLUSTER NODES`' answer, as host and port: each line is `<id>
/// <ip:port@cport[,hostname]> <flags> …`.
fn masters(nodes: &str) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    for line in nodes.lines() {
        let mut fields = line.split_whitespace();
        let (Some(_id), Some(address), Some(flags)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if !flags.split(',').any(|f| f == "master") || flags.split(',').any(|f| f == "noaddr") {
            continue;
        }
        let address = address.split(['@', ',']).next().unwrap_or_default();
        let Some((host, port)) = address.rsplit_once(':') else { continue };
        let Ok(port) = port.parse::<u16>() else { continue };
        if !host.is_empty() && port != 0 {
            out.push((host.trim_start_matches('[').trim_end_matches(']').to_owned(), port));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_url_becomes_one_url_per_node() {
        let url = parse("redis+cluster://app:s%40cret@10.0.0.1:7000,cache-2:7001/0").unwrap();
        assert_eq!(url.nodes, ["redis://app:s%40cret@10.0.0.1:7000/0", "redis://app:s%40cret@cache-2:7001/0"]);
        assert_eq!(url.addresses, ["10.0.0.1:7000", "cache-2:7001"]);
        assert!(!url.tls);
        assert_eq!(url.shown, "redis+cluster://app:***@10.0.0.1:7000,cache-2:7001/0");
        assert_eq!(url.secrets, ["s%40cret", "s@cret"]);
        let tls = parse("rediss+cluster://:pw@a:1,b:2").unwrap();
        assert_eq!(tls.nodes, ["rediss://:pw@a:1", "rediss://:pw@b:2"]);
        assert!(tls.tls);
        assert_eq!(tls.shown, "rediss+cluster://:***@a:1,b:2");
        assert_eq!(parse("redis+cluster://a").unwrap().addresses, ["a:6379"]);
    }

    #[test]
    fn a_malformed_cluster_url_is_refused_without_quoting_it() {
        for bad in [
            "redis+cluster://",
            "redis+cluster://:hunter2@",
            "redis+cluster://:hunter2@a:1,,b:2",
            "redis+cluster://:hunter2@a:x",
            "redis://:hunter2@a:1",
        ] {
            let Err(Error::Config { message }) = parse(bad) else { panic!("{bad} must be refused") };
            assert!(!message.contains("hunter2"), "{message}");
        }
        assert!(is_cluster("rediss+cluster://a:1") && is_cluster("redis+cluster://a:1"));
        assert!(!is_cluster("redis://a:1") && !is_cluster("rediss://a+cluster:1"));
    }

    #[test]
    fn masters_are_read_from_cluster_nodes() {
        let nodes = "\
dc35 127.0.0.1:7102@17102 master - 0 1 2 connected 5461-10922
d2f4 127.0.0.1:7103@17103,cache-3 master,fail - 0 1 3 disconnected 10923-16383
6b44 127.0.0.1:7101@17101 myself,master - 0 0 1 connected 0-5460
a1b2 127.0.0.1:7104@17104 slave 6b44 0 1 1 connected
ffff :0@0 master,noaddr - 0 1 1 disconnected
";
        assert_eq!(
            masters(nodes),
            [("127.0.0.1".to_owned(), 7102), ("127.0.0.1".to_owned(), 7103), ("127.0.0.1".to_owned(), 7101)]
        );
    }
}
