//! The reconciler at scale (issue 24, goal 2), per ledger: memory, Redis and Postgres (the last
//! two on the bench's private servers).
//!
//! - **Taking a batch of due payments** (`Ledger::due` with the reconciler's batch and lease)
//!   with [`SIZES`] watched payments loaded, every one of them due, each size in a ledger of its
//!   own (a Redis prefix, a Postgres table): the median of [`TAKES`] batches at each size, each
//!   batch recorded back (untimed) behind the others as a check's outcome is, so that the takes
//!   go round every payment. The sizes take their turns round by round, so that what else the
//!   machine does in those seconds (a neighbour's burst, Postgres's autovacuum) falls on every
//!   size alike. Goal: at 100 000 ≤ 1.5× the time at 1 000. The load itself goes through the
//!   store's own `record`, [`LOAD_AT_ONCE`] writes in flight (Redis pipelines them on its one
//!   connection, Postgres spreads them over its pool).
//! - **Memory** (a memory ledger of its own, measured before the batches): the process's
//!   resident memory per watched payment once 100 000 are loaded, and its growth while
//!   [`FLAT_TAKES`] more batches are taken and recorded back (goal: flat, at most 1 MiB).
//! - **Throughput against the sandbox**: [`CHECKED`] QRIS payments created in the sandbox through
//!   a `Watched` gateway, a `Reconciler` at `--reconcile-every 1s` (its default batch, lease,
//!   poll and concurrency, as `gerbang webhook serve` runs it), run for [`WINDOW`] after a
//!   warm-up: status checks per second (goal ≥ 1 000), with what each check waited on (the status
//!   call over HTTP, the ledger's `due` and `record`) to say what limits it. QRIS because it has
//!   no rate budget: Cuan10pay's (100 calls an hour, 80 of them for background checks) would be
//!   the limit of its own.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gerbang_core::inbox::MemoryInbox;
use gerbang_core::ledger::{Begin, Ledger, WatchState, Watched, WatchedPayment};
use gerbang_core::time::OffsetDateTime;
use gerbang_core::{
    Ack, Capabilities, ClaimedId, Error, Money, Payment, PaymentProvider, PaymentRequest, ProviderId, WebhookEvent,
    WebhookRequest,
};
use gerbang_postgres::PostgresLedger;
use gerbang_qris::{QrisClient, QrisConfig};
use gerbang_reconcile::{DEFAULT_BATCH, DEFAULT_LEASE, Reconciler};
use gerbang_redis::RedisLedger;
use gerbang_webhooks::{Receiver, handler_fn};

use crate::table::{self, Goal, Row};

/// The watched payments of the three ledgers of a store.
pub(crate) const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
/// Due batches timed at each size.
pub(crate) const TAKES: usize = 300;
/// Writes of the load in flight at once.
const LOAD_AT_ONCE: usize = 256;
/// Batches taken (and recorded back) over 100 000 payments while the memory row watches the
/// process's resident memory.
pub(crate) const FLAT_TAKES: usize = 20_000;
/// Payments the throughput row creates and watches: more than the goal's 1 000 checks per
/// second asks for at a check every second, so that the reconciler, not the demand, sets the
/// rate.
pub(crate) const CHECKED: usize = 3_000;
/// How often each payment is checked in the throughput row (`--reconcile-every`).
pub(crate) const PACE: Duration = Duration::from_secs(1);
/// How long the throughput row counts checks, after a warm-up of one [`PACE`].
pub(crate) const WINDOW: Duration = Duration::from_secs(3);

/// The cost of taking a batch of due payments at each of [`SIZES`].
pub(crate) struct Scaling {
    /// The median time of one batch, at each size.
    pub(crate) medians: [Duration; 3],
    /// How long loading the three ledgers took.
    pub(crate) load: Duration,
}

impl Scaling {
    /// The time at 100 000 over the time at 1 000.
    pub(crate) fn ratio(&self) -> f64 {
        self.medians[2].as_secs_f64() / self.medians[0].as_secs_f64()
    }
}

/// The memory ledger's footprint.
pub(crate) struct Footprint {
    /// Resident bytes per watched payment, at 100 000.
    pub(crate) per_payment: f64,
    /// Resident bytes gained while [`FLAT_TAKES`] batches were taken and recorded back
    /// (negative: given back).
    pub(crate) growth: i64,
}

/// The time every record is due by: all of them are due at once, the worst case of a ledger
/// that sorts what is due.
fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + gerbang_core::time::Duration::seconds(1_900_000_000)
}

/// Record `n` of the load: a pending QRIS payment, due a millisecond after record `n - 1`, a
/// day before [`now`].
fn watched(n: usize) -> WatchedPayment {
    let start = now() - gerbang_core::time::Duration::days(1);
    let at = start + gerbang_core::time::Duration::milliseconds(i64::try_from(n).unwrap_or(i64::MAX));
    let mut record =
        WatchedPayment::new(ProviderId::Qris, format!("SCALE-{n:06}"), Money::idr(150_000), WatchState::Pending, start);
    record.provider_reference = Some(format!("INV-{n:06}"));
    record.expires_at = Some(now() + gerbang_core::time::Duration::days(1));
    record.next_check = Some(at);
    record
}

/// Writes `payments` records (numbered from 0) through `ledger.record`, [`LOAD_AT_ONCE`] at a time.
async fn load(ledger: &dyn Ledger, payments: usize) -> Result<(), String> {
    let mut writes = futures_util::stream::iter(0..payments)
        .map(|n| async move { ledger.record(&watched(n)).await })
        .buffer_unordered(LOAD_AT_ONCE);
    while let Some(written) = writes.next().await {
        match written {
            Ok(true) => {}
            Ok(false) => return Err("a record of the load was not written".into()),
            Err(error) => return Err(format!("loading the ledger: {error}")),
        }
    }
    Ok(())
}

/// Where records taken are put back: behind every other, a microsecond apart, still due.
struct Back(i64);

impl Back {
    fn new() -> Self {
        Self(0)
    }

    /// Takes one full batch (timed), then records it back behind the others (untimed), as the
    /// reconciler records each check's outcome with its next check.
    async fn take(&mut self, ledger: &dyn Ledger) -> Result<Duration, String> {
        let started = Instant::now();
        let mut due = ledger.due(now(), DEFAULT_BATCH, DEFAULT_LEASE).await.map_err(|e| format!("due: {e}"))?;
        let took = started.elapsed();
        if due.len() != DEFAULT_BATCH {
            return Err(format!("a batch of {} due payments, not {DEFAULT_BATCH}", due.len()));
        }
        let behind = now() - gerbang_core::time::Duration::hours(1);
        for record in &mut due {
            self.0 += 1;
            record.next_check = Some(behind + gerbang_core::time::Duration::microseconds(self.0));
            record.checks += 1;
        }
        let written = futures_util::future::join_all(due.iter().map(|record| ledger.record(record))).await;
        if let Some(error) = written.into_iter().find_map(Result::err) {
            return Err(format!("recording a batch back: {error}"));
        }
        Ok(took)
    }
}

/// The median time of a due batch at each of [`SIZES`], each in its ledger of `ledgers` (empty
/// ones, each its own), the sizes taking their turns round by round.
pub(crate) async fn scaling(ledgers: [&dyn Ledger; 3]) -> Result<Scaling, String> {
    let started = Instant::now();
    for (ledger, size) in ledgers.into_iter().zip(SIZES) {
        load(ledger, size).await?;
    }
    let load = started.elapsed();
    let mut backs = [Back::new(), Back::new(), Back::new()];
    let mut samples = [(); 3].map(|()| Vec::with_capacity(TAKES));
    // A few rounds first, untimed: connections, prepared statements, the script cache.
    for round in 0..10 + TAKES {
        for ((back, ledger), samples) in backs.iter_mut().zip(ledgers).zip(&mut samples) {
            let took = back.take(ledger).await?;
            if round >= 10 {
                samples.push(took);
            }
        }
    }
    Ok(Scaling { medians: samples.map(|mut samples| crate::median(&mut samples)), load })
}

/// The process's resident memory in bytes (Linux), or `None` where `/proc` does not say.
fn resident() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A memory ledger's footprint (resident memory per payment at 100 000, and what
/// [`FLAT_TAKES`] more batches add), then [`scaling`] on memory ledgers. In that order: memory
/// the scaling's ledgers gave back to the allocator would be reused by the footprint's.
pub(crate) async fn memory() -> Result<(Scaling, Option<Footprint>), String> {
    let before = resident();
    let ledger = gerbang_core::ledger::MemoryLedger::new();
    load(&ledger, SIZES[2]).await?;
    let loaded = resident();
    let mut back = Back::new();
    for _ in 0..1_000 {
        back.take(&ledger).await?;
    }
    let warm = resident();
    for _ in 0..FLAT_TAKES {
        black_box(back.take(&ledger).await?);
    }
    let end = resident();
    let footprint = match (before, loaded, warm, end) {
        (Some(before), Some(loaded), Some(warm), Some(end)) => {
            Some(Footprint { per_payment: (loaded - before) as f64 / SIZES[2] as f64, growth: end - warm })
        }
        _ => None,
    };
    drop(ledger);
    let ledgers = [(); 3].map(|()| gerbang_core::ledger::MemoryLedger::new());
    let [small, middle, large] = &ledgers;
    Ok((scaling([small, middle, large]).await?, footprint))
}

/// What one row of throughput found.
pub(crate) struct Throughput {
    /// Status checks per second over the window.
    pub(crate) per_second: f64,
    /// The median status call (HTTP to the sandbox, parse).
    pub(crate) status: Duration,
    /// The median `due` of a pass.
    pub(crate) due: Duration,
    /// The median `record` of a check's outcome.
    pub(crate) record: Duration,
}

/// Latencies of one kind, collected from every task.
#[derive(Default)]
struct Samples(Mutex<Vec<Duration>>);

impl Samples {
    fn push(&self, took: Duration) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(took);
    }

    fn median(&self) -> Duration {
        let mut samples = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        if samples.is_empty() { Duration::ZERO } else { crate::median(&mut samples) }
    }

    fn clear(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// A ledger that times its `due` and `record`.
#[derive(Debug)]
struct TimedLedger {
    inner: Arc<dyn Ledger>,
    due: Arc<Samples>,
    record: Arc<Samples>,
}

impl std::fmt::Debug for Samples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Samples")
    }
}

#[gerbang_core::async_trait]
impl Ledger for TimedLedger {
    async fn record(&self, payment: &WatchedPayment) -> Result<bool, Error> {
        let started = Instant::now();
        let written = self.inner.record(payment).await;
        self.record.push(started.elapsed());
        written
    }

    async fn begin_create(&self, payment: &WatchedPayment) -> Result<Begin, Error> {
        self.inner.begin_create(payment).await
    }

    async fn find_by_reference(&self, provider: ProviderId, reference: &str) -> Result<Option<WatchedPayment>, Error> {
        self.inner.find_by_reference(provider, reference).await
    }

    async fn find_by_gateway_id(&self, provider: ProviderId, id: &str) -> Result<Option<WatchedPayment>, Error> {
        self.inner.find_by_gateway_id(provider, id).await
    }

    async fn due(&self, now: OffsetDateTime, limit: usize, lease: Duration) -> Result<Vec<WatchedPayment>, Error> {
        let started = Instant::now();
        let due = self.inner.due(now, limit, lease).await;
        self.due.push(started.elapsed());
        due
    }

    async fn list(&self, limit: usize) -> Result<Vec<WatchedPayment>, Error> {
        self.inner.list(limit).await
    }
}

/// A gateway that counts and times its status calls.
struct TimedGateway {
    inner: Arc<dyn PaymentProvider>,
    checks: AtomicUsize,
    status: Samples,
}

#[gerbang_core::async_trait]
impl PaymentProvider for TimedGateway {
    fn id(&self) -> ProviderId {
        self.inner.id()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        self.inner.create_payment(request).await
    }

    async fn payment_status(&self, reference: &str) -> Result<Payment, Error> {
        let started = Instant::now();
        let answer = self.inner.payment_status(reference).await;
        self.status.push(started.elapsed());
        if answer.is_ok() {
            self.checks.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    async fn cancel_payment(&self, reference: &str) -> Result<Payment, Error> {
        self.inner.cancel_payment(reference).await
    }

    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        self.inner.verify_webhook(request).await
    }

    fn reject_webhook(&self, error: &Error) -> Ack {
        self.inner.reject_webhook(error)
    }

    fn webhook_claims(&self, request: &WebhookRequest<'_>) -> Option<ClaimedId> {
        self.inner.webhook_claims(request)
    }
}

/// [`CHECKED`] QRIS payments created in the sandbox at `qris_url` and watched in `ledger` (an
/// empty one), reconciled at `--reconcile-every` [`PACE`] by a reconciler with its other
/// settings at their defaults, or `concurrency` checks at once when given: checks per second
/// over [`WINDOW`].
pub(crate) async fn throughput(
    qris_url: &str,
    ledger: Arc<dyn Ledger>,
    run: usize,
    concurrency: Option<usize>,
) -> Result<Throughput, String> {
    let config = QrisConfig::builder(gerbang_sandbox::qris::API_KEY)
        .base_url(qris_url)
        .build()
        .map_err(|e| format!("the QRIS client: {e}"))?;
    let client: Arc<dyn PaymentProvider> = Arc::new(QrisClient::new(config));
    let watched = Watched::new(Arc::clone(&client), Arc::clone(&ledger));
    let mut creates = futures_util::stream::iter(0..CHECKED)
        .map(|n| {
            let watched = &watched;
            async move {
                let request = PaymentRequest::builder(format!("RECON-{run:02}-{n:05}"), Money::idr(150_000))
                    .build()
                    .map_err(|e| e.to_string())?;
                watched.create_payment(&request).await.map_err(|e| format!("creating a payment in the sandbox: {e}"))
            }
        })
        .buffer_unordered(32);
    while let Some(created) = creates.next().await {
        created?;
    }

    let gateway = Arc::new(TimedGateway { inner: client, checks: AtomicUsize::new(0), status: Samples::default() });
    let timed = Arc::new(TimedLedger { inner: ledger, due: Arc::default(), record: Arc::default() });
    let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
        .provider(Arc::clone(&gateway) as Arc<dyn PaymentProvider>)
        .ledger(Arc::clone(&timed) as Arc<dyn Ledger>)
        .build(handler_fn(|_event| async { Ok::<(), Error>(()) }));
    let mut builder = Reconciler::builder(&receiver).pace(PACE);
    if let Some(concurrency) = concurrency {
        builder = builder.concurrency(concurrency);
    }
    let reconciler = builder.build().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        reconciler
            .run(async move {
                let _ = stopped.await;
            })
            .await;
    });
    // The first check of each payment comes one pace after its record.
    tokio::time::sleep(PACE).await;
    let (first, started) = (gateway.checks.load(Ordering::Relaxed), Instant::now());
    for samples in [&gateway.status, &*timed.due, &*timed.record] {
        samples.clear();
    }
    tokio::time::sleep(WINDOW).await;
    let (last, window) = (gateway.checks.load(Ordering::Relaxed), started.elapsed());
    let _ = stop.send(());
    running.await.map_err(|e| format!("the reconciler's task: {e}"))?;
    Ok(Throughput {
        per_second: (last - first) as f64 / window.as_secs_f64(),
        status: gateway.status.median(),
        due: timed.due.median(),
        record: timed.record.median(),
    })
}

/// A Redis database of the bench's private server that only these rows use, emptied after
/// each run (the Redis rows of the receiver and outbox use database 0).
const REDIS_DB: u32 = 9;

/// A Postgres ledger and the table of its own it is dropped with after its row.
type OwnTable = (PostgresLedger, String);

/// Every row of the reconciler at scale, for run `run`.
pub(crate) fn rows(servers: &mut crate::Servers, run: usize) -> crate::Result<Vec<Row>> {
    // As `gerbang webhook serve` runs: a multi-threaded runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut rows = Vec::new();

    let (scaled, footprint) = runtime.block_on(memory())?;
    rows.push(scaling_row("memory", &scaled));
    if let Some(footprint) = footprint {
        rows.push(Row::alone(
            format!("  memory ledger: resident memory per watched payment, {} loaded", table::number(SIZES[2] as f64)),
            format!("{:.0} B", footprint.per_payment),
            footprint.per_payment,
            " B",
        ));
        let mib = footprint.growth as f64 / (1024.0 * 1024.0);
        rows.push(
            Row::alone(
                format!(
                    "  memory ledger: resident memory gained over {} more batches taken and recorded back",
                    table::number(FLAT_TAKES as f64)
                ),
                format!("{mib:.2} MiB ({} B)", footprint.growth),
                mib,
                " MiB",
            )
            .goal(Goal::AtMost(1.0)),
        );
    }

    let stores = servers.stores();
    let redis_url = stores.redis.as_ref().map(|redis| {
        let url = redis.url();
        format!("{}/{REDIS_DB}", url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base))
    });
    let postgres_url = stores.postgres.as_ref().map(gerbang_testkit::PostgresServer::url);
    if let Some(url) = &redis_url {
        let prefixes = SIZES.map(|size| format!("bench{run}:scale{size}:"));
        let [a, b, c] =
            runtime.block_on(per_size(&prefixes, |prefix| async move { redis_ledger(url, &prefix).await }))?;
        rows.push(scaling_row("Redis", &runtime.block_on(scaling([&a, &b, &c]))?));
    }
    if let Some(url) = &postgres_url {
        let tables = SIZES.map(|size| format!("gerbang_ledger_scale{run}_{size}"));
        let [a, b, c] =
            runtime.block_on(per_size(&tables, |table| async move { postgres_ledger(url, &table).await }))?;
        let scaled = runtime.block_on(scaling([&a, &b, &c]));
        for (ledger, table) in [&a, &b, &c].into_iter().zip(&tables) {
            runtime.block_on(drop_table(ledger, table))?;
        }
        rows.push(scaling_row("Postgres", &scaled?));
    }

    let qris = servers.base_url(ProviderId::Qris);
    let mut ledgers: Vec<(&str, Arc<dyn Ledger>, Option<OwnTable>)> =
        vec![("memory", Arc::new(gerbang_core::ledger::MemoryLedger::new()), None)];
    if let Some(url) = &redis_url {
        ledgers.push(("Redis", Arc::new(runtime.block_on(redis_ledger(url, &format!("bench{run}:checks:")))?), None));
    }
    if let Some(url) = &postgres_url {
        let table = format!("gerbang_ledger_checks{run}");
        let ledger = runtime.block_on(postgres_ledger(url, &table))?;
        ledgers.push(("Postgres", Arc::new(ledger.clone()), Some((ledger, table))));
    }
    for (store, ledger, table) in ledgers {
        let found = runtime.block_on(throughput(&qris, ledger, run, None));
        if let Some((ledger, table)) = table {
            runtime.block_on(drop_table(&ledger, &table))?;
        }
        rows.push(throughput_row(store, &found?));
    }
    if let Some(url) = &redis_url {
        runtime.block_on(flush(url))?;
    }
    Ok(rows)
}

fn scaling_row(store: &str, scaled: &Scaling) -> Row {
    let [small, middle, large] = scaled.medians.map(|median| format!("{:.1} µs", median.as_secs_f64() * 1e6));
    Row::compare(
        format!(
            "reconciler: one due batch ({DEFAULT_BATCH}) from the {store} ledger at {} watched vs {} (median of {TAKES})",
            table::number(SIZES[2] as f64),
            table::number(SIZES[0] as f64)
        ),
        format!("{large} (at {}: {middle}; loaded in {:.1} s)", table::number(SIZES[1] as f64), scaled.load.as_secs_f64()),
        small,
        scaled.ratio(),
        "100k/1k",
    )
    .goal(Goal::AtMost(1.5))
}

fn throughput_row(store: &str, found: &Throughput) -> Row {
    let micros = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
    Row::alone(
        format!(
            "reconciler: status checks per second, {} QRIS payments in the sandbox, {store} ledger, every {} s",
            table::number(CHECKED as f64),
            PACE.as_secs()
        ),
        format!(
            "{} /s (median status call {}, due {}, record {})",
            table::number(found.per_second),
            micros(found.status),
            micros(found.due),
            micros(found.record)
        ),
        found.per_second,
        "/s",
    )
    .goal(Goal::AtLeast(1_000.0))
}

/// A Redis ledger at `url` whose keys start with `prefix`.
async fn redis_ledger(url: &str, prefix: &str) -> Result<RedisLedger, String> {
    RedisLedger::builder().prefix(prefix).connect(url).await.map_err(|e| format!("the Redis ledger: {e}"))
}

/// Empties the Redis database at `url` (these rows' own).
async fn flush(url: &str) -> Result<(), String> {
    use gerbang_redis::redis;
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = client.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
    redis::cmd("FLUSHDB")
        .arg("ASYNC")
        .query_async::<()>(&mut conn)
        .await
        .map_err(|e| format!("emptying the bench's Redis database: {e}"))
}

/// A ledger for each of [`SIZES`], `make` given the size's own name (a Redis prefix, a table).
async fn per_size<L, Fut>(names: &[String; 3], make: impl Fn(String) -> Fut) -> Result<[L; 3], String>
where
    Fut: std::future::Future<Output = Result<L, String>>,
{
    Ok([make(names[0].clone()).await?, make(names[1].clone()).await?, make(names[2].clone()).await?])
}

/// A Postgres ledger at `url` on a table of its own, `table`.
async fn postgres_ledger(url: &str, table: &str) -> Result<PostgresLedger, String> {
    PostgresLedger::builder().table(table).connect(url).await.map_err(|e| format!("the Postgres ledger: {e}"))
}

/// Drops the ledger's table: each run loads its own.
async fn drop_table(ledger: &PostgresLedger, table: &str) -> Result<(), String> {
    let client = ledger.pool().get().await.map_err(|e| format!("a connection to drop {table}: {e}"))?;
    client.batch_execute(&format!("DROP TABLE IF EXISTS {table}")).await.map_err(|e| format!("dropping {table}: {e}"))
}
