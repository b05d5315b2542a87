//! The memory circuit store keeps the contract every circuit store keeps.

use gerbang_core::circuit::MemoryCircuitStore;

#[tokio::test]
async fn the_memory_circuit_store_keeps_the_contract() {
    // One store seen by two "replicas": in one process, they share it.
    let store = MemoryCircuitStore::new();
    gerbang_testkit::check_circuit_contract(&store, &store).await;
}
