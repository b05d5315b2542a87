//! The gerbang event inbox on Postgres: replicas behind a load balancer share one table, so that
//! each change a gateway reports is handled once however many replicas receive it, and the
//! "done" marker can commit in the merchant's own transaction, together with the order it paid.
//!
//! [`PostgresInbox`] implements [`gerbang_core::inbox::Inbox`]: hand it to the webhook receiver
//! instead of the in-memory default.
//!
//! ```no_run
//! use gerbang_postgres::PostgresInbox;
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), gerbang_core::Error> {
//! let inbox = PostgresInbox::connect("postgres://app:secret@db.internal:5432/shop").await?;
//! // Or with options:
//! let inbox = PostgresInbox::builder()
//!     .table("billing.gerbang_inbox")
//!     .max_connections(8)
//!     .operation_timeout(Duration::from_secs(3))
//!     .connect("postgres://app:secret@db.internal:5432/shop")
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Marking an event done in the merchant's transaction
//!
//! With [`complete`](gerbang_core::inbox::Inbox::complete), the order update and the done marker
//! are two commits: a crash between them hands the event to the handler again (at least once).
//! [`PostgresInbox::complete_in`] puts the marker into the transaction that updates the order, so
//! both commit or neither does. If the transaction rolls back, the claim is left as it was: held
//! until its lease runs out, then the gateway's next delivery is handled.
//!
//! ```no_run
//! use gerbang_core::inbox::{Claim, EventKey, Inbox};
//! use gerbang_core::ProviderId;
//! use gerbang_postgres::PostgresInbox;
//! use std::time::Duration;
//!
//! # async fn run(inbox: PostgresInbox) -> Result<(), Box<dyn std::error::Error>> {
//! let key = EventKey { provider: ProviderId::Cuan10pay, key: "cuan10pay:CP-1:paid".into() };
//! let Claim::New(lease) = inbox.claim(&key, Duration::from_secs(30)).await? else {
//!     return Ok(()); // Done: acknowledge. InFlight: answer non-2xx, the gateway retries.
//! };
//! let mut client = inbox.pool().get().await?;
//! let tx = client.transaction().await?;
//! tx.execute("UPDATE orders SET status = 'paid' WHERE reference = $1", &[&"ORDER-1"]).await?;
//! if inbox.complete_in(&tx, &lease).await? {
//!     tx.commit().await?; // the order and the marker, together
//! } else {
//!     tx.rollback().await?; // the lease ran out and another replica took the event over
//! }
//! # Ok(()) }
//! ```
//!
//! # The table
//!
//! Created by the constructors when missing (turn that off with
//! [`PostgresInboxBuilder::create_table`] when the application's role may not create tables), or
//! by a DBA by hand with exactly this SQL ([`schema_sql`] gives it for another table name):
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS "gerbang_inbox" (
//!     gateway     text        NOT NULL,
//!     dedup_key   text        NOT NULL,
//!     state       text        NOT NULL CHECK (state IN ('claimed', 'done')),
//!     holder      text        NOT NULL,
//!     lease_until timestamptz NOT NULL,
//!     done_at     timestamptz,
//!     PRIMARY KEY (gateway, dedup_key)
//! );
//! CREATE INDEX IF NOT EXISTS "gerbang_inbox_expiry" ON "gerbang_inbox" ((coalesce(done_at, lease_until)));
//! ```
//!
//! A row is a claim (`state = 'claimed'`, held by `holder` until `lease_until`) or a done marker
//! (`state = 'done'` since `done_at`); a key with no row, or whose claim's lease ran out, is new.
//! The index serves [`PostgresInbox::purge_done_older_than`], which deletes done markers and
//! abandoned claims past a retention; without it, rows stay until someone deletes them.
//!
//! # The statements
//!
//! A claim is one statement, on the server's clock (`now()`), so that replicas' clocks do not
//! matter and exactly one of concurrent claims of a key wins:
//!
//! ```sql
//! INSERT INTO "gerbang_inbox" AS inbox (gateway, dedup_key, state, holder, lease_until)
//! VALUES ($1, $2, 'claimed', $3, now() + $4::float8 * interval '1 millisecond')
//! ON CONFLICT (gateway, dedup_key) DO UPDATE
//! SET holder = excluded.holder, lease_until = excluded.lease_until
//! WHERE inbox.state = 'claimed' AND inbox.lease_until < now()
//! RETURNING inbox.holder
//! ```
//!
//! A row back means [`Claim::New`](gerbang_core::inbox::Claim::New); none means the key is done or
//! held, which `SELECT state` then tells. Complete is
//! `UPDATE … SET state = 'done', done_at = now() WHERE … AND holder = $3 AND state = 'claimed'` and
//! release is `DELETE … WHERE … AND holder = $3 AND state = 'claimed'`: only the lease's holder
//! succeeds (one row affected), so a holder whose lease ran out cannot undo its successor's claim.
//!
//! # Connections, timeouts, errors
//!
//! Connections are pooled by `deadpool-postgres` (16 at most by default) and each call is bounded
//! by an operation timeout (10 s by default), waiting for a connection included. Every failure is
//! [`Error::Store`](gerbang_core::Error::Store) with `store: "postgres"` (the receiver answers the
//! gateway non-2xx and it delivers again); its message and the inbox's `Debug` never show the
//! URL's password.
//!
//! There is no TLS to the database (`NoTls`): run it on a private network or behind a TLS-ending
//! proxy or sidecar, as the deployment decides. `sslmode=require` in the URL fails to connect
//! rather than going on in clear.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod inbox;
mod table;

pub use inbox::{PostgresInbox, PostgresInboxBuilder};
pub use table::{DEFAULT_TABLE, schema_sql};

/// The pool type [`PostgresInbox::from_pool`] takes and [`PostgresInbox::pool`] returns.
pub use deadpool_postgres;
/// The driver, for [`PostgresInbox::complete_in`]'s transaction.
pub use tokio_postgres;
