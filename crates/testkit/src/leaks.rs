//! What every gateway's secrets test does around its own calls: capture the log, gather what a
//! failing run would show (the `Debug` of configs, clients and requests, each error's `Display`
//! and `Debug`, verified webhooks), then check that the log saw what the test meant to exercise
//! and that nothing shown holds a secret. The gateways' tests make the calls; the gathering and
//! the checks are here.

use std::fmt::Debug;

use gerbang_core::{Error, KeyUsed, ProviderId, WebhookEvent};

use crate::{LogCapture, show_verification};

/// What a gateway's secrets test has shown, and the log since it began.
#[derive(Debug)]
pub struct Shown {
    gateway: ProviderId,
    logs: LogCapture,
    texts: Vec<String>,
}

impl Shown {
    /// Starts `gateway`'s secrets test: installs the [`LogCapture`] (once per test binary) and
    /// holds nothing shown yet.
    ///
    /// # Panics
    ///
    /// If a global subscriber is already installed.
    pub fn capture(gateway: ProviderId) -> Self {
        Self { gateway, logs: LogCapture::install(), texts: Vec::new() }
    }

    /// Adds `value`'s `Debug`.
    pub fn debug(&mut self, value: &dyn Debug) {
        self.texts.push(format!("{value:?}"));
    }

    /// Adds each error's `Display` and `Debug`.
    pub fn errors<'a>(&mut self, errors: impl IntoIterator<Item = &'a Error>) {
        for error in errors {
            self.texts.push(error.to_string());
            self.texts.push(format!("{error:?}"));
        }
    }

    /// Checks a webhook verification as [`show_verification`] does, and adds what it shows.
    ///
    /// # Panics
    ///
    /// If the webhook was verified with another key than `expected`, or refused when expected.
    pub fn verification(&mut self, verified: Result<WebhookEvent, Error>, expected: Option<KeyUsed>) {
        show_verification(&mut self.texts, verified, expected);
    }

    /// Panics unless the log holds each of `logged` (what shows the test exercised what it
    /// meant to: `gerbang.http` for a traced call, `key="previous"` for a rotation), and unless
    /// neither the log nor anything shown holds any of `secrets`.
    pub fn assert_nothing_leaks(mut self, logged: &[&str], secrets: &[&str]) {
        let logs = self.logs.text();
        for expected in logged {
            assert!(
                logs.contains(expected),
                "{}: the log has no `{expected}`, so the test did not exercise what it checks: {logs}",
                self.gateway
            );
        }
        self.texts.push(logs);
        assert!(!secrets.is_empty(), "{}: no secret to look for", self.gateway);
        for text in &self.texts {
            for secret in secrets {
                assert!(!text.contains(secret), "{}: {secret} leaked into: {text}", self.gateway);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A [`Shown`] over a capture that is not installed: the test writes its "log" itself.
    fn shown(log: &str) -> Shown {
        let mut logs = LogCapture::default();
        logs.write_all(log.as_bytes()).expect("in memory");
        Shown { gateway: ProviderId::Qris, logs, texts: Vec::new() }
    }

    fn panic_message(check: impl FnOnce()) -> String {
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)).expect_err("the check fails");
        payload.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn passes_when_the_log_saw_the_calls_and_nothing_holds_a_secret() {
        let mut clean = shown("gerbang.http: GET /status key=\"current\"");
        clean.debug(&"Config { key: <redacted> }");
        clean.errors(&[Error::Unauthorized { message: "Invalid signature".into() }]);
        clean.assert_nothing_leaks(&["gerbang.http", r#"key="current""#], &["s3cret"]);
    }

    #[test]
    fn names_the_gateway_and_the_secret_wherever_it_leaked() {
        let mut in_error = shown("gerbang.http");
        in_error.errors(&[Error::Api { status: Some(400), code: None, message: "key s3cret revoked".into() }]);
        let message = panic_message(|| in_error.assert_nothing_leaks(&["gerbang.http"], &["s3cret"]));
        assert!(message.starts_with("qris: s3cret leaked into: the gateway answered HTTP 400"), "{message}");

        let mut in_debug = shown("gerbang.http");
        in_debug.debug(&("config", "s3cret"));
        let message = panic_message(|| in_debug.assert_nothing_leaks(&[], &["s3cret"]));
        assert!(message.contains("leaked into: (\"config\", \"s3cret\")"), "{message}");

        let in_log = shown("gerbang.http: Authorization: s3cret");
        let message = panic_message(|| in_log.assert_nothing_leaks(&["gerbang.http"], &["s3cret"]));
        assert!(message.contains("leaked into: gerbang.http: Authorization"), "{message}");
    }

    #[test]
    fn a_log_without_what_the_test_meant_to_exercise_fails() {
        let message = panic_message(|| shown("nothing traced").assert_nothing_leaks(&["gerbang.http"], &["s3cret"]));
        assert!(message.starts_with("qris: the log has no `gerbang.http`"), "{message}");
        let message = panic_message(|| shown("gerbang.http").assert_nothing_leaks(&["gerbang.http"], &[]));
        assert!(message.contains("no secret to look for"), "{message}");
    }
}
