//! The Cuan10pay API against a mock server: the exact requests, the parsing of answers, the
//! mapping of errors, the rate budget and the common payment flow.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

#[path = "../common/mod.rs"]
mod common;

mod budget;
mod calls;
mod config;
mod confirm;
mod errors;
mod provider;
