//! A webhook receiver for every configured gateway, on `gerbang::webhooks`: it verifies the raw
//! bytes, calls the handler once per change (however often the gateway delivers it), and answers
//! with what each gateway expects; and a reconciler, on `gerbang::reconcile`, that checks every
//! payment created through the ledger until it is final, so that a lost webhook loses nothing.
//!
//! ```sh
//! cargo run --example webhook_server              # listens on 127.0.0.1:3000 (PORT to change)
//! cargo run --example webhook_server -- --demo    # also starts the sandbox, pays two deposits (one
//!                                                 # webhook lost), shows both handled once, exits
//! ```
//!
//! Webhooks go to `POST /webhooks/{gateway}` (`/webhooks/cuan10pay`, `/webhooks/cashin`, …), for
//! every gateway whose credentials are in the environment; with none, Cuan10pay with the
//! sandbox's keys. The inbox and the ledger are in memory: for several replicas, give them one
//! on Redis or Postgres.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this program's job

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang::cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang::inbox::MemoryInbox;
use gerbang::ledger::{Ledger, MemoryLedger, Watched};
use gerbang::reconcile::Reconciler;
use gerbang::sandbox::{DeliveryPlan, Sandbox};
use gerbang::webhooks::{Receiver, handler_fn, router};
use gerbang::{Money, PaymentProvider, PaymentRequest, ProviderId, env_var, providers_from_env};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = std::env::args().any(|a| a == "--demo");
    let port = if demo { 0 } else { env_var("PORT")?.map(|p| p.parse()).transpose()?.unwrap_or(3000) };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let addr = listener.local_addr()?;

    let sandbox = if demo {
        let url = format!("http://{addr}/webhooks/cuan10pay");
        Some(Sandbox::builder().webhook_url(ProviderId::Cuan10pay, url).start().await?)
    } else {
        None
    };
    let mut gateways: Vec<Arc<dyn PaymentProvider>> = providers_from_env()?.into_iter().map(Arc::from).collect();
    if gateways.is_empty() || sandbox.is_some() {
        let keys = (gerbang::sandbox::cuan10pay::API_KEY, gerbang::sandbox::cuan10pay::PRIVATE_KEY);
        let mut config = Cuan10payConfig::builder(keys.0, keys.1);
        if let Some(sandbox) = &sandbox {
            config = config.base_url(sandbox.base_url(ProviderId::Cuan10pay));
        }
        gateways.retain(|g| g.id() != ProviderId::Cuan10pay);
        gateways.push(Arc::new(Cuan10payClient::new(config.build()?)));
    }

    let handled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&handled);
    let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
    let builder = Receiver::builder(Arc::new(MemoryInbox::new())).providers(gateways.iter().cloned());
    let receiver = builder.ledger(Arc::clone(&ledger)).build(handler_fn(move |event| {
        let counter = Arc::clone(&counter);
        async move {
            // Here: mark the order paid, ship, e-mail the customer. An error makes the
            // gateway deliver the event again.
            println!("{}: {} is now {}", event.provider, event.dedup_key()?, event.status);
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<(), gerbang::Error>(())
        }
    }));
    for gateway in receiver.gateways() {
        println!("listening on http://{addr}/webhooks/{gateway}");
    }
    // Each gateway's schedule (Schedule::for_gateway); the demo checks every second.
    let mut reconciler = Reconciler::builder(&receiver);
    if demo {
        reconciler = reconciler.pace(Duration::from_secs(1));
    }
    let reconciler = reconciler.build()?;
    tokio::spawn(async move { reconciler.run(std::future::pending()).await });
    let server = tokio::spawn(axum::serve(listener, router(receiver)).into_future());

    let Some(sandbox) = sandbox else {
        server.await??;
        return Ok(());
    };
    let cuan10pay = gateways.iter().find(|g| g.id() == ProviderId::Cuan10pay).ok_or("no Cuan10pay client")?;
    // Created through the ledger, so that each is watched until it is final.
    let cuan10pay = Watched::new(Arc::clone(cuan10pay), ledger);
    for (order, plan) in [("WEBHOOK-DEMO-1", DeliveryPlan::new()), ("WEBHOOK-DEMO-2", DeliveryPlan::new().drop(true))] {
        let request = PaymentRequest::builder(order, Money::idr(25_000)).channel("qris".parse()?).build()?;
        let deposit = cuan10pay.create_payment(&request).await?;
        sandbox.pay_with(ProviderId::Cuan10pay, &deposit.provider_reference.unwrap_or_default(), plan).await?;
    }
    let deliveries = sandbox.wait_for_deliveries(2, Duration::from_secs(10)).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while handled.load(Ordering::SeqCst) < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answered = deliveries.iter().filter(|d| d.status == Some(200)).count();
    println!(
        "the sandbox sent {} webhook(s) and lost {}; changes handled: {} (the lost one by reconciliation)",
        answered,
        deliveries.len() - answered,
        handled.load(Ordering::SeqCst)
    );
    if handled.load(Ordering::SeqCst) != 2 {
        return Err("not every change was handled".into());
    }
    Ok(())
}
