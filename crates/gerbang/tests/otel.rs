//! OpenTelemetry traces (issue 20, item 5), through the facade's documented layer: a collector
//! inside the test receives, over OTLP/HTTP, the spans of a Cuan10pay create, a reconcile check, a status call that
//! the gateway answers 503 once (so it is retried), and a webhook delivery through the
//! receiver's router; the test checks the CLIENT span of every attempt and the SERVER span of
//! the delivery against the HTTP semantic conventions, their parents, and that no value of any
//! attribute (or event) of any span holds a secret, a customer's e-mail or phone, or a query.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code.

use std::sync::Arc;
use std::time::Duration;

use gerbang::cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang::inbox::MemoryInbox;
use gerbang::ledger::{Ledger, MemoryLedger, Watched};
use gerbang::reconcile::Reconciler;
use gerbang::sandbox::{Fault, FaultAction, Sandbox, cuan10pay};
use gerbang::webhooks::{Receiver, handler_fn, router};
use gerbang::{Channel, Money, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId};
use gerbang_testkit::otlp::{Collector, ExportedSpan, STATUS_ERROR, kind};
use serde_json::json;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

const EMAIL: &str = "siti.rahayu@example.co.id";
const PHONE: &str = "081377889900";
const REFERENCE: &str = "ORD-OTEL-0001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_a_retried_status_call_and_a_delivery_are_exported_as_http_spans() {
    let collector = Collector::start().await;
    let (layer, guard) = gerbang::otel::layer(collector.endpoint()).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer.with_filter(gerbang::otel::filter()));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // The merchant's receiver, served by its router, and the sandbox delivering to it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    let sandbox = Sandbox::builder()
        .webhook_url(ProviderId::Cuan10pay, format!("http://{receiver_addr}/webhooks/cuan10pay"))
        .start()
        .await
        .unwrap();
    let client = Cuan10payClient::new(
        Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
            .base_url(sandbox.base_url(ProviderId::Cuan10pay))
            .build()
            .unwrap(),
    );
    let (handled, mut handled_seen) = tokio::sync::mpsc::unbounded_channel();
    let gateway: Arc<dyn PaymentProvider> = Arc::new(client.clone());
    let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
    let builder =
        Receiver::builder(Arc::new(MemoryInbox::new())).provider(Arc::clone(&gateway)).ledger(Arc::clone(&ledger));
    let receiver = builder.build(handler_fn(move |event| {
        let handled = handled.clone();
        async move {
            let _ = handled.send(event.status.clone());
            Ok::<(), std::io::Error>(())
        }
    }));
    let reconciler = Reconciler::builder(&receiver).pace(Duration::from_millis(20)).build().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(receiver)).await });

    // A create, with the customer's e-mail and phone, watched by the ledger.
    let order = PaymentRequest::builder(REFERENCE, Money::idr(150_000))
        .channel(Channel::Qris)
        .customer_email(EMAIL)
        .customer_phone(PHONE)
        .expires_in(Duration::from_secs(30 * 60))
        .build()
        .unwrap();
    let watched = Watched::new(gateway, Arc::clone(&ledger));
    let id = watched.create_payment(&order).await.unwrap().provider_reference.unwrap();

    // A reconcile check of it: still pending.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let checks = reconciler.run_once().await.unwrap();
    assert_eq!(checks.len(), 1, "{checks:?}");

    // A status call the gateway answers 503 once: the transport retries it.
    sandbox
        .sandbox()
        .inject_fault(Fault::new(ProviderId::Cuan10pay, "status", FaultAction::Status).status(503).times(1))
        .unwrap();
    // Looked up by the gateway's id, in the query (`?ref=`): never in a span.
    let payment = client.payment_status(&id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Pending);

    // The customer pays: the sandbox delivers the signed notification to the receiver.
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), handled_seen.recv()).await.unwrap().unwrap();
    assert_eq!(status, PaymentStatus::Paid);

    // The delivery's span ends as its answer goes out, just after the handler: flush until it
    // is there (a flush waits for the collector's answer, so it runs off the async threads).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let spans = loop {
        tokio::task::block_in_place(|| guard.flush()).unwrap();
        let spans = collector.spans();
        if spans.iter().any(|s| s.kind == kind::SERVER) || tokio::time::Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    check_spans(&spans, &id);
    check_reconcile_span(&spans);
}

/// The check is a span of its own, the parent of its status call.
fn check_reconcile_span(spans: &[ExportedSpan]) {
    let checks: Vec<&ExportedSpan> = spans.iter().filter(|s| s.name == "gerbang.reconcile.check").collect();
    let [check] = checks[..] else { panic!("one check span: {spans:#?}") };
    assert_eq!(check.kind, kind::INTERNAL);
    assert_eq!(check.attr("gerbang.gateway"), "cuan10pay");
    assert_eq!(check.attr("gerbang.result"), "unchanged");
    let calls: Vec<&ExportedSpan> = spans.iter().filter(|s| s.parent_span_id == check.span_id).collect();
    let [call] = calls[..] else { panic!("one call under the check: {spans:#?}") };
    assert_eq!((call.name.as_str(), call.attr("operation")), ("gerbang.http", &json!("deposit_status")));
    let attempt = spans.iter().find(|s| s.parent_span_id == call.span_id).expect("its attempt");
    assert_eq!((attempt.kind, attempt.name.as_str()), (kind::CLIENT, "GET /v1/deposit_status"));
    assert_eq!(attempt.trace_id, check.trace_id);
}

fn check_spans(spans: &[ExportedSpan], id: &str) {
    let calls = |operation: &str| -> Vec<&ExportedSpan> {
        spans.iter().filter(|s| s.name == "gerbang.http" && s.attr("operation") == operation).collect()
    };
    let attempts = |call: &ExportedSpan| -> Vec<&ExportedSpan> {
        let mut attempts: Vec<&ExportedSpan> =
            spans.iter().filter(|s| s.kind == kind::CLIENT && s.parent_span_id == call.span_id).collect();
        attempts.sort_by_key(|s| s.attr("http.request.resend_count").as_i64().unwrap_or(0));
        attempts
    };
    let host = json!("127.0.0.1");

    // The create: one call, one attempt.
    let [create] = calls("deposit_create")[..] else { panic!("one create call span: {spans:#?}") };
    let [attempt] = attempts(create)[..] else { panic!("one attempt of the create: {spans:#?}") };
    assert_eq!(attempt.name, "POST /v1/deposit_create");
    assert_eq!(attempt.attr("http.request.method"), "POST");
    assert_eq!(attempt.attr("server.address"), &host);
    assert!(attempt.attr("server.port").as_i64().is_some_and(|p| p > 0), "{attempt:#?}");
    assert_eq!(attempt.attr("url.template"), "/v1/deposit_create");
    assert_eq!(attempt.attr("http.response.status_code"), 200);
    assert_eq!(attempt.attr("gerbang.gateway"), "cuan10pay");
    assert_eq!(attempt.attr("gerbang.operation"), "deposit_create");
    assert!(attempt.attr("http.request.resend_count").is_null(), "a first attempt has no resend count");
    assert!(attempt.attr("error.type").is_null());
    assert_ne!(attempt.status_code, STATUS_ERROR);

    // The status call: two attempts under it, the first answered 503, the second a resend.
    // The merchant's own status call: a root (the reconcile check's is under the check).
    let status_calls: Vec<&ExportedSpan> =
        calls("deposit_status").into_iter().filter(|s| s.parent_span_id.is_empty()).collect();
    let [status] = status_calls[..] else { panic!("one status call span: {spans:#?}") };
    let [first, second] = attempts(status)[..] else { panic!("two attempts of the status call: {spans:#?}") };
    for attempt in [first, second] {
        assert_eq!(attempt.name, "GET /v1/deposit_status");
        assert_eq!(attempt.attr("http.request.method"), "GET");
        assert_eq!(attempt.attr("url.template"), "/v1/deposit_status");
        assert_eq!(attempt.attr("server.address"), &host);
        assert_eq!(attempt.trace_id, status.trace_id);
    }
    assert_eq!(first.attr("http.response.status_code"), 503);
    assert_eq!(first.attr("error.type"), "503");
    assert_eq!(first.status_code, STATUS_ERROR);
    assert!(first.attr("http.request.resend_count").is_null());
    assert_eq!(second.attr("http.response.status_code"), 200);
    assert_eq!(second.attr("http.request.resend_count"), 1);
    assert!(second.attr("error.type").is_null());

    // The delivery: a SERVER span with the route, the answer and the outcome.
    let servers: Vec<&ExportedSpan> = spans.iter().filter(|s| s.kind == kind::SERVER).collect();
    let [delivery] = servers[..] else { panic!("one delivery span: {spans:#?}") };
    assert_eq!(delivery.name, "POST /webhooks/{gateway}");
    assert_eq!(delivery.attr("http.request.method"), "POST");
    assert_eq!(delivery.attr("http.route"), "/webhooks/{gateway}");
    assert_eq!(delivery.attr("http.response.status_code"), 200);
    assert_eq!(delivery.attr("gerbang.gateway"), "cuan10pay");
    assert_eq!(delivery.attr("gerbang.outcome"), "handled");
    assert!(delivery.attr("gerbang.dedup_key").as_str().is_some_and(|k| k.ends_with(":paid")), "{delivery:#?}");
    assert_eq!(delivery.resource.get("service.name"), Some(&json!("gerbang")));

    // Nothing anywhere holds a secret, the customer's e-mail or phone, or a query.
    // The payment's id may be in the dedup key (as in the logs), never in a URL: no `ref=`.
    let secrets = [cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY, EMAIL, PHONE, "?ref", "ref=", "signature", "x-api-key"];
    let mut searched = 0;
    for span in spans {
        for text in span.texts() {
            searched += 1;
            for secret in secrets {
                let found = text.to_lowercase().contains(&secret.to_lowercase());
                assert!(!found, "span {} carries {secret:?} in {text:?}", span.name);
            }
            assert!(!text.contains(&format!("?ref={id}")), "span {} carries the query in {text:?}", span.name);
        }
    }
    assert!(searched > 50, "searched {searched} texts of {} spans", spans.len());
}
