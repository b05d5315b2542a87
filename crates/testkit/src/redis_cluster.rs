//! A private three-master Redis Cluster for one test: three `redis-server --cluster-enabled yes`
//! on free loopback ports, joined by `redis-cli --cluster create`, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::local;
use crate::redis_server::{answers_ping, read_log};

/// How long the cluster has to form: each node to answer `PING`, `redis-cli --cluster create`
/// (about 1 s here), and every node to say `cluster_state:ok`.
const STARTUP: Duration = Duration::from_secs(20);

/// How many masters it has.
const MASTERS: usize = 3;

/// A Redis Cluster of three masters (no replicas) started for one test, on free loopback ports,
/// nothing saved to disk. Each node's output goes to `node-PORT.log` in a temp dir of its own,
/// `redis-cli`'s to `create.log`. Dropping it kills and reaps every node and removes the dir.
///
/// The slots are split as `redis-cli --cluster create` splits them: 0–5460, 5461–10922 and
/// 10923–16383, one range per node in [`ports`](Self::ports)' order.
///
/// ```no_run
/// # async fn test() {
/// use gerbang_testkit::RedisCluster;
///
/// let Some(cluster) = RedisCluster::start() else { return };
/// let url = cluster.url(); // redis+cluster://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C
/// # let _ = url;
/// # }
/// ```
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
    /// Whether every node speaks TLS only ([`start_tls`](Self::start_tls)): its certificate and
    /// key are `server.pem` and `server.key` in `dir`, the CA `ca.pem`.
    tls: bool,
}

#[derive(Debug)]
struct Node {
    child: Child,
    port: u16,
}

impl RedisCluster {
    /// Starts three masters and joins them into a cluster, or returns `None` (after saying why
    /// on stderr) when `redis-server` or `redis-cli` is not installed, so that the calling test
    /// skips: `let Some(cluster) = RedisCluster::start() else { return };`.
    ///
    /// # Panics
    ///
    /// When either program is missing and `CI` is `true` (a skipped test must not pass in CI);
    /// when they are installed but the cluster does not form within 20 s (the panic holds the
    /// logs).
    pub fn start() -> Option<Self> {
        installed().then(|| local::start_on_a_free_port("a redis cluster", || Self::try_start(None)))
    }

    /// Starts a cluster whose nodes speak TLS only, to clients and to each other (`tls-cluster`),
    /// with `cert` (and its key) and the CA file `ca` it chains to; or `None` as
    /// [`start`](Self::start) does. Clients are not asked for a certificate. Its
    /// [`url`](Self::url) is `rediss+cluster://…`.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_tls(cert: &crate::ServerCert, ca: &Path) -> Option<Self> {
        installed().then(|| local::start_on_a_free_port("a redis cluster", || Self::try_start(Some((cert, ca)))))
    }

    /// `redis+cluster://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C`: every node as a seed
    /// (`rediss+cluster://` for a [TLS](Self::start_tls) cluster).
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let scheme = if self.tls { "rediss+cluster" } else { "redis+cluster" };
        format!("{scheme}://{}", nodes.join(","))
    }

    /// The masters' ports (loopback only), in the order of their slot ranges.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// `redis://127.0.0.1:PORT/0` of the master at `index` (0 to 2): for a plain connection to
    /// one node (`CLUSTER KEYSLOT`, `CLUSTER NODES`, `DBSIZE`).
    ///
    /// # Panics
    ///
    /// When `index` is 3 or more.
    pub fn node_url(&self, index: usize) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/0", self.nodes[index].port)
    }

    /// Kills the master at `index` (as a crash would): its slots then answer nothing, for a test
    /// of what a client says when a node fails.
    ///
    /// # Panics
    ///
    /// When `index` is 3 or more.
    pub fn kill_node(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        let _ = node.child.kill();
        let _ = node.child.wait();
    }

    /// Moves the first `count` slots of the master at `from` to the master at `to`, keys and all
    /// (`redis-cli --cluster reshard`), as an operator rebalancing would: a client that knew the
    /// old owner is then told `MOVED`.
    ///
    /// # Panics
    ///
    /// When an index is 3 or more, or `redis-cli` fails (the panic holds its output).
    pub fn move_slots(&self, from: usize, to: usize, count: u32) {
        let id = |index: usize| {
            let out = self
                .cli()
                .args(["-h", "127.0.0.1", "-p", &self.nodes[index].port.to_string(), "cluster", "myid"])
                .output();
            let out = out.unwrap_or_else(|e| panic!("cannot run redis-cli: {e}"));
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let (from, to) = (id(from), id(to));
        let out = self
            .cli()
            .args(["--cluster", "reshard", &format!("127.0.0.1:{}", self.nodes[0].port)])
            .args(["--cluster-from", &from, "--cluster-to", &to, "--cluster-slots", &count.to_string()])
            .arg("--cluster-yes")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}"));
        assert!(
            out.status.success(),
            "redis-cli --cluster reshard failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the three nodes and joins them; on failure kills them and returns the logs.
    fn try_start(tls: Option<(&crate::ServerCert, &Path)>) -> Result<Self, String> {
        let mut ports = Vec::new();
        while ports.len() < 2 * MASTERS {
            let port = crate::RedisServer::free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let dir = local::temp_dir("redis-cluster", ports[0]);
        if let Some((cert, ca)) = tls {
            let ca = std::fs::read(ca).unwrap_or_else(|e| panic!("cannot read {}: {e}", ca.display()));
            for (name, bytes) in
                [("server.pem", cert.cert_pem.as_bytes()), ("server.key", cert.key_pem.as_bytes()), ("ca.pem", &ca)]
            {
                std::fs::write(dir.join(name), bytes)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", dir.join(name).display()));
            }
        }
        let mut cluster = Self { nodes: Vec::new(), dir, tls: tls.is_some() };
        for pair in ports.chunks(2) {
            let (port, bus) = (pair[0], pair[1]);
            let child = spawn(port, bus, &cluster.dir, cluster.tls);
            cluster.nodes.push(Node { child, port });
        }
        let deadline = Instant::now() + STARTUP;
        for index in 0..MASTERS {
            while !cluster.listens(index) {
                if let Ok(Some(status)) = cluster.nodes[index].child.try_wait() {
                    return Err(format!("(a node exited with {status})\n{}", cluster.logs()));
                }
                if Instant::now() > deadline {
                    cluster.give_up("a node did not answer PING");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        cluster.create();
        for index in 0..MASTERS {
            while !cluster.info(index).contains("cluster_state:ok") {
                if Instant::now() > deadline {
                    cluster.give_up("the cluster did not reach cluster_state:ok");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(cluster)
    }

    /// Whether the node at `index` is up: it answers `PING`, or for TLS (which that check does
    /// not speak) it accepts connections (redis-server listens once it is ready).
    fn listens(&self, index: usize) -> bool {
        let port = self.nodes[index].port;
        if !self.tls {
            return answers_ping(port);
        }
        let addr = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    }

    /// `redis-cli`, speaking TLS with the cluster's CA when it does.
    fn cli(&self) -> Command {
        let mut command = Command::new("redis-cli");
        if self.tls {
            command.arg("--tls").arg("--cacert").arg(self.dir.join("ca.pem"));
        }
        command
    }

    /// `redis-cli --cluster create` on the three nodes, no replicas, without asking.
    fn create(&mut self) {
        let log = self.dir.join("create.log");
        let (out, err) = local::log_file(&log);
        let child = self
            .cli()
            .arg("--cluster")
            .arg("create")
            .args(self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn();
        let mut child = child.unwrap_or_else(|e| panic!("cannot run redis-cli: {e}"));
        // It waits for the nodes to meet for as long as they do not: never past the startup time.
        let deadline = Instant::now() + STARTUP;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    self.give_up("redis-cli --cluster create did not finish");
                }
            }
        };
        if !status.success() {
            self.give_up(&format!("redis-cli --cluster create exited with {status}"));
        }
    }

    /// What `CLUSTER INFO` says on the node at `index` (empty when it does not answer).
    fn info(&self, index: usize) -> String {
        let answer = self
            .cli()
            .args(["-h", "127.0.0.1", "-p", &self.nodes[index].port.to_string(), "cluster", "info"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        answer.map(|out| String::from_utf8_lossy(&out.stdout).into_owned()).unwrap_or_default()
    }

    /// Every node's log and `redis-cli`'s.
    fn logs(&self) -> String {
        let mut logs = String::new();
        for node in &self.nodes {
            let path = self.dir.join(format!("node-{}.log", node.port));
            logs.push_str(&format!("--- {}\n{}\n", path.display(), read_log(&path)));
        }
        let create = self.dir.join("create.log");
        if create.exists() {
            logs.push_str(&format!("--- {}\n{}\n", create.display(), read_log(&create)));
        }
        logs
    }

    /// Panics with `why` and the logs (dropping the cluster first, so that nothing is left
    /// running).
    fn give_up(&mut self, why: &str) -> ! {
        let logs = self.logs();
        self.kill_all();
        panic!("the redis cluster did not start: {why} within {STARTUP:?}; logs:\n{logs}");
    }

    fn kill_all(&mut self) {
        for node in &mut self.nodes {
            // Already exited is fine; either way, reap it so that no zombie is left.
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.kill_all();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `redis-server` and `redis-cli` run; when one does not, says why (or fails under CI).
fn installed() -> bool {
    for program in ["redis-server", "redis-cli"] {
        if !local::runs(program) {
            local::unavailable(
                program,
                "it is not installed (not on PATH)",
                "install it with `apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis`",
            );
            return false;
        }
    }
    true
}

/// One cluster node on `port`, its cluster bus on `bus`, its files in `dir` (its own
/// `nodes-PORT.conf`). A node timeout of 2 s: a killed node is marked failing soon. With `tls`,
/// TLS only, the cluster bus included.
fn spawn(port: u16, bus: u16, dir: &Path, tls: bool) -> Child {
    let (log, log_err) = local::log_file(&dir.join(format!("node-{port}.log")));
    let mut command = Command::new("redis-server");
    if tls {
        command.args(["--port", "0", "--tls-port", &port.to_string(), "--tls-cluster", "yes"]);
        command.arg("--tls-cert-file").arg(dir.join("server.pem")).arg("--tls-key-file").arg(dir.join("server.key"));
        command.arg("--tls-ca-cert-file").arg(dir.join("ca.pem")).args(["--tls-auth-clients", "no"]);
    } else {
        command.args(["--port", &port.to_string()]);
    }
    command
        .args(["--cluster-port", &bus.to_string()])
        .args(["--cluster-enabled", "yes", "--cluster-config-file", &format!("nodes-{port}.conf")])
        .args(["--cluster-node-timeout", "2000"])
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run redis-server: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_a_cluster_of_three_masters_and_is_gone_when_dropped() {
        let Some(cluster) = RedisCluster::start() else { return };
        let ports = cluster.ports();
        assert_eq!(ports.len(), 3);
        assert!(cluster.url().starts_with("redis+cluster://127.0.0.1:"));
        for index in 0..3 {
            let info = cluster.info(index);
            assert!(info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3"), "{info}");
        }
        let dir = cluster.dir.clone();
        drop(cluster);
        assert!(ports.iter().all(|&p| !answers_ping(p)), "every node must be killed on drop");
        assert!(!dir.exists(), "its temp dir must be removed");
    }
}
