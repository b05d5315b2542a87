//! The outbox's statements use their indexes: none scans a table of 10 000 messages, neither
//! with the plan made for the values at hand nor with the generic plan a prepared statement
//! falls back to.

use gerbang_testkit::PostgresServer;

use super::PostgresOutbox;

/// 10 000 messages of 5 000 payments: a delivered `pending` and a `paid` each, the `paid`
/// delivered for 3 000 of them, due now for 1 000, waiting for a retry an hour away for 1 000.
const FILL: &str = "
INSERT INTO gerbang_outbox (id, gateway, payment, status, rank, body, state, attempts, received_at, next_attempt, settled_at)
SELECT 'a' || n, 'cuan10pay', 'p' || n, 'pending', 0, '{}', 'delivered', 1, now() - interval '2 days', NULL, now() - interval '2 days'
FROM generate_series(1, 5000) AS n;
INSERT INTO gerbang_outbox (id, gateway, payment, status, rank, body, state, attempts, received_at, next_attempt, settled_at)
SELECT 'b' || n, 'cuan10pay', 'p' || n, 'paid', 1, '{}',
    CASE WHEN n <= 3000 THEN 'delivered' ELSE 'pending' END, 1, now() - interval '1 day',
    CASE WHEN n <= 3000 THEN NULL WHEN n <= 4000 THEN now() ELSE now() + interval '1 hour' END,
    CASE WHEN n <= 3000 THEN now() - interval '1 day' END
FROM generate_series(1, 5000) AS n;
INSERT INTO gerbang_outbox_payment (payment, delivered_rank, due)
SELECT 'p' || n, CASE WHEN n <= 3000 THEN 1 ELSE 0 END,
    CASE WHEN n <= 3000 THEN NULL WHEN n <= 4000 THEN now() ELSE now() + interval '1 hour' END
FROM generate_series(1, 5000) AS n;
ANALYZE gerbang_outbox;
ANALYZE gerbang_outbox_payment;
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_statement_scans_a_table() {
    let Some(server) = PostgresServer::start() else { return };
    let outbox = PostgresOutbox::connect(&server.url()).await.unwrap_or_else(|e| panic!("{e}"));
    let client = outbox.pool().get().await.unwrap_or_else(|e| panic!("{e}"));
    client.batch_execute(FILL).await.unwrap_or_else(|e| panic!("{e}"));
    let sql = &outbox.sql;
    let payments = "'{p3500,p3501,p4500}'";
    let cases: Vec<(&str, &str, String)> = vec![
        ("lock_due", &sql.lock_due, "32".into()),
        ("supersede", &sql.supersede, payments.into()),
        ("take", &sql.take, format!("{payments}, 'holder', 30000")),
        ("reschedule", &sql.reschedule, payments.into()),
        ("lock_payment", &sql.lock_payment, "'p3500'".into()),
        ("add", &sql.add, "'c1', 'cuan10pay', 'p3500', NULL, NULL, 'refunded', 2, '{}', 'pending'".into()),
        ("lock_one", &sql.lock_one, "'p3500'".into()),
        ("settle", &sql.settle, "'b3500', 'holder.1', 'p3500', '200 OK', 'delivered', NULL".into()),
        ("settled", &sql.settled, "'p3500', 1".into()),
        ("payments_of_ids", &sql.payments_of_ids, "'{b3500,b3501}'".into()),
        ("lock_payments", &sql.lock_payments, payments.into()),
        ("replay_ids", &sql.replay_ids, format!("{payments}, '{{b3500,b3501}}'")),
        ("list by state", &sql.list[1], "'failed', 100".into()),
        ("list", &sql.list[0], "100".into()),
        ("prune", &sql.prune, "now() - interval '1 day 1 hour', 1000".into()),
        ("lock_idle", &sql.lock_idle, payments.into()),
        ("forget", &sql.forget, payments.into()),
    ];
    for mode in ["force_custom_plan", "force_generic_plan"] {
        client.batch_execute(&format!("SET plan_cache_mode = {mode}")).await.unwrap_or_else(|e| panic!("{e}"));
        for (name, statement, args) in &cases {
            client
                .batch_execute(&format!("DEALLOCATE ALL; PREPARE q AS {statement}"))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let plan: Vec<String> = client
                .query(&format!("EXPLAIN EXECUTE q({args})"), &[])
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .iter()
                .map(|row| row.get(0))
                .collect();
            let plan = plan.join("\n");
            assert!(!plan.contains("Seq Scan"), "{name} ({mode}) scans a table:\n{plan}");
        }
    }
    client.batch_execute("DEALLOCATE ALL; RESET plan_cache_mode").await.unwrap_or_else(|e| panic!("{e}"));
}
