//! Three routers, as three replicas would run them, each with its own connection to one private
//! Redis (`RedisCircuitStore`), over the sandbox: failures seen through one open the circuit for
//! all; the others then skip that gateway without calling it; after the cool-down exactly one of
//! them sends the probe; a healthy probe closes the circuit for all. (Skipped, saying so, when
//! `redis-server` is not installed; failing when `CI=true`.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{cuan10pay_at, outcomes, qris_at, refusing_base_url};
use gerbang_core::{
    Capabilities, Channel, Error, Money, Payment, PaymentProvider, PaymentRequest, ProviderId, WebhookEvent,
    WebhookRequest, async_trait,
};
use gerbang_cuan10pay::Cuan10payClient;
use gerbang_redis::RedisCircuitStore;
use gerbang_router::{CircuitPolicy, Outcome, Routed, Router};
use gerbang_sandbox::{Sandbox, SandboxHandle};
use gerbang_testkit::RedisServer;

/// Cuan10pay as one replica sees it: down (every connection refused) while the shared switch
/// says so, else the sandbox's; it counts the creates it is asked for, so that a test can say
/// "never called".
struct Switchable {
    down: Arc<AtomicBool>,
    refusing: Cuan10payClient,
    up: Cuan10payClient,
    creates: AtomicUsize,
}

impl Switchable {
    fn creates(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
    }

    fn current(&self) -> &Cuan10payClient {
        if self.down.load(Ordering::SeqCst) { &self.refusing } else { &self.up }
    }
}

#[async_trait]
impl PaymentProvider for Switchable {
    fn id(&self) -> ProviderId {
        self.up.id()
    }
    fn capabilities(&self) -> Capabilities {
        self.up.capabilities()
    }
    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        self.current().create_payment(request).await
    }
    async fn payment_status(&self, id: &str) -> Result<Payment, Error> {
        self.current().payment_status(id).await
    }
    async fn cancel_payment(&self, id: &str) -> Result<Payment, Error> {
        self.current().cancel_payment(id).await
    }
    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        self.current().verify_webhook(request).await
    }
}

/// A QRIS payment that Cuan10pay and the QRIS gateway both take.
fn qris_order(reference: &str) -> PaymentRequest {
    PaymentRequest::builder(reference, Money::idr(50_000)).channel(Channel::Qris).build().unwrap()
}

/// One replica: its own Cuan10pay (switched by `down`), the QRIS gateway, and its own
/// connection to the shared circuits.
struct Replica {
    router: Router,
    cuan10pay: Arc<Switchable>,
}

async fn replica(
    sandbox: &SandboxHandle,
    redis: &RedisServer,
    down: &Arc<AtomicBool>,
    policy: CircuitPolicy,
) -> Replica {
    let cuan10pay = Arc::new(Switchable {
        down: down.clone(),
        refusing: cuan10pay_at(refusing_base_url().await),
        up: cuan10pay_at(sandbox.base_url(ProviderId::Cuan10pay)),
        creates: AtomicUsize::new(0),
    });
    let circuits = RedisCircuitStore::connect(&redis.url()).await.unwrap();
    let router = Router::builder()
        .gateway(cuan10pay.clone())
        .gateway(Arc::new(qris_at(sandbox)))
        .circuit_store(Arc::new(circuits))
        .circuit_policy(policy)
        .build()
        .unwrap();
    Replica { router, cuan10pay }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_routers_sharing_redis_see_one_circuit_and_send_one_probe() {
    let Some(redis) = RedisServer::start() else { return };
    let sandbox = Sandbox::builder().start().await.unwrap();
    let cool_down = Duration::from_millis(400);
    let policy = CircuitPolicy::default().failures(5).cool_down(cool_down);
    let down = Arc::new(AtomicBool::new(true));
    let replicas = [
        replica(&sandbox, &redis, &down, policy).await,
        replica(&sandbox, &redis, &down, policy).await,
        replica(&sandbox, &redis, &down, policy).await,
    ];
    let [a, b, c] = &replicas;
    let calls = || replicas.iter().map(|r| r.cuan10pay.creates()).collect::<Vec<_>>();

    // Five never-reached failures through A open the circuit.
    for n in 0..5 {
        let routed = a.router.route(&qris_order(&format!("R-A{n}"))).await.unwrap();
        assert_eq!(
            outcomes(&routed.attempts),
            [(ProviderId::Cuan10pay, Outcome::NeverReached), (ProviderId::Qris, Outcome::Created)]
        );
    }
    // B and C skip Cuan10pay without calling it.
    for (name, replica) in [("B", b), ("C", c)] {
        let routed = replica.router.route(&qris_order(&format!("R-{name}-OPEN"))).await.unwrap();
        assert_eq!(
            outcomes(&routed.attempts),
            [(ProviderId::Cuan10pay, Outcome::CircuitOpen), (ProviderId::Qris, Outcome::Created)]
        );
    }
    assert_eq!(calls(), [5, 0, 0], "only A called Cuan10pay");

    // After the cool-down, six routes at once, two per router: exactly one is the probe.
    tokio::time::sleep(cool_down + Duration::from_millis(100)).await;
    let orders: Vec<PaymentRequest> = (0..6).map(|n| qris_order(&format!("R-PROBE-{n}"))).collect();
    let routes =
        futures_util::future::join_all(orders.iter().enumerate().map(|(n, order)| replicas[n % 3].router.route(order)))
            .await;
    let routes: Vec<Routed> = routes.into_iter().map(Result::unwrap).collect();
    let probes = routes.iter().filter(|r| r.attempts[0].outcome == Outcome::NeverReached).count();
    let skipped = routes.iter().filter(|r| r.attempts[0].outcome == Outcome::CircuitOpen).count();
    assert_eq!((probes, skipped), (1, 5), "{:?}", routes.iter().map(|r| outcomes(&r.attempts)).collect::<Vec<_>>());
    assert_eq!(calls().iter().sum::<usize>(), 6, "one probe sent among the three routers: {:?}", calls());
    assert!(routes.iter().all(|r| r.payment.provider == ProviderId::Qris));

    // The failed probe opened it again for everyone, for a fresh cool-down.
    for (name, replica) in [("A", a), ("B", b), ("C", c)] {
        let routed = replica.router.route(&qris_order(&format!("R-{name}-AGAIN"))).await.unwrap();
        assert_eq!(routed.attempts[0].outcome, Outcome::CircuitOpen, "{name}: a failed probe opens it again");
    }

    // Cuan10pay is back: after the cool-down one router's probe creates, and that closes the
    // circuit for the others.
    down.store(false, Ordering::SeqCst);
    tokio::time::sleep(cool_down + Duration::from_millis(100)).await;
    let before = calls();
    let probe = c.router.route(&qris_order("R-C-BACK")).await.unwrap();
    assert_eq!(outcomes(&probe.attempts), [(ProviderId::Cuan10pay, Outcome::Created)]);
    for (name, replica) in [("A", a), ("B", b)] {
        let routed = replica.router.route(&qris_order(&format!("R-{name}-BACK"))).await.unwrap();
        assert_eq!(
            outcomes(&routed.attempts),
            [(ProviderId::Cuan10pay, Outcome::Created)],
            "{name}: closed for every replica"
        );
    }
    let after: Vec<usize> = calls().iter().zip(&before).map(|(now, then)| now - then).collect();
    assert_eq!(after, [1, 1, 1]);

    // Each route made exactly one payment.
    assert_eq!(sandbox.payments().len(), 5 + 2 + 6 + 3 + 3);
}
