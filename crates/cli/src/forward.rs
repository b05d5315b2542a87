//! `webhook serve --forward-to URL`: each new event POSTed to the application, which must answer
//! 2xx in time for the event to count as handled.
//!
//! No redirect is followed. An application that answers `302 Location: /login` (a session
//! expired, a proxy in front of it) has not taken the payment: following the redirect would take
//! the login page's 200 for success, ack the gateway and mark the event done, and a 307/308 would
//! re-POST the event wherever the application points. A 3xx is a failure like a 5xx: the claim
//! is released and the gateway, answered 500, delivers the event again.
//!
//! What is said about a failure names the application by its host only: the URL's path, query or
//! user info may carry a token.

use std::time::Duration;

use gerbang::Error;
use gerbang::webhooks::HandlerError;
use reqwest::redirect::Policy;

use crate::common::eprint_line;

/// Where and how new events are forwarded.
pub(crate) struct Forward {
    http: reqwest::Client,
    url: reqwest::Url,
    /// The URL's host, the only part of it ever printed.
    host: String,
    timeout: Duration,
}

impl Forward {
    /// A forwarder to `url`, each POST given up after `timeout` (answer included).
    pub(crate) fn new(url: &str, timeout: Duration) -> Result<Self, Error> {
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
        Ok(Self { http, url, host, timeout })
    }

    /// POSTs one event's JSON line; `Ok` only on a 2xx answer within the timeout. A failure is
    /// also said on stderr, with the application's host and the status (never the URL).
    pub(crate) async fn send(&self, line: &str) -> Result<(), HandlerError> {
        let result = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/json")
            .body(line.to_owned())
            .send()
            .await;
        let host = &self.host;
        let again = "the event is not handled, and the gateway's next delivery of it will be";
        let failure = match result {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) if answer.status().is_redirection() => {
                format!(
                    "the application at {host} answered {}, a redirect, which is not followed: {again}",
                    answer.status()
                )
            }
            Ok(answer) => format!("the application at {host} answered {}: {again}", answer.status()),
            Err(e) if e.is_timeout() => format!(
                "the application at {host} did not answer within {:?} (--forward-timeout): {again}",
                self.timeout
            ),
            Err(e) => format!("the application at {host} could not be reached ({}): {again}", e.without_url()),
        };
        eprint_line(&format!("forward failed: {failure}"));
        Err(failure.into())
    }
}
