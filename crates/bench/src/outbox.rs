//! The outbox: how fast a deliverer empties it, next to how fast the receiver fills it, per
//! store. The receiver's rate is the receiver enqueueing each event (verify, claim, enqueue,
//! complete); the deliverer's is taking, handing each message to a sink that takes it at once,
//! and settling it, in rounds of its default batch. Issue 24's goal: delivered per second ≥ 0.5×
//! the receiver's own rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::Inbox;
use gerbang_core::outbox::{Message, Outbox};
use gerbang_core::{FixedClock, PaymentProvider};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};
use gerbang_webhooks::outbox::{Deliverer, Enqueue, Sink};
use gerbang_webhooks::{HandlerError, Outcome, Receiver};

const NOW: i64 = 1_700_000_000;
const PATH: &str = "/webhooks/cuan10pay";

/// Events per second in, and delivered per second out.
pub(crate) struct Rates {
    pub(crate) received: f64,
    pub(crate) delivered: f64,
}

/// A sink that takes every message at once, counting them.
struct Counting(Arc<AtomicUsize>);

#[gerbang_core::async_trait]
impl Sink for Counting {
    async fn deliver(&self, message: &Message) -> Result<String, HandlerError> {
        std::hint::black_box(message);
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok("200 OK".to_owned())
    }
}

/// Receives `bodies` into `outbox` (through `inbox`), then delivers them all.
pub(crate) async fn rates(bodies: &[String], inbox: Arc<dyn Inbox>, outbox: Arc<dyn Outbox>) -> Result<Rates, String> {
    let config = Cuan10payConfig::builder(API_KEY, PRIVATE_KEY)
        .clock(Arc::new(FixedClock::at_unix(NOW)))
        .build()
        .map_err(|e| e.to_string())?;
    let gateway: Arc<dyn PaymentProvider> = Arc::new(Cuan10payClient::new(config));
    let receiver = Receiver::builder(inbox).provider(gateway).build(Enqueue::new(Arc::clone(&outbox)));
    let headers = HeaderMap::new();
    let started = Instant::now();
    for body in bodies {
        let delivery = receiver.receive("cuan10pay", Method::POST, PATH, &headers, body.as_bytes()).await;
        if !matches!(delivery.outcome, Outcome::Handled(_)) {
            return Err(format!("an event was not enqueued: {:?}", delivery.outcome));
        }
    }
    let received = bodies.len() as f64 / started.elapsed().as_secs_f64();

    let count = Arc::new(AtomicUsize::new(0));
    let deliverer = Deliverer::builder(outbox, Counting(Arc::clone(&count))).build().map_err(|e| e.to_string())?;
    let started = Instant::now();
    while count.load(Ordering::Relaxed) < bodies.len() {
        let round = deliverer.deliver_due().await.map_err(|e| e.to_string())?;
        if round.taken == 0 {
            if started.elapsed() > Duration::from_secs(120) {
                return Err(format!("the deliverer stopped at {} of {}", count.load(Ordering::Relaxed), bodies.len()));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let delivered = bodies.len() as f64 / started.elapsed().as_secs_f64();
    Ok(Rates { received, delivered })
}
