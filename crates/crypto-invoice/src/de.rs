//! Lenient, exact readers for the gateway's loosely typed JSON.
//!
//! The document (`seeds/003_344fd773d4347651.txt`) types ids as "String" or "Integer" and
//! prices as "Decimal" without saying how they are written, and PHP backends send the same field
//! as a number one day and a string the next (`725`, `"725.00"`). Each field is kept as its raw
//! JSON text until it is read, so that a decimal is taken from its exact digits (a coin amount
//! with 18 decimals survives, which a float would not); `null` is the same as absent; the
//! fields no typed field takes stay in an `extra` map.

pub(crate) use gerbang_core::de::RawObject as Object;
use serde_json::{Map, Value};

/// Fields of an object that no typed field names, as received.
pub type Extra = Map<String, Value>;
