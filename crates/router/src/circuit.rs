//! The circuit breaker per gateway lives in [`gerbang_core::circuit`], so that the stores that
//! share it between replicas (`gerbang_redis::RedisCircuitStore`) need not depend on the router;
//! its names are re-exported here and at the crate's root.

pub use gerbang_core::circuit::{Admission, CircuitPolicy, CircuitStore, Health, MemoryCircuitStore};
