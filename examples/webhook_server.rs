//! A webhook receiver for every configured gateway, on `gerbang::webhooks`: it verifies the raw
//! bytes, calls the handler once per change (however often the gateway delivers it), and answers
//! with what each gateway expects.
//!
//! ```sh
//! cargo run --example webhook_server              # listens on 127.0.0.1:3000 (PORT to change)
//! cargo run --example webhook_server -- --demo    # also starts the sandbox, pays a deposit, shows it arrive, exits
//! ```
//!
//! Webhooks go to `POST /webhooks/{gateway}` (`/webhooks/cuan10pay`, `/webhooks/cashin`, …), for
//! every gateway whose credentials are in the environment; with none, Cuan10pay with the
//! sandbox's keys. The inbox is in memory: for several replicas, give them one on Redis or
//! Postgres.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this program's job

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang::cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang::inbox::MemoryInbox;
use gerbang::sandbox::Sandbox;
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
    let receiver = Receiver::builder(Arc::new(MemoryInbox::new())).providers(gateways.iter().cloned()).build(
        handler_fn(move |event| {
            let counter = Arc::clone(&counter);
            async move {
                // Here: mark the order paid, ship, e-mail the customer. An error makes the
                // gateway deliver the event again.
                println!("{}: {} is now {}", event.provider, event.dedup_key(), event.status);
                counter.fetch_add(1, Ordering::SeqCst);
                Ok::<(), std::io::Error>(())
            }
        }),
    );
    for gateway in receiver.gateways() {
        println!("listening on http://{addr}/webhooks/{gateway}");
    }
    let server = tokio::spawn(axum::serve(listener, router(receiver)).into_future());

    let Some(sandbox) = sandbox else {
        server.await??;
        return Ok(());
    };
    let cuan10pay = gateways.iter().find(|g| g.id() == ProviderId::Cuan10pay).ok_or("no Cuan10pay client")?;
    let request = PaymentRequest::builder("WEBHOOK-DEMO-1", Money::idr(25_000)).channel("qris".parse()?).build()?;
    let deposit = cuan10pay.create_payment(&request).await?;
    let id = deposit.provider_reference.unwrap_or_default();
    sandbox.pay(ProviderId::Cuan10pay, &id).await?;
    let deliveries = sandbox.wait_for_deliveries(1, Duration::from_secs(10)).await?;
    println!(
        "the sandbox delivered {} webhook(s); the first was answered HTTP {:?}; changes handled: {}",
        deliveries.len(),
        deliveries[0].status,
        handled.load(Ordering::SeqCst)
    );
    Ok(())
}
