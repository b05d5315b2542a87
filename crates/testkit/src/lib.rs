//! Test support shared by the gateway crates' tests: capturing every line of tracing output, and
//! checking that no secret or customer detail shows in what a failing run printed. Not published.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::EnvFilter;

/// Every line of tracing output written since [`LogCapture::install`], kept in memory.
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Installs the process-wide subscriber, writing everything at TRACE (this workspace's
    /// crates, reqwest, hyper…) into the returned capture, except httpmock's server: it stands
    /// for the gateway, which is of course shown the credentials. Call it once per test binary,
    /// in the one test that checks for leaks.
    ///
    /// # Panics
    ///
    /// If a global subscriber is already installed.
    pub fn install() -> Self {
        let capture = Self::default();
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("trace,httpmock=off"))
            .with_ansi(false)
            .with_writer(capture.clone())
            .init();
        capture
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Panics, naming the secret and showing where, if any of `secrets` appears in any of `shown`.
pub fn assert_nothing_leaks(shown: &[String], secrets: &[&str]) {
    for text in shown {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_leak_and_passes_clean_text() {
        assert_nothing_leaks(&["an error without secrets".to_owned()], &["s3cret"]);
        let leak = std::panic::catch_unwind(|| assert_nothing_leaks(&["key=s3cret".to_owned()], &["s3cret"]));
        assert!(leak.is_err());
    }
}
