//! A private certificate authority for one test, made with the `openssl` command-line tool (on
//! every machine of ours; no OpenSSL in the Rust dependency tree, and no certificate crate to
//! build): a CA, and server certificates it signs for given names, valid or expired.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::local;

/// A server certificate and its key, PEM.
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (unencrypted).
    pub key_pem: String,
}

/// How long a server certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From a day ago for 30 days.
    Current,
    /// The whole of 2020: expired.
    Expired,
}

/// A CA made for one test, in its own temporary directory (removed on drop).
#[derive(Debug)]
pub struct TestCa {
    dir: PathBuf,
    issued: u32,
}

impl TestCa {
    /// A fresh CA named `name`, or `None` (saying why on stderr) when `openssl` is missing.
    ///
    /// # Panics
    ///
    /// When `openssl` is there but fails, or `CI=true` and it is missing.
    pub fn new(name: &str) -> Option<Self> {
        if Command::new("openssl").arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
            local::unavailable("the openssl command", "it was not found", "install the Debian package openssl");
            return None;
        }
        let dir = local::temp_dir("ca", 0);
        let ca = Self { dir, issued: 0 };
        write(&ca.dir.join("index.txt"), "");
        write(
            &ca.dir.join("openssl.cnf"),
            &format!(
                "[req]\ndistinguished_name = dn\n[dn]\n[ca]\ndefault_ca = test\n[test]\ndatabase = {dir}/index.txt\n\
                 new_certs_dir = {dir}\nserial = {dir}/serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n\
                 [ca_ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
                 subjectKeyIdentifier = hash\n",
                dir = ca.dir.display()
            ),
        );
        ca.openssl(&[
            "req",
            "-x509",
            "-config",
            "openssl.cnf",
            "-extensions",
            "ca_ext",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            &format!("/CN={name}"),
        ]);
        Some(ca)
    }

    /// The CA's certificate file (PEM): what a client is given as `sslrootcert`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A server certificate for `names` (DNS names or IP addresses), signed by this CA.
    ///
    /// # Panics
    ///
    /// When `openssl` fails.
    pub fn server_cert(&mut self, names: &[&str], validity: Validity) -> ServerCert {
        self.issued += 1;
        let n = self.issued;
        let alt: Vec<String> =
            names
                .iter()
                .map(|name| {
                    if name.parse::<std::net::IpAddr>().is_ok() { format!("IP:{name}") } else { format!("DNS:{name}") }
                })
                .collect();
        write(
            &self.dir.join(format!("leaf{n}.ext")),
            &format!(
                "basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth,clientAuth\n\
                 subjectAltName = {}\n",
                alt.join(",")
            ),
        );
        let (key, csr, cert) = (format!("leaf{n}.key"), format!("leaf{n}.csr"), format!("leaf{n}.pem"));
        let cn = format!("/CN={}", names.first().copied().unwrap_or("server"));
        self.openssl(&[
            "req",
            "-new",
            "-config",
            "openssl.cnf",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &cn,
        ]);
        let (start, end) = match validity {
            Validity::Current => (
                time_stamp(std::time::SystemTime::now() - std::time::Duration::from_secs(86_400)),
                time_stamp(std::time::SystemTime::now() + std::time::Duration::from_secs(30 * 86_400)),
            ),
            Validity::Expired => ("20200101000000Z".to_owned(), "20210101000000Z".to_owned()),
        };
        self.openssl(&[
            "ca",
            "-batch",
            "-config",
            "openssl.cnf",
            "-rand_serial",
            "-notext",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-in",
            &csr,
            "-out",
            &cert,
            "-extfile",
            &format!("leaf{n}.ext"),
            "-startdate",
            &start,
            "-enddate",
            &end,
        ]);
        ServerCert { cert_pem: read(&self.dir.join(&cert)), key_pem: read(&self.dir.join(&key)) }
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
        assert!(out.status.success(), "openssl {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `YYYYMMDDHHMMSSZ` for `openssl ca`, from a Unix time (civil-from-days, proleptic Gregorian).
fn time_stamp(at: std::time::SystemTime) -> String {
    let secs = at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}{:02}{:02}{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_stamps_are_civil_dates() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_709_210_096); // 2024-02-29 12:34:56
        assert_eq!(time_stamp(at), "20240229123456Z");
    }
}
