//! The dashboard at the sandbox's root, over real HTTP without a browser: what each page shows,
//! that user text stays text, that every form works without JavaScript (post, 303, back), that
//! no secret is shown, and that the version the script polls follows every change.

mod workbench;

use gerbang_core::ProviderId;
use gerbang_sandbox::{Fault, FaultAction, PaymentState, crypto_invoice, cuan10pay};
use workbench::{Recorder, create};

/// A page's status, headers and body.
struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn get(url: &str) -> Page {
    let response = reqwest::get(url).await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    Page { status, headers, body: response.text().await.unwrap() }
}

/// Posts a form as a browser on the dashboard would, without following the redirect: the
/// status and `Location`.
#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn submit(url: &str, fields: &[(&str, &str)], site: &str) -> (u16, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body = serde_urlencoded::to_string(fields).unwrap();
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", site)
        .body(body)
        .send()
        .await
        .unwrap();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status().as_u16(), location)
}

const HOSTILE: &str = "<script>alert(\"x\")</script>&'";

async fn hostile_payments(sandbox: &gerbang_sandbox::SandboxHandle, recorder: &Recorder) -> Vec<(ProviderId, String)> {
    let mut created = Vec::new();
    for (provider, reference) in [
        (ProviderId::Cuan10pay, format!("ORDER-1 {HOSTILE}")),
        (ProviderId::CashIn, format!("ORDER-2{HOSTILE}")),
        (ProviderId::Qris, "ORDER-3".to_owned()),
        (ProviderId::CryptoInvoice, "ORDER-4".to_owned()),
        (ProviderId::Ciputra, "ORDER-5".to_owned()),
    ] {
        let (_, key) = create(sandbox, provider, &reference, 20_000, recorder).await;
        created.push((provider, key));
    }
    created
}

#[tokio::test]
async fn the_list_shows_every_payment_newest_first_escaped_and_filtered() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let created = hostile_payments(&sandbox, &recorder).await;
    let page = get(&format!("{}/", sandbox.url())).await;
    assert_eq!(page.status, 200);
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    assert!(page.headers["server-timing"].to_str().unwrap().starts_with("render;dur="));

    // User text is text: escaped, never markup.
    assert!(!page.body.contains("<script>alert"), "raw user text in the page");
    assert!(page.body.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"));
    assert!(page.body.contains("5 payments, newest first"));

    // Newest first: each row's place, by its data-payment attribute.
    let rows: Vec<usize> = created
        .iter()
        .map(|(provider, key)| {
            let marker = format!("data-payment=\"{}/{}\"", provider.as_str(), gerbang_sandbox_escape(key));
            page.body.find(&marker).unwrap_or_else(|| panic!("no row {marker}"))
        })
        .collect();
    assert!(rows.windows(2).all(|w| w[0] > w[1]), "newest first: {rows:?}");
    for name in ["Cuan10pay", "Cash In", "QRIS", "Crypto invoice", "Ciputra", "Rp 20.000", "state-pending"] {
        assert!(page.body.contains(name), "{name}");
    }

    sandbox.pay(ProviderId::Qris, &created[2].1).await.unwrap();
    let paid = get(&format!("{}/?state=paid", sandbox.url())).await.body;
    assert!(paid.contains("1 payment, newest first") && paid.contains(&created[2].1), "{paid}");
    let cashin = get(&format!("{}/?gateway=cashin&state=", sandbox.url())).await.body;
    assert_eq!(cashin.matches("<tr data-payment=").count(), 1);
    assert!(cashin.contains("<option value=cashin selected>"));
    let wrong = get(&format!("{}/?gateway=stripe", sandbox.url())).await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.body.contains("class=error") && wrong.body.contains("unknown gateway"), "{}", wrong.body);
}

/// The reference as the page writes it in an attribute.
fn gerbang_sandbox_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[tokio::test]
async fn a_payments_forms_move_it_and_its_webhook_without_javascript() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let (_, id) = create(&sandbox, ProviderId::Cuan10pay, "ORDER-9", 15_000, &recorder).await;
    let page_url = format!("{}/payments/cuan10pay/{id}", sandbox.url());
    let before = get(&page_url).await.body;
    assert!(before.contains("None yet.") && before.contains("<button name=action value=pay>Pay</button>"));
    assert!(!before.contains("value=fail"), "Cuan10pay deposits cannot fail: no button");

    // From another site: refused, nothing moves.
    let (status, _) = submit(&page_url, &[("action", "pay")], "cross-site").await;
    assert_eq!(status, 403);
    assert_eq!(sandbox.payment(ProviderId::Cuan10pay, &id).unwrap().state, PaymentState::Pending);

    let (status, location) =
        submit(&page_url, &[("action", "pay"), ("copies", "1"), ("delay_ms", "")], "same-origin").await;
    assert_eq!(status, 303);
    assert!(location.starts_with(&format!("/payments/cuan10pay/{id}?done=Now+paid")), "{location}");
    recorder.wait_for(ProviderId::Cuan10pay, 1).await;
    sandbox.wait_for_deliveries(1, workbench::WAIT).await.unwrap();
    let after = get(&format!("{}{location}", sandbox.url())).await.body;
    assert!(after.contains("class=notice") && after.contains("Now paid"), "{after}");
    assert!(after.contains("Webhook attempts <span class=muted>(1)</span>"));
    assert!(after.contains(&recorder.hook(ProviderId::Cuan10pay)), "the attempt's URL");
    assert!(after.contains("answered 200") && after.contains("content-type: application/json"));
    assert!(after.contains("&quot;status&quot;:&quot;PAID&quot;"), "the body sent, escaped");
    assert!(after.contains("<button name=action value=pay disabled>"), "final: the moves are disabled");
    assert!(after.contains("paid: sandbox control"), "its history");

    for (action, total) in [("resend", 2), ("duplicate", 4), ("drop", 5)] {
        let (status, location) = submit(&page_url, &[("action", action), ("status", "")], "same-origin").await;
        assert_eq!(status, 303, "{action}");
        assert!(location.contains("done="), "{action}: {location}");
        sandbox.wait_for_deliveries(total, workbench::WAIT).await.unwrap();
    }
    let page = get(&page_url).await.body;
    assert!(page.contains("Webhook attempts <span class=muted>(5)</span>"), "{page}");
    assert!(page.contains("dropped by the plan: not sent"));

    // A refusal comes back as the notice's error.
    let (_, location) = submit(&page_url, &[("action", "expire")], "same-origin").await;
    assert!(location.contains("error="), "{location}");
    assert!(get(&format!("{}{location}", sandbox.url())).await.body.contains("only a pending payment"));
    let (_, location) = submit(&page_url, &[("action", "resend"), ("status", "failed")], "same-origin").await;
    assert!(
        get(&format!("{}{location}", sandbox.url()))
            .await
            .body
            .contains("sends no webhook for a payment that is failed")
    );
    assert_eq!(get(&format!("{}/payments/cuan10pay/CP-NOPE", sandbox.url())).await.status, 404);
}

#[tokio::test]
async fn faults_and_the_clock_are_driven_from_the_dashboard() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let url = sandbox.url();
    let fields = [
        ("gateway", "qris"),
        ("operation", "create"),
        ("action", "status"),
        ("status", "503"),
        ("times", "1"),
        ("body", ""),
    ];
    let (status, location) = submit(&format!("{url}/faults"), &fields, "same-origin").await;
    assert_eq!(status, 303);
    assert!(location.starts_with("/faults?done=Fault+1+injected"), "{location}");
    let page = get(&format!("{url}/faults")).await.body;
    assert!(page.contains("<tr data-fault=1>") && page.contains("HTTP 503"), "{page}");
    let qris = workbench::client(&sandbox, ProviderId::Qris, None);
    let err = qris.create_payment(&workbench::request(ProviderId::Qris, "Q", 10_000, &recorder)).await.unwrap_err();
    assert_eq!(err.http_status(), Some(503), "{err}");
    assert!(sandbox.faults().is_empty(), "its one time is used up");

    let bad = [("gateway", "cashin"), ("operation", "refund"), ("action", "cut"), ("times", "two")];
    let (_, location) = submit(&format!("{url}/faults"), &bad, "same-origin").await;
    assert!(location.starts_with("/faults?error=times"), "{location}");
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "any", FaultAction::Hang)).unwrap();
    let (_, location) = submit(&format!("{url}/faults/2/clear"), &[], "same-origin").await;
    assert!(location.contains("done=Fault+2+cleared"), "{location}");
    assert!(sandbox.faults().is_empty());

    // Time travel, back to the page the form was on.
    let (_, invoice) = create(&sandbox, ProviderId::Qris, "Q2", 10_000, &recorder).await;
    let back = format!("/payments/qris/{invoice}");
    let (status, location) = submit(&format!("{url}/clock"), &[("by", "1h"), ("back", &back)], "same-origin").await;
    assert_eq!(status, 303);
    assert!(location.starts_with(&format!("{back}?done=Clock+advanced+by+1h")), "{location}");
    let page = get(&format!("{url}{location}")).await.body;
    assert!(page.contains("1 payment expired") && page.contains("expiry passed"), "{page}");
    assert!(page.contains("(moved +1h)"));
    let (_, location) =
        submit(&format!("{url}/clock"), &[("by", "forever"), ("back", "//evil.example/")], "same-origin").await;
    assert!(location.starts_with("/?error="), "never another site: {location}");
}

#[tokio::test]
async fn no_secret_is_shown_but_the_test_keys_in_their_masked_fields() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let (_, invoice) = create(&sandbox, ProviderId::CryptoInvoice, "ORDER-K", 10_000, &recorder).await;
    sandbox.pay(ProviderId::CryptoInvoice, &invoice).await.unwrap();
    sandbox.wait_for_deliveries(1, workbench::WAIT).await.unwrap();
    assert!(sandbox.deliveries()[0].body.contains(crypto_invoice::PRIVATE_KEY), "the callback carries the key");

    let page = get(&format!("{}/payments/crypto-invoice/{invoice}", sandbox.url())).await.body;
    assert!(!page.contains(crypto_invoice::PRIVATE_KEY), "masked in the body shown");
    assert!(page.contains("[sandbox crypto-invoice private key]"));

    let list = get(&format!("{}/", sandbox.url())).await.body;
    for secret in
        [cuan10pay::PRIVATE_KEY, cuan10pay::API_KEY, crypto_invoice::PRIVATE_KEY, gerbang_sandbox::ciputra::API_SECRET]
    {
        assert_eq!(list.matches(secret).count(), 1, "{secret}: once, in its masked field");
        let at = list.find(secret).unwrap();
        let field = &list[list[..at].rfind('<').unwrap()..at];
        assert!(field.starts_with("<input type=password readonly"), "{field}");
    }
    assert!(list.contains(&format!("{}/cuan10pay", sandbox.url())), "the base URLs");
}

#[tokio::test]
async fn the_version_the_script_polls_follows_every_change_and_the_assets_are_served() {
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let version = || async {
        let text = get(&format!("{}/_sandbox/version", sandbox.url())).await.body;
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["version"].as_str().unwrap().to_owned()
    };
    let first = version().await;
    assert_eq!(version().await, first, "nothing changed");
    let (_, id) = create(&sandbox, ProviderId::Cuan10pay, "ORDER-V", 10_000, &recorder).await;
    let created = version().await;
    assert_ne!(created, first);
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    let paid = version().await;
    assert_ne!(paid, created);
    sandbox.wait_for_deliveries(1, workbench::WAIT).await.unwrap();
    assert_ne!(version().await, paid, "a webhook attempt shows");
    let attempted = version().await;
    sandbox.inject_fault(Fault::new(ProviderId::Qris, "any", FaultAction::Cut)).unwrap();
    assert_ne!(version().await, attempted);
    let page = get(&format!("{}/", sandbox.url())).await.body;
    assert!(page.contains(&format!("data-version=\"{}\"", version().await)), "the page says what it was rendered at");

    let css = get(&format!("{}/assets/dashboard.css", sandbox.url())).await;
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css") && css.body.contains(".state-paid"));
    let js = get(&format!("{}/assets/dashboard.js", sandbox.url())).await;
    assert!(
        js.headers["content-type"].to_str().unwrap().starts_with("text/javascript")
            && js.body.contains("/_sandbox/version")
    );
}
