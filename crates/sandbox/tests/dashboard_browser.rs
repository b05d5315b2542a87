//! The dashboard in a real browser: Debian's headless Chromium, driven over WebDriver
//! (fantoccini) through a private chromedriver (`gerbang_testkit::Chromium`). Payments made with
//! the SDK's clients appear; clicking Pay marks one paid and lists its webhook attempt; Resend
//! adds one; a payment paid elsewhere shows on the open list without a reload. The pages end in
//! `target/dashboard.png` (the list) and `target/dashboard-payment.png`. The pages update
//! themselves, so every read and click is made again when what it found was replaced meanwhile.
//! Skipped, saying why, where Chromium is not installed (failed under `CI=true`).

mod workbench;

use std::time::Duration;

use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use gerbang_core::ProviderId;
use gerbang_testkit::Chromium;
use hyper_util::client::legacy::connect::HttpConnector;
use workbench::create;

type Outcome = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// How long the browser gets for a page or a change to show; a passing run takes a fraction.
const PATIENCE: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_drives_payments_in_a_real_browser() {
    let Some(chromium) = Chromium::start() else { return };
    let (sandbox, recorder) = workbench::start(|b| b).await;
    let mut created = Vec::new();
    for (provider, reference, amount) in [
        (ProviderId::Ciputra, "INV-2026-0007", 275_000),
        (ProviderId::CryptoInvoice, "INV-2026-0006", 1_250_000),
        (ProviderId::Qris, "INV-2026-0005", 45_000),
        (ProviderId::CashIn, "INV-2026-0004 <b>\"Kopi & Teh\"</b>", 150_000),
        (ProviderId::Cuan10pay, "INV-2026-0003", 98_500),
        (ProviderId::CashIn, "INV-2026-0002", 32_000),
        (ProviderId::Cuan10pay, "INV-2026-0001", 60_000),
    ] {
        let (_, key) = create(&sandbox, provider, reference, amount, &recorder).await;
        created.push((provider, key));
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let browser = ClientBuilder::new(connector)
        .capabilities(chromium.capabilities())
        .connect(&chromium.webdriver_url())
        .await
        .unwrap_or_else(|e| panic!("no WebDriver session with Chromium: {e}"));
    let outcome = drive(&browser, &sandbox, &created).await;
    // The session ends (and the browser with it) whatever happened; then the outcome counts.
    let closed = browser.close().await;
    if let Err(e) = outcome {
        panic!("{e}");
    }
    closed.unwrap_or_else(|e| panic!("the session did not close: {e}"));
}

async fn drive(
    browser: &Client,
    sandbox: &gerbang_sandbox::SandboxHandle,
    created: &[(ProviderId, String)],
) -> Outcome {
    let root = format!("{}/", sandbox.url());
    browser.goto(&root).await?;
    browser.wait().at_most(PATIENCE).for_element(Locator::Css("table.payments")).await?;
    let rows = texts(browser, "tr[data-payment]").await?;
    assert_eq!(rows.len(), created.len(), "every payment made through the SDK is listed");
    assert!(rows[0].contains("INV-2026-0001"), "newest first: {}", rows[0]);
    // The merchant's text is shown as text, markup and all.
    let cashin_row = text(browser, &row(ProviderId::CashIn, "INV-2026-0004 <b>\"Kopi & Teh\"</b>")).await?;
    assert!(cashin_row.contains("INV-2026-0004 <b>\"Kopi & Teh\"</b>"));

    // To the newest Cuan10pay deposit's page, and pay it with its button.
    let (_, deposit) = &created[6];
    click(browser, &format!("{} a", row(ProviderId::Cuan10pay, deposit))).await?;
    browser.wait().at_most(PATIENCE).for_element(Locator::Css("button[name=action][value=pay]")).await?;
    click(browser, "button[name=action][value=pay]").await?;
    let notice = browser.wait().at_most(PATIENCE).for_element(Locator::Css("p.notice")).await?;
    assert!(notice.text().await?.starts_with("Now paid"), "{}", notice.text().await?);
    assert!(browser.current_url().await?.path().ends_with(deposit.as_str()), "back on its page");
    // Its webhook attempt shows (at once, or when the script sees it a second later).
    let attempts = wait_for_count(browser, "article.attempt", 1).await?;
    assert!(attempts[0].contains("answered 200"), "{}", attempts[0]);
    assert_eq!(text(browser, "#payment .state").await?, "paid");

    // Resend: a second attempt, listed above the first.
    click(browser, "button[name=action][value=resend]").await?;
    browser.wait().at_most(PATIENCE).for_element(Locator::Css("p.notice")).await?;
    let attempts = wait_for_count(browser, "article.attempt", 2).await?;
    assert!(attempts[0].contains("answered 200"), "{}", attempts[0]);
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).parent().ok_or("no target dir")?;
    std::fs::write(target.join("dashboard-payment.png"), browser.screenshot().await?)?;

    // Back to the list, left open while the payments move elsewhere: it follows, unreloaded.
    browser.goto(&root).await?;
    browser.wait().at_most(PATIENCE).for_element(Locator::Css("table.payments")).await?;
    let marker = browser.execute("window.__same_page = true; return true;", vec![]).await?;
    assert_eq!(marker, serde_json::json!(true));
    sandbox.pay(ProviderId::CashIn, "INV-2026-0002").await?;
    sandbox.expire(ProviderId::Qris, &created[2].1).await?;
    sandbox.cancel(ProviderId::Ciputra, &created[0].1).await?;
    sandbox.fail(ProviderId::CashIn, "INV-2026-0004 <b>\"Kopi & Teh\"</b>").await?;
    let live = row(ProviderId::CashIn, "INV-2026-0002");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let shown = text(browser, &live).await?;
        let states = texts(browser, "tr[data-payment] .state-pending").await?.len();
        if shown.contains("paid") && states == 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the open list did not follow: {shown}, {states} pending");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let same = browser.execute("return window.__same_page === true;", vec![]).await?;
    assert_eq!(same, serde_json::json!(true), "updated in place, not reloaded");

    let png = browser.screenshot().await?;
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(target.join("dashboard.png"), &png)?;
    Ok(())
}

/// The CSS selector of a payment's row.
fn row(provider: ProviderId, reference: &str) -> String {
    let quoted = reference.replace('\\', "\\\\").replace('"', "\\\"");
    format!("tr[data-payment=\"{}/{quoted}\"]", provider.as_str())
}

/// Waits until the page has at least `count` elements matching `css`, and returns their texts.
async fn wait_for_count(
    browser: &Client,
    css: &str,
    count: usize,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let found = texts(browser, css).await?;
        if found.len() >= count {
            return Ok(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{count} of {css} expected, {} on the page", found.len()).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of every element matching `css`. The dashboard's script replaces what it shows as
/// payments change, so an element found may be gone by the time its text is asked for (a stale
/// element): the page is then read again, until [`PATIENCE`] runs out.
async fn texts(browser: &Client, css: &str) -> Result<Vec<String>, CmdError> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let read = async {
            let mut out = Vec::new();
            for element in browser.find_all(Locator::Css(css)).await? {
                out.push(element.text().await?);
            }
            Ok::<_, CmdError>(out)
        };
        match read.await {
            Err(e) if e.is_stale_element_reference() && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// Clicks the element matching `css`, found again if the page replaced it first (see [`texts`]).
async fn click(browser: &Client, css: &str) -> Result<(), CmdError> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match browser.find(Locator::Css(css)).await?.click().await {
            Err(e) if e.is_stale_element_reference() && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// The text of the one element matching `css`, read as [`texts`] reads.
async fn text(browser: &Client, css: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    texts(browser, css).await?.into_iter().next().ok_or_else(|| format!("nothing on the page matches {css}").into())
}
