//! The sandbox cannot be driven or read by a web page through its visitor's browser: a change
//! from another site is refused (403), a control body that is not JSON is refused (415), a host
//! the sandbox does not serve is refused (421, DNS rebinding), and what is refused changes
//! nothing. curl, the SDK and the CLI, which send no `Origin`, and the dashboard itself are
//! obeyed. Over real HTTP, with the state read back from the sandbox after each attempt.
//!
//! Run with `--nocapture` to see the property test's figures:
//! `cargo test -p gerbang-sandbox --test control_safety -- --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

use std::time::Duration;

use gerbang_core::ProviderId;
use gerbang_sandbox::{Fault, FaultAction, PaymentState, Sandbox, SandboxHandle};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

/// The public URL the sandboxes here are given: its host is one they serve.
const PUBLIC_URL: &str = "http://sandbox.test:8870";

async fn start() -> SandboxHandle {
    Sandbox::builder().public_url(PUBLIC_URL).start().await.unwrap()
}

/// A pending QRIS invoice (created with a plain GET): its `invoice_id`.
async fn invoice(sandbox: &SandboxHandle) -> String {
    let key = gerbang_sandbox::qris::API_KEY;
    let url = format!("{}/api/v1/invoice/create?amount=10000&apikey={key}", sandbox.base_url(ProviderId::Qris));
    let created: Value = serde_json::from_slice(&reqwest::get(url).await.unwrap().bytes().await.unwrap()).unwrap();
    created["invoice_id"].as_str().unwrap().to_owned()
}

/// A request as a browser (or anyone) could send it: method, URL, extra headers, and a body
/// with its content type. Answers the status and the body as text.
async fn send(method: &str, url: &str, headers: &[(&str, String)], body: Option<(&str, &str)>) -> (u16, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut request = client.request(method.parse().unwrap(), url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn state(sandbox: &SandboxHandle, id: &str) -> PaymentState {
    sandbox.payment(ProviderId::Qris, id).unwrap().state
}

const FAULT: &str = r#"{"gateway":"qris","operation":"balance","action":"status","status":503}"#;
const FORM: &str = "application/x-www-form-urlencoded";

/// A request: method, path, and a body with its content type.
type Change = (&'static str, String, Option<(&'static str, &'static str)>);

/// Every route that changes the sandbox, the control API's and the dashboard's forms, with the
/// body each takes.
fn changes(id: &str) -> Vec<Change> {
    let json = Some(("application/json", FAULT));
    let mut routes = Vec::new();
    for action in ["pay", "expire", "fail", "cancel", "webhook"] {
        routes.push(("POST", format!("/_sandbox/qris/payments/{id}/{action}"), None));
    }
    routes.extend([
        ("POST", "/_sandbox/clock/advance?by=1h".to_owned(), None),
        ("POST", "/_sandbox/faults".to_owned(), json),
        ("DELETE", "/_sandbox/faults".to_owned(), None),
        ("DELETE", "/_sandbox/faults/1".to_owned(), None),
        ("POST", "/_sandbox/qris/withdrawals/W-1/approve".to_owned(), None),
        ("POST", "/_sandbox/qris/withdrawals/W-1/reject".to_owned(), None),
        // The dashboard's forms.
        ("POST", format!("/payments/qris/{id}"), Some((FORM, "action=pay"))),
        ("POST", "/faults".to_owned(), Some((FORM, "gateway=qris&operation=balance&action=cut"))),
        ("POST", "/faults/clear".to_owned(), Some((FORM, ""))),
        ("POST", "/faults/1/clear".to_owned(), Some((FORM, ""))),
        ("POST", "/clock".to_owned(), Some((FORM, "by=1h"))),
    ]);
    routes
}

/// What the sandbox holds that a change would move: the payment's state, the clock's offset,
/// the faults held, the webhook attempts.
fn snapshot(sandbox: &SandboxHandle, id: &str) -> (PaymentState, Duration, Vec<u64>, usize) {
    let faults = sandbox.faults().iter().map(|f| f.id).collect();
    (state(sandbox, id), sandbox.sandbox().clock_offset(), faults, sandbox.deliveries().len())
}

#[tokio::test]
async fn every_change_from_another_site_is_refused_and_changes_nothing() {
    let sandbox = start().await;
    let id = invoice(&sandbox).await;
    // One fault held, that a DELETE or a cleared form would remove.
    sandbox.inject_fault(Fault::new(ProviderId::Qris, "withdraw", FaultAction::Cut)).unwrap();
    let before = snapshot(&sandbox, &id);
    let other_port = format!("http://127.0.0.1:{}", sandbox.addr().port().wrapping_add(1));
    let hostile: [&[(&str, String)]; 6] = [
        &[("origin", "http://evil.example".into())],
        &[("sec-fetch-site", "cross-site".into())],
        &[("sec-fetch-site", "cross-site".into()), ("origin", "http://evil.example".into())],
        &[("origin", "null".into())],
        &[("sec-fetch-site", "same-site".into()), ("origin", other_port)],
        &[("sec-fetch-site", "same-origin".into()), ("origin", "https://evil.example".into())],
    ];
    let mut tried = 0;
    for (method, path, body) in changes(&id) {
        for headers in hostile {
            let (status, text) = send(method, &format!("{}{path}", sandbox.url()), headers, body).await;
            assert_eq!(status, 403, "{method} {path} with {headers:?}: {text}");
            let error: Value = serde_json::from_str(&text).unwrap();
            let error = error["error"].as_str().unwrap();
            assert!(error.starts_with("refused: ") && error.contains("gerbang sandbox"), "{error}");
            tried += 1;
        }
    }
    assert_eq!(snapshot(&sandbox, &id), before, "a refused change moved something");
    assert_eq!(state(&sandbox, &id), PaymentState::Pending);
    assert_eq!(tried, 16 * 6);
}

#[tokio::test]
async fn a_control_body_that_is_not_json_is_refused() {
    let sandbox = start().await;
    let id = invoice(&sandbox).await;
    let url = sandbox.url();
    let faults = format!("{url}/_sandbox/faults");
    // What a page can send without a preflight: text/plain, a form, multipart; and no type.
    for content_type in [
        "text/plain",
        "text/plain;charset=UTF-8",
        FORM,
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "text/json",
    ] {
        let (status, text) = send("POST", &faults, &[], Some((content_type, FAULT))).await;
        assert_eq!(status, 415, "{content_type}: {text}");
        assert!(text.contains("Content-Type: application/json"), "{text}");
        let pay = format!("{url}/_sandbox/qris/payments/{id}/pay");
        assert_eq!(send("POST", &pay, &[], Some((content_type, "{}"))).await.0, 415, "{content_type}");
        let advance = format!("{url}/_sandbox/clock/advance?by=1h");
        assert_eq!(send("POST", &advance, &[], Some((content_type, ""))).await.0, 415, "{content_type}");
    }
    let (status, text) = send("POST", &faults, &[], None).await;
    assert_eq!(status, 415, "a fault without a content type: {text}");
    // Nothing was injected, paid or moved.
    assert!(sandbox.faults().is_empty());
    assert_eq!(state(&sandbox, &id), PaymentState::Pending);
    assert_eq!(sandbox.sandbox().clock_offset(), Duration::ZERO);

    // JSON, however its type is spelt, is taken.
    for content_type in ["application/json", "application/json; charset=utf-8", "Application/JSON"] {
        let (status, text) = send("POST", &faults, &[], Some((content_type, FAULT))).await;
        assert_eq!(status, 201, "{content_type}: {text}");
    }
    assert_eq!(sandbox.faults().len(), 3);
}

#[tokio::test]
async fn a_host_the_sandbox_does_not_serve_learns_nothing_and_moves_nothing() {
    let sandbox = start().await;
    let id = invoice(&sandbox).await;
    let url = sandbox.url();
    let port = sandbox.addr().port();
    let status_url = format!(
        "{}/api/v1/invoice/status?invoice_id={id}&apikey={}",
        sandbox.base_url(ProviderId::Qris),
        gerbang_sandbox::qris::API_KEY
    );
    // A rebinding page's name, with or without the port; names that merely look local.
    for host in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("localhost.:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("sandbox.test.evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        "[::1".to_owned(),
    ] {
        let headers = [("host", host.clone())];
        for read in [format!("{url}/_sandbox/payments"), format!("{url}/"), status_url.clone()] {
            let (status, text) = send("GET", &read, &headers, None).await;
            assert_eq!(status, 421, "{host} {read}: {text}");
            assert!(!text.contains(&id), "{host} read the payment: {text}");
            assert!(text.contains("localhost") && text.contains("sandbox.test (its public URL)"), "{text}");
        }
        let (status, _) = send("POST", &format!("{url}/_sandbox/qris/payments/{id}/pay"), &headers, None).await;
        assert_eq!(status, 421, "{host}");
        assert_eq!(state(&sandbox, &id), PaymentState::Pending, "{host} paid it");
    }
    // The names it serves.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "LocalHost".to_owned(),
        format!("[::1]:{port}"),
        "sandbox.test:8870".to_owned(),
    ] {
        let (status, text) = send("GET", &format!("{url}/_sandbox/payments"), &[("host", host.clone())], None).await;
        assert_eq!(status, 200, "{host}: {text}");
        assert!(text.contains(&id), "{host}: {text}");
    }
}

#[tokio::test]
async fn clients_without_an_origin_and_the_sandboxs_own_pages_are_obeyed() {
    let sandbox = start().await;
    let url = sandbox.url();
    let port = sandbox.addr().port();
    // curl, the SDK, `gerbang sandbox pay`: no Origin, no Sec-Fetch-Site.
    let id = invoice(&sandbox).await;
    let (status, text) = send("POST", &format!("{url}/_sandbox/qris/payments/{id}/pay"), &[], None).await;
    assert_eq!((status, state(&sandbox, &id)), (200, PaymentState::Paid), "{text}");

    // The dashboard's own form, as a browser posts it, reached by its address or by localhost.
    for (host, origin) in [
        (format!("127.0.0.1:{port}"), url.clone()),
        (format!("localhost:{port}"), format!("http://localhost:{port}")),
        ("sandbox.test:8870".to_owned(), PUBLIC_URL.to_owned()),
        // What Chromium sends from the dashboard's pages, which are `Referrer-Policy: no-referrer`.
        (format!("127.0.0.1:{port}"), "null".to_owned()),
    ] {
        let id = invoice(&sandbox).await;
        let headers = [("host", host), ("origin", origin), ("sec-fetch-site", "same-origin".to_owned())];
        let (status, _) =
            send("POST", &format!("{url}/payments/qris/{id}"), &headers, Some((FORM, "action=pay"))).await;
        assert_eq!((status, state(&sandbox, &id)), (303, PaymentState::Paid), "{headers:?}");
    }
    // A bookmark or a typed URL (`none`), and the public URL's page on the same site.
    let headers = [("sec-fetch-site", "none".to_owned())];
    let (status, _) = send("POST", &format!("{url}/_sandbox/clock/advance?by=1m"), &headers, None).await;
    assert_eq!(status, 200);
    let headers = [("sec-fetch-site", "same-site".to_owned()), ("origin", PUBLIC_URL.to_owned())];
    let (status, text) =
        send("POST", &format!("{url}/_sandbox/faults"), &headers, Some(("application/json", FAULT))).await;
    assert_eq!(status, 201, "{text}");
    // Reads are never refused for where they come from: a page of another site cannot read them.
    let headers = [("sec-fetch-site", "cross-site".to_owned()), ("origin", "http://evil.example".to_owned())];
    assert_eq!(send("GET", &format!("{url}/_sandbox/health"), &headers, None).await.0, 200);
    // The gateways are not the control API: a merchant's page may post to a checkout.
    let key = gerbang_sandbox::qris::API_KEY;
    let create = format!("{}/api/v1/invoice/create?amount=10000&apikey={key}", sandbox.base_url(ProviderId::Qris));
    assert_eq!(send("GET", &create, &headers, None).await.0, 200);
}

/// One attempt of the property test: which host, origin, `Sec-Fetch-Site` and content type a
/// request carries, and what it asks.
#[derive(Debug, Clone)]
struct Attempt {
    host: Host,
    origin: Option<Origin>,
    site: Option<&'static str>,
    content_type: Option<&'static str>,
    action: Action,
}

#[derive(Debug, Clone, Copy)]
enum Host {
    Own,
    Localhost,
    LoopbackV6,
    OtherIp,
    Public,
    Foreign,
    ForeignLookalike,
}

#[derive(Debug, Clone, Copy)]
enum Origin {
    /// `http://` and the request's own Host.
    SameAsHost,
    Own,
    Public,
    OtherPort,
    Foreign,
    Null,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Pay,
    Advance,
    InjectFault,
    ClearFaults,
    DashboardPay,
    ReadPayments,
}

fn attempts() -> impl Strategy<Value = Attempt> {
    use Action::*;
    let host = prop_oneof![
        Just(Host::Own),
        Just(Host::Localhost),
        Just(Host::LoopbackV6),
        Just(Host::OtherIp),
        Just(Host::Public),
        Just(Host::Foreign),
        Just(Host::ForeignLookalike),
    ];
    let origin = proptest::option::of(prop_oneof![
        Just(Origin::SameAsHost),
        Just(Origin::Own),
        Just(Origin::Public),
        Just(Origin::OtherPort),
        Just(Origin::Foreign),
        Just(Origin::Null),
    ]);
    let site = proptest::option::of(prop_oneof![
        Just("same-origin"),
        Just("none"),
        Just("same-site"),
        Just("cross-site"),
        Just("cross-origin"),
    ]);
    let content_type = proptest::option::of(prop_oneof![
        Just("application/json"),
        Just("application/json; charset=utf-8"),
        Just("text/plain"),
        Just(FORM),
        Just("multipart/form-data; boundary=x"),
    ]);
    let action = prop_oneof![
        Just(Pay),
        Just(Advance),
        Just(InjectFault),
        Just(ClearFaults),
        Just(DashboardPay),
        Just(ReadPayments)
    ];
    (host, origin, site, content_type, action).prop_map(|(host, origin, site, content_type, action)| Attempt {
        host,
        origin,
        site,
        content_type,
        action,
    })
}

impl Attempt {
    fn host_value(&self, port: u16) -> String {
        match self.host {
            Host::Own => format!("127.0.0.1:{port}"),
            Host::Localhost => format!("localhost:{port}"),
            Host::LoopbackV6 => format!("[::1]:{port}"),
            Host::OtherIp => "10.1.2.3".to_owned(),
            Host::Public => "sandbox.test:8870".to_owned(),
            Host::Foreign => format!("evil.example:{port}"),
            Host::ForeignLookalike => format!("localhost.evil.example:{port}"),
        }
    }

    fn origin_value(&self, port: u16) -> Option<String> {
        Some(match self.origin? {
            Origin::SameAsHost => format!("http://{}", self.host_value(port)),
            Origin::Own => format!("http://127.0.0.1:{port}"),
            Origin::Public => PUBLIC_URL.to_owned(),
            Origin::OtherPort => format!("http://127.0.0.1:{}", port.wrapping_add(1)),
            Origin::Foreign => "http://evil.example".to_owned(),
            Origin::Null => "null".to_owned(),
        })
    }

    /// The model: whether each rule, written from the issue's words, allows the request.
    fn host_allowed(&self) -> bool {
        !matches!(self.host, Host::Foreign | Host::ForeignLookalike)
    }

    fn origin_allowed(&self) -> bool {
        let own = matches!(self.origin, Some(Origin::SameAsHost | Origin::Own | Origin::Public));
        let site_ok = match self.site {
            None | Some("same-origin" | "none") => true,
            Some("same-site") => own,
            _ => false,
        };
        // `Origin: null` is what a browser writes on the dashboard's own forms (their pages
        // are `no-referrer`); only with `same-origin` (or `none`) is it the sandbox's own.
        let null_own = matches!(self.origin, Some(Origin::Null)) && matches!(self.site, Some("same-origin" | "none"));
        site_ok && (self.origin.is_none() || own || null_own)
    }

    fn type_allowed(&self) -> bool {
        match self.action {
            Action::InjectFault => self.content_type.is_some_and(|t| t.starts_with("application/json")),
            Action::Pay | Action::Advance | Action::ClearFaults => {
                self.content_type.is_none_or(|t| t.starts_with("application/json"))
            }
            Action::DashboardPay | Action::ReadPayments => true,
        }
    }

    fn obeyed(&self) -> bool {
        match self.action {
            Action::ReadPayments => self.host_allowed(),
            Action::DashboardPay => self.host_allowed() && self.origin_allowed(),
            _ => self.host_allowed() && self.origin_allowed() && self.type_allowed(),
        }
    }
}

/// Figures of the property test, printed at its end.
#[derive(Debug, Default)]
struct Figures {
    cases: u32,
    obeyed: u32,
    refused_host: u32,
    refused_origin: u32,
    refused_type: u32,
}

#[test]
fn a_request_is_obeyed_only_when_every_rule_allows_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sandbox = runtime.block_on(start());
    let url = sandbox.url();
    let port = sandbox.addr().port();
    let figures = std::cell::RefCell::new(Figures::default());
    let config = Config { cases: 512, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let outcome = runner.run(&attempts(), |attempt| {
        runtime.block_on(async {
            let id = invoice(&sandbox).await;
            let before = (sandbox.sandbox().clock_offset(), sandbox.faults().len());
            if matches!(attempt.action, Action::ClearFaults) {
                sandbox.inject_fault(Fault::new(ProviderId::Qris, "withdraw", FaultAction::Cut)).unwrap();
            }
            let mut headers = vec![("host", attempt.host_value(port))];
            if let Some(origin) = attempt.origin_value(port) {
                headers.push(("origin", origin));
            }
            if let Some(site) = attempt.site {
                headers.push(("sec-fetch-site", site.to_owned()));
            }
            let (method, path, body) = match attempt.action {
                Action::Pay => ("POST", format!("/_sandbox/qris/payments/{id}/pay"), "{}"),
                Action::Advance => ("POST", "/_sandbox/clock/advance?by=1s".to_owned(), "{}"),
                Action::InjectFault => ("POST", "/_sandbox/faults".to_owned(), FAULT),
                Action::ClearFaults => ("DELETE", "/_sandbox/faults".to_owned(), ""),
                Action::DashboardPay => ("POST", format!("/payments/qris/{id}"), "action=pay"),
                Action::ReadPayments => ("GET", "/_sandbox/payments".to_owned(), ""),
            };
            // A body only with a type: reqwest sends none otherwise, as curl without -d. The
            // dashboard's form is always a form.
            let body = match attempt.action {
                Action::DashboardPay => Some((FORM, body)),
                _ => attempt.content_type.map(|t| (t, body)),
            };
            let (status, text) = send(method, &format!("{url}{path}"), &headers, body).await;
            let did = match attempt.action {
                Action::Pay | Action::DashboardPay => state(&sandbox, &id) == PaymentState::Paid,
                Action::Advance => sandbox.sandbox().clock_offset() > before.0,
                Action::InjectFault => sandbox.faults().len() > before.1,
                Action::ClearFaults => sandbox.faults().is_empty(),
                Action::ReadPayments => status == 200 && text.contains(&id),
            };
            let want = attempt.obeyed();
            prop_assert_eq!(did, want, "{:?}: {} {}", attempt, status, text);
            if !want {
                prop_assert!(!text.contains(&id), "a refusal showed the payment: {}", text);
                let expected = if !attempt.host_allowed() {
                    421
                } else if !attempt.origin_allowed() {
                    403
                } else {
                    415
                };
                prop_assert_eq!(status, expected, "{:?}: {}", attempt, text);
            }
            sandbox.sandbox().clear_faults();
            let mut figures = figures.borrow_mut();
            figures.cases += 1;
            match (want, status) {
                (true, _) => figures.obeyed += 1,
                (false, 421) => figures.refused_host += 1,
                (false, 403) => figures.refused_origin += 1,
                (false, _) => figures.refused_type += 1,
            }
            Ok(())
        })
    });
    let figures = figures.into_inner();
    println!(
        "control safety: {} requests tried; {} obeyed, {} refused for their host (421), {} for where they came \
         from (403), {} for their content type (415)",
        figures.cases, figures.obeyed, figures.refused_host, figures.refused_origin, figures.refused_type
    );
    outcome.unwrap();
    assert!(figures.obeyed > 0 && figures.refused_host > 0 && figures.refused_origin > 0 && figures.refused_type > 0);
}
