//! The Cash In API against a mock server: the exact requests, the parsing of answers, the
//! mapping of errors and the common payment flow.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

#[path = "../common/mod.rs"]
mod common;

mod calls;
mod config;
mod errors;
mod provider;
