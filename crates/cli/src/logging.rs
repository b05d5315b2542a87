//! The CLI's logs: a `tracing` subscriber writing one line per event on stderr (stdout is kept
//! for results and event lines), as text or as JSON.
//!
//! - The level comes from `RUST_LOG` (any `EnvFilter` directive: `debug`,
//!   `gerbang_webhooks=debug,warn`); without it, `info` for the commands that run as a service
//!   (`webhook serve`, `sandbox serve`) and `warn` for the others, whose result is on stdout.
//! - `--log-format text|json` (or `GERBANG_LOG_FORMAT`): in JSON, every line on stderr is one
//!   JSON object, the CLI's own lines (`receiving … webhooks at …`, `error: …`) included, so that
//!   a log shipper never meets a line it cannot parse.
//! - Every line is one line: a newline or another control character inside a value (an error
//!   quoting a gateway's answer, an id a webhook made up) becomes a space, so a value cannot
//!   start a forged line of its own.
//!
//! The fields the receiver, the reconciler and the stores use are the same everywhere:
//! `gateway`, `dedup_key`, `reference`, `outcome` (a closed set of words), `error`.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, gerbang's
//! spans are also exported over OTLP (`gerbang::otel`), at `info` whatever `RUST_LOG` says of
//! the lines on stderr: each filter is its own layer's.

use std::io::{self, Write};
use std::sync::OnceLock;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum LogFormat {
    /// `2026-12-06T18:04:10.123456Z  WARN gerbang_webhooks::receiver: webhook refused gateway=… outcome=rejected error=…`
    #[default]
    Text,
    /// `{"timestamp":"…","level":"WARN","message":"webhook refused","gateway":"…","outcome":"rejected",…}`
    Json,
}

/// The format chosen at start, for the CLI's own lines.
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Installs the subscriber: `format`, and `RUST_LOG` or else `default` as the level; and the
/// OpenTelemetry export when the environment names a collector. Called once, before anything
/// logs. Keep what it returns until the end: dropping it sends the spans still queued.
pub(crate) fn init(format: LogFormat, default: LevelFilter) -> Option<gerbang::otel::OtelGuard> {
    let _ = FORMAT.set(format);
    // An unparseable directive in RUST_LOG is skipped (and said once on stderr), not fatal.
    let filter = EnvFilter::builder().with_default_directive(default.into()).from_env_lossy();
    let lines = tracing_subscriber::fmt::layer().with_writer(OneLine).with_ansi(false);
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines.json().flatten_event(true).with_current_span(true).with_span_list(false).boxed(),
    };
    let (otel, guard) = match gerbang::otel::layer_from_env() {
        Ok(Some((layer, guard))) => (Some(layer.with_filter(gerbang::otel::filter())), Some(guard)),
        Ok(None) => (None, None),
        // A collector that is misnamed costs the traces, not the service: said, and run on.
        Err(error) => {
            say(Level::Warn, &format!("traces are not exported: {error}"));
            (None, None)
        }
    };
    // Only fails when a subscriber is already installed: the first one stays.
    let _ = tracing_subscriber::registry().with(lines.with_filter(filter)).with(otel).try_init();
    guard
}

/// The level of one of the CLI's own lines (see [`say`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

/// One of the CLI's own lines on stderr, whatever `RUST_LOG` says (where it listens, a
/// warning, the final error): as is in text, as a JSON object with the same message in JSON.
pub(crate) fn say(level: Level, line: &str) {
    let line = match FORMAT.get().copied().unwrap_or_default() {
        LogFormat::Text => line.to_owned(),
        LogFormat::Json => {
            let now = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            // In the order the subscriber's JSON lines have their fields.
            let text = |s: &str| serde_json::Value::from(s).to_string();
            format!(
                "{{\"timestamp\":{},\"level\":{},\"message\":{},\"target\":\"gerbang\"}}",
                text(&now),
                text(level.as_str()),
                text(line)
            )
        }
    };
    let _ = OneLine.write_line(line.as_bytes());
}

/// Writes each formatted event to stderr as exactly one line, flushed: control characters
/// inside it (a value's newline included) become spaces. The formatter hands over a whole event
/// in one `write`, so lines of concurrent events never interleave.
#[derive(Debug, Clone, Copy)]
struct OneLine;

impl OneLine {
    fn write_line(self, text: &[u8]) -> io::Result<()> {
        let line = one_line(text);
        let mut stderr = io::stderr().lock();
        stderr.write_all(&line)?;
        stderr.flush()
    }
}

/// `text` as one line ending in `\n`: its own final newline dropped, every other control
/// character (tab aside) a space.
fn one_line(text: &[u8]) -> Vec<u8> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let mut line: Vec<u8> = text.iter().map(|&b| if b.is_ascii_control() && b != b'\t' { b' ' } else { b }).collect();
    line.push(b'\n');
    line
}

impl Write for OneLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_line(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for OneLine {
    type Writer = OneLine;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_cannot_start_a_line_of_its_own() {
        let line = one_line(b"2026 WARN x: refused error=bad\n2026 ERROR forged: line\r\x1b[2J\n");
        assert_eq!(line, b"2026 WARN x: refused error=bad 2026 ERROR forged: line  [2J\n");
        assert_eq!(one_line(b"plain"), b"plain\n");
    }
}
