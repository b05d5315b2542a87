//! The in-memory inbox keeps the contract every inbox keeps (the Redis and Postgres ones run the
//! same check on real servers).

use gerbang_core::inbox::MemoryInbox;

#[tokio::test]
async fn memory_inbox_keeps_the_contract() {
    gerbang_testkit::check_inbox_contract(&MemoryInbox::new(), "memory").await;
}
