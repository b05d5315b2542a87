//! The receiver's memory over many events (issue 24, goal 4): its resident set (`VmRSS` in
//! `/proc/self/status`) after a warm-up and at the end of [`DEFAULT_EVENTS`] distinct events,
//! on each store, and the growth per event in between. Goal: ≤ 1 byte per event.
//!
//! What is measured is this process: the receiver, the gateway's verifier, the inbox's client
//! and whatever the inbox keeps here. Redis and Postgres keep their done markers on their own
//! servers, which is their job (for the retention). The memory inbox keeps its markers in this
//! process, bounded by its capacity (100 000 keys by default, the oldest forgotten first): the
//! warm-up is twice that capacity, so that the inbox is full before the first sample and the
//! growth measured is the receiver's, not the inbox filling up. The inbox is the default one
//! (`MemoryInbox::new()`) at the default event count; a smaller `--memory-events` gives it a
//! capacity of half its warm-up, so that it is still full when the warm-up ends.
//!
//! The webhooks are signed as they are delivered (holding a million bodies would be the
//! benchmark's own memory), from [`CONCURRENCY`] concurrent deliveries.
//!
//! Each store's row is measured in a process of its own ([`measure_if_child`]): measured one
//! after the other in one process, a row read the heap the row before left behind (a memory
//! inbox's 100 000 freed keys, which the next row's allocations fill in their own order and
//! grow past) as its own growth, 8 to 22 bytes an event on a receiver that, alone, grows by
//! none.

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::{Inbox, MemoryInbox};
use gerbang_cuan10pay::WebhookVerifier;
use gerbang_sandbox::cuan10pay::PRIVATE_KEY;
use gerbang_webhooks::{Outcome, Receiver};

use crate::engine::{self, NOW, PATH, Store, Urls, Work};
use crate::table::{Goal, Row, number};

/// Events each memory row delivers unless `--memory-events` says otherwise.
pub(crate) const DEFAULT_EVENTS: usize = 1_000_000;

/// Concurrent deliveries of the memory rows.
pub(crate) const CONCURRENCY: usize = 16;

/// The memory inbox's default capacity (`MemoryInbox::new`).
const MEMORY_INBOX_CAPACITY: usize = 100_000;

/// Set, to the store's name, in a process started to measure one store's row; with the event
/// count and the store servers' URLs.
const CHILD: &str = "GERBANG_BENCH_MEMORY_ROW";
const CHILD_EVENTS: &str = "GERBANG_BENCH_MEMORY_EVENTS";
const CHILD_REDIS: &str = "GERBANG_BENCH_MEMORY_REDIS_URL";
const CHILD_POSTGRES: &str = "GERBANG_BENCH_MEMORY_POSTGRES_URL";

/// One store's memory row.
pub(crate) struct Resident {
    pub(crate) events: usize,
    pub(crate) warm_up: usize,
    /// Resident bytes after the warm-up, and at the end.
    pub(crate) after_warm_up: u64,
    pub(crate) at_end: u64,
    /// How long the whole row took, warm-up included.
    pub(crate) took: Duration,
    /// The memory inbox's capacity, for its row.
    pub(crate) capacity: Option<usize>,
}

impl Resident {
    /// Bytes grown per event after the warm-up (negative when it shrank).
    pub(crate) fn growth_per_event(&self) -> f64 {
        (self.at_end as f64 - self.after_warm_up as f64) / (self.events - self.warm_up) as f64
    }

    /// The row as the measuring process writes it to its parent: one line of numbers.
    fn line(&self) -> String {
        let capacity = self.capacity.map_or_else(|| "-".to_owned(), |capacity| capacity.to_string());
        format!(
            "resident {} {} {} {} {} {capacity}",
            self.events,
            self.warm_up,
            self.after_warm_up,
            self.at_end,
            self.took.as_micros()
        )
    }

    /// A row from its [`line`](Self::line).
    fn from_line(line: &str) -> Option<Self> {
        let mut words = line.strip_prefix("resident ")?.split(' ');
        let mut number = || words.next()?.parse::<u64>().ok();
        let (events, warm_up, after_warm_up, at_end, took) = (number()?, number()?, number()?, number()?, number()?);
        let capacity = match words.next()? {
            "-" => None,
            capacity => Some(capacity.parse().ok()?),
        };
        Some(Self {
            events: usize::try_from(events).ok()?,
            warm_up: usize::try_from(warm_up).ok()?,
            after_warm_up,
            at_end,
            took: Duration::from_micros(took),
            capacity,
        })
    }
}

/// In a process started by [`resident_apart`]: measures the one store's row it was started for
/// and writes it to stdout. `None` in any other process.
pub(crate) fn measure_if_child() -> Option<Result<(), String>> {
    let store = std::env::var(CHILD).ok()?;
    Some(measure_as_child(&store))
}

fn measure_as_child(store: &str) -> Result<(), String> {
    let store = Store::named(store).ok_or_else(|| format!("no store named `{store}`"))?;
    let events = std::env::var(CHILD_EVENTS).ok().and_then(|events| events.parse().ok()).unwrap_or(DEFAULT_EVENTS);
    let urls = Urls { redis: std::env::var(CHILD_REDIS).ok(), postgres: std::env::var(CHILD_POSTGRES).ok() };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    match resident(&runtime, store, &urls, events)? {
        Some(row) => println!("{}", row.line()),
        None => println!("none"),
    }
    Ok(())
}

/// `store`'s row, measured in a process of its own (this program, started again).
fn resident_apart(store: Store, urls: &Urls, events: usize) -> Result<Option<Resident>, String> {
    let program = std::env::current_exe().map_err(|e| format!("the memory rows start this program again: {e}"))?;
    let mut command = Command::new(program);
    command.env(CHILD, store.name()).env(CHILD_EVENTS, events.to_string());
    for (name, url) in [(CHILD_REDIS, &urls.redis), (CHILD_POSTGRES, &urls.postgres)] {
        if let Some(url) = url {
            command.env(name, url);
        }
    }
    let output = command.output().map_err(|e| format!("the {} memory row's process: {e}", store.name()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "the {} memory row's process failed ({}): {}",
            store.name(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    match stdout.lines().last() {
        Some("none") => Ok(None),
        Some(line) => Resident::from_line(line)
            .map(Some)
            .ok_or_else(|| format!("the {} memory row's process wrote `{line}`", store.name())),
        None => Err(format!("the {} memory row's process wrote nothing", store.name())),
    }
}

/// This process's resident set in bytes, from `VmRSS` in `/proc/self/status`.
pub(crate) fn resident_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("the memory rows read /proc/self/status (Linux only): {e}"))?;
    vm_rss(&status).ok_or_else(|| "no VmRSS line in /proc/self/status".to_owned())
}

/// The `VmRSS:   1234 kB` line of a `/proc/<pid>/status`, in bytes.
fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The warm-up of a row of `events`: a fifth of them.
fn warm_up(events: usize) -> usize {
    events / 5
}

/// The receiver on webhooks signed when delivered, with payment ids from `tag`.
struct Signed {
    receiver: Receiver,
    signer: WebhookVerifier,
    tag: String,
    headers: HeaderMap,
}

impl Work for Signed {
    async fn event(&self, index: usize) -> Result<(), String> {
        let body = self.signer.signed_body(&format!("CP-{}-{index:07}", self.tag), "PAID", 150_000, NOW);
        let delivery = self.receiver.receive("cuan10pay", Method::POST, PATH, &self.headers, body.as_bytes()).await;
        match black_box(delivery).outcome {
            Outcome::Handled(_) => Ok(()),
            other => Err(format!("event {index} was not handled: {other:?}")),
        }
    }
}

/// `store`'s row over `events` events (at least 10), `None` when its server is not installed.
pub(crate) fn resident(
    runtime: &tokio::runtime::Runtime,
    store: Store,
    urls: &Urls,
    events: usize,
) -> Result<Option<Resident>, String> {
    let events = events.max(10);
    let warm_up = warm_up(events);
    let capacity = MEMORY_INBOX_CAPACITY.min(warm_up / 2).max(1);
    let inbox: Arc<dyn Inbox> = match store {
        Store::Memory if capacity == MEMORY_INBOX_CAPACITY => Arc::new(MemoryInbox::new()),
        Store::Memory => Arc::new(MemoryInbox::with_limits(Duration::from_secs(7 * 24 * 3600), capacity)),
        _ => match runtime.block_on(engine::inbox(store, urls))? {
            Some(inbox) => inbox,
            None => return Ok(None),
        },
    };
    let work = Arc::new(Signed {
        receiver: engine::receiver(inbox)?,
        signer: WebhookVerifier::new(PRIVATE_KEY),
        tag: engine::tag(&format!("{}mem", store.name())),
        headers: HeaderMap::new(),
    });
    let started = Instant::now();
    runtime.block_on(engine::drive_unsampled(Arc::clone(&work), 0..warm_up, CONCURRENCY))?;
    let after_warm_up = resident_bytes()?;
    runtime.block_on(engine::drive_unsampled(work, warm_up..events, CONCURRENCY))?;
    let at_end = resident_bytes()?;
    Ok(Some(Resident {
        events,
        warm_up,
        after_warm_up,
        at_end,
        took: started.elapsed(),
        capacity: (store == Store::Memory).then_some(capacity),
    }))
}

/// The table's rows: one per store, each measured once per invocation, in a process of its own;
/// goal ≤ 1 byte per event.
pub(crate) fn rows(urls: &Urls, events: usize) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for store in [Store::Memory, Store::Redis, Store::Postgres] {
        let Some(row) = resident_apart(store, urls, events)? else { continue };
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let inbox = match row.capacity {
            Some(capacity) => format!("memory inbox of {} keys", number(capacity as f64)),
            None => format!("{} inbox", store.name()),
        };
        let growth = row.growth_per_event();
        rows.push(
            Row::alone(
                format!(
                    "receiver memory, {inbox}: {} events, {CONCURRENCY} concurrent, RSS after {} warm-up vs end",
                    number(row.events as f64),
                    number(row.warm_up as f64)
                ),
                format!(
                    "{growth:.3} B/event ({:.1} -> {:.1} MiB; {:.0} s)",
                    mib(row.after_warm_up),
                    mib(row.at_end),
                    row.took.as_secs_f64()
                ),
                growth,
                " B/event",
            )
            .goal(Goal::AtMost(1.0)),
        );
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\tgerbang-bench\nVmPeak:\t  9000 kB\nVmRSS:\t   51234 kB\nRssAnon:\t 40000 kB\n";
        assert_eq!(vm_rss(status), Some(51_234 * 1024));
        assert_eq!(vm_rss("Name:\tx\n"), None);
        assert!(resident_bytes().is_ok_and(|bytes| bytes > 0), "this process has a resident set");
    }

    #[test]
    fn growth_is_counted_over_the_events_after_the_warm_up() {
        let row = Resident {
            events: 1_000,
            warm_up: 200,
            after_warm_up: 10_000,
            at_end: 10_800,
            took: Duration::ZERO,
            capacity: None,
        };
        assert!((row.growth_per_event() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_row_goes_to_the_parent_process_and_back_whole() {
        for capacity in [Some(100_000), None] {
            let row = Resident {
                events: 1_000_000,
                warm_up: 200_000,
                after_warm_up: 21_000_000,
                at_end: 21_400_000,
                took: Duration::from_micros(17_250_000),
                capacity,
            };
            let back = Resident::from_line(&row.line()).expect("its own line");
            assert_eq!(
                (back.events, back.warm_up, back.after_warm_up, back.at_end, back.took, back.capacity),
                (row.events, row.warm_up, row.after_warm_up, row.at_end, row.took, row.capacity)
            );
        }
        for broken in ["", "none", "resident 1 2 3", "resident 1 2 3 4 five -", "resident 1 2 3 4 5"] {
            assert!(Resident::from_line(broken).is_none(), "{broken:?}");
        }
    }
}
