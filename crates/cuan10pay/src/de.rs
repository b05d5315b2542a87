//! Lenient readers for values the Cuan10pay document types loosely.
//!
//! The document (`seeds/000_b443c682d4d25840.txt`) only shows one answer, in which amounts are
//! JSON numbers (`"amount": 10000`) and the payment code a string. Gateways of this family are
//! known to send the same fields as strings (`"10000"`, `"10000.00"`) or numbers: these readers
//! take either, and `null` as absent, so that a change of JSON type never breaks parsing.

pub(crate) use gerbang_core::de::{decimal_opt, string_opt, u64_opt};
