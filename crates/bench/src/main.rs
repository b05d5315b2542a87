//! `cargo xtask bench`: what the SDK costs over doing the same work by hand, measured in one run
//! on this machine so the ratios compare like with like.
//!
//! 1. A Cuan10pay deposit-status round trip through the client, against a hand-written reqwest
//!    call that signs and parses the same way; both against the same sandbox on loopback,
//!    interleaved call by call. Goal: SDK / hand-written median ≤ 1.03.
//! 2. Request signing through gerbang-signing against the bare `hmac` crate on the same bytes.
//!    Goal: bare / SDK time ≥ 1.0 (no overhead).
//! 3. Webhook verification and parsing per second on one core. Goal: ≥ 500 000.
//! 4. The webhook receiver (verify, claim in the inbox, handler, mark done) per event, next to
//!    the bare verifier on the same events, for each inbox: memory, and Redis and Postgres on
//!    private servers started for the run (over loopback: two round trips per event).
//! 5. The sandbox dashboard's list page with 1 000 payments: the server's render time, as the
//!    page reports it (`Server-Timing`), and the round trip. Goal: under 200 ms of server time.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout)] // a benchmark's job is to print its figures

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gerbang_core::http::{HeaderMap, Method, StatusCode};
use gerbang_core::transport::{Call, HttpRequest, HttpResponse};
use gerbang_core::{FixedClock, HttpClient, ProviderId, WebhookRequest};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, Deposit, DepositRequest, WebhookVerifier};
use gerbang_sandbox::Sandbox;
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const ROUND_TRIPS: usize = 3_000;
const WARM_UP: usize = 200;
const SIGN_BATCHES: usize = 200;
const SIGN_PER_BATCH: usize = 2_000;
const WEBHOOKS: usize = 1_000_000;
const RECEIVED: usize = 20_000;

mod dashboard;
mod receiver;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// The deposit answer as the hand-written call reads it: the same fields the SDK types.
#[derive(serde::Deserialize)]
#[allow(dead_code)] // read to parse like the SDK does, not used
struct HandDeposit {
    deposit_id: String,
    channel_name: Option<String>,
    amount: serde_json::Number,
    fee: Option<serde_json::Number>,
    total: Option<serde_json::Number>,
    status: String,
    payment_code: Option<String>,
    checkout_url: Option<String>,
    created_at: Option<String>,
}

#[derive(serde::Deserialize)]
struct HandEnvelope {
    status: String,
    data: HandDeposit,
}

/// The signature as a merchant would compute it without the SDK: the bare `hmac` crate.
fn hand_signature(timestamp: u64, path: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(PRIVATE_KEY.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("{timestamp}GET{path}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// What a merchant would write without the SDK: sign, send, check, parse.
async fn hand_written_status(http: &reqwest::Client, base: &str, deposit_id: &str) -> Result<HandDeposit> {
    let path = format!("/v1/deposit_status?ref={deposit_id}");
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let signature = hand_signature(timestamp, &path);
    let response = http
        .get(format!("{base}{path}"))
        .header("X-API-KEY", API_KEY)
        .header("X-TIMESTAMP", timestamp.to_string())
        .header("X-SIGNATURE", signature)
        .send()
        .await?;
    let ok = response.status().is_success();
    let body = response.bytes().await?;
    let envelope: HandEnvelope = serde_json::from_slice(&body)?;
    if !ok || envelope.status != "success" {
        return Err("the gateway refused the call".into());
    }
    Ok(envelope.data)
}

/// Medians of the three ways of making the same call.
struct RoundTrip {
    sdk: Duration,
    hand: Duration,
    transport: Duration,
}

/// gerbang-core's transport with the hand-written signing and parsing: what the transport alone
/// adds over bare reqwest (its timeouts, retry bookkeeping, tracing span).
async fn transport_only_status(transport: &HttpClient, base: &str, deposit_id: &str) -> Result<HandDeposit> {
    let path = format!("/v1/deposit_status?ref={deposit_id}");
    let url: reqwest::Url = format!("{base}{path}").parse()?;
    let response = transport
        .send(Call::safe(ProviderId::Cuan10pay, "deposit_status"), || {
            let timestamp =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
            HttpRequest::new(Method::GET, url.clone())
                .header("x-api-key", API_KEY)?
                .header("x-timestamp", &timestamp.to_string())?
                .header("x-signature", &hand_signature(timestamp, &path))
        })
        .await?;
    let envelope: HandEnvelope = serde_json::from_slice(&response.body)?;
    if !response.status.is_success() || envelope.status != "success" {
        return Err("the gateway refused the call".into());
    }
    Ok(envelope.data)
}

fn round_trip(base: String) -> Result<RoundTrip> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = Cuan10payClient::new(
            Cuan10payConfig::builder(API_KEY, PRIVATE_KEY).base_url(&base).without_rate_budget().build()?,
        );
        // The hand-written client gets the timeouts the SDK sets by default: a careful merchant sets
        // them too, and without them the comparison would measure the timers, not the SDK.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()?;
        let id = client.deposit_create(&DepositRequest::new("QRIS", 50_000)).await?.deposit_id;
        let transport = HttpClient::new();
        let (mut sdk, mut hand, mut bare_transport) =
            (Vec::with_capacity(ROUND_TRIPS), Vec::with_capacity(ROUND_TRIPS), Vec::with_capacity(ROUND_TRIPS));
        for i in 0..WARM_UP + ROUND_TRIPS {
            // Alternate which goes first, so neither always meets a warmer connection or cache.
            let sdk_first = i % 2 == 0;
            let mut times = [Duration::ZERO; 3];
            for turn in 0..2 {
                let started = Instant::now();
                if (turn == 0) == sdk_first {
                    black_box(client.deposit_status(&id).await?);
                    times[0] = started.elapsed();
                } else {
                    black_box(hand_written_status(&http, &base, &id).await?);
                    times[1] = started.elapsed();
                }
            }
            let started = Instant::now();
            black_box(transport_only_status(&transport, &base, &id).await?);
            times[2] = started.elapsed();
            if i >= WARM_UP {
                sdk.push(times[0]);
                hand.push(times[1]);
                bare_transport.push(times[2]);
            }
        }
        Ok(RoundTrip { sdk: median(&mut sdk), hand: median(&mut hand), transport: median(&mut bare_transport) })
    })
}

fn signing() -> (Duration, Duration) {
    let key = b"cp_live_0123456789abcdef0123456789abcdef";
    let body = br#"{"channel_code":"QRIS","amount":150000,"notes":"ORDER-1001","customer_name":"Budi Santoso","return_url":"https://shop.example.com/thanks"}"#;
    let (path, timestamp) = ("/v1/deposit_create", 1_730_689_200_i64);
    let (mut ours, mut bare) = (Vec::with_capacity(SIGN_BATCHES), Vec::with_capacity(SIGN_BATCHES));
    for _ in 0..SIGN_BATCHES {
        let started = Instant::now();
        for _ in 0..SIGN_PER_BATCH {
            black_box(gerbang_signing::cuan10pay::sign_request(
                black_box(key),
                timestamp,
                "POST",
                path,
                black_box(body),
            ));
        }
        ours.push(started.elapsed());
        let started = Instant::now();
        for _ in 0..SIGN_PER_BATCH {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(black_box(key))
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b"POST");
            mac.update(path.as_bytes());
            mac.update(black_box(body));
            black_box(hex::encode(mac.finalize().into_bytes()));
        }
        bare.push(started.elapsed());
    }
    (median(&mut ours) / SIGN_PER_BATCH as u32, median(&mut bare) / SIGN_PER_BATCH as u32)
}

fn webhooks() -> Result<f64> {
    let now = 1_700_000_000;
    let verifier = WebhookVerifier::new(PRIVATE_KEY).with_clock(Arc::new(FixedClock::at_unix(now)));
    let body = verifier.signed_body("CP-20251121-38B575", "PAID", 150_000, now);
    let headers = HeaderMap::new();
    let request = WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body.as_bytes());
    verifier.verify(&request)?; // it must verify, or the loop measures the error path
    let started = Instant::now();
    for _ in 0..WEBHOOKS {
        black_box(verifier.verify(black_box(&request))?);
    }
    Ok(WEBHOOKS as f64 / started.elapsed().as_secs_f64())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets goal" } else { "MISSES goal" }
}

/// The answer parse alone: the SDK's lenient typed `Deposit` against the hand-written struct.
fn parsing() -> Result<(Duration, Duration)> {
    let body = br#"{"status":"success","message":"ok","data":{"deposit_id":"CP-20251121-38B575","channel_name":"QRIS","amount":50000,"fee":350,"total":50350,"status":"pending","payment_code":"00020101021226470014ID.CO.QRIS.WWW0118936000000000000000030","checkout_url":"http://127.0.0.1:1/cuan10pay/checkout/CP-20251121-38B575","link_url":"http://127.0.0.1:1/cuan10pay/pay.php?ref=CP-20251121-38B575","payment_instructions":"Scan the QR","created_at":"2025-11-21 10:00:00","paid_at":null}}"#;
    let response = HttpResponse::new(StatusCode::OK, HeaderMap::new(), body.to_vec());
    let (mut ours, mut hand) = (Vec::with_capacity(SIGN_BATCHES), Vec::with_capacity(SIGN_BATCHES));
    for _ in 0..SIGN_BATCHES {
        let started = Instant::now();
        for _ in 0..SIGN_PER_BATCH {
            black_box(gerbang_cuan10pay::parse_answer::<Deposit>("deposit_status", black_box(&response))?);
        }
        ours.push(started.elapsed());
        let started = Instant::now();
        for _ in 0..SIGN_PER_BATCH {
            black_box(serde_json::from_slice::<HandEnvelope>(black_box(body))?);
        }
        hand.push(started.elapsed());
    }
    Ok((median(&mut ours) / SIGN_PER_BATCH as u32, median(&mut hand) / SIGN_PER_BATCH as u32))
}

fn main() -> Result<()> {
    // The sandbox runs on its own thread and runtime, so the clients' thread measures only them.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        if let Ok(runtime) = runtime {
            runtime.block_on(async {
                if let Ok(handle) = Sandbox::builder().start().await {
                    let _ = tx.send(handle.base_url(ProviderId::Cuan10pay));
                    std::future::pending::<()>().await;
                }
            });
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(10)).map_err(|_| "the sandbox did not start")?;

    println!("gerbang benchmarks (release build, one run, this machine)\n");
    let RoundTrip { sdk, hand, transport } = round_trip(base)?;
    let ratio = sdk.as_secs_f64() / hand.as_secs_f64();
    println!("1. deposit status round trip, {ROUND_TRIPS} calls each, interleaved, loopback sandbox, same timeouts");
    println!(
        "   SDK median {:>9.1} µs | hand-written reqwest {:>9.1} µs | ratio SDK/hand {ratio:.3} (goal <= 1.03: {})",
        micros(sdk),
        micros(hand),
        verdict(ratio <= 1.03)
    );
    println!(
        "   of which: gerbang-core transport with hand signing and parsing {:>9.1} µs (ratio {:.3})",
        micros(transport),
        transport.as_secs_f64() / hand.as_secs_f64()
    );
    let (ours, hand_parse) = parsing()?;
    println!(
        "   of which: answer parsing, lenient typed Deposit {:>7.0} ns | hand-written struct {:>7.0} ns",
        nanos(ours),
        nanos(hand_parse)
    );

    let (ours, bare) = signing();
    let ratio = bare.as_secs_f64() / ours.as_secs_f64();
    println!("2. Cuan10pay request signing, {} signatures each", SIGN_BATCHES * SIGN_PER_BATCH);
    println!(
        "   gerbang-signing {:>7.1} ns | bare hmac crate {:>7.1} ns | ratio bare/ours {ratio:.3} (goal >= 1.0: {})",
        nanos(ours),
        nanos(bare),
        verdict(ratio >= 1.0)
    );

    let per_second = webhooks()?;
    println!("3. Cuan10pay webhook verify + parse, one core, {WEBHOOKS} webhooks");
    println!("   {per_second:>12.0} per second (goal >= 500000: {})", verdict(per_second >= 500_000.0));

    println!("4. webhook receiver per event, {RECEIVED} distinct Cuan10pay events, one task");
    let bodies = receiver::bodies(RECEIVED);
    let bare = receiver::bare(&bodies)?;
    print_latencies("bare verifier", &bare, None);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let memory = runtime.block_on(receiver::receiver(&bodies, Arc::new(gerbang_core::inbox::MemoryInbox::new())))?;
    print_latencies("receiver, memory inbox", &memory, Some(&bare));
    // The shared inboxes, each on a private server started for the run (skipped, saying why,
    // where the server is not installed).
    if let Some(redis) = gerbang_testkit::RedisServer::start() {
        let inbox = runtime.block_on(gerbang_redis::RedisInbox::connect(&redis.url()))?;
        let latencies = runtime.block_on(receiver::receiver(&bodies, Arc::new(inbox)))?;
        print_latencies("receiver, Redis inbox", &latencies, Some(&bare));
    }
    if let Some(postgres) = gerbang_testkit::PostgresServer::start() {
        let inbox = runtime.block_on(gerbang_postgres::PostgresInbox::connect(&postgres.url()))?;
        let latencies = runtime.block_on(receiver::receiver(&bodies, Arc::new(inbox)))?;
        print_latencies("receiver, Postgres inbox", &latencies, Some(&bare));
    }

    let page = dashboard::list_page()?;
    println!(
        "5. sandbox dashboard list page, {} payments made through the SDK, {} rows rendered",
        dashboard::PAYMENTS,
        page.rows
    );
    println!(
        "   server render (Server-Timing) median {:>7.2} ms | slowest {:>7.2} ms | round trip median {:>7.2} ms | {} KiB (goal < 200 ms: {})",
        page.server_p50.as_secs_f64() * 1e3,
        page.server_max.as_secs_f64() * 1e3,
        page.round_trip_p50.as_secs_f64() * 1e3,
        page.bytes / 1024,
        verdict(page.server_max < Duration::from_millis(200))
    );
    Ok(())
}

fn print_latencies(label: &str, ours: &receiver::Latencies, baseline: Option<&receiver::Latencies>) {
    let ratio = baseline.map(|b| {
        format!(" | p50 ratio to bare {:.2}", ours.percentile(0.5).as_secs_f64() / b.percentile(0.5).as_secs_f64())
    });
    println!(
        "   {label:<28} {:>10.0} events/s | p50 {:>7.2} µs | p99 {:>7.2} µs{}",
        ours.per_second(),
        micros(ours.percentile(0.5)),
        micros(ours.percentile(0.99)),
        ratio.unwrap_or_default()
    );
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn nanos(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}
