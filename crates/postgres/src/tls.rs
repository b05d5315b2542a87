//! TLS to Postgres on rustls, with libpq's `sslmode` and `sslrootcert` and their meanings: the
//! adapter tokio-postgres connects through, and the URL options it reads.
//!
//! Our own adapter on `tokio-rustls` rather than `tokio-postgres-rustls`: twenty lines, and the
//! tree keeps the one rustls (aws-lc-rs) that reqwest builds into every binary anyway.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use gerbang_core::Error;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, SslMode as DriverMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// libpq's `sslmode`, with its meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// In clear.
    Disable,
    /// TLS when the server offers it, the certificate unchecked; in clear otherwise.
    Prefer,
    /// TLS or nothing, the certificate unchecked (checked as `VerifyCa` when a CA file is given).
    Require,
    /// TLS, the certificate's chain checked, not its name.
    VerifyCa,
    /// TLS, the chain and the name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, Error> {
        Ok(match value {
            "disable" => Self::Disable,
            "prefer" | "allow" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => {
                return Err(Error::config(
                    "the Postgres URL's sslmode is not one of disable, prefer, require, verify-ca, verify-full",
                ));
            }
        })
    }

    /// The mode when the URL names none: `verify-full` (a payment service's database password and
    /// data do not cross a network unchecked), except to this machine (loopback, a Unix socket),
    /// where nothing is on the wire: libpq's `prefer` there.
    fn default_for(config: &tokio_postgres::Config) -> Self {
        let local = config.get_hosts().iter().all(|host| match host {
            Host::Tcp(name) => name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
            #[cfg(unix)]
            Host::Unix(_) => true,
        });
        if local { Self::Prefer } else { Self::VerifyFull }
    }
}

/// What the URL says about TLS, taken out of it (tokio-postgres knows neither `verify-*` nor
/// `sslrootcert`), and the rest of the URL.
pub(crate) struct Split {
    pub(crate) rest: String,
    mode: Option<SslMode>,
    root_cert: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL's query or a `key=value` string.
pub(crate) fn split(url: &str) -> Result<Split, Error> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> Result<bool, Error> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(value)?),
            "sslrootcert" => root_cert = Some(PathBuf::from(value)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let trimmed = url.trim();
    let rest = if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        match trimmed.split_once('?') {
            None => trimmed.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(key, &percent_decode(value))? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) }
            }
        }
    } else {
        let mut kept = Vec::new();
        for (key, value, text) in key_values(trimmed) {
            if !take(key, &value)? {
                kept.push(text);
            }
        }
        kept.join(" ")
    };
    Ok(Split { rest, mode, root_cert })
}

/// `%XX` decoded (a path in a URL may be escaped); anything malformed left as it is.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libpq's `key = value` pairs (a value quoted in `'…'` with `\` escapes, or up to a space):
/// each key, its value, and its text as written.
fn key_values(s: &str) -> Vec<(&str, String, &str)> {
    let mut pairs = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return pairs;
        }
        let start = rest;
        let key_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            rest = after.trim_start();
            let quoted = rest.starts_with('\'');
            let mut chars = rest.char_indices().skip(usize::from(quoted));
            let mut end = rest.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '\'' if quoted => {
                        end = i + 1;
                        break;
                    }
                    c if !quoted && c.is_whitespace() => {
                        end = i;
                        break;
                    }
                    c => value.push(c),
                }
            }
            rest = &rest[end..];
        }
        let text = &start[..start.len() - rest.len()];
        pairs.push((key, value, text.trim_end()));
    }
}

/// The connector for a parsed URL: sets the driver's own mode and returns what does the TLS.
/// `store_ca` (`--store-ca`) counts as `sslrootcert` when the URL names none.
pub(crate) fn connector(
    config: &mut tokio_postgres::Config,
    split: &Split,
    store_ca: Option<&Path>,
) -> Result<RustlsConnect, Error> {
    let root_cert = split.root_cert.as_deref().or(store_ca);
    let mode = match split.mode {
        Some(mode) => mode,
        None if root_cert.is_some() => SslMode::VerifyFull,
        None => SslMode::default_for(config),
    };
    // libpq: `require` with a CA file checks the chain, as `verify-ca`.
    let mode = if mode == SslMode::Require && root_cert.is_some() { SslMode::VerifyCa } else { mode };
    config.ssl_mode(match mode {
        SslMode::Disable => DriverMode::Disable,
        SslMode::Prefer => DriverMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverMode::Require,
    });
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(Unchecked(provider.clone())),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let chain = chain_verifier(root_cert, &provider)?;
            if mode == SslMode::VerifyCa { Arc::new(AnyName(chain)) } else { chain }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("cannot set up TLS to Postgres: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(RustlsConnect { config: Arc::new(config) })
}

/// The CAs of `root_cert` (PEM), else the system's (rustls-platform-verifier: the operating
/// system's trust store, where a company's or a cloud's CA may be installed, as reqwest does).
fn chain_verifier(
    root_cert: Option<&Path>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, Error> {
    let Some(path) = root_cert else {
        return rustls_platform_verifier::Verifier::new(provider.clone())
            .map(|v| Arc::new(v) as Arc<dyn ServerCertVerifier>)
            .map_err(|e| Error::config(format!("cannot load the system's root certificates for Postgres: {e}")));
    };
    let unreadable = |why: String| {
        Error::config(format!(
            "the Postgres CA file {} (sslrootcert, --store-ca) cannot be used: {why}",
            path.display()
        ))
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(e.to_string()))? {
        let cert = cert.map_err(|e| unreadable(e.to_string()))?;
        roots.add(cert).map_err(|e| unreadable(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(unreadable("it holds no PEM certificate".into()));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map(|v| v as Arc<dyn ServerCertVerifier>)
        .map_err(|e| unreadable(e.to_string()))
}

/// `prefer` and `require` without a CA: encrypted, the certificate not checked (libpq's meaning;
/// the handshake's signatures still are).
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain checked, the name not (the chain is checked before the name, so a
/// wrong name is the only thing let through).
#[derive(Debug)]
struct AnyName(Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A server certificate that did not verify: a configuration error, not an outage.
#[derive(Debug)]
pub(crate) struct Rejected {
    host: String,
    reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the certificate of the Postgres server {} does not verify: {}", self.host, self.reason)
    }
}

impl StdError for Rejected {}

impl Rejected {
    fn from_rustls(host: &str, error: &rustls::Error) -> Option<Self> {
        let rustls::Error::InvalidCertificate(why) = error else { return None };
        let reason = match why {
            CertificateError::UnknownIssuer => "unknown issuer: it is not signed by the CA of sslrootcert or \
                 --store-ca (the system's roots when none is given)"
                .to_owned(),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("wrong name: it does not name {host}; connect by a name it holds, or use sslmode=verify-ca")
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired".to_owned(),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => "not valid yet".to_owned(),
            CertificateError::Revoked => "revoked".to_owned(),
            other => format!("{other:?}"),
        };
        Some(Self { host: host.to_owned(), reason })
    }
}

/// Whether a driver error is TLS refused for good: a certificate that does not verify, or a
/// server without TLS where the mode requires it. Neither changes by trying again.
pub(crate) fn refused(error: &tokio_postgres::Error) -> bool {
    error.source().is_some_and(|cause| cause.downcast_ref::<Rejected>().is_some()) || without_tls(error)
}

/// Whether the server answered that it has no TLS, where the mode requires it.
pub(crate) fn without_tls(error: &tokio_postgres::Error) -> bool {
    error.source().is_some_and(|cause| cause.to_string() == "server does not support TLS")
}

/// What tokio-postgres connects through ([`MakeTlsConnect`]).
#[derive(Clone)]
pub(crate) struct RustlsConnect {
    config: Arc<ClientConfig>,
}

impl<S> MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsHandshake;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsHandshake, io::Error> {
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|_| io::Error::other(format!("`{domain}` is not a host name TLS can check")))?;
        Ok(RustlsHandshake { config: self.config.clone(), name })
    }
}

/// One handshake, for one host.
pub(crate) struct RustlsHandshake {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsHandshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = Box<dyn StdError + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, Self::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let host = self.name.to_str().into_owned();
            let connector = tokio_rustls::TlsConnector::from(self.config);
            match connector.connect(self.name, stream).await {
                Ok(stream) => Ok(RustlsStream(Box::new(stream))),
                Err(e) => {
                    let rejected = e
                        .get_ref()
                        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                        .and_then(|inner| Rejected::from_rustls(&host, inner));
                    match rejected {
                        Some(rejected) => Err(Box::new(rejected) as Self::Error),
                        None => Err(Box::new(e) as Self::Error),
                    }
                }
            }
        })
    }
}

/// A TLS session to the server.
pub(crate) struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    /// No `tls-server-end-point` binding: SCRAM authenticates without channel binding (the
    /// driver's `channel_binding=prefer` then goes on without it).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_options_are_taken_out_of_a_url() {
        let split = split("postgres://app:pw@db/shop?sslmode=verify-ca&application_name=x&sslrootcert=%2Fetc%2Fca.pem")
            .ok()
            .unwrap_or_else(|| panic!("parses"));
        assert_eq!(split.rest, "postgres://app:pw@db/shop?application_name=x");
        assert_eq!(split.mode, Some(SslMode::VerifyCa));
        assert_eq!(split.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
    }

    #[test]
    fn the_tls_options_are_taken_out_of_a_key_value_string() {
        let split = split("host=db password='a b\\'c' sslmode = require sslrootcert='/tmp/my ca.pem' dbname=shop")
            .ok()
            .unwrap_or_else(|| panic!("parses"));
        assert_eq!(split.rest, "host=db password='a b\\'c' dbname=shop");
        assert_eq!(split.mode, Some(SslMode::Require));
        assert_eq!(split.root_cert.as_deref(), Some(Path::new("/tmp/my ca.pem")));
    }

    #[test]
    fn the_default_is_verify_full_off_this_machine_and_prefer_on_it() {
        use std::str::FromStr;
        for (url, expected) in [
            ("postgres://app@db.internal/shop", SslMode::VerifyFull),
            ("postgres://app@10.0.0.5/shop", SslMode::VerifyFull),
            ("postgres://app@127.0.0.1,db.internal/shop", SslMode::VerifyFull),
            ("postgres://app@127.0.0.1/shop", SslMode::Prefer),
            ("postgres://app@localhost:6432/shop", SslMode::Prefer),
            ("postgres://app@[::1]/shop", SslMode::Prefer),
            ("host=/var/run/postgresql user=app", SslMode::Prefer),
        ] {
            let config = tokio_postgres::Config::from_str(url).ok().unwrap_or_else(|| panic!("{url}"));
            assert_eq!(SslMode::default_for(&config), expected, "{url}");
        }
    }

    #[test]
    fn an_unknown_mode_is_a_configuration_error() {
        assert!(matches!(split("postgres://db/shop?sslmode=verify"), Err(Error::Config { .. })));
    }
}
