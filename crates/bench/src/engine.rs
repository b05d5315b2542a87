//! The receiver against its storage engine (issue 24, goal 1): events per second and the
//! latency of each event through the whole receiver (verify, claim in the inbox, handler,
//! complete), next to a hand-written baseline doing the same work with the same client crate at
//! the same concurrency, for each store:
//!
//! - memory: `MemoryInbox` against a `Mutex<HashMap>` holding the same slots;
//! - Redis: `RedisInbox` (a claim, one `SET NX PX GET`; a completion, one `SET PX GET` that
//!   tells from the value it replaced whether the claim was still the holder's) against
//!   `SET key holder NX PX` then `SET key done XX PX` on one `redis` `ConnectionManager`, as a
//!   hand-written inbox would;
//! - Postgres: `PostgresInbox` against the same claim and complete statements it sends
//!   ([`CLAIM_SQL`], [`COMPLETE_SQL`]), prepared once per connection, on a `deadpool-postgres`
//!   pool of the inbox's default size.
//!
//! Both sides verify each webhook first (the baseline with the bare verifier), so the ratio is
//! what the receiver and the inbox add over the engine's own work, not the engine's cost over
//! an HMAC. Every event is new to the store (a claim granted, then completed). Both sides run in
//! [`ROUNDS`] rounds, back to back in each, the first of the two alternating (baseline then
//! receiver, then receiver then baseline), so that a neighbour's load falls on both; the ratio is
//! the median of the rounds' ratios.
//!
//! The receiver's memory over many events is [`crate::memory`]'s.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::Inbox;
use gerbang_core::{FixedClock, PaymentProvider, WebhookEvent, WebhookRequest};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, WebhookVerifier};
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};
use gerbang_webhooks::{DEFAULT_LEASE, Handler, HandlerError, Outcome, Receiver};

use crate::receiver::Latencies;
use crate::table::{Goal, Row};

pub(crate) const NOW: i64 = 1_700_000_000;
pub(crate) const PATH: &str = "/webhooks/cuan10pay";

/// The concurrent deliveries each store is measured at.
pub(crate) const CONCURRENCY: [usize; 3] = [1, 16, 64];

/// Events per side (receiver or baseline) at `concurrency` on `store`: enough for a stable p99
/// (100 samples above it) and for each side's rounds to last about a tenth of a second or more
/// (shorter ones read the scheduler's hiccups as the side's rate), few enough that the three
/// stores at three concurrencies take well under a minute of a run on a two-core machine.
pub(crate) fn events(store: Store, concurrency: usize) -> usize {
    match store {
        Store::Memory => 80_000,
        Store::Redis if concurrency == 1 => 8_000,
        Store::Redis => 40_000,
        Store::Postgres if concurrency == 1 => 8_000,
        Store::Postgres => 16_000,
    }
}

/// The memory inbox's bound in these rows: above the keys of a run (each side's
/// [`events`] at every concurrency), so that it holds the same keys as the baseline's map, which
/// never forgets one. Full at its default 100 000, it would forget its oldest key on every claim,
/// and the map would not; the receiver memory rows ([`crate::memory`]) run it full.
const MEMORY_CAPACITY: usize = 1_000_000;

/// Rounds each side runs in, taking turns.
const ROUNDS: usize = 8;

/// How long a done marker is kept by the Redis baseline: the inbox's default retention.
const RETENTION_MS: u64 = 7 * 24 * 3600 * 1000;

/// The inbox's claim statement on its default table (`gerbang-postgres`'s `inbox/sql.rs`), as the
/// Postgres baseline sends it.
pub(crate) const CLAIM_SQL: &str = "INSERT INTO \"gerbang_inbox\" AS inbox (gateway, dedup_key, state, holder, lease_until) \
     VALUES ($1, $2, 'claimed', $3, now() + $4::float8 * interval '1 millisecond') \
     ON CONFLICT (gateway, dedup_key) DO UPDATE \
     SET holder = excluded.holder, lease_until = excluded.lease_until \
     WHERE inbox.state = 'claimed' AND inbox.lease_until < now() \
     RETURNING inbox.holder";

/// The inbox's complete statement on its default table, as the Postgres baseline sends it.
pub(crate) const COMPLETE_SQL: &str = "UPDATE \"gerbang_inbox\" SET state = 'done', done_at = now() \
     WHERE gateway = $1 AND dedup_key = $2 AND state = 'claimed' \
     RETURNING holder = $3";

/// A store the receiver is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Store {
    Memory,
    Redis,
    Postgres,
}

impl Store {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis => "Redis",
            Self::Postgres => "Postgres",
        }
    }

    /// The store of this [`name`](Self::name).
    pub(crate) fn named(name: &str) -> Option<Self> {
        [Self::Memory, Self::Redis, Self::Postgres].into_iter().find(|store| store.name() == name)
    }
}

/// One side's figures at one concurrency: events per second over the wall clock, and each
/// event's latency.
pub(crate) struct Run {
    pub(crate) per_second: f64,
    pub(crate) latencies: Latencies,
}

/// The receiver and its baseline on one store at one concurrency.
pub(crate) struct Pair {
    pub(crate) store: Store,
    pub(crate) concurrency: usize,
    /// Events each side handled.
    pub(crate) events: usize,
    pub(crate) receiver: Run,
    pub(crate) baseline: Run,
    /// The receiver's rate over the baseline's (goal: ≥ 0.8): the median of the rounds' ratios,
    /// each round's two sides run back to back, so that a neighbour's burst (Postgres writing
    /// back, another process) that lands on a few rounds of one side does not decide it.
    pub(crate) ratio: f64,
}

/// One event's work, by index into the bodies it was built with.
pub(crate) trait Work: Send + Sync + 'static {
    fn event(&self, index: usize) -> impl Future<Output = Result<(), String>> + Send;
}

/// Runs `work` on the events `events` from `concurrency` tasks that each take the next index,
/// timing each event; the wall clock covers them all.
pub(crate) async fn drive<W: Work>(
    work: Arc<W>,
    events: std::ops::Range<usize>,
    concurrency: usize,
) -> Result<(Duration, Vec<Duration>), String> {
    run(work, events, concurrency, true).await
}

/// [`drive`], keeping no latencies: for the memory rows, where the samples (16 bytes an event,
/// written as the events go) would be the very growth they measure.
pub(crate) async fn drive_unsampled<W: Work>(
    work: Arc<W>,
    events: std::ops::Range<usize>,
    concurrency: usize,
) -> Result<Duration, String> {
    Ok(run(work, events, concurrency, false).await?.0)
}

async fn run<W: Work>(
    work: Arc<W>,
    events: std::ops::Range<usize>,
    concurrency: usize,
    sampled: bool,
) -> Result<(Duration, Vec<Duration>), String> {
    let next = Arc::new(AtomicUsize::new(events.start));
    let (end, count) = (events.end, events.len());
    let per_task = if sampled { count / concurrency + 1 } else { 0 };
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (work, next) = (Arc::clone(&work), Arc::clone(&next));
        tasks.spawn(async move {
            let mut samples = Vec::with_capacity(per_task);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= end {
                    return Ok::<_, String>(samples);
                }
                let at = Instant::now();
                work.event(index).await?;
                if sampled {
                    samples.push(at.elapsed());
                }
            }
        });
    }
    let mut samples = Vec::with_capacity(if sampled { count } else { 0 });
    while let Some(done) = tasks.join_next().await {
        samples.extend(done.map_err(|e| format!("a delivery task failed: {e}"))??);
    }
    Ok((started.elapsed(), samples))
}

/// `n` distinct genuine Cuan10pay webhooks whose payment ids start with `tag`, so that no two
/// measurements (nor two runs, nor two invocations on a shared store) deliver the same event.
fn bodies(tag: &str, n: usize) -> Vec<String> {
    let signer = WebhookVerifier::new(PRIVATE_KEY);
    (0..n).map(|i| signer.signed_body(&format!("CP-{tag}-{i:07}"), "PAID", 150_000, NOW)).collect()
}

/// A tag unique to this process and `what`, for [`bodies`].
pub(crate) fn tag(what: &str) -> String {
    static STARTED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let started = STARTED.get_or_init(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    });
    format!("{started:x}-{what}")
}

/// The receiver the rows measure: the Cuan10pay gateway at a fixed clock, `inbox`, and a handler
/// that looks at the event and accepts it.
pub(crate) fn receiver(inbox: Arc<dyn Inbox>) -> Result<Receiver, String> {
    let config = Cuan10payConfig::builder(API_KEY, PRIVATE_KEY)
        .clock(Arc::new(FixedClock::at_unix(NOW)))
        .build()
        .map_err(|e| e.to_string())?;
    let gateway: Arc<dyn PaymentProvider> = Arc::new(Cuan10payClient::new(config));
    Ok(Receiver::builder(inbox).provider(gateway).build(Accept))
}

/// The handler of the receiver's rows: it looks at the event, as the baseline does, and accepts a
/// final one. It borrows the event, as the baseline does (a `handler_fn` closure is given its
/// own copy).
struct Accept;

#[async_trait::async_trait]
impl Handler for Accept {
    async fn handle(&self, event: &WebhookEvent) -> Result<(), HandlerError> {
        black_box(event).status.is_final().then_some(()).ok_or_else(|| "not final".into())
    }
}

/// The whole receiver on each body.
struct ThroughReceiver {
    receiver: Receiver,
    bodies: Vec<String>,
    headers: HeaderMap,
}

impl Work for ThroughReceiver {
    async fn event(&self, index: usize) -> Result<(), String> {
        let body = self.bodies.get(index).ok_or("no such event")?;
        let delivery = self.receiver.receive("cuan10pay", Method::POST, PATH, &self.headers, body.as_bytes()).await;
        match delivery.outcome {
            Outcome::Handled(_) => Ok(()),
            other => Err(format!("an event was not handled: {other:?}")),
        }
    }
}

/// The store work a hand-written receiver does for one new event: claim its key, and mark it
/// done once handled.
trait HandStore: Send + Sync + 'static {
    /// Claims `key` for `holder`: whether the claim is new.
    fn claim(&self, key: &str, holder: &str) -> impl Future<Output = Result<bool, String>> + Send;
    /// Marks `key`, held by `holder`, done: whether it still was the holder's.
    fn complete(&self, key: &str, holder: &str) -> impl Future<Output = Result<bool, String>> + Send;
}

/// A hand-written receiver: the bare verifier, then the store's own calls.
struct ByHand<S> {
    store: Arc<S>,
    verifier: WebhookVerifier,
    bodies: Vec<String>,
    headers: HeaderMap,
    holders: AtomicU64,
}

impl<S: HandStore> ByHand<S> {
    fn new(store: Arc<S>, bodies: Vec<String>) -> Self {
        let verifier = WebhookVerifier::new(PRIVATE_KEY).with_clock(Arc::new(FixedClock::at_unix(NOW)));
        Self { store, verifier, bodies, headers: HeaderMap::new(), holders: AtomicU64::new(0) }
    }

    fn verified(&self, index: usize) -> Result<(WebhookEvent, String), String> {
        let body = self.bodies.get(index).ok_or("no such event")?;
        let request = WebhookRequest::new(Method::POST, PATH, &self.headers, body.as_bytes());
        let event = self.verifier.verify(&request).map_err(|e| e.to_string())?;
        let key = event.dedup_key().map_err(|e| e.to_string())?;
        Ok((event, key))
    }
}

impl<S: HandStore> Work for ByHand<S> {
    async fn event(&self, index: usize) -> Result<(), String> {
        let (event, key) = self.verified(index)?;
        let holder = self.holders.fetch_add(1, Ordering::Relaxed).to_string();
        if !self.store.claim(&key, &holder).await? {
            return Err(format!("the baseline found event {index} claimed already"));
        }
        black_box(black_box(&event).status.is_final());
        if !self.store.complete(&key, &holder).await? {
            return Err(format!("the baseline lost its claim of event {index}"));
        }
        Ok(())
    }
}

/// The memory baseline: a `Mutex<HashMap>` of held and done slots, as `MemoryInbox` keeps them.
#[derive(Default)]
struct HandMemory {
    slots: Mutex<HashMap<String, HandSlot>>,
}

enum HandSlot {
    Held {
        holder: String,
        until: Instant,
    },
    /// When it was done, as `MemoryInbox` keeps it.
    Done {
        _at: Instant,
    },
}

impl HandStore for HandMemory {
    async fn claim(&self, key: &str, holder: &str) -> Result<bool, String> {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match slots.entry(key.to_owned()) {
            Entry::Vacant(slot) => {
                slot.insert(HandSlot::Held { holder: holder.to_owned(), until: now + DEFAULT_LEASE });
                true
            }
            Entry::Occupied(slot) => black_box(matches!(slot.get(), HandSlot::Held { until, .. } if *until < now)),
        })
    }

    async fn complete(&self, key: &str, holder: &str) -> Result<bool, String> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(slot) = slots.get_mut(key) else { return Ok(false) };
        let ours = matches!(slot, HandSlot::Held { holder: held, .. } if held == holder);
        if ours {
            *slot = HandSlot::Done { _at: Instant::now() };
        }
        Ok(ours)
    }
}

/// The Redis baseline: `SET key holder NX PX lease`, then `SET key done XX PX retention`.
struct HandRedis {
    conn: redis::aio::ConnectionManager,
}

impl HandRedis {
    async fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        let conn = redis::aio::ConnectionManager::new(client).await.map_err(|e| e.to_string())?;
        Ok(Self { conn })
    }
}

impl HandStore for HandRedis {
    async fn claim(&self, key: &str, holder: &str) -> Result<bool, String> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("bench:hand:{key}"))
            .arg(holder)
            .arg("NX")
            .arg("PX")
            .arg(DEFAULT_LEASE.as_millis() as u64)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(set.is_some())
    }

    async fn complete(&self, key: &str, _holder: &str) -> Result<bool, String> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("bench:hand:{key}"))
            .arg("done")
            .arg("XX")
            .arg("PX")
            .arg(RETENTION_MS)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(set.is_some())
    }
}

/// The Postgres baseline: the inbox's claim and complete statements, prepared once per
/// connection, on a pool of the inbox's default size, against the inbox's own table.
struct HandPostgres {
    pool: deadpool_postgres::Pool,
}

/// `gerbang-postgres`'s default pool size, which the inbox measured beside it uses.
const POOL_SIZE: usize = 16;

impl HandPostgres {
    fn connect(url: &str) -> Result<Self, String> {
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| e.to_string())?;
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, String> {
        self.pool.get().await.map_err(|e| e.to_string())
    }
}

impl HandStore for HandPostgres {
    async fn claim(&self, key: &str, holder: &str) -> Result<bool, String> {
        let client = self.client().await?;
        let statement = client.prepare_cached(CLAIM_SQL).await.map_err(|e| e.to_string())?;
        let lease = DEFAULT_LEASE.as_secs_f64() * 1000.0;
        let row =
            client.query_opt(&statement, &[&"cuan10pay", &key, &holder, &lease]).await.map_err(|e| e.to_string())?;
        Ok(row.is_some())
    }

    async fn complete(&self, key: &str, holder: &str) -> Result<bool, String> {
        let client = self.client().await?;
        let statement = client.prepare_cached(COMPLETE_SQL).await.map_err(|e| e.to_string())?;
        let row = client.query_opt(&statement, &[&"cuan10pay", &key, &holder]).await.map_err(|e| e.to_string())?;
        row.map_or(Ok(false), |row| row.try_get(0).map_err(|e| e.to_string()))
    }
}

/// Where the stores run: `None` for one not installed (its rows are left out).
pub(crate) struct Urls {
    pub(crate) redis: Option<String>,
    pub(crate) postgres: Option<String>,
}

/// The inbox of `store` the receiver uses. The memory one keeps every key of a run, as the
/// baseline's map does ([`MEMORY_CAPACITY`]).
pub(crate) async fn inbox(store: Store, urls: &Urls) -> Result<Option<Arc<dyn Inbox>>, String> {
    Ok(match store {
        Store::Memory => Some(Arc::new(gerbang_core::inbox::MemoryInbox::with_limits(
            Duration::from_secs(7 * 86_400),
            MEMORY_CAPACITY,
        ))),
        Store::Redis => match &urls.redis {
            Some(url) => Some(Arc::new(gerbang_redis::RedisInbox::connect(url).await.map_err(|e| e.to_string())?)),
            None => None,
        },
        Store::Postgres => match &urls.postgres {
            Some(url) => {
                Some(Arc::new(gerbang_postgres::PostgresInbox::connect(url).await.map_err(|e| e.to_string())?))
            }
            None => None,
        },
    })
}

/// The baseline's store, shared by every concurrency of one store as the receiver's inbox is.
enum Hand {
    Memory(Arc<HandMemory>),
    Redis(Arc<HandRedis>),
    Postgres(Arc<HandPostgres>),
}

impl Hand {
    async fn of(store: Store, urls: &Urls) -> Result<Self, String> {
        let missing = || format!("no {} server", store.name());
        Ok(match store {
            Store::Memory => Self::Memory(Arc::default()),
            Store::Redis => {
                Self::Redis(Arc::new(HandRedis::connect(urls.redis.as_deref().ok_or_else(missing)?).await?))
            }
            Store::Postgres => {
                Self::Postgres(Arc::new(HandPostgres::connect(urls.postgres.as_deref().ok_or_else(missing)?)?))
            }
        })
    }

    /// The baseline on `bodies`.
    async fn drive(&self, bodies: Vec<String>, concurrency: usize) -> Result<(Duration, Vec<Duration>), String> {
        let events = 0..bodies.len();
        match self {
            Self::Memory(store) => drive(Arc::new(ByHand::new(Arc::clone(store), bodies)), events, concurrency).await,
            Self::Redis(store) => drive(Arc::new(ByHand::new(Arc::clone(store), bodies)), events, concurrency).await,
            Self::Postgres(store) => drive(Arc::new(ByHand::new(Arc::clone(store), bodies)), events, concurrency).await,
        }
    }
}

/// Every store's rows at every concurrency, on `runtime` (its threads are the receiver's and
/// the baseline's alike). `run` makes each run's events new to a shared store.
pub(crate) fn pairs(runtime: &tokio::runtime::Runtime, urls: &Urls, run: usize) -> Result<Vec<Pair>, String> {
    let mut pairs = Vec::new();
    for store in [Store::Memory, Store::Redis, Store::Postgres] {
        let Some(inbox) = runtime.block_on(inbox(store, urls))? else { continue };
        let hand = runtime.block_on(Hand::of(store, urls))?;
        let receiver = receiver(inbox)?;
        for concurrency in CONCURRENCY {
            pairs.push(runtime.block_on(pair(store, &receiver, &hand, concurrency, run))?);
        }
    }
    Ok(pairs)
}

/// `store`'s receiver and baseline at `concurrency`, in [`ROUNDS`] turns each.
async fn pair(store: Store, receiver: &Receiver, hand: &Hand, concurrency: usize, run: usize) -> Result<Pair, String> {
    let per_round = events(store, concurrency) / ROUNDS;
    let (mut ours, mut by_hand) = ((Duration::ZERO, Vec::new()), (Duration::ZERO, Vec::new()));
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let what = |side: &str| tag(&format!("{}{run}c{concurrency}r{round}{side}", store.name()));
        // Each side goes first in every other round: what one side leaves the store to do
        // (Redis growing its table, Postgres writing back) falls on both alike.
        let mut sides = [(true, bodies(&what("h"), per_round)), (false, bodies(&what("r"), per_round))];
        if round % 2 == 1 {
            sides.reverse();
        }
        let mut took = [Duration::ZERO; 2];
        for (by_hand_now, bodies) in sides {
            let (elapsed, samples) = if by_hand_now {
                hand.drive(bodies, concurrency).await?
            } else {
                let work = ThroughReceiver { receiver: receiver.clone(), bodies, headers: HeaderMap::new() };
                drive(Arc::new(work), 0..per_round, concurrency).await?
            };
            took[usize::from(by_hand_now)] = elapsed;
            let side = if by_hand_now { &mut by_hand } else { &mut ours };
            side.0 += elapsed;
            side.1.extend(samples);
        }
        // Rates over the same events: the hand's time over the receiver's.
        ratios.push(took[1].as_secs_f64() / took[0].as_secs_f64());
    }
    let ratio = crate::median_ratio(&mut ratios);
    let events = per_round * ROUNDS;
    let run_of = |(elapsed, samples): (Duration, Vec<Duration>)| Run {
        per_second: events as f64 / elapsed.as_secs_f64(),
        latencies: Latencies::new(samples),
    };
    Ok(Pair { store, concurrency, events, receiver: run_of(ours), baseline: run_of(by_hand), ratio })
}

/// The table's rows: one per store and concurrency, goal ≥ 0.8 of the baseline's rate.
pub(crate) fn rows(runtime: &tokio::runtime::Runtime, urls: &Urls, run: usize) -> Result<Vec<Row>, String> {
    let figures = |run: &Run| format!("{} /s ({})", crate::table::number(run.per_second), run.latencies.summary());
    Ok(pairs(runtime, urls, run)?
        .iter()
        .map(|pair| {
            Row::compare(
                format!(
                    "receiver vs hand-written store work, {} inbox, {} concurrent ({} events each)",
                    pair.store.name(),
                    pair.concurrency,
                    crate::table::number(pair.events as f64)
                ),
                figures(&pair.receiver),
                figures(&pair.baseline),
                pair.ratio,
                "rate, ours/hand: median round",
            )
            .goal(Goal::AtLeast(0.8))
        })
        .collect())
}
