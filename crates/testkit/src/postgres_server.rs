//! A private Postgres server for one test: its own data directory and loopback port, gone when
//! the test ends.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::local;

/// How long `pg_ctl` waits for the server to start or stop, generous for a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(30);

/// A Postgres server started for one test, on `127.0.0.1` and a free port, in a fresh temporary
/// directory (owned by the `postgres` user when the test runs as root, since `initdb` refuses
/// root). Trust authentication: any user name and password is let in. Its log is a file in that
/// directory, never the test's output. Stopped (`pg_ctl stop -m immediate`) and removed on drop.
#[derive(Debug)]
pub struct PostgresServer {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
    /// Serves TLS (`ssl=on`) with the certificate in its directory.
    tls: bool,
}

impl PostgresServer {
    /// Starts a server, or returns `None` (saying why on stderr) when Postgres is not installed,
    /// so that the test can skip.
    ///
    /// # Panics
    ///
    /// When Postgres is missing and `CI=true` (CI must run these tests), or when an installed
    /// Postgres fails to start: the message holds what failed and the end of the server's log.
    pub fn start() -> Option<Self> {
        Self::start_with(None)
    }

    /// [`start`](Self::start), serving TLS too (`ssl=on`) with `cert` (its files in the server's
    /// directory, owned by the server's user, the key mode 0600, as Postgres demands). Clients
    /// may still connect in clear.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_tls(cert: &crate::ServerCert) -> Option<Self> {
        Self::start_with(Some(cert))
    }

    fn start_with(cert: Option<&crate::ServerCert>) -> Option<Self> {
        let missing = |why: String| {
            local::unavailable("a Postgres server", &why, "install the Debian package postgresql to run it");
            None
        };
        let Some(bindir) = find_bindir() else {
            return missing(
                "no initdb/pg_ctl was found (neither via `pg_config --bindir` nor in /usr/lib/postgresql/*/bin)".into(),
            );
        };
        let as_postgres = running_as_root();
        if as_postgres && !user_exists("postgres") {
            return missing(
                "the tests run as root, initdb refuses root, and there is no `postgres` user to run it as".into(),
            );
        }
        let dir = match make_dir(as_postgres) {
            Ok(dir) => dir,
            Err(why) => return missing(why),
        };
        let mut server = Self { dir, bindir, port: 0, as_postgres, running: false, tls: cert.is_some() };
        server.init();
        if let Some(cert) = cert {
            server.install_cert(cert);
        }
        // A port found free can be taken by another test before the server binds it: try again.
        for attempt in 1..=5 {
            server.port = free_port();
            match server.pg_ctl_start() {
                Ok(()) => {
                    server.running = true;
                    return Some(server);
                }
                Err(why) => {
                    // It may have come up after pg_ctl gave up waiting: stop whatever is there.
                    server.running = true;
                    server.stop();
                    if attempt == 5 {
                        panic!("Postgres did not start: {why}\n{}", server.log_tail());
                    }
                }
            }
        }
        None
    }

    /// The URL of the database `postgres` as the superuser `postgres`:
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server now (as a crash would: `-m immediate`), keeping its directory until drop.
    /// Stopping twice does nothing.
    pub fn stop(&mut self) {
        if self.running {
            self.running = false;
            let data = self.data().display().to_string();
            let _ = self.run(&self.tool("pg_ctl"), &["-D", &data, "-m", "immediate", "-w", "-t", &wait_secs(), "stop"]);
        }
    }

    /// Starts the server again on the same port, with its data, after [`stop`](Self::stop): for a
    /// test of what a client does while Postgres is down. Does nothing if it runs.
    ///
    /// # Panics
    ///
    /// When it does not start (the port was taken meanwhile, say): the message holds the end of
    /// its log.
    pub fn restart(&mut self) {
        if self.running {
            return;
        }
        if let Err(why) = self.pg_ctl_start() {
            panic!("Postgres did not restart: {why}\n{}", self.log_tail());
        }
        self.running = true;
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn tool(&self, name: &str) -> String {
        self.bindir.join(name).display().to_string()
    }

    fn init(&self) {
        let data = self.data().display().to_string();
        let args = ["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"];
        if let Err(why) = self.run(&self.tool("initdb"), &args) {
            panic!("initdb failed: {why}");
        }
    }

    /// Writes `cert` as `server.crt` and `server.key` into the directory, owned by whoever owns
    /// the directory (`postgres` when we are root), the key readable by it alone.
    fn install_cert(&self, cert: &crate::ServerCert) {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let owner = std::fs::metadata(&self.dir).unwrap_or_else(|e| panic!("cannot stat {}: {e}", self.dir.display()));
        for (name, text, mode) in [("server.crt", &cert.cert_pem, 0o644), ("server.key", &cert.key_pem, 0o600)] {
            let path = self.dir.join(name);
            let written = std::fs::write(&path, text)
                .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)))
                .and_then(|()| std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())));
            if let Err(e) = written {
                panic!("cannot install {}: {e}", path.display());
            }
        }
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let data = self.data().display().to_string();
        let log = self.dir.join("log").display().to_string();
        // A throwaway server: no durability, a socket in its own directory, loopback only.
        let mut options = format!(
            "-k {} -c listen_addresses=127.0.0.1 -p {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.dir.display(),
            self.port
        );
        if self.tls {
            let dir = self.dir.display();
            options.push_str(&format!(" -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key"));
        }
        self.run(&self.tool("pg_ctl"), &["-D", &data, "-l", &log, "-o", &options, "-w", "-t", &wait_secs(), "start"])
    }

    /// Runs a Postgres tool, as `postgres` when we are root, its output into a file in the
    /// directory (no pipe that a server it spawns could hold open); the output on failure.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out_path = self.dir.join("tool.out");
        let out = File::create(&out_path).map_err(|e| format!("cannot create {}: {e}", out_path.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--", program]);
            command
        } else {
            Command::new(program)
        };
        let status = command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            let output = std::fs::read_to_string(&out_path).unwrap_or_default();
            Err(format!("{program} {} exited with {status}:\n{output}", args.join(" ")))
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn wait_secs() -> String {
    WAIT.as_secs().to_string()
}

/// The directory of `initdb` and `pg_ctl`: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin` that has them.
fn find_bindir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|dir| has_tools(dir)) {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether we are root: `/proc/self` belongs to the process's user; `id -u` where there is no
/// `/proc`.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/proc/self") {
        Ok(meta) => meta.uid() == 0,
        Err(_) => Command::new("id")
            .arg("-u")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0"),
    }
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg(name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A fresh directory under the temp dir, made by `postgres` itself when we are root (so it owns
/// it, mode 700); `/tmp` when the temp dir is not one `postgres` may write in.
fn make_dir(as_postgres: bool) -> Result<PathBuf, String> {
    let mut bases = vec![std::env::temp_dir()];
    if bases[0] != Path::new("/tmp") {
        bases.push(PathBuf::from("/tmp"));
    }
    let mut why = String::new();
    for base in bases {
        let template = base.join("gerbang-pg.XXXXXXXX").display().to_string();
        let mut command = if as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--", "mktemp", "-d", &template]);
            command
        } else {
            let mut command = Command::new("mktemp");
            command.args(["-d", &template]);
            command
        };
        match command.stdin(Stdio::null()).output() {
            Ok(out) if out.status.success() => {
                return Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
            }
            Ok(out) => {
                why = format!(
                    "cannot make a directory in {}: {}",
                    base.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )
            }
            Err(e) => why = format!("cannot run mktemp{}: {e}", if as_postgres { " through runuser" } else { "" }),
        }
    }
    Err(why)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot find a free loopback port: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_on_its_port_and_cleans_up() {
        let Some(mut server) = PostgresServer::start() else { return };
        let dir = server.dir.clone();
        assert!(server.url().starts_with("postgres://postgres@127.0.0.1:"));
        assert!(std::net::TcpStream::connect(("127.0.0.1", server.port())).is_ok(), "the server listens");
        assert!(dir.join("log").is_file(), "the server logs into its directory");
        server.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", server.port())).is_err(), "a stopped server is gone");
        drop(server);
        assert!(!dir.exists(), "the directory is removed");
    }
}
