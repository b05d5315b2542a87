//! The in-memory ledger keeps the contract every store keeps.

use gerbang_core::ledger::MemoryLedger;

#[tokio::test]
async fn memory_ledger_keeps_the_contract() {
    gerbang_testkit::check_ledger_contract(&MemoryLedger::new(), "memory").await;
}
