//! Cuan10pay's status answer parsed alone: the SDK's lenient typed `Deposit` against
//! `serde_json::Value`, what the hand-written call parses into. Batches, so that the clock's own
//! cost is spread over many parses.

use std::hint::black_box;
use std::time::Duration;
use std::time::Instant;

use gerbang_core::http::{HeaderMap, StatusCode};
use gerbang_core::transport::HttpResponse;
use gerbang_cuan10pay::Deposit;

use crate::{Result, median};

const BATCHES: usize = 200;
const PER_BATCH: usize = 2_000;

/// The median time of one parse: the SDK's, and the hand-written one's.
pub(crate) fn parsing() -> Result<(Duration, Duration)> {
    let body = br#"{"status":"success","message":"ok","data":{"deposit_id":"CP-20251121-38B575","channel_name":"QRIS","amount":50000,"fee":350,"total":50350,"status":"pending","payment_code":"00020101021226470014ID.CO.QRIS.WWW0118936000000000000000030","checkout_url":"http://127.0.0.1:1/cuan10pay/checkout/CP-20251121-38B575","link_url":"http://127.0.0.1:1/cuan10pay/pay.php?ref=CP-20251121-38B575","payment_instructions":"Scan the QR","created_at":"2025-11-21 10:00:00","paid_at":null}}"#;
    let response = HttpResponse::new(StatusCode::OK, HeaderMap::new(), body.to_vec());
    let (mut ours, mut hand) = (Vec::with_capacity(BATCHES), Vec::with_capacity(BATCHES));
    for _ in 0..BATCHES {
        let started = Instant::now();
        for _ in 0..PER_BATCH {
            black_box(gerbang_cuan10pay::parse_answer::<Deposit>("deposit_status", black_box(&response))?);
        }
        ours.push(started.elapsed());
        let started = Instant::now();
        for _ in 0..PER_BATCH {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(body))?);
        }
        hand.push(started.elapsed());
    }
    Ok((median(&mut ours) / PER_BATCH as u32, median(&mut hand) / PER_BATCH as u32))
}
