//! `cargo xtask bench`: what the SDK costs over doing the same work by hand, measured in one run
//! on this machine so the ratios compare like with like, and printed as one table with a goal
//! column. `--runs N` repeats the whole measurement N times, printing each run's table and then
//! the spread of each figure.
//!
//! 1. Every gateway's status call (Cuan10pay, Cash In, QRIS, crypto invoice, Ciputra) of one
//!    payment, against a hand-written reqwest call with the same headers, signing (the bare
//!    crates) and token use that parses the answer into `serde_json::Value`; all against the same
//!    sandbox on loopback, interleaved call by call. Two rows a gateway: through the
//!    `PaymentProvider` trait object, as a merchant using the facade calls it, and through the
//!    gateway's typed client method. Goal for both: median / hand-written median ≤ 1.02. Under
//!    Cuan10pay's, what gerbang-core's transport alone adds, and its answer parse alone.
//!    Then, against a sandbox in a process of its own ([`status::cpu`]), the client's CPU time
//!    per call through the trait over the hand-written call's, one at a time and 64 at once
//!    (goal ≤ 1.05), and its calls per second at 64 at once (goal ≥ 0.98).
//! 2. Signing and verifying through gerbang-signing against the bare crates on the same bytes,
//!    interleaved batch by batch: Cuan10pay's HMAC against `hmac` (goal: bare / SDK time ≥ 1.0),
//!    RSA-2048 SHA256withRSA verify and sign against aws-lc-rs with a key parsed once (goal: ≥ 0.9
//!    of its throughput).
//! 3. Webhook verification and parsing per second on one core, from the median batch: Cuan10pay
//!    (HMAC, goal ≥ 1 000 000) and Cash In (RSA, goal ≥ 40 000).
//! 4. The webhook receiver (verify, claim in the inbox, handler, mark done) per event, next to
//!    the bare verifier on the same events ([`RECEIVED`] distinct Cuan10pay events), for each
//!    inbox: memory, and Redis and Postgres on private servers started for the run (over
//!    loopback: two round trips per event).
//! 5. The outbox per store: delivered messages per second (a deliverer taking rounds of 32, a
//!    sink that takes each at once) next to the receiver enqueueing the same [`OUTBOXED`]
//!    events. Goal: ≥ 0.5.
//! 6. The reconciler at scale (issue 24, goal 2): see [`reconcile`].
//! 7. The sandbox dashboard's list page with 1 000 payments: the server's render time, as the
//!    page reports it (`Server-Timing`), its slowest of the run. Goal: under 200 ms.
//!
//! A ratio named `bare/ours` is the bare crate's time over gerbang's: gerbang's throughput as a
//! share of the bare crate's (1.0: the same; above: faster).
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout)] // a benchmark's job is to print its figures

use std::sync::Arc;
use std::time::Duration;

use gerbang_core::ProviderId;
use gerbang_sandbox::Sandbox;
use table::{Goal, Row};

mod crypto;
mod dashboard;
mod engine;
mod memory;
mod outbox;
mod receiver;
mod reconcile;
mod status;
mod table;
mod webhooks;

const RECEIVED: usize = 20_000;

/// Events received into each outbox, then delivered.
const OUTBOXED: usize = 5_000;

const USAGE: &str = "\
gerbang-bench: what the SDK costs over the same work by hand, on this machine

USAGE:
    cargo xtask bench [--runs N] [--only PART] [--memory-events N]
    cargo xtask bench --profile-status GATEWAY:WAY:CALLS

OPTIONS:
    --runs N           repeat the whole measurement N times (default 1), printing each run's
                       table, then the lowest, median and highest of each figure
    --only PART        measure one part only: `status` (the SDK's status calls against
                       hand-written ones), `cpu` (the client's CPU per status call, and calls per
                       second), `engine` (the receiver against hand-written work on each
                       store), or `others` (signing, webhooks, the receiver per event, outbox,
                       reconciler, dashboard); default: all
    --memory-events N  events through the receiver on each store for the memory rows, measured
                       once after the runs (default 1000000; 0 leaves them out); with `--only`
                       other than `others`, left out
    --profile-status GATEWAY:WAY:CALLS
                       for a profiler: CALLS status calls of GATEWAY (cuan10pay, cashin, qris,
                       crypto-invoice, ciputra) one at a time, WAY `trait` or `hand` only, after
                       100 to warm up, and nothing else (no table); run it under `valgrind
                       --tool=cachegrind` with two counts, and the difference of the totals over
                       the difference of the counts is one call's cost (the README's Performance
                       section shows how)
    -h, --help         print this message
";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// The median of rounds' ratios, each round's two sides measured back to back (an even count's
/// two middle ones averaged): a burst on the machine that hits a few rounds of one side moves
/// it less than it moves a ratio of sums or of each side's median.
fn median_ratio(ratios: &mut [f64]) -> f64 {
    ratios.sort_by(f64::total_cmp);
    let n = ratios.len();
    (ratios[(n - 1) / 2] + ratios[n / 2]) / 2.0
}

/// The command line: how many runs of which parts and how many memory events, or a request for
/// help.
#[derive(Debug, PartialEq, Eq)]
enum Args {
    Runs {
        runs: usize,
        only: Only,
        memory_events: usize,
    },
    /// `--profile-status`: see [`status::cpu::profile`].
    Profile {
        gateway: ProviderId,
        hand: bool,
        calls: usize,
    },
    Help,
}

/// A part of the measurement, as `--only` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The SDK's status calls against hand-written ones, interleaved call by call.
    Status,
    /// The client's CPU per status call, and calls per second ([`status::cpu`]).
    Cpu,
    /// The receiver against hand-written work on its storage engine ([`engine`]).
    Engine,
    /// Everything else.
    Others,
}

/// The parts `--only` asks for: `None`, all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Only(Option<Part>);

impl Only {
    fn wants(self, part: Part) -> bool {
        self.0.is_none_or(|only| only == part)
    }
}

fn parse_args(args: &[String]) -> std::result::Result<Args, String> {
    let (mut runs, mut only, mut memory_events) = (1, Only(None), memory::DEFAULT_EVENTS);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (name, value) = match arg.as_str() {
            "-h" | "--help" => return Ok(Args::Help),
            "--profile-status" => {
                let value = args.next().ok_or("--profile-status needs GATEWAY:WAY:CALLS")?;
                return parse_profile(value);
            }
            name @ ("--runs" | "--only" | "--memory-events") => {
                (name, args.next().ok_or_else(|| format!("{name} needs a value"))?.as_str())
            }
            other => match other.split_once('=') {
                Some((name @ ("--runs" | "--only" | "--memory-events"), value)) => (name, value),
                _ => return Err(format!("unknown argument `{other}`; see --help")),
            },
        };
        let number: Option<usize> = value.parse().ok();
        match name {
            "--only" => {
                only = Only(Some(match value {
                    "status" => Part::Status,
                    "cpu" => Part::Cpu,
                    "engine" => Part::Engine,
                    "others" => Part::Others,
                    _ => return Err(format!("--only takes status, cpu, engine or others, not `{value}`")),
                }));
            }
            "--runs" => {
                runs = number
                    .filter(|&runs| runs > 0)
                    .ok_or_else(|| format!("--runs takes a whole number above 0, not `{value}`"))?;
            }
            _ => {
                memory_events = number.ok_or_else(|| format!("--memory-events takes a whole number, not `{value}`"))?;
            }
        }
    }
    Ok(Args::Runs { runs, only, memory_events })
}

/// `--profile-status`'s `GATEWAY:WAY:CALLS`.
fn parse_profile(value: &str) -> std::result::Result<Args, String> {
    let bad = || format!("--profile-status takes GATEWAY:WAY:CALLS (cuan10pay:trait:1100, say), not `{value}`");
    let mut parts = value.split(':');
    let (Some(gateway), Some(way), Some(calls), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let gateway = gateway.parse().map_err(|_| bad())?;
    let hand = match way {
        "trait" => false,
        "hand" => true,
        _ => return Err(bad()),
    };
    Ok(Args::Profile { gateway, hand, calls: calls.parse().map_err(|_| bad())? })
}

/// A sandbox started on a thread and runtime of its own, so that the measuring thread measures
/// only the clients; it runs until the process ends. Returns what `read` takes from its handle
/// (its URLs).
fn sandbox_on_its_own_thread<T: Send + 'static>(
    read: impl FnOnce(&gerbang_sandbox::SandboxHandle) -> T + Send + 'static,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        if let Ok(runtime) = runtime {
            runtime.block_on(async {
                if let Ok(handle) = Sandbox::builder().start().await {
                    let _ = tx.send(read(&handle));
                    std::future::pending::<()>().await;
                }
            });
        }
    });
    Ok(rx.recv_timeout(Duration::from_secs(10)).map_err(|_| "the sandbox did not start")?)
}

/// The servers every run shares: the sandbox (on its own thread and runtime, so that the
/// clients' thread measures only them) and, where installed, private Redis and Postgres, started
/// when the receiver rows first need them (after the first round trips, as before `--runs`).
struct Servers {
    /// Each gateway's base URL on the sandbox, in the order of [`ProviderId::ALL`].
    base_urls: Vec<String>,
    stores: Option<Stores>,
}

struct Stores {
    redis: Option<gerbang_testkit::RedisServer>,
    postgres: Option<gerbang_testkit::PostgresServer>,
}

impl Servers {
    fn start() -> Result<Self> {
        let base_urls = sandbox_on_its_own_thread(|handle| ProviderId::ALL.map(|p| handle.base_url(p)).to_vec())?;
        Ok(Self { base_urls, stores: None })
    }

    /// The base URL a client of `provider` is configured with: the sandbox's, with its prefix.
    fn base_url(&self, provider: ProviderId) -> String {
        let index = ProviderId::ALL.iter().position(|&p| p == provider);
        index.and_then(|index| self.base_urls.get(index)).cloned().unwrap_or_default()
    }

    /// Where the store servers listen, started if they were not yet.
    fn store_urls(&mut self) -> engine::Urls {
        let stores = self.stores();
        engine::Urls {
            redis: stores.redis.as_ref().map(gerbang_testkit::RedisServer::url),
            postgres: stores.postgres.as_ref().map(gerbang_testkit::PostgresServer::url),
        }
    }

    /// The store servers, started on first use; one that is not installed is `None`, and its
    /// inbox's row is left out.
    fn stores(&mut self) -> &Stores {
        self.stores.get_or_insert_with(|| {
            let stores = Stores {
                redis: gerbang_testkit::RedisServer::start(),
                postgres: gerbang_testkit::PostgresServer::start(),
            };
            if stores.redis.is_none() || stores.postgres.is_none() {
                println!("(redis-server or Postgres is not installed: the receiver row of its inbox is left out)\n");
            }
            stores
        })
    }
}

/// One whole measurement: every row of the table.
fn measure(servers: &mut Servers, run: usize, only: Only) -> Result<Vec<Row>> {
    let mut rows = Vec::new();

    if only.wants(Part::Status) {
        for status in status::status_calls(|provider| servers.base_url(provider), run)? {
            let of = |way: &str| {
                format!(
                    "{} status via {way} vs hand-written reqwest (median of {}, interleaved)",
                    status.gateway,
                    table::number(status::CALLS as f64)
                )
            };
            for (way, median, ratio) in
                [("the trait", status.via_trait, "trait/hand"), ("the typed client", status.typed, "typed/hand")]
            {
                rows.push(
                    Row::compare(of(way), micros(median), micros(status.hand), ratio_of(median, status.hand), ratio)
                        .goal(Goal::AtMost(1.02)),
                );
            }
            if let Some(transport) = status.transport {
                rows.push(Row::compare(
                    "  of which the transport: gerbang-core, hand signing and parsing",
                    micros(transport),
                    micros(status.hand),
                    ratio_of(transport, status.hand),
                    "core/hand",
                ));
                let (ours, hand) = status::parsing()?;
                rows.push(Row::compare(
                    "  of which parsing the answer: lenient typed Deposit vs serde_json::Value",
                    nanos(ours),
                    nanos(hand),
                    ratio_of(ours, hand),
                    "ours/hand",
                ));
            }
        }
    }
    if only.wants(Part::Cpu) {
        rows.extend(status::cpu::rows(run)?);
    }
    if only == Only(Some(Part::Engine)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rows.extend(engine::rows(&runtime, &servers.store_urls(), run)?);
    }
    if !only.wants(Part::Others) {
        return Ok(rows);
    }

    let hmac = crypto::hmac_signing();
    rows.push(
        Row::compare(
            "HMAC-SHA256 request signing (Cuan10pay): gerbang-signing vs hmac",
            nanos(hmac.ours),
            nanos(hmac.bare),
            hmac.throughput_ratio(),
            "bare/ours",
        )
        .goal(Goal::AtLeast(1.0)),
    );
    let rsa = crypto::RsaSetup::new()?;
    let verify = crypto::rsa_verify(&rsa);
    rows.push(
        Row::compare(
            "RSA-2048 verify (SHA256withRSA, base64): gerbang-signing vs aws-lc-rs, parsed key",
            micros(verify.ours),
            micros(verify.bare),
            verify.throughput_ratio(),
            "bare/ours",
        )
        .goal(Goal::AtLeast(0.9)),
    );
    let sign = crypto::rsa_sign(&rsa);
    rows.push(
        Row::compare(
            "RSA-2048 sign (SHA256withRSA, base64): gerbang-signing vs aws-lc-rs",
            micros(sign.ours),
            micros(sign.bare),
            sign.throughput_ratio(),
            "bare/ours",
        )
        .goal(Goal::AtLeast(0.9)),
    );

    let per_second = webhooks::cuan10pay()?;
    rows.push(
        Row::alone("Cuan10pay webhook verify + parse (HMAC), one core", per_second_text(per_second), per_second, "/s")
            .goal(Goal::AtLeast(1_000_000.0)),
    );
    let per_second = webhooks::cashin()?;
    rows.push(
        Row::alone(
            "Cash In webhook verify + parse (RSA-2048), one core",
            per_second_text(per_second),
            per_second,
            "/s",
        )
        .goal(Goal::AtLeast(40_000.0)),
    );

    let bodies = receiver::bodies(run, RECEIVED);
    let bare = receiver::bare(&bodies)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut inboxes: Vec<(&str, receiver::Latencies)> = Vec::new();
    let memory = runtime.block_on(receiver::receiver(&bodies, Arc::new(gerbang_core::inbox::MemoryInbox::new())))?;
    inboxes.push(("memory", memory));
    let stores = servers.stores();
    if let Some(redis) = &stores.redis {
        let inbox = runtime.block_on(gerbang_redis::RedisInbox::connect(&redis.url()))?;
        inboxes.push(("Redis", runtime.block_on(receiver::receiver(&bodies, Arc::new(inbox)))?));
    }
    if let Some(postgres) = &stores.postgres {
        let inbox = runtime.block_on(gerbang_postgres::PostgresInbox::connect(&postgres.url()))?;
        inboxes.push(("Postgres", runtime.block_on(receiver::receiver(&bodies, Arc::new(inbox)))?));
    }
    for (name, latencies) in &inboxes {
        rows.push(Row::compare(
            format!("webhook receiver per event, {name} inbox, vs the bare verifier"),
            latencies.summary(),
            bare.summary(),
            latencies.percentile(0.5).as_secs_f64() / bare.percentile(0.5).as_secs_f64(),
            "p50, ours/bare",
        ));
    }
    if only.wants(Part::Engine) {
        rows.extend(engine::rows(&runtime, &servers.store_urls(), run)?);
    }
    let stores = servers.stores();

    // Other events than the inbox rows', so that a shared inbox does not find them done.
    let bodies = receiver::bodies(run + 0x80, OUTBOXED);
    let mut outboxes = vec![(
        "memory",
        runtime.block_on(outbox::rates(
            &bodies,
            Arc::new(gerbang_core::inbox::MemoryInbox::new()),
            Arc::new(gerbang_core::outbox::MemoryOutbox::new()),
        ))?,
    )];
    if let Some(redis) = &stores.redis {
        let inbox = runtime.block_on(gerbang_redis::RedisInbox::connect(&redis.url()))?;
        let outbox = runtime
            .block_on(gerbang_redis::RedisOutbox::builder().name(format!("bench{run}")).connect(&redis.url()))?;
        outboxes.push(("Redis", runtime.block_on(outbox::rates(&bodies, Arc::new(inbox), Arc::new(outbox)))?));
    }
    if let Some(postgres) = &stores.postgres {
        let inbox = runtime.block_on(gerbang_postgres::PostgresInbox::connect(&postgres.url()))?;
        let table = format!("gerbang_outbox_bench{run}");
        let outbox =
            runtime.block_on(gerbang_postgres::PostgresOutbox::builder().table(table).connect(&postgres.url()))?;
        outboxes.push(("Postgres", runtime.block_on(outbox::rates(&bodies, Arc::new(inbox), Arc::new(outbox)))?));
    }
    for (name, rates) in outboxes.drain(..) {
        rows.push(
            Row::compare(
                format!("outbox, {name}: delivered per second vs the receiver enqueueing ({OUTBOXED} events)"),
                per_second_text(rates.delivered),
                per_second_text(rates.received),
                rates.delivered / rates.received,
                "delivered/received",
            )
            .goal(Goal::AtLeast(0.5)),
        );
    }

    rows.extend(reconcile::rows(servers, run)?);

    let page = dashboard::list_page()?;
    let slowest = page.server_max.as_secs_f64() * 1e3;
    rows.push(
        Row::alone(
            format!(
                "sandbox dashboard list page, {} payments ({} rows, {} KiB): slowest server render",
                dashboard::PAYMENTS,
                page.rows,
                page.bytes / 1024
            ),
            format!(
                "{slowest:.2} ms (median {:.2} ms; round trip {:.2} ms)",
                page.server_p50.as_secs_f64() * 1e3,
                page.round_trip_p50.as_secs_f64() * 1e3
            ),
            slowest,
            "ms",
        )
        .goal(Goal::AtMost(200.0)),
    );
    Ok(rows)
}

fn main() -> Result<()> {
    if let Some(served) = status::cpu::serve_if_child() {
        return served;
    }
    if let Some(measured) = memory::measure_if_child() {
        return Ok(measured?);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (runs, only, memory_events) = match parse_args(&args)? {
        Args::Help => {
            print!("{USAGE}");
            return Ok(());
        }
        Args::Runs { runs, only, memory_events } => (runs, only, memory_events),
        Args::Profile { gateway, hand, calls } => return status::cpu::profile(gateway, hand, calls),
    };
    let mut servers = Servers::start()?;
    let mut all = Vec::with_capacity(runs);
    for run in 1..=runs {
        println!("gerbang benchmarks, run {run} of {runs} (release build, this machine)\n");
        let rows = measure(&mut servers, run, only)?;
        println!("{}", table::render(&rows));
        all.push(rows);
    }
    if runs > 1 {
        println!("spread over {runs} runs (ratio, or the figure where there is none)\n");
        println!("{}", table::spread(&all));
    }
    if memory_events > 0 && only.wants(Part::Others) {
        println!("receiver memory, measured once ({} events a store)\n", table::number(memory_events as f64));
        println!("{}", table::render(&memory::rows(&servers.store_urls(), memory_events)?));
    }

    Ok(())
}

fn ratio_of(ours: Duration, baseline: Duration) -> f64 {
    ours.as_secs_f64() / baseline.as_secs_f64()
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn nanos(d: Duration) -> String {
    format!("{:.0} ns", d.as_secs_f64() * 1e9)
}

fn per_second_text(per_second: f64) -> String {
    format!("{} /s", table::number(per_second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_events_default_to_a_million_and_may_be_zero() {
        assert_eq!(
            parse_args(&args(&["--memory-events", "20000", "--runs=2"])),
            Ok(Args::Runs { runs: 2, only: Only(None), memory_events: 20_000 })
        );
        assert_eq!(
            parse_args(&args(&["--memory-events=0"])),
            Ok(Args::Runs { runs: 1, only: Only(None), memory_events: 0 })
        );
        assert!(parse_args(&args(&["--memory-events"])).is_err());
    }

    #[test]
    fn profile_status_names_a_gateway_a_way_and_a_count() {
        assert_eq!(
            parse_args(&args(&["--profile-status", "crypto-invoice:hand:1100"])),
            Ok(Args::Profile { gateway: ProviderId::CryptoInvoice, hand: true, calls: 1_100 })
        );
        assert_eq!(
            parse_args(&args(&["--profile-status", "qris:trait:100"])),
            Ok(Args::Profile { gateway: ProviderId::Qris, hand: false, calls: 100 })
        );
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn only_names_one_part_and_wants_that_part_alone() {
        let events = memory::DEFAULT_EVENTS;
        assert_eq!(
            parse_args(&args(&["--only", "cpu", "--runs", "2"])),
            Ok(Args::Runs { runs: 2, only: Only(Some(Part::Cpu)), memory_events: events })
        );
        assert_eq!(
            parse_args(&args(&["--only=status"])),
            Ok(Args::Runs { runs: 1, only: Only(Some(Part::Status)), memory_events: events })
        );
        let cpu = Only(Some(Part::Cpu));
        assert!(cpu.wants(Part::Cpu) && !cpu.wants(Part::Status) && !cpu.wants(Part::Others));
        assert!([Part::Status, Part::Cpu, Part::Engine, Part::Others].into_iter().all(|part| Only(None).wants(part)));
        let engine = Only(Some(Part::Engine));
        assert!(engine.wants(Part::Engine) && !engine.wants(Part::Others));
        assert_eq!(
            parse_args(&args(&["--only", "engine"])),
            Ok(Args::Runs { runs: 1, only: engine, memory_events: events })
        );
    }

    #[test]
    fn runs_default_to_one_and_take_a_positive_number() {
        let all = |runs| Ok(Args::Runs { runs, only: Only(None), memory_events: memory::DEFAULT_EVENTS });
        assert_eq!(parse_args(&[]), all(1));
        assert_eq!(parse_args(&args(&["--runs", "3"])), all(3));
        assert_eq!(parse_args(&args(&["--runs=5"])), all(5));
        assert_eq!(parse_args(&args(&["--help"])), Ok(Args::Help));
        for bad in [
            &["--runs"][..],
            &["--runs", "0"],
            &["--runs", "x"],
            &["--fast"],
            &["--only"],
            &["--only", "rsa"],
            &["--memory-events", "-1"],
            &["--profile-status", "cuan10pay:trait"],
            &["--profile-status", "paypal:trait:10"],
            &["--profile-status", "qris:both:10"],
            &["--profile-status", "qris:hand:ten"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
