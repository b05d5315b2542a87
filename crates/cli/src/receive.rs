//! `gerbang webhook serve [--port N] [--store URL] [--forward-to URL --forward-secret S
//! [--forward-secret-previous S] [--forward-timeout D] [--forward-retry D,D,…]
//! [--outbox-retention D]] [--reconcile-every D] [--drain-timeout D] [--drain-delay D]` (and the
//! connection limits of `sandbox serve`, served by `gerbang-server`): the webhook receiver for
//! every configured gateway, `/healthz`, `/readyz` and `/metrics` (Prometheus), and the
//! reconciler of the payments its store's ledger watches; one JSON line per new event on stdout.
//! With `--forward-to`, each new event is also written to the outbox in the same store before the
//! gateway is acknowledged, and a [`Deliverer`] in this process POSTs the outbox's due messages
//! to the application, retrying for days. A store that cannot be reached at start is waited
//! for; SIGTERM or SIGINT drains (see [`crate::service`]).

use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use gerbang::outbox::Outbox;
use gerbang::reconcile::Reconciler;
use gerbang::webhooks::outbox::{Deliverer, RetrySchedule, event_json, message_of};
use gerbang::webhooks::{Handler, HandlerError, Receiver, router};
use gerbang::{Error, PaymentProvider, ProviderId, WebhookEvent};
use tokio::time::Instant;

use crate::common::{eprint_line, parse_duration};
use crate::forward::Forward;
use crate::service::{Service, Stop, Stopping, wait_for_store};

/// Receive webhooks for every gateway whose credentials are set, at `POST /webhooks/{gateway}`,
/// and reconcile the payments the store's ledger watches (recorded by `create --store`).
///
/// Each new event, from a webhook or found by a status check, is printed once as one JSON line on
/// stdout (the event, and its `dedup_key`); a duplicate is acknowledged and not printed. Where it
/// listens goes to stderr, as does a paid event that disagrees with the ledger (a mismatch).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The port to listen on (0: any free one), on 127.0.0.1 unless --host says otherwise.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value_t = Ipv4Addr::LOCALHOST)]
    host: Ipv4Addr,
    /// Where claims and done markers live: `memory` (this process only), `redis://…`,
    /// `redis+cluster://host:port[,host:port…]` (a Redis Cluster) or `postgres://…` (shared by
    /// every receiver given the same URL). A Redis one also holds
    /// Cuan10pay's rate budget and Ciputra's token, shared with every other `gerbang` process.
    #[arg(long, env = "GERBANG_STORE_URL", default_value = "memory", hide_env_values = true)]
    store: String,
    /// The CA certificates (PEM) the store's TLS certificate must chain to, for a Postgres URL that
    /// names no `sslrootcert` or a `rediss://` (`rediss+cluster://`) URL (default: the system's
    /// trust store).
    #[arg(long, env = "GERBANG_STORE_CA")]
    store_ca: Option<std::path::PathBuf>,
    /// How long a receiver's claim on an event holds: past it, a receiver that died mid-handler
    /// no longer blocks the event, and another handles the gateway's next delivery.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    lease: Duration,
    /// How long a delivery of an event another receiver is handling waits for it before asking
    /// the gateway to deliver it again later (503).
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    in_flight_wait: Duration,
    /// POST each new event's JSON to this URL, signed (Standard Webhooks). Each new event is
    /// written to an outbox in --store and the gateway acknowledged at once; a deliverer in every
    /// `webhook serve` sharing the store POSTs it, and retries an answer other than 2xx (a
    /// redirect included: none is followed), or none within --forward-timeout, on --forward-retry's
    /// schedule, after which the event is `failed` (`gerbang events replay` sends it again).
    #[arg(long)]
    forward_to: Option<String>,
    /// The `whsec_…` secret that signs each forwarded event (Standard Webhooks: `webhook-id`,
    /// `webhook-timestamp`, `webhook-signature` headers), the one the application verifies with;
    /// needed with --forward-to. `gerbang webhook secret` prints a fresh one. Prefer the
    /// variable: a flag's value shows in the process list.
    #[arg(long, env = "GERBANG_FORWARD_SECRET", hide_env_values = true)]
    forward_secret: Option<secrecy::SecretString>,
    /// While a rotation lasts, the previous secret, which signs each event too (a second
    /// `v1,…` in `webhook-signature`), so that an application still holding it keeps
    /// verifying. Empty counts as unset.
    #[arg(long, env = "GERBANG_FORWARD_SECRET_PREVIOUS", hide_env_values = true)]
    forward_secret_previous: Option<secrecy::SecretString>,
    /// How long the application at --forward-to has to answer a forwarded event: 5s, 1m. Must
    /// stay below --lease, else another receiver could forward the same event while this one
    /// waits. Default: 10s, or half the lease if that is shorter.
    #[arg(long, value_parser = parse_duration)]
    forward_timeout: Option<Duration>,
    /// The waits between attempts to deliver an event to --forward-to, comma-separated; after the
    /// last, the event is `failed` (the dead letter). Default: Svix's, about 27 hours in all.
    #[arg(long, value_parser = parse_schedule, default_value = "5s,5m,30m,2h,5h,10h,10h")]
    forward_retry: RetrySchedule,
    /// How long delivered (and superseded) events stay in the outbox, for `gerbang events list`
    /// and `replay`: 7d, 48h. Pending and failed events are kept until delivered.
    #[arg(long, value_parser = parse_duration, default_value = "7d")]
    outbox_retention: Duration,
    /// Check every watched payment this often, instead of each gateway's schedule (soon after
    /// creation, then backing off): `1s` in tests.
    #[arg(long, value_parser = parse_duration)]
    reconcile_every: Option<Duration>,
    /// Treat the ledger as the record of every payment: a paid event for a payment it does not
    /// know is a mismatch, not passed on.
    #[arg(long)]
    require_known: bool,
    /// How long, after SIGTERM or SIGINT, the deliveries under way have to finish: past it, each
    /// one still running is stopped, its claim released (another receiver takes the gateway's
    /// next copy at once) and answered 503. Keep it below the orchestrator's grace period
    /// (Kubernetes' terminationGracePeriodSeconds, 30 s by default).
    #[arg(long, value_parser = parse_duration, default_value = "25s")]
    drain_timeout: Duration,
    /// How long, after the signal, the port goes on accepting (answering /readyz with 503) before
    /// it closes: for a load balancer that polls /readyz, to stop sending before the port
    /// closes. Part of --drain-timeout. Kubernetes needs none: it stops routing to a
    /// terminating pod by itself.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    drain_delay: Duration,
    #[command(flatten)]
    limits: crate::listen::LimitArgs,
}

/// How long the deliveries a drain stopped have to send their 503 before their connections close.
const ANSWER_GRACE: Duration = Duration::from_millis(250);

/// How long past the drain's deadline the releases of the claims still held may take.
const RELEASE_GRACE: Duration = Duration::from_secs(3);

/// How long the application has to answer a forwarded event, unless the lease is shorter.
const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// `--forward-retry`: waits, comma-separated (`1s,2s,5s`); an empty list means one attempt only.
fn parse_schedule(text: &str) -> Result<RetrySchedule, String> {
    let delays = text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_duration)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RetrySchedule::new(delays))
}

/// A schedule for people: `5s, 5m, 30m, 2h` (each wait in its largest whole unit).
fn schedule_text(schedule: &RetrySchedule) -> String {
    if schedule.delays().is_empty() {
        return "none: one attempt".to_owned();
    }
    let words: Vec<String> = schedule
        .delays()
        .iter()
        .map(|delay| {
            let seconds = delay.as_secs();
            match seconds {
                0 => format!("{}ms", delay.as_millis()),
                s if s % 86_400 == 0 => format!("{}d", s / 86_400),
                s if s % 3600 == 0 => format!("{}h", s / 3600),
                s if s % 60 == 0 => format!("{}m", s / 60),
                s => format!("{s}s"),
            }
        })
        .collect();
    words.join(", ")
}

impl ServeArgs {
    pub(crate) async fn run(&self) -> Result<(), Error> {
        let (stop, stopping) = Stopping::new();
        let stop = Arc::new(stop);
        // Listening for the signals first: one that comes while the store is awaited drains too.
        let signalled = Arc::clone(&stop);
        let signal = gerbang::server::shutdown_signal();
        tokio::spawn(async move {
            signal.await;
            Stopping::ask(&signalled, Stop::Signal(Instant::now()));
        });
        self.check_drain()?;
        let forward = match &self.forward_to {
            Some(url) => Some(self.forwarder(url)?),
            None => None,
        };
        crate::stores::use_url(&self.store);
        if let Some(ca) = &self.store_ca {
            crate::stores::use_ca(ca);
        }
        crate::stores::check_url(&self.store)?;
        let ids: Vec<ProviderId> = gerbang::providers_from_env()?.iter().map(|p| p.id()).collect();
        if ids.is_empty() {
            return Err(Error::config(
                "no gateway is configured: set the credentials of at least one (GERBANG_CUAN10PAY_API_KEY, …)",
            ));
        }
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((self.host, self.port)))
            .await
            .map_err(|e| Error::config(format!("cannot listen on {}:{}: {e}", self.host, self.port)))?;
        let addr = listener.local_addr().map_err(|e| Error::config(format!("no local address: {e}")))?;

        // The port answers from now on: probes, and webhooks (503 until the store is reached).
        let service = Service::new(stopping.clone());
        service.serve_metrics(gerbang::metrics::install()?);
        let limits = self.limits.limits();
        // A second signal during the drain stops the deliveries under way at once (their claims
        // released), as the deadline would.
        tokio::spawn({
            let (service, stopping) = (Arc::clone(&service), stopping.clone());
            async move {
                if !matches!(stopping.asked().await, Stop::Signal(_)) {
                    return;
                }
                gerbang::server::shutdown_signal().await;
                eprint_line("second signal: the deliveries under way are stopped now");
                if let Some(receiver) = service.receiver() {
                    receiver.drain(Instant::now()).await;
                }
            }
        });
        // The receiver's drain runs in a task of its own: the server returns as soon as its last
        // connection closes, and the claims must still be released then.
        let (drained, drained_seen) = tokio::sync::watch::channel(false);
        let draining = tokio::spawn(self.drain(stopping.clone(), Arc::clone(&service), drained));
        let serving = tokio::spawn(gerbang::server::serve_with_deadline(
            listener,
            service.router(),
            limits,
            self.port_closes(stopping.clone()),
            self.connections_close(stopping.clone(), drained_seen),
        ));

        // Said once the first attempt to reach the store is over, whatever it came to: from then
        // on the port answers for good (503 while the store is awaited).
        let announce = || {
            for gateway in &ids {
                eprint_line(&format!("receiving {gateway} webhooks at http://{addr}/webhooks/{gateway}"));
            }
            eprint_line(&format!(
                "health at http://{addr}/healthz, readiness at http://{addr}/readyz, metrics at http://{addr}/metrics"
            ));
            eprint_line(&format!(
                "at most {} connections at once; a request head must arrive within {:?}; SIGTERM or Ctrl-C \
                 drains within {:?}",
                limits.connection_cap(),
                limits.header_read_timeout,
                self.drain_timeout
            ));
        };
        let kind = crate::stores::kind_name(&self.store);
        let announced = std::cell::Cell::new(false);
        let connected = wait_for_store(
            || self.receiver(forward.is_some()),
            &stopping,
            |error| {
                eprint_line(&format!(
                    "the {kind} store cannot be reached yet ({error}): webhooks and /readyz are answered 503 until it \
                     can; trying again every second at most"
                ));
                announce();
                announced.set(true);
            },
        )
        .await;
        let (reconciling, delivering) = match connected {
            Ok(Some((receiver, outbox))) => {
                service.ready(receiver.clone(), router(receiver.clone()));
                if announced.get() {
                    eprint_line(&format!("the {kind} store is reachable: receiving"));
                } else {
                    announce();
                }
                let delivering = match (forward, outbox) {
                    (Some(forward), Some(outbox)) => Some(self.deliver(forward, outbox, stopping.clone())?),
                    _ => None,
                };
                (Some(self.reconcile(&receiver, stopping.clone())?), delivering)
            }
            Ok(None) => (None, None),
            Err(error) => {
                // The store refused: the port closes at once, and the process exits 1.
                service.refused();
                Stopping::ask(&stop, Stop::Refused);
                let _ = serving.await;
                return Err(error);
            }
        };
        let served = serving.await.map_err(|e| Error::config(format!("the receiver stopped: {e}")))?;
        let deadline = match stopping.now() {
            Stop::Signal(at) => at + self.drain_timeout,
            _ => Instant::now(),
        };
        // Past the deadline, only the releases of claims are waited for (each bounded by the
        // store's operation timeout).
        let _ = tokio::time::timeout_at(deadline + RELEASE_GRACE, draining).await;
        if let Some(reconciling) = reconciling {
            // It was told to stop with the signal; its checks under way get until the deadline.
            if tokio::time::timeout_at(deadline, reconciling).await.is_err() {
                tracing::warn!("the reconciler's checks did not finish by the drain deadline: stopped");
            }
        }
        if let Some(mut delivering) = delivering {
            // Told to stop with the signal too: the round under way finishes by the deadline, or
            // is abandoned (its messages' leases run out and another replica takes them).
            if tokio::time::timeout_at(deadline, &mut delivering).await.is_err() {
                delivering.abort();
                tracing::warn!(
                    "the deliveries under way did not finish by the drain deadline: abandoned, another replica takes \
                     them once their lease runs out"
                );
            }
        }
        tracing::info!("drained: exiting");
        served.map_err(|e| Error::config(format!("the receiver stopped: {e}")))
    }

    /// `--drain-delay` must leave time within `--drain-timeout`.
    fn check_drain(&self) -> Result<(), Error> {
        if self.drain_delay > self.drain_timeout {
            return Err(Error::config(format!(
                "--drain-delay ({:?}) must not be longer than --drain-timeout ({:?}): the delay is part of the drain",
                self.drain_delay, self.drain_timeout
            )));
        }
        Ok(())
    }

    /// Completes when the port must close: `--drain-delay` after a signal (meanwhile it keeps
    /// answering, /readyz with 503, so that a load balancer polling it stops sending first), at
    /// once when the store refused.
    fn port_closes(&self, stopping: Stopping) -> impl Future<Output = ()> + Send + 'static {
        let delay = self.drain_delay;
        async move {
            if let Stop::Signal(at) = stopping.asked().await {
                gerbang::metrics::receiver_draining(true);
                tracing::info!(delay_ms = delay.as_millis(), "signal received: draining, /readyz answers 503");
                tokio::time::sleep_until(at + delay).await;
                tracing::info!("drain: the port is closed; the deliveries under way go on");
            }
        }
    }

    /// The receiver's drain, once the port is closed (after a signal and `--drain-delay`): the
    /// deliveries under way finish by the deadline, those still running then are stopped, their
    /// claims released and answered 503. Says `true` on `drained` when done.
    fn drain(
        &self,
        stopping: Stopping,
        service: Arc<Service>,
        drained: tokio::sync::watch::Sender<bool>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let (delay, timeout) = (self.drain_delay, self.drain_timeout);
        async move {
            let Stop::Signal(at) = stopping.asked().await else { return };
            // Deliveries may still begin until the port closes.
            tokio::time::sleep_until(at + delay).await;
            if let Some(receiver) = service.receiver() {
                let done = receiver.drain(at + timeout).await;
                if done.stopped > 0 {
                    eprint_line(&format!(
                        "drain deadline: {} deliveries still running were stopped and answered 503, {} claims \
                         released for another receiver to take at once",
                        done.stopped, done.released
                    ));
                }
            }
            let _ = drained.send(true);
        }
    }

    /// Completes when the connections still open must close: once the receiver's drain is done
    /// and no sooner than the deadline; at once when the store refused.
    fn connections_close(
        &self,
        stopping: Stopping,
        mut drained: tokio::sync::watch::Receiver<bool>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let timeout = self.drain_timeout;
        async move {
            let Stop::Signal(at) = stopping.asked().await else { return };
            let _ = drained.wait_for(|done| *done).await;
            // The deliveries the drain stopped are answering 503 now: a moment for it to go out.
            let answered = Instant::now() + ANSWER_GRACE;
            tokio::time::sleep_until(answered.max(at + timeout)).await;
        }
    }

    /// Connects the stores and builds the receiver (each attempt of the wait for the store), and
    /// the outbox it writes to when `forwarding`: the deliverer must be given that same one (a
    /// memory outbox is this process's only).
    async fn receiver(&self, forwarding: bool) -> Result<(Receiver, Option<Arc<dyn Outbox>>), Error> {
        let gateways = gateways().await?;
        let crate::stores::ServeStores { inbox, ledger, outbox } =
            crate::stores::serve_stores(&self.store, forwarding).await?;
        // Connecting may not have sent a command yet (Redis without a password it needs
        // answers only the first one with NOAUTH): a refusal is found now, not at the first webhook.
        inbox.ping().await?;
        let mut builder = Receiver::builder(inbox)
            .providers(gateways)
            .lease(self.lease)
            .in_flight_wait(self.in_flight_wait)
            .require_known_payments(self.require_known);
        if let Some(ledger) = ledger {
            builder = builder.ledger(ledger);
        }
        if let Some(outbox) = &outbox {
            outbox.ping().await?;
        }
        Ok((builder.build(Printing { outbox: outbox.clone() }), outbox))
    }

    /// Starts the deliverer from `outbox` to `forward`, stopping with a signal (the round under
    /// way finishes first).
    fn deliver(
        &self,
        forward: Forward,
        outbox: Arc<dyn Outbox>,
        stopping: Stopping,
    ) -> Result<tokio::task::JoinHandle<()>, Error> {
        let host = forward.host().to_owned();
        // The POST's own timeout fires first (its failure names the host); the deliverer's, still
        // below the lease, only bounds a POST that would somehow outlive it.
        let timeout = forward.timeout() + (self.lease.saturating_sub(forward.timeout())) / 2;
        let deliverer = Deliverer::builder(outbox, forward)
            .retry(self.forward_retry.clone())
            .lease(self.lease)
            .timeout(timeout)
            .retention(self.outbox_retention)
            .build()?;
        eprint_line(&format!(
            "forwarding to {host} through the {} outbox (retry schedule {}; then failed, for `gerbang events \
             replay`)",
            crate::stores::kind_name(&self.store),
            schedule_text(&self.forward_retry)
        ));
        Ok(tokio::spawn(deliverer.run(async move {
            stopping.asked().await;
        })))
    }

    /// Starts the reconciler of `receiver`'s ledger, stopping with a signal.
    fn reconcile(&self, receiver: &Receiver, stopping: Stopping) -> Result<tokio::task::JoinHandle<()>, Error> {
        let mut reconciler = Reconciler::builder(receiver);
        if let Some(pace) = self.reconcile_every {
            reconciler = reconciler.pace(pace);
        }
        let reconciler = reconciler.build()?;
        eprint_line(&format!(
            "reconciling the payments watched in the {} ledger{}",
            crate::stores::kind_name(&self.store),
            self.reconcile_every.map(|d| format!(", every {} ms", d.as_millis())).unwrap_or_default()
        ));
        Ok(tokio::spawn(async move {
            reconciler
                .run(async move {
                    stopping.asked().await;
                })
                .await;
        }))
    }
}

impl ServeArgs {
    /// The forwarder to `url`, its timeout checked against the lease.
    fn forwarder(&self, url: &str) -> Result<Forward, Error> {
        let timeout = match self.forward_timeout {
            Some(timeout) if timeout >= self.lease => {
                return Err(Error::config(format!(
                    "--forward-timeout ({timeout:?}) must be shorter than --lease ({:?}): past the lease another \
                     receiver may forward the same event while this one still waits for the application",
                    self.lease
                )));
            }
            Some(timeout) => timeout,
            None => DEFAULT_FORWARD_TIMEOUT.min(self.lease / 2),
        };
        if timeout.is_zero() {
            return Err(Error::config("--forward-timeout and --lease must be more than 0s"));
        }
        let secrets = crate::forward::secrets(self.forward_secret.as_ref(), self.forward_secret_previous.as_ref())?;
        Forward::new(url, timeout, secrets)
    }
}

/// The handler: each new event written to the outbox (when forwarding), then printed as a JSON
/// line. A mismatch is not printed: the receiver logs it on stderr (`outcome=mismatch`).
struct Printing {
    outbox: Option<Arc<dyn Outbox>>,
}

#[gerbang::async_trait]
impl Handler for Printing {
    async fn handle(&self, event: &WebhookEvent) -> Result<(), HandlerError> {
        let line = match &self.outbox {
            Some(outbox) => {
                // Stored before the gateway is acknowledged: a store failure answers it 500, and its
                // retry is handled again (an id enqueued twice is one message).
                let message = message_of(event)?;
                outbox.enqueue(&message).await?;
                message.body
            }
            None => event_json(event)?,
        };
        print_line(&line);
        Ok(())
    }
}

/// Every configured gateway, those with a shared store (Cuan10pay's budget, Ciputra's token)
/// on the one `--store` names, as every other command builds them.
async fn gateways() -> Result<Vec<Arc<dyn PaymentProvider>>, Error> {
    let mut gateways: Vec<Arc<dyn PaymentProvider>> = Vec::new();
    for gateway in gerbang::providers_from_env()? {
        gateways.push(match gateway.id() {
            ProviderId::Cuan10pay => Arc::new(crate::providers::cuan10pay::client(None).await?),
            ProviderId::Ciputra => Arc::new(crate::providers::ciputra::client(None).await?),
            _ => Arc::from(gateway),
        });
    }
    Ok(gateways)
}

/// One line on stdout, flushed at once: a reader (a test, a pipe) sees each event as it comes.
fn print_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
