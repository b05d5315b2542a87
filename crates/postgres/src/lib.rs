//! The gerbang stores on Postgres, for replicas behind a load balancer that share the merchant's
//! database:
//!
//! - [`PostgresInbox`], the event inbox ([`gerbang_core::inbox::Inbox`]): each change a gateway
//!   reports is handled once however many replicas receive it, and the "done" marker can commit
//!   in the merchant's own transaction, together with the order it paid. Hand it to the webhook
//!   receiver instead of the in-memory default.
//! - [`PostgresLedger`], the ledger of payments to watch ([`gerbang_core::ledger::Ledger`]):
//!   every create is recorded before it is sent and watched until it is final, so that none is
//!   lost when its webhook never comes, and each status check that falls due is made by one
//!   replica, not by all. Hand it to [`Watched`](gerbang_core::ledger::Watched), the webhook
//!   receiver and the reconciler instead of the in-memory default. [See below](#the-ledger).
//! - [`PostgresOutbox`], the outbox ([`gerbang_core::outbox::Outbox`]): each new event kept
//!   until the application has taken it, delivered by whichever replica takes it first, in each
//!   payment's order. Hand it to the receiver's `Enqueue` handler and to the `Deliverer` of every
//!   replica (`gerbang-webhooks`). [See below](#the-outbox).
//!
//! The inbox and the ledger keep one table each, the outbox two; each is created when missing,
//! and all share the connection options and habits described
//! [at the end](#connections-timeouts-errors).
//!
//! # The inbox
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
//! ## Marking an event done in the merchant's transaction
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
//! ## The inbox table
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
//! `dedup_key` holds the key's [stored form](gerbang_core::inbox::EventKey::stored), the one
//! every inbox keeps: the key itself when it is short printable ASCII (`cuan10pay:CP-1:paid`),
//! else `#` and its SHA-256 in hex, so that an id with a NUL byte or of 10 KB is stored too.
//! The index serves [`PostgresInbox::purge_done_older_than`], which deletes done markers and
//! abandoned claims past a retention; without it, rows stay until someone deletes them.
//!
//! ## The inbox statements
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
//! # The ledger
//!
//! ```no_run
//! use gerbang_core::ledger::{Ledger, Watched};
//! use gerbang_core::PaymentProvider;
//! use gerbang_postgres::PostgresLedger;
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! # async fn run(gateway: Arc<dyn PaymentProvider>) -> Result<(), gerbang_core::Error> {
//! let ledger: Arc<dyn Ledger> = Arc::new(
//!     PostgresLedger::builder()
//!         .table("billing.gerbang_ledger")
//!         .operation_timeout(Duration::from_secs(3))
//!         .connect("postgres://app:secret@db.internal:5432/shop")
//!         .await?,
//! );
//! // Creates are recorded before they are sent, then with the gateway's answer.
//! let gateway = Watched::new(gateway, ledger.clone());
//! # let _ = gateway;
//! # Ok(()) }
//! ```
//!
//! ## The ledger table
//!
//! Created by the constructors when missing (or by a DBA, with exactly this SQL:
//! [`ledger_schema_sql`] gives it for another table name), holds one row per payment, one
//! column per field of [`WatchedPayment`](gerbang_core::ledger::WatchedPayment) (the amount in
//! two: `amount` and `currency`), and `rank`, the state's
//! [rank](gerbang_core::ledger::WatchState::rank):
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS "gerbang_ledger" (
//!     provider           text        NOT NULL,
//!     reference          text        NOT NULL,
//!     provider_reference text,
//!     amount             numeric     NOT NULL,
//!     currency           text        NOT NULL,
//!     state              text        NOT NULL,
//!     rank               smallint    NOT NULL,
//!     provider_status    text,
//!     expires_at         timestamptz,
//!     recorded_at        timestamptz NOT NULL,
//!     next_check         timestamptz,
//!     checks             bigint      NOT NULL,
//!     note               text,
//!     PRIMARY KEY (provider, reference)
//! );
//! CREATE INDEX IF NOT EXISTS "gerbang_ledger_lookup" ON "gerbang_ledger" (provider, provider_reference) WHERE provider_reference IS NOT NULL;
//! CREATE INDEX IF NOT EXISTS "gerbang_ledger_due" ON "gerbang_ledger" (next_check) WHERE state IN ('creating', 'unknown', 'pending');
//! CREATE INDEX IF NOT EXISTS "gerbang_ledger_recent" ON "gerbang_ledger" (recorded_at);
//! ```
//!
//! `_lookup` serves [`find_by_gateway_id`](gerbang_core::ledger::Ledger::find_by_gateway_id)
//! (by the merchant's reference, [`find_by_reference`](gerbang_core::ledger::Ledger::find_by_reference),
//! it is the primary key; the two are never mixed: a reference may be another payment's gateway
//! id); `_due` holds only the payments still watched, so
//! that finding what is due stays quick however many final records there are; `_recent` serves
//! [`list`](gerbang_core::ledger::Ledger::list) and [`PostgresLedger::purge_final_older_than`].
//! Times are the callers' (each replica's clock, as the in-memory ledger uses it), never the
//! server's `now()`, kept to the microsecond.
//!
//! ## The ledger statements
//!
//! A record is one statement that writes only when the recorded state does not rank higher, so
//! that whichever replica writes last, a payment never moves back (a status check that read
//! `pending` cannot undo the webhook that said `paid`); one row affected means it was written:
//!
//! ```sql
//! INSERT INTO "gerbang_ledger" AS ledger (provider, reference, provider_reference, amount, currency,
//!     state, rank, provider_status, expires_at, recorded_at, next_check, checks, note)
//! VALUES ($1, $2, $3, $4::text::numeric, $5, $6, $7, $8, $9, $10, $11, $12, $13)
//! ON CONFLICT (provider, reference) DO UPDATE
//! SET provider_reference = excluded.provider_reference, amount = excluded.amount,
//!     currency = excluded.currency, state = excluded.state, rank = excluded.rank,
//!     provider_status = excluded.provider_status, expires_at = excluded.expires_at,
//!     recorded_at = excluded.recorded_at, next_check = excluded.next_check, checks = excluded.checks,
//!     note = excluded.note
//! WHERE ledger.rank <= excluded.rank
//! ```
//!
//! Beginning a create ([`begin_create`](gerbang_core::ledger::Ledger::begin_create), the
//! write-ahead record of a [`Watched`](gerbang_core::ledger::Watched) create) is the same insert
//! under another condition, so that the check and the write are one statement: a row of that
//! payment is replaced only when the gateway refused its create. Of two replicas beginning one
//! reference at once, the second's insert waits for the first to commit and then writes nothing;
//! no row affected means the reference is taken, and its row is read for the error:
//!
//! ```sql
//! INSERT INTO "gerbang_ledger" AS ledger (provider, reference, provider_reference, amount, currency,
//!     state, rank, provider_status, expires_at, recorded_at, next_check, checks, note)
//! VALUES ($1, $2, $3, $4::text::numeric, $5, $6, $7, $8, $9, $10, $11, $12, $13)
//! ON CONFLICT (provider, reference) DO UPDATE
//! SET provider_reference = excluded.provider_reference, amount = excluded.amount,
//!     currency = excluded.currency, state = excluded.state, rank = excluded.rank,
//!     provider_status = excluded.provider_status, expires_at = excluded.expires_at,
//!     recorded_at = excluded.recorded_at, next_check = excluded.next_check, checks = excluded.checks,
//!     note = excluded.note
//! WHERE ledger.state = 'not_created'
//! ```
//!
//! Taking what is due is one statement too: it locks the earliest due rows that no other
//! replica holds at that moment (`SKIP LOCKED`: concurrent callers split the rows between them
//! instead of waiting for each other), moves their next check to the end of the lease (`$3`, the
//! caller's `now` plus the lease), and returns them as they were before, earliest first. A row
//! another replica took meanwhile no longer matches `next_check <= $1` and is left out:
//!
//! ```sql
//! WITH due AS (
//!     SELECT provider, reference, next_check FROM "gerbang_ledger"
//!     WHERE state IN ('creating', 'unknown', 'pending') AND next_check <= $1
//!     ORDER BY next_check LIMIT $2
//!     FOR UPDATE SKIP LOCKED
//! ), handed AS (
//!     UPDATE "gerbang_ledger" AS ledger SET next_check = $3 FROM due
//!     WHERE ledger.provider = due.provider AND ledger.reference = due.reference
//!     RETURNING ledger.provider, ledger.reference, ledger.provider_reference, ledger.amount::text AS amount,
//!         ledger.currency, ledger.state, ledger.provider_status, ledger.expires_at, ledger.recorded_at,
//!         due.next_check, ledger.checks, ledger.note
//! )
//! SELECT * FROM handed ORDER BY next_check
//! ```
//!
//! Final records stay until [`PostgresLedger::purge_final_older_than`] deletes them (run it daily
//! from one replica); records still watched and mismatches are never purged.
//!
//! # The outbox
//!
//! ```no_run
//! use gerbang_core::outbox::Outbox;
//! use gerbang_postgres::PostgresOutbox;
//! use std::sync::Arc;
//!
//! # async fn run() -> Result<(), gerbang_core::Error> {
//! let outbox: Arc<dyn Outbox> = Arc::new(
//!     PostgresOutbox::builder()
//!         .table("billing.gerbang_outbox")
//!         .connect("postgres://app:secret@db.internal:5432/shop")
//!         .await?,
//! );
//! # let _ = outbox;
//! # Ok(()) }
//! ```
//!
//! ## The outbox tables
//!
//! Created by the constructors when missing (or by a DBA, with exactly this SQL:
//! [`outbox_schema_sql`] gives it for another table name; the second table is named after the
//! first, with `_payment`):
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS "gerbang_outbox" (
//!     id                 text        PRIMARY KEY,
//!     seq                bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
//!     gateway            text        NOT NULL,
//!     payment            text        NOT NULL,
//!     reference          text,
//!     provider_reference text,
//!     status             text        NOT NULL,
//!     rank               smallint    NOT NULL,
//!     body               text        NOT NULL,
//!     state              text        NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'superseded')),
//!     attempts           integer     NOT NULL DEFAULT 0,
//!     last_answer        text,
//!     received_at        timestamptz NOT NULL,
//!     next_attempt       timestamptz,
//!     settled_at         timestamptz,
//!     replayed           boolean     NOT NULL DEFAULT false,
//!     holder             text,
//!     lease_until        timestamptz
//! );
//! CREATE UNIQUE INDEX IF NOT EXISTS "gerbang_outbox_seq" ON "gerbang_outbox" (seq);
//! CREATE INDEX IF NOT EXISTS "gerbang_outbox_order" ON "gerbang_outbox" (payment, state, rank, seq);
//! CREATE INDEX IF NOT EXISTS "gerbang_outbox_state" ON "gerbang_outbox" (state, seq);
//! CREATE INDEX IF NOT EXISTS "gerbang_outbox_recent" ON "gerbang_outbox" (received_at);
//! CREATE INDEX IF NOT EXISTS "gerbang_outbox_settled" ON "gerbang_outbox" (settled_at) WHERE state IN ('delivered', 'superseded');
//! CREATE TABLE IF NOT EXISTS "gerbang_outbox_payment" (
//!     payment        text        PRIMARY KEY,
//!     delivered_rank smallint,
//!     due            timestamptz
//! );
//! CREATE INDEX IF NOT EXISTS "gerbang_outbox_pay_due" ON "gerbang_outbox_payment" (due) WHERE due IS NOT NULL;
//! ```
//!
//! A message is a row of the first table, one column per field of
//! [`Record`](gerbang_core::outbox::Record); `seq` is the order of enqueueing, `replayed` keeps a
//! replayed message from being superseded, and `holder` and `lease_until` are the last take's.
//! A payment is a row of the second: `delivered_rank`, the highest rank delivered (a message
//! ranked below it is superseded), and `due`, the earliest time the payment may have a message
//! to take (when its lease runs out, or its first message is due; null when none is pending).
//! `_order` finds a payment's first pending message and its lease; `_pay_due` the payments due,
//! so that a take costs a few index lookups per message however many messages wait (behind a
//! retry or a lease); `_seq` and `_state` serve [`list`](gerbang_core::outbox::Outbox::list)
//! (all of them, or of one state), `_recent`
//! [`replay`](gerbang_core::outbox::Outbox::replay) since a time, `_settled`
//! [`prune`](gerbang_core::outbox::Outbox::prune). Every time is the server's (`now()`), except
//! a retry's, which the deliverer gives.
//!
//! ## The outbox statements
//!
//! Every writer locks the payment's row before it changes the payment's messages (an enqueue by
//! `INSERT … ON CONFLICT DO UPDATE`, a settle by `SELECT … FOR UPDATE`), and sets its `due` again
//! before it commits: never later than the truth, so no message is forgotten; earlier only costs
//! a take a look. A take is one transaction. It locks the payments due that no other replica
//! holds at that moment (`SKIP LOCKED`: replicas split them instead of waiting for each other,
//! and none can take what another is taking):
//!
//! ```sql
//! SELECT payment FROM "gerbang_outbox_payment" WHERE due <= now() ORDER BY due LIMIT $1 FOR UPDATE SKIP LOCKED
//! ```
//!
//! supersedes their pending messages ranked below a delivered one (none under lease, none
//! replayed):
//!
//! ```sql
//! UPDATE "gerbang_outbox" AS m SET state = 'superseded', settled_at = now(), next_attempt = NULL, holder = NULL,
//!     lease_until = NULL
//! WHERE m.payment = ANY($1) AND m.state = 'pending' AND NOT m.replayed
//!     AND m.rank < (SELECT p.delivered_rank FROM "gerbang_outbox_payment" AS p WHERE p.payment = m.payment)
//!     AND NOT EXISTS (SELECT 1 FROM "gerbang_outbox" AS l WHERE l.payment = m.payment AND l.state = 'pending'
//!         AND l.lease_until > now())
//! ```
//!
//! leases the first pending message (lowest rank, then first enqueued) of each, when it is due
//! and nothing of its payment is under lease, each to a holder of its own:
//!
//! ```sql
//! WITH head AS (
//!     SELECT first.id FROM unnest($1::text[]) AS p(payment)
//!     CROSS JOIN LATERAL (
//!         SELECT m.id, m.next_attempt FROM "gerbang_outbox" AS m
//!         WHERE m.payment = p.payment AND m.state = 'pending' ORDER BY m.rank, m.seq LIMIT 1
//!     ) AS first
//!     WHERE first.next_attempt <= now() AND NOT EXISTS (SELECT 1 FROM "gerbang_outbox" AS l
//!         WHERE l.payment = p.payment AND l.state = 'pending' AND l.lease_until > now())
//! ), taken AS (
//!     UPDATE "gerbang_outbox" AS m SET holder = $2::text || '.' || m.seq::text,
//!         lease_until = now() + $3::float8 * interval '1 millisecond'
//!     FROM head WHERE m.id = head.id
//!     RETURNING m.id, m.gateway, m.payment, m.reference, m.provider_reference, m.status, m.rank, m.body,
//!         m.state, m.attempts, m.last_answer, m.received_at, m.next_attempt, m.settled_at, m.holder, m.seq
//! )
//! SELECT * FROM taken ORDER BY next_attempt, seq
//! ```
//!
//! and sets each payment's `due` again, as every writer does:
//!
//! ```sql
//! UPDATE "gerbang_outbox_payment" AS p SET due = coalesce(
//!     (SELECT max(l.lease_until) FROM "gerbang_outbox" AS l
//!         WHERE l.payment = p.payment AND l.state = 'pending' AND l.lease_until > now()),
//!     (SELECT h.next_attempt FROM "gerbang_outbox" AS h
//!         WHERE h.payment = p.payment AND h.state = 'pending' ORDER BY h.rank, h.seq LIMIT 1))
//! WHERE p.payment = ANY($1)
//! ```
//!
//! A replica that dies mid-take leaves nothing: its transaction rolls back. One that dies after
//! it leaves its messages leased: they are taken again once the lease runs out. A settle is
//! `UPDATE … WHERE id = $1 AND holder = $2 AND state = 'pending'`: the holder of the last take
//! only, once. [`prune`](gerbang_core::outbox::Outbox::prune) deletes in batches of 1 000, and
//! forgets a payment with no message left (as the memory outbox does: a late `pending` of it is
//! then sent). [`stats`](gerbang_core::outbox::Outbox::stats) counts the table (a scan of it).
//!
//! # Connections, timeouts, errors
//!
//! Connections are pooled by `deadpool-postgres` (16 at most by default, per store) and each call
//! is bounded by an operation timeout (3 s by default, as Redis's stores; a gateway waits for a
//! webhook's answer not much longer), waiting for a connection included. The server gives up
//! first: each connection sets `statement_timeout` and `lock_timeout` to a sixth below the
//! operation timeout (2.5 s; [`server_timeout`](PostgresInboxBuilder::server_timeout) changes
//! it), so that a statement waiting on a locked table fails on the server and says so, rather
//! than landing after the client gave up (an abandoned claim would hold its event for the whole
//! lease). And when the client does give up first (the pool's wait took part of its time), it
//! sends the server a cancel request for that statement before dropping the connection. A pool
//! given to [`use_pool`](PostgresInboxBuilder::use_pool) keeps its own settings: set these two on
//! its connections yourself.
//!
//! Every failure is [`Error::Store`](gerbang_core::Error::Store) with `store: "postgres"` (the
//! receiver answers the gateway non-2xx and it delivers again; a create whose write-ahead record
//! fails is not sent), except a refusal no retry changes (a wrong password, no such database, a
//! certificate that does not verify, no TLS where it is required), which is
//! [`Error::Config`](gerbang_core::Error::Config); neither message, nor the stores' `Debug`, shows
//! the URL's password.
//!
//! # TLS
//!
//! TLS to the server is rustls (the one every gerbang binary already holds, with aws-lc-rs;
//! never OpenSSL), driven by libpq's URL options with libpq's meanings:
//!
//! | `sslmode` | encrypted | certificate checked |
//! |---|---|---|
//! | `disable` | no | – |
//! | `prefer` | when the server offers it, else in clear | no |
//! | `require` | yes, or no connection | no (as `verify-ca` when a CA file is given, as libpq) |
//! | `verify-ca` | yes | its chain to a trusted CA, not its name |
//! | `verify-full` | yes | its chain and that it names the host connected to |
//!
//! `sslrootcert=FILE` names the trusted CAs (PEM); [`root_cert`](PostgresInboxBuilder::root_cert)
//! (the CLI's `--store-ca`, `GERBANG_STORE_CA`) does the same when the URL names none. Without
//! either, the system's trust store (through `rustls-platform-verifier`, as reqwest: a CA the
//! operator installs there is trusted, and no list of web roots is built into the binary).
//!
//! **The default, when the URL names no `sslmode`, is `verify-full`**, except to this machine
//! (`localhost`, a loopback address, a Unix socket), where it is libpq's `prefer`. libpq's
//! `prefer` everywhere would send a payment service's database password and its customers'
//! payments in clear to anything that answers on the network without TLS, and trust any
//! certificate: a gerbang store is worth the one word it takes to opt out (`sslmode=disable`
//! on a private network you trust, or `sslmode=require` for encryption without a check).
//!
//! ```text
//! postgres://app:secret@db.internal:5432/shop                        verify-full, the system's CAs
//! postgres://app:secret@db.internal/shop?sslrootcert=/etc/ca.pem     verify-full, that CA
//! postgres://app:secret@10.0.0.5/shop?sslmode=verify-ca&sslrootcert=/etc/ca.pem
//! postgres://app:secret@10.0.0.5/shop?sslmode=disable                in clear (a private network)
//! postgres://app:secret@localhost/shop                               prefer (this machine)
//! ```
//!
//! A certificate that does not verify fails connecting with
//! [`Error::Config`](gerbang_core::Error::Config), naming the host and why: `unknown issuer` (not
//! signed by a trusted CA), `wrong name` (it does not name the host connected to), `expired`,
//! `not valid yet`. So does a server without TLS under `require`, `verify-ca` or `verify-full`.
//! The TLS session binds no channel to SCRAM (`tls-server-end-point`): the password exchange is
//! SCRAM without channel binding, inside the verified session.
//!
//! **Amazon RDS and Aurora**: their certificates come from Amazon's own CAs, outside the system's
//! trust store. Download the bundle of the region (`https://truststore.pki.rds.amazonaws.com/
//! REGION/REGION-bundle.pem`, or `global-bundle.pem`) and name it:
//! `postgres://app:secret@mydb.abc123.eu-west-1.rds.amazonaws.com/shop?sslrootcert=/etc/rds/eu-west-1-bundle.pem`
//! (`verify-full`: the certificate names the endpoint's DNS name; connect by it, not an IP).
//!
//! **Google Cloud SQL**: its server certificates are signed by the instance's own CA (download
//! `server-ca.pem` from the console or `gcloud sql instances describe`) and name the instance
//! (`PROJECT:INSTANCE`), not the IP address connected to, so `verify-full` fails with `wrong
//! name`. Either use `sslmode=verify-ca&sslrootcert=server-ca.pem` (the chain checked, the name
//! not: the instance's own CA signs nothing else), or run the Cloud SQL Auth Proxy beside the
//! service and connect to it on `127.0.0.1` (the proxy does TLS and IAM to the instance; the
//! default is `prefer` to this machine, `sslmode=disable` says so outright). Instances whose
//! certificates come from a CA Service CA (shared or customer-managed) name a DNS name:
//! `verify-full` by that name works, with that CA as `sslrootcert`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod conn;
mod error;
mod inbox;
mod ledger;
mod outbox;
mod table;
mod tls;

pub use inbox::{DEFAULT_TABLE, PostgresInbox, PostgresInboxBuilder, schema_sql};
pub use ledger::{DEFAULT_LEDGER_TABLE, PostgresLedger, PostgresLedgerBuilder, ledger_schema_sql};
pub use outbox::{DEFAULT_OUTBOX_TABLE, PostgresOutbox, PostgresOutboxBuilder, outbox_schema_sql};

/// The pool type [`PostgresInbox::from_pool`], [`PostgresLedger::from_pool`] and
/// [`PostgresOutbox::from_pool`] take.
pub use deadpool_postgres;
/// The driver, for [`PostgresInbox::complete_in`]'s transaction.
pub use tokio_postgres;
