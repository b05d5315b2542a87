//! Benchmark 5: the sandbox dashboard's list page with 1 000 payments. The server's own render
//! time, as the page reports it in `Server-Timing` (collecting every gateway's payments,
//! sorting, fingerprinting, writing the HTML), and the whole round trip over loopback.

use std::time::{Duration, Instant};

use gerbang_core::ProviderId;
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, DepositRequest};
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};

use crate::Result;

/// How many payments the page lists.
pub(crate) const PAYMENTS: usize = 1_000;
const WARM_UP: usize = 20;
const RENDERS: usize = 200;

/// What the list page cost.
pub(crate) struct ListPage {
    pub(crate) server_p50: Duration,
    pub(crate) server_max: Duration,
    pub(crate) round_trip_p50: Duration,
    pub(crate) bytes: usize,
    pub(crate) rows: usize,
}

/// A sandbox of its own (on its own thread, so that the client side is not measured with it),
/// `PAYMENTS` deposits made through the SDK, then the page fetched `RENDERS` times.
pub(crate) fn list_page() -> Result<ListPage> {
    let (root, base) =
        crate::sandbox_on_its_own_thread(|handle| (handle.url(), handle.base_url(ProviderId::Cuan10pay)))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = Cuan10payClient::new(
            Cuan10payConfig::builder(API_KEY, PRIVATE_KEY).base_url(&base).without_rate_budget().build()?,
        );
        for i in 0..PAYMENTS {
            let mut request = DepositRequest::new(if i % 3 == 0 { "BCA" } else { "QRIS" }, 10_000 + i as i64 * 100);
            request.notes = Some(format!("ORDER-{i:05} <kopi & teh>"));
            client.deposit_create(&request).await?;
        }
        let http = reqwest::Client::new();
        let (mut server, mut round_trips) = (Vec::with_capacity(RENDERS), Vec::with_capacity(RENDERS));
        let mut page = String::new();
        for i in 0..WARM_UP + RENDERS {
            let started = Instant::now();
            let response = http.get(format!("{root}/")).send().await?;
            let timing = response
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("render;dur="))
                .and_then(|ms| ms.parse::<f64>().ok())
                .ok_or("the page did not say its render time")?;
            page = response.text().await?;
            if i >= WARM_UP {
                round_trips.push(started.elapsed());
                server.push(Duration::from_secs_f64(timing / 1000.0));
            }
        }
        let rows = page.matches("<tr data-payment=").count();
        if rows != PAYMENTS {
            return Err(format!("the page lists {rows} payments, not {PAYMENTS}").into());
        }
        server.sort_unstable();
        let server_max = server.last().copied().unwrap_or_default();
        Ok(ListPage {
            server_p50: crate::median(&mut server),
            server_max,
            round_trip_p50: crate::median(&mut round_trips),
            bytes: page.len(),
            rows,
        })
    })
}
