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
        for program in ["redis-server", "redis-cli"] {
            if !local::runs(program) {
                local::unavailable(
                    program,
                    "it is not installed (not on PATH)",
                    "install it with `apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis`",
                );
                return None;
            }
        }
        Some(local::start_on_a_free_port("a redis cluster", Self::try_start))
    }

    /// `redis+cluster://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C`: every node as a seed.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        format!("redis+cluster://{}", nodes.join(","))
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
        format!("redis://127.0.0.1:{}/0", self.nodes[index].port)
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

    /// Starts the three nodes and joins them; on failure kills them and returns the logs.
    fn try_start() -> Result<Self, String> {
        let mut ports = Vec::new();
        while ports.len() < 2 * MASTERS {
            let port = crate::RedisServer::free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let dir = local::temp_dir("redis-cluster", ports[0]);
        let mut cluster = Self { nodes: Vec::new(), dir };
        for pair in ports.chunks(2) {
            let (port, bus) = (pair[0], pair[1]);
            let child = spawn(port, bus, &cluster.dir);
            cluster.nodes.push(Node { child, port });
        }
        let deadline = Instant::now() + STARTUP;
        for index in 0..MASTERS {
            while !answers_ping(cluster.nodes[index].port) {
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

    /// `redis-cli --cluster create` on the three nodes, no replicas, without asking.
    fn create(&mut self) {
        let log = self.dir.join("create.log");
        let (out, err) = local::log_file(&log);
        let status = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}"));
        if !status.success() {
            self.give_up(&format!("redis-cli --cluster create exited with {status}"));
        }
    }

    /// What `CLUSTER INFO` says on the node at `index` (empty when it does not answer).
    fn info(&self, index: usize) -> String {
        let answer = Command::new("redis-cli")
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

/// One cluster node on `port`, its cluster bus on `bus`, its files in `dir` (its own
/// `nodes-PORT.conf`). A node timeout of 2 s: a killed node is marked failing soon.
fn spawn(port: u16, bus: u16, dir: &Path) -> Child {
    let (log, log_err) = local::log_file(&dir.join(format!("node-{port}.log")));
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--cluster-port", &bus.to_string()])
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
