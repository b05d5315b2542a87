//! The SERVER span of a delivery (issue 20, item 5): what the receiver decided, in closed sets,
//! and nothing a sender chose. An attacker picks the gateway's name in the URL, the method, the
//! headers and the body; none of it may reach a span's attributes (a tracing backend indexes
//! them, and shows them to whoever looks).
#![allow(clippy::unwrap_used)] // Test code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gerbang_core::PaymentProvider;
use gerbang_core::http::{HeaderMap, HeaderValue, Method};
use gerbang_core::inbox::MemoryInbox;
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, WebhookVerifier};
use gerbang_testkit::{SeenSpan, SpanCapture};
use gerbang_webhooks::{Receiver, handler_fn};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const PRIVATE_KEY: &str = "spans-test-private-key";
const KNOWN_METHODS: [&str; 10] =
    ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "_OTHER"];

fn receiver() -> Receiver {
    let config = Cuan10payConfig::builder("spans-test-api-key", PRIVATE_KEY).build().unwrap();
    let gateway: Arc<dyn PaymentProvider> = Arc::new(Cuan10payClient::new(config));
    Receiver::builder(Arc::new(MemoryInbox::new()))
        .provider(gateway)
        .build(handler_fn(|_event| async { Ok::<(), std::io::Error>(()) }))
}

/// The one delivery span of what `f` did.
async fn delivery_span(f: impl std::future::Future<Output = ()>) -> SeenSpan {
    let (capture, ()) = SpanCapture::run(f).await;
    let spans = capture.named("gerbang.webhook");
    assert_eq!(spans.len(), 1, "{:#?}", capture.spans());
    spans.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_handled_delivery_is_a_server_span_with_its_outcome_status_and_dedup_key() {
    let receiver = receiver();
    let now = gerbang_core::time::OffsetDateTime::now_utc().unix_timestamp();
    let body = WebhookVerifier::new(PRIVATE_KEY).signed_body("CP-SPAN-1", "PAID", 150_000, now);
    let span = delivery_span(async {
        let delivery =
            receiver.receive("cuan10pay", Method::POST, "/hooks/c", &HeaderMap::new(), body.as_bytes()).await;
        assert_eq!(delivery.ack.status, 200);
    })
    .await;
    assert_eq!(span.field("otel.kind"), Some("server"));
    // Called without the router: no route is known, so none is said.
    assert_eq!(span.field("otel.name"), Some("POST"));
    assert_eq!(span.field("http.route"), None);
    assert_eq!(span.field("http.request.method"), Some("POST"));
    assert_eq!(span.field("http.response.status_code"), Some("200"));
    assert_eq!(span.field("gerbang.gateway"), Some("cuan10pay"));
    assert_eq!(span.field("gerbang.outcome"), Some("handled"));
    assert_eq!(span.field("gerbang.dedup_key"), Some("cuan10pay:CP-SPAN-1:paid"));
    assert_eq!(span.field("otel.status_code"), None);

    // A forgery: the gateway's 4xx, the client's fault, so not an error of the server's.
    let forged = body.replace("150000", "15");
    let span = delivery_span(async {
        receiver.receive("cuan10pay", Method::POST, "/hooks/c", &HeaderMap::new(), forged.as_bytes()).await;
    })
    .await;
    assert_eq!(span.field("gerbang.outcome"), Some("rejected"));
    assert_eq!(span.field("http.response.status_code"), Some("401"));
    assert_eq!((span.field("otel.status_code"), span.field("gerbang.dedup_key")), (None, None));
}

/// The attack: any gateway name, method, header and body. The span says `unknown`, a method of
/// the known set or `_OTHER`, a status and an outcome; never a byte the sender chose.
#[test]
fn nothing_a_sender_chooses_reaches_the_delivery_span() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let receiver = receiver();
    let strategy = (
        prop_oneof!["cuan10pay".prop_map(String::from), "[a-zA-Z0-9<>\"'%{}/._ -]{3,40}"],
        prop_oneof![
            Just(Method::POST),
            Just(Method::GET),
            "[A-Z]{3,12}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap())
        ],
        "[!-~]{8,40}",
        "\\PC{8,200}",
    );
    let mut runner = TestRunner::new(Config { cases: 256, failure_persistence: None, ..Config::default() });
    let tried = AtomicUsize::new(0);
    runner
        .run(&strategy, |(gateway, method, header, body)| {
            tried.fetch_add(1, Ordering::SeqCst);
            let mut headers = HeaderMap::new();
            headers.insert("x-signature", HeaderValue::from_str(&header).unwrap());
            let span = runtime.block_on(delivery_span(async {
                receiver.receive(&gateway, method.clone(), "/webhooks/x", &headers, body.as_bytes()).await;
            }));
            let said = span.field("gerbang.gateway").unwrap();
            prop_assert!(said == "unknown" || (said == "cuan10pay" && gateway == "cuan10pay"), "{}", said);
            prop_assert!(KNOWN_METHODS.contains(&span.field("http.request.method").unwrap()));
            let name = span.field("otel.name").unwrap();
            prop_assert!(KNOWN_METHODS.contains(&name) || name == "HTTP", "{}", name);
            prop_assert!(span.field("http.response.status_code").is_some());
            prop_assert!(span.field("gerbang.outcome").is_some());
            for (field, value) in &span.fields {
                for chosen in [&header, &body] {
                    prop_assert!(!value.contains(chosen.as_str()), "{}={:?} holds what the sender chose", field, value);
                }
                if gateway != "cuan10pay" {
                    prop_assert!(
                        !value.contains(gateway.as_str()),
                        "{}={:?} holds the name {:?}",
                        field,
                        value,
                        gateway
                    );
                }
            }
            Ok(())
        })
        .unwrap();
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "delivery spans: {} deliveries tried, nothing the sender chose recorded",
            tried.load(Ordering::SeqCst)
        );
    }
}
