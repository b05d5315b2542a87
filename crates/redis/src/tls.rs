//! TLS to Redis (`rediss://`): the `redis` crate's rustls support, on the one rustls (aws-lc-rs)
//! that reqwest builds into every binary anyway; a CA file of the caller's, else the system's
//! trust store; and a certificate that does not verify told apart as a refusal.

use std::path::Path;

use gerbang_core::Error;
use redis::{Client, TlsCertificates};
use rustls::CertificateError;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The client for a parsed URL: over TLS with `root_cert`'s CAs when the URL is `rediss://` and a
/// CA file is given; as the URL says otherwise (`rediss://` with the system's roots).
///
/// `rediss://…/#insecure` (the `redis` crate's way to skip verifying the certificate) is refused:
/// a payment service's Redis password and events do not cross a network unchecked, and a
/// private CA is what `root_cert` (`--store-ca`) is for.
pub(crate) fn client(url: &str, root_cert: Option<&Path>) -> Result<Client, redis::RedisError> {
    if is_tls(url) {
        ensure_provider();
    }
    let Some(path) = root_cert.filter(|_| is_tls(url)) else {
        return Client::open(url);
    };
    let pem = std::fs::read(path)?;
    Client::build_with_tls(url, TlsCertificates { client_tls: None, root_cert: Some(pem) })
}

/// The redis crate builds its TLS configuration on rustls's process-wide provider, which rustls
/// cannot choose by itself when a build enables both of its providers (it would panic): aws-lc-rs,
/// the one reqwest uses, is installed unless the application installed one first.
pub(crate) fn ensure_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err: another thread installed one meanwhile, which is as good.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

/// Whether `url` asks for TLS (`rediss://`).
pub(crate) fn is_tls(url: &str) -> bool {
    redis::parse_redis_url(url).is_some_and(|parsed| parsed.scheme() == "rediss")
}

/// Refuses what must not be connected to: `#insecure`, and a CA file that holds no certificate.
/// Checked before connecting, so that the answer is a [`Error::Config`] at once.
pub(crate) fn check(url: &str, root_cert: Option<&Path>) -> Result<(), Error> {
    let insecure = redis::parse_redis_url(url).is_some_and(|parsed| parsed.fragment() == Some("insecure"));
    if is_tls(url) && insecure {
        return Err(Error::config(
            "the redis URL ends in #insecure (do not verify the server's certificate): refused, since the \
             store's password and data would cross the network unchecked; give the server's CA file with \
             --store-ca (GERBANG_STORE_CA) or the builder's root_cert instead",
        ));
    }
    let Some(path) = root_cert else { return Ok(()) };
    let unreadable =
        |why: String| Error::config(format!("the Redis CA file {} (--store-ca) cannot be used: {why}", path.display()));
    let mut certs = 0;
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(e.to_string()))? {
        cert.map_err(|e| unreadable(e.to_string()))?;
        certs += 1;
    }
    if certs == 0 {
        return Err(unreadable("it holds no PEM certificate".into()));
    }
    Ok(())
}

/// Why the server's certificate did not verify, if that is what `error` is: a refusal (trying
/// again changes nothing until the certificate or the CA file does).
pub(crate) fn rejected(host: &str, error: &redis::RedisError) -> Option<String> {
    let why = certificate_error(error)?;
    let reason = match why {
        CertificateError::UnknownIssuer => "unknown issuer: it is not signed by the CA of --store-ca \
             (the system's roots when none is given)"
            .to_owned(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("wrong name: it does not name {host}; connect by a name it holds")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired".to_owned(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => "not valid yet".to_owned(),
        CertificateError::Revoked => "revoked".to_owned(),
        other => format!("{other:?}"),
    };
    Some(format!("the certificate of the Redis server {host} does not verify: {reason}"))
}

/// The rustls certificate error inside a failed handshake: the redis crate keeps the I/O error
/// tokio-rustls returns, which carries rustls's (behind an `Arc<dyn Error>`, which `source`
/// hands out as such: it is opened here).
fn certificate_error(error: &redis::RedisError) -> Option<&CertificateError> {
    type Shared = std::sync::Arc<dyn std::error::Error + Send + Sync>;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(mut current) = cause {
        if let Some(shared) = current.downcast_ref::<Shared>() {
            current = &**shared;
        }
        let io = current.downcast_ref::<std::io::Error>();
        let inner = io.and_then(|io| io.get_ref()).map(|inner| inner as &(dyn std::error::Error + 'static));
        for candidate in [Some(current), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(why)) = candidate.downcast_ref::<rustls::Error>() {
                return Some(why);
            }
        }
        cause = current.source();
    }
    None
}

/// A certificate that did not verify, as the configuration error it is (worded as the other
/// refusals: `the redis store refused: …`).
pub(crate) fn refusal(message: String) -> Error {
    crate::error::count("connect");
    tracing::debug!(store = crate::error::STORE, error = %message, "redis refused the connection");
    Error::Config { message: format!("the redis store refused: {message}") }
}
