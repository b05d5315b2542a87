//! A Cuan10pay deposit-status round trip through the client, against a hand-written reqwest call
//! that signs and parses the same way, and against gerbang-core's transport with the hand-written
//! signing and parsing; all against the same sandbox on loopback, interleaved call by call.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gerbang_core::http::{HeaderMap, Method, StatusCode};
use gerbang_core::transport::{Call, HttpRequest, HttpResponse};
use gerbang_core::{HttpClient, ProviderId};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, Deposit, DepositRequest};
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{Result, median};

/// Calls each way per run.
pub(crate) const ROUND_TRIPS: usize = 3_000;
const WARM_UP: usize = 200;
const PARSE_BATCHES: usize = 200;
const PARSE_PER_BATCH: usize = 2_000;

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
pub(crate) struct RoundTrip {
    pub(crate) sdk: Duration,
    pub(crate) hand: Duration,
    pub(crate) transport: Duration,
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

/// The medians of [`ROUND_TRIPS`] calls each way, against the sandbox at `base`.
pub(crate) fn round_trip(base: &str) -> Result<RoundTrip> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = Cuan10payClient::new(
            Cuan10payConfig::builder(API_KEY, PRIVATE_KEY).base_url(base).without_rate_budget().build()?,
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
                    black_box(hand_written_status(&http, base, &id).await?);
                    times[1] = started.elapsed();
                }
            }
            let started = Instant::now();
            black_box(transport_only_status(&transport, base, &id).await?);
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

/// The answer parse alone: the SDK's lenient typed `Deposit` against the hand-written struct.
pub(crate) fn parsing() -> Result<(Duration, Duration)> {
    let body = br#"{"status":"success","message":"ok","data":{"deposit_id":"CP-20251121-38B575","channel_name":"QRIS","amount":50000,"fee":350,"total":50350,"status":"pending","payment_code":"00020101021226470014ID.CO.QRIS.WWW0118936000000000000000030","checkout_url":"http://127.0.0.1:1/cuan10pay/checkout/CP-20251121-38B575","link_url":"http://127.0.0.1:1/cuan10pay/pay.php?ref=CP-20251121-38B575","payment_instructions":"Scan the QR","created_at":"2025-11-21 10:00:00","paid_at":null}}"#;
    let response = HttpResponse::new(StatusCode::OK, HeaderMap::new(), body.to_vec());
    let (mut ours, mut hand) = (Vec::with_capacity(PARSE_BATCHES), Vec::with_capacity(PARSE_BATCHES));
    for _ in 0..PARSE_BATCHES {
        let started = Instant::now();
        for _ in 0..PARSE_PER_BATCH {
            black_box(gerbang_cuan10pay::parse_answer::<Deposit>("deposit_status", black_box(&response))?);
        }
        ours.push(started.elapsed());
        let started = Instant::now();
        for _ in 0..PARSE_PER_BATCH {
            black_box(serde_json::from_slice::<HandEnvelope>(black_box(body))?);
        }
        hand.push(started.elapsed());
    }
    Ok((median(&mut ours) / PARSE_PER_BATCH as u32, median(&mut hand) / PARSE_PER_BATCH as u32))
}
