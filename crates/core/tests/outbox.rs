//! The memory outbox keeps the contract every outbox keeps.

use gerbang_core::outbox::MemoryOutbox;

#[tokio::test]
async fn memory_outbox_keeps_the_contract() {
    gerbang_testkit::check_outbox_contract(&MemoryOutbox::new(), "memory").await;
}
