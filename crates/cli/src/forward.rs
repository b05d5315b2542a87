//! `webhook serve --forward-to URL`: the [`Sink`] the outbox's deliverer hands each message to.
//! Each POST must be answered 2xx in time for the message to count as delivered; any other
//! answer is retried on `--forward-retry`'s schedule (the gateway was acknowledged long before).
//!
//! No redirect is followed. An application that answers `302 Location: /login` (a session
//! expired, a proxy in front of it) has not taken the payment: following the redirect would take
//! the login page's 200 for success and mark the message delivered, and a 307/308 would re-POST
//! the event wherever the application points. A 3xx is a failure like a 5xx.
//!
//! What is said about a failure (logged, and kept as the message's `last_answer`) names the
//! application by its host only: the URL's path, query or user info may carry a token.
//!
//! Every POST is signed as Standard Webhooks (standardwebhooks.com) says, so that the
//! application can tell it comes from us: `webhook-id` (the message's id, the same on every
//! attempt and every replay: [`standard_webhooks::message_id`] of the event's stored dedup key),
//! `webhook-timestamp` (this attempt's, unix seconds) and `webhook-signature` (one `v1,…` per
//! secret: the current one, then the previous one during a rotation). There is no forwarding
//! without a secret.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gerbang::Error;
use gerbang::outbox::Message;
use gerbang::webhooks::HandlerError;
use gerbang::webhooks::outbox::Sink;
use gerbang_signing::standard_webhooks::{self, WebhookSecret};
use reqwest::redirect::Policy;
use secrecy::{ExposeSecret, SecretString};

/// Where and how new events are forwarded. Cheap to clone (the client is shared).
#[derive(Clone)]
pub(crate) struct Forward {
    http: reqwest::Client,
    url: reqwest::Url,
    /// The URL's host, the only part of it ever printed.
    host: String,
    timeout: Duration,
    /// The current secret, then the previous one during a rotation: each signs every POST.
    secrets: Arc<[WebhookSecret]>,
}

/// What `webhook serve` says when `--forward-to` comes without a secret.
const NO_SECRET: &str = "--forward-to needs a signing secret, so that the application can tell the events come \
                         from gerbang: set GERBANG_FORWARD_SECRET (or --forward-secret) to a `whsec_…` secret, the \
                         same the application verifies with; `gerbang webhook secret` prints a fresh one";

/// The secrets that sign forwarded events: `current` (`--forward-secret`), then `previous`
/// (`--forward-secret-previous`) while a rotation lasts. An empty value counts as unset, as
/// the gateways' `…_PREVIOUS` variables do. No error holds either value.
pub(crate) fn secrets(
    current: Option<&SecretString>,
    previous: Option<&SecretString>,
) -> Result<Vec<WebhookSecret>, Error> {
    fn given(secret: Option<&SecretString>) -> Option<&str> {
        secret.map(|s| s.expose_secret().trim()).filter(|s| !s.is_empty())
    }
    let current = given(current).ok_or_else(|| Error::config(NO_SECRET))?;
    let mut secrets = vec![
        WebhookSecret::parse(current)
            .map_err(|e| Error::config(format!("--forward-secret (GERBANG_FORWARD_SECRET) is not a secret: {e}")))?,
    ];
    if let Some(previous) = given(previous) {
        secrets.push(WebhookSecret::parse(previous).map_err(|e| {
            Error::config(format!("--forward-secret-previous (GERBANG_FORWARD_SECRET_PREVIOUS) is not a secret: {e}"))
        })?);
    }
    Ok(secrets)
}

impl Forward {
    /// A forwarder to `url`, each POST given up after `timeout` (answer included) and signed
    /// by every one of `secrets` (at least one).
    pub(crate) fn new(url: &str, timeout: Duration, secrets: Vec<WebhookSecret>) -> Result<Self, Error> {
        if secrets.is_empty() {
            return Err(Error::config(NO_SECRET));
        }
        // The parse error names what is wrong, never the value (it may carry a token).
        let url = reqwest::Url::parse(url).map_err(|e| {
            Error::config(format!("--forward-to is not a URL ({e}): expected http(s)://host[:port]/path"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config(format!("--forward-to must be an http or https URL, not `{}:`", url.scheme())));
        }
        let host = url.host_str().map(str::to_owned).ok_or_else(|| Error::config("--forward-to names no host"))?;
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| Error::config(format!("cannot build the forwarding client: {}", e.without_url())))?;
        Ok(Self { http, url, host, timeout, secrets: secrets.into() })
    }

    /// The application's host, the only part of `--forward-to` ever printed.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// How long the application has to answer a POST.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// POSTs one event's JSON line, signed, as the message `id` (the same on every attempt for
    /// one event); `Ok` with the answer's status (`200 OK`) only on a 2xx answer within the
    /// timeout. A failure names the application's host and the status (never the URL): the
    /// deliverer logs it and keeps it as the message's last answer.
    pub(crate) async fn send(&self, id: &str, line: &str) -> Result<String, HandlerError> {
        // This attempt's time: an application refuses a message older than its tolerance (5
        // minutes in every reference library), so a retry is signed anew.
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let timestamp = i64::try_from(now).unwrap_or(i64::MAX);
        let signature = standard_webhooks::signature_header(&self.secrets, id, timestamp, line.as_bytes());
        let result = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(line.to_owned())
            .send()
            .await;
        let host = &self.host;
        let failure = match result {
            Ok(answer) if answer.status().is_success() => return Ok(answer.status().to_string()),
            Ok(answer) if answer.status().is_redirection() => {
                format!("the application at {host} answered {}, a redirect, which is not followed", answer.status())
            }
            Ok(answer) => format!("the application at {host} answered {}", answer.status()),
            Err(e) if e.is_timeout() => {
                format!("the application at {host} did not answer within {:?} (--forward-timeout)", self.timeout)
            }
            Err(e) => format!("the application at {host} could not be reached ({})", e.without_url()),
        };
        Err(failure.into())
    }
}

#[gerbang::async_trait]
impl Sink for Forward {
    /// POSTs the message's body as message `id` (see [`Forward::send`]).
    async fn deliver(&self, message: &Message) -> Result<String, HandlerError> {
        self.send(&message.id, &message.body).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};

    use proptest::prelude::*;

    use super::*;

    /// An application answering whatever status is set, with a `Location` to a trap that counts
    /// the requests it gets; the trap's count.
    async fn application(status: Arc<AtomicU16>) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        let trapped = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&trapped);
        let trap = axum::Router::new().fallback(move || {
            count.fetch_add(1, Ordering::SeqCst);
            async { "login" }
        });
        let trap_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let location = format!("http://{}/login", trap_listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(trap_listener, trap).await });
        let app = axum::Router::new().fallback(move || {
            let status = status.load(Ordering::SeqCst);
            let location = location.clone();
            async move {
                let status = axum::http::StatusCode::from_u16(status).unwrap();
                (status, [(axum::http::header::LOCATION, location)])
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (addr, trapped)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// The attack: an application (or whatever sits in front of it) answering any status,
        /// redirects of every kind included, at a URL carrying a token. Only a 2xx is a success; a
        /// redirect's target never gets a request; a failure never says the token.
        #[test]
        fn only_a_2xx_is_a_success_and_no_redirect_is_followed(
            status in prop_oneof![200_u16..=206, 300_u16..=308, 400_u16..=451, 500_u16..=511],
            token in "[A-Za-z0-9]{12,24}",
        ) {
            thread_local! {
                static APP: (tokio::runtime::Runtime, Arc<AtomicU16>, std::net::SocketAddr, Arc<AtomicUsize>) = {
                    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
                    let status = Arc::new(AtomicU16::new(200));
                    let (addr, trapped) = runtime.block_on(application(Arc::clone(&status)));
                    (runtime, status, addr, trapped)
                };
            }
            APP.with(|(runtime, answer, addr, trapped)| {
                answer.store(status, Ordering::SeqCst);
                let url = format!("http://hook:{token}@{addr}/events/{token}?token={token}");
                let secret = WebhookSecret::parse(&WebhookSecret::generate().unwrap()).unwrap();
                let forward = Forward::new(&url, Duration::from_secs(5), vec![secret]).unwrap();
                let result = runtime.block_on(forward.send("msg_1", "{}"));
                prop_assert_eq!(result.is_ok(), (200..300).contains(&status), "{} -> {:?}", status, result);
                prop_assert_eq!(trapped.load(Ordering::SeqCst), 0, "a redirect was followed");
                if let Err(error) = result {
                    let said = error.to_string();
                    prop_assert!(!said.contains(&token), "the URL's token in {}", said);
                    prop_assert!(said.contains("application at 127.0.0.1 "), "{}", said);
                    prop_assert!(said.contains(&status.to_string()), "{}", said);
                }
                Ok(())
            })?;
        }
    }
}
