//! The QRIS API against a mock server: the exact requests, the parsing of answers, the mapping of
//! errors, the history stream, polling and the common payment flow.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

#[path = "../common/mod.rs"]
mod common;

mod calls;
mod config;
mod errors;
mod history;
mod provider;
mod wait;
