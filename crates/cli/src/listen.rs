//! The connection limits every command that serves HTTP takes (`sandbox serve`, `webhook
//! serve`): the same flags, defaults and text, served by `gerbang-server`.

use std::time::Duration;

use clap::Args;

use crate::common::parse_duration;

/// The longest timeout taken; a longer one is taken as this (a day), as the sandbox's builder does.
const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

/// `--max-connections`, `--header-read-timeout`, `--idle-timeout`, `--body-read-timeout`.
#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// At most this many connections open at once, and never more than the open-file limit
    /// allows once a quarter of it (at least 128) is kept for the process's own files and store
    /// connections. Past it, the connection that has waited longest without sending a request is
    /// closed to admit the new one; a connection answering a request is never closed for it.
    #[arg(long, default_value_t = gerbang::server::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// How long a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open): 10s, 1m.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    header_read_timeout: Duration,
    /// How long a connection may move no byte before it is closed: 60s, 5m.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    idle_timeout: Duration,
    /// How long a client has to send a request's body once its headers arrived; past it the
    /// request is answered 4xx and the connection closed (a body trickled in would otherwise
    /// hold its connection, which is never closed while answering): 30s, 1m.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    body_read_timeout: Duration,
}

impl LimitArgs {
    /// The server's limits these flags describe.
    pub(crate) fn limits(&self) -> gerbang::server::Limits {
        let mut limits = gerbang::server::Limits::default();
        limits.max_connections = self.max_connections.max(1);
        limits.header_read_timeout = self.header_read_timeout.min(MAX_TIMEOUT);
        limits.idle_timeout = self.idle_timeout.min(MAX_TIMEOUT);
        limits.body_read_timeout = self.body_read_timeout.min(MAX_TIMEOUT);
        limits
    }
}
