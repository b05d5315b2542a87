//! What a status call costs the client, apart from the server: the CPU time per call of the
//! thread that runs the calls, one at a time and 64 at once, and the calls per second at 64 at
//! once, through the `PaymentProvider` trait object against the [hand-written](super::hand)
//! call.
//!
//! The sandbox runs in a process of its own (this program, started again with [`CHILD`] set), so
//! that none of its work is on the clients' thread. The clients run on a current-thread tokio
//! runtime on the measuring thread, so all of their work is on it: reqwest's connection tasks,
//! the timers, signing and parsing (the URLs are IP addresses, so no resolver thread is used).
//! That thread's CPU time is read from its CPU clock (`CLOCK_THREAD_CPUTIME_ID`, through
//! rustix: no unsafe code), exact to the nanosecond; on systems other than Linux the rows are
//! left out. (Linux's `/proc/thread-self/schedstat` is no substitute: for a thread that is
//! running it is brought up to date only when it blocks and at the scheduler's tick, every 4 ms
//! here, so a batch of 64 calls at once, which seldom blocks, was measured mostly in whole
//! ticks: many rounds' ratios came out exactly 1.000.)
//!
//! Each round runs one batch of calls through the trait and one by hand, back to back, the
//! first of the two alternating round by round, so that drift (another process taking a core,
//! a cache growing warm) hits both alike. Each side's figure is its median over the rounds; the
//! ratio is the median of the rounds' ratios.

use std::future::Future;
use std::io::{BufRead as _, BufReader, Read as _};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gerbang_core::{PaymentProvider, ProviderId};
use gerbang_sandbox::Sandbox;

use super::gateways::{self, Gateway, Hand};
use crate::table::{Goal, Row};
use crate::{Result, median, median_ratio, micros};

/// The environment variable that makes this program serve the sandbox instead of measuring.
pub(crate) const CHILD: &str = "GERBANG_BENCH_SANDBOX_PROCESS";

/// Rounds of each measurement: each a batch through the trait and one by hand.
const ROUNDS: usize = 60;
/// Calls in a batch made one at a time.
const SERIAL_CALLS: usize = 300;
/// Calls in flight at once in the concurrent batches.
const CONCURRENCY: usize = 64;
/// Calls in a concurrent batch.
const CONCURRENT_CALLS: usize = 2_000;

/// In the sandbox's process (started by [`SandboxProcess::start`]): serves the sandbox, writes
/// each gateway's base URL on a line of its own to stdout, in the order of [`ProviderId::ALL`],
/// and serves until stdin closes, which it does when the measuring process ends, however it
/// ends. `None` in any other process.
pub(crate) fn serve_if_child() -> Option<Result<()>> {
    std::env::var_os(CHILD)?;
    Some(serve())
}

fn serve() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let handle = Sandbox::builder().start().await?;
        let urls: Vec<String> = ProviderId::ALL.iter().map(|&provider| handle.base_url(provider)).collect();
        println!("{}", urls.join("\n"));
        tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await??;
        Ok(())
    })
}

/// The sandbox in a process of its own, ended when this is dropped.
struct SandboxProcess {
    child: Child,
    base_urls: Vec<String>,
}

impl SandboxProcess {
    fn start() -> Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .env(CHILD, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("the sandbox process has no stdout")?;
        let mut process = Self { child, base_urls: Vec::new() };
        for line in BufReader::new(stdout).lines().take(ProviderId::ALL.len()) {
            process.base_urls.push(line?);
        }
        if process.base_urls.len() < ProviderId::ALL.len() {
            return Err("the sandbox process ended before it said where it listens".into());
        }
        Ok(process)
    }

    fn base_url(&self, provider: ProviderId) -> &str {
        let index = ProviderId::ALL.iter().position(|&p| p == provider).unwrap_or_default();
        &self.base_urls[index]
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CPU time this thread has run for, if the system says.
#[cfg(target_os = "linux")]
fn thread_cpu() -> Option<Duration> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Some(Duration::new(u64::try_from(now.tv_sec).ok()?, u32::try_from(now.tv_nsec).ok()?))
}

/// The CPU time this thread has run for, if the system says.
#[cfg(not(target_os = "linux"))]
fn thread_cpu() -> Option<Duration> {
    None
}

/// One batch: the CPU time of the calling thread and the wall time it took.
#[derive(Clone, Copy)]
struct Batch {
    cpu: Duration,
    wall: Duration,
}

/// A way of making the status call that can be spawned.
type Way = Arc<dyn Fn() -> Called + Send + Sync>;

/// One call of a [`Way`]: its error as text, so that it can leave the task it runs in.
type Called = Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send>>;

fn through_trait(provider: Arc<dyn PaymentProvider>, id: Arc<str>) -> Way {
    Arc::new(move || -> Called {
        let (provider, id) = (provider.clone(), id.clone());
        Box::pin(async move { provider.payment_status(&id).await.map(drop).map_err(|e| e.to_string()) })
    })
}

fn by_hand(hand: Hand) -> Way {
    Arc::new(move || -> Called {
        let call = hand();
        Box::pin(async move { call.await.map(drop).map_err(|e| e.to_string()) })
    })
}

/// `calls` calls of `way`, `concurrency` in flight at once (each a task of this runtime).
async fn batch(way: &Way, calls: usize, concurrency: usize) -> Result<Batch> {
    let left = Arc::new(AtomicUsize::new(calls));
    let cpu = thread_cpu().ok_or("no CPU time for this thread")?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (way, left) = (way.clone(), left.clone());
            tokio::spawn(async move {
                while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                    way().await?;
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let wall = started.elapsed();
    let cpu = thread_cpu().ok_or("no CPU time for this thread")?.saturating_sub(cpu);
    Ok(Batch { cpu: cpu / calls as u32, wall })
}

/// [`ROUNDS`] interleaved rounds of ours and hand's batches.
struct Rounds {
    /// Ours: the median CPU time per call and the median wall time of a batch.
    ours: Batch,
    /// Hand's, the same.
    hand: Batch,
    /// CPU per call, ours over hand's: the median of the rounds' ratios.
    cpu: f64,
    /// Calls per second, ours over hand's: the median of the rounds' ratios.
    rate: f64,
}

/// Ours and hand's batches over [`ROUNDS`] interleaved rounds, after one batch each to warm up.
async fn rounds(ours: &Way, hand: &Way, calls: usize, concurrency: usize) -> Result<Rounds> {
    batch(ours, calls, concurrency).await?;
    batch(hand, calls, concurrency).await?;
    let mut batches = [Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS)];
    for round in 0..ROUNDS {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for way in order {
            batches[way].push(batch([ours, hand][way], calls, concurrency).await?);
        }
    }
    let [ours, hand] = &batches;
    let ratios = |of: fn(&Batch, &Batch) -> f64| -> Vec<f64> { ours.iter().zip(hand).map(|(o, h)| of(o, h)).collect() };
    let cpu = median_ratio(&mut ratios(|o, h| o.cpu.as_secs_f64() / h.cpu.as_secs_f64()));
    // Rates of the same number of calls: the hand's time over ours.
    let rate = median_ratio(&mut ratios(|o, h| h.wall.as_secs_f64() / o.wall.as_secs_f64()));
    let [ours, hand] = batches.map(|batches| {
        let mut cpu: Vec<Duration> = batches.iter().map(|b| b.cpu).collect();
        let mut wall: Vec<Duration> = batches.iter().map(|b| b.wall).collect();
        Batch { cpu: median(&mut cpu), wall: median(&mut wall) }
    });
    Ok(Rounds { ours, hand, cpu, rate })
}

/// A gateway's status call both ways, as the table names the gateway.
struct Ways {
    name: &'static str,
    ours: Way,
    hand: Way,
}

impl Ways {
    fn of<C>(gateway: Gateway<C>) -> Self {
        let ours = through_trait(gateway.provider, gateway.id);
        Self { name: gateway.name, ours, hand: by_hand(gateway.hand) }
    }
}

/// `provider`'s status call both ways, its payment created at `base` (the reference unique to
/// `run`).
async fn ways(provider: ProviderId, base: &str, run: usize) -> Result<Ways> {
    Ok(match provider {
        ProviderId::Cuan10pay => Ways::of(gateways::cuan10pay(base, run).await?),
        ProviderId::CashIn => Ways::of(gateways::cashin(base, run).await?),
        ProviderId::Qris => Ways::of(gateways::qris(base, run).await?),
        ProviderId::CryptoInvoice => Ways::of(gateways::crypto_invoice(base, run).await?),
        ProviderId::Ciputra => Ways::of(gateways::ciputra(base, run).await?),
        other => return Err(format!("no status call set up for {other}").into()),
    })
}

/// One gateway's three rows.
async fn gateway(Ways { name, ours, hand }: Ways) -> Result<Vec<Row>> {
    let one = rounds(&ours, &hand, SERIAL_CALLS, 1).await?;
    let many = rounds(&ours, &hand, CONCURRENT_CALLS, CONCURRENCY).await?;
    let cpu_row = |at: String, rounds: &Rounds| {
        Row::compare(
            format!("{name} status: client CPU per call, {at}, trait vs hand (sandbox in its own process)"),
            micros(rounds.ours.cpu),
            micros(rounds.hand.cpu),
            rounds.cpu,
            "ours/hand: median round",
        )
        .goal(Goal::AtMost(1.05))
    };
    let per_second = |batch: Batch| CONCURRENT_CALLS as f64 / batch.wall.as_secs_f64();
    Ok(vec![
        cpu_row(format!("one at a time (median of {ROUNDS} × {SERIAL_CALLS})"), &one),
        cpu_row(format!("{CONCURRENCY} at once (median of {ROUNDS} × {CONCURRENT_CALLS})"), &many),
        Row::compare(
            format!("{name} status: calls per second, {CONCURRENCY} at once, trait vs hand"),
            format!("{} /s", crate::table::number(per_second(many.ours).round())),
            format!("{} /s", crate::table::number(per_second(many.hand).round())),
            many.rate,
            "ours/hand: median round",
        )
        .goal(Goal::AtLeast(0.98)),
    ])
}

/// `--profile-status`: `calls` status calls of `gateway` one at a time, by hand or through the
/// trait, after 100 to warm up, against the sandbox in its own process, and nothing else: what a
/// profiler (cachegrind, callgrind) run over this process twice, with two counts, tells apart is
/// the calls' own cost. No CPU clock is read (under valgrind, reading it through rustix crashed
/// the process: rustix finds the clock through the vDSO), no table printed.
pub(crate) fn profile(gateway: ProviderId, hand: bool, calls: usize) -> Result<()> {
    let sandbox = SandboxProcess::start()?;
    let base = sandbox.base_url(gateway);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let ways = ways(gateway, base, 0).await?;
        let way = if hand { ways.hand } else { ways.ours };
        for _ in 0..100 + calls {
            way().await?;
        }
        Ok(())
    })
}

/// Every gateway's rows, in the project's order; none where this thread's CPU time cannot be
/// read.
pub(crate) fn rows(run: usize) -> Result<Vec<Row>> {
    if thread_cpu().is_none() {
        println!("(no thread CPU clock on this system: the client CPU rows are left out)\n");
        return Ok(Vec::new());
    }
    let sandbox = SandboxProcess::start()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut rows = Vec::new();
        for provider in ProviderId::ALL {
            rows.extend(gateway(ways(provider, sandbox.base_url(provider), run).await?).await?);
        }
        Ok(rows)
    })
}
