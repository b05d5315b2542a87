//! The dashboard's HTML, written by hand: every value that comes from a payment, a request or
//! a receiver goes through [`escape`] (or [`link`], then `escape`), so that user text stays text.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use gerbang_core::ProviderId;
use gerbang_signing::jakarta::format_local_datetime;
use rust_decimal::Decimal;
use time::OffsetDateTime;

use crate::emulated::{self, Webhooks};
use crate::page::{escape, link};
use crate::{Delivery, PaymentState, PaymentSummary};

/// Which page the header marks as the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    Payments,
    Faults,
}

/// What every page shows around its content.
#[derive(Debug)]
pub(super) struct Frame<'a> {
    pub(super) title: &'a str,
    pub(super) nav: Nav,
    /// What the page's live regions were rendered at: the script fetches the page again when
    /// the sandbox's version differs.
    pub(super) version: &'a str,
    pub(super) now: OffsetDateTime,
    pub(super) offset: Duration,
    /// The path the clock form comes back to.
    pub(super) back: &'a str,
    /// `?done=` and `?error=` of the redirect that brought the browser here.
    pub(super) done: Option<&'a str>,
    pub(super) error: Option<&'a str>,
}

/// The page: header (navigation, sandbox clock and its advance form), notice, content.
pub(super) fn layout(frame: &Frame<'_>, content: &str) -> String {
    let mut html = String::with_capacity(content.len() + 2048);
    let current = |nav: Nav| if frame.nav == nav { " aria-current=page" } else { "" };
    // Writing to a String cannot fail.
    let _ = write!(
        html,
        "<!doctype html><html lang=en><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>{title} · gerbang sandbox</title>\
         <link rel=stylesheet href=\"/assets/dashboard.css\"><script src=\"/assets/dashboard.js\" defer></script>\
         <body data-version=\"{version}\">\
         <header class=top><a class=brand href=\"/\">gerbang sandbox</a>\
         <nav><a href=\"/\"{payments}>Payments</a><a href=\"/faults\"{faults}>Faults</a></nav>\
         <form method=post action=\"/clock\">{clock}\
         <input type=hidden name=back value=\"{back}\">\
         <input name=by value=1h aria-label=\"advance the clock by\" required>\
         <button>Advance clock</button></form></header><main>",
        title = escape(frame.title),
        version = escape(frame.version),
        payments = current(Nav::Payments),
        faults = current(Nav::Faults),
        clock = clock(frame.now, frame.offset),
        back = escape(frame.back),
    );
    if let Some(done) = frame.done {
        let _ = write!(html, "<p class=notice role=status>{}</p>", escape(done));
    }
    if let Some(error) = frame.error {
        let _ = write!(html, "<p class=error role=alert>{}</p>", escape(error));
    }
    html.push_str(content);
    html.push_str("</main></html>");
    html
}

/// The sandbox's time, live, with how far time travel moved it.
fn clock(now: OffsetDateTime, offset: Duration) -> String {
    let moved = if offset.is_zero() {
        String::new()
    } else {
        format!(" <span class=muted>(moved +{})</span>", crate::clock::describe(offset))
    };
    format!("<span id=clock data-live>Sandbox time <time>{}</time>{moved}</span>", local(now))
}

/// `2026-12-01 10:00:00 WIB`: Jakarta time, as the gateways write it.
pub(super) fn local(t: OffsetDateTime) -> String {
    format!("{} WIB", format_local_datetime(t))
}

/// The gateway's name for a person.
pub(super) fn gateway_name(provider: ProviderId) -> &'static str {
    emulated::of(provider).map_or("another gateway", |gateway| gateway.name())
}

/// `Rp 150.000` for rupiah (whole, grouped by thousands the Indonesian way); `12.5 USD` else.
pub(super) fn money(amount: Decimal, currency: &str) -> String {
    if currency != "IDR" {
        return format!("{} {}", amount.normalize(), escape(currency));
    }
    let text = amount.normalize().to_string();
    let (whole, fraction) = text.split_once('.').map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("Rp {sign}{grouped},{fraction}"),
        None => format!("Rp {sign}{grouped}"),
    }
}

fn state_badge(state: PaymentState) -> String {
    format!("<span class=\"state state-{0}\">{0}</span>", state.as_str())
}

/// The path of a payment's page.
pub(super) fn payment_path(provider: ProviderId, reference: &str) -> String {
    link(&["payments", provider.as_str(), reference], &[])
}

/// What the list shows of a payment's webhooks: how many attempts, and the last answer.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Attempts {
    pub(super) count: usize,
    pub(super) last: Option<Option<u16>>,
}

/// The list page's content.
pub(super) struct List<'a> {
    pub(super) payments: &'a [PaymentSummary],
    /// How many the filter let through, before paging.
    pub(super) matching: usize,
    pub(super) first: usize,
    pub(super) attempts: &'a HashMap<(ProviderId, String), Attempts>,
    pub(super) gateway: Option<ProviderId>,
    pub(super) state: Option<PaymentState>,
    pub(super) page: usize,
    pub(super) pages: usize,
}

pub(super) fn list(list: &List<'_>, keys: &str) -> String {
    let mut html = String::with_capacity(512 + list.payments.len() * 420);
    html.push_str("<h1>Payments</h1><form class=filters method=get action=\"/\"><label>Gateway<select name=gateway><option value=\"\">any</option>");
    for gateway in emulated::all() {
        let selected = if list.gateway == Some(gateway.provider()) { " selected" } else { "" };
        let _ = write!(html, "<option value={}{selected}>{}</option>", gateway.provider().as_str(), gateway.name());
    }
    html.push_str("</select></label><label>State<select name=state><option value=\"\">any</option>");
    for state in STATES {
        let selected = if list.state == Some(state) { " selected" } else { "" };
        let _ = write!(html, "<option{selected}>{}</option>", state.as_str());
    }
    html.push_str("</select></label><button>Filter</button></form><section id=payments data-live>");
    let shown = list.payments.len();
    let _ = write!(
        html,
        "<p class=count>{} payment{}{}</p>",
        list.matching,
        if list.matching == 1 { "" } else { "s" },
        if shown < list.matching {
            format!(", {} to {} shown, newest first", list.first + 1, list.first + shown)
        } else {
            ", newest first".to_owned()
        }
    );
    if shown == 0 {
        html.push_str("<p class=muted>None yet: create one with the SDK, pointed at a gateway's base URL below.</p>");
    } else {
        html.push_str(
            "<table class=payments><thead><tr><th>Created<th>Gateway<th>Merchant reference<th>Gateway id\
             <th class=num>Amount<th>State<th>Webhooks</tr></thead><tbody>",
        );
        for payment in list.payments {
            row(&mut html, payment, list.attempts);
        }
        html.push_str("</tbody></table>");
    }
    if list.pages > 1 {
        html.push_str("<nav class=pages>");
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(gateway) = list.gateway {
            query.push(("gateway", gateway.as_str().to_owned()));
        }
        if let Some(state) = list.state {
            query.push(("state", state.as_str().to_owned()));
        }
        let to = |page: usize| {
            let mut pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let number = page.to_string();
            pairs.push(("page", &number));
            escape(&link(&[], &pairs))
        };
        if list.page > 1 {
            let _ = write!(html, "<a href=\"{}\">newer</a>", to(list.page - 1));
        }
        let _ = write!(html, "<span>page {} of {}</span>", list.page, list.pages);
        if list.page < list.pages {
            let _ = write!(html, "<a href=\"{}\">older</a>", to(list.page + 1));
        }
        html.push_str("</nav>");
    }
    html.push_str("</section>");
    html.push_str(keys);
    html
}

const STATES: [PaymentState; 5] =
    [PaymentState::Pending, PaymentState::Paid, PaymentState::Expired, PaymentState::Cancelled, PaymentState::Failed];

fn row(html: &mut String, payment: &PaymentSummary, attempts: &HashMap<(ProviderId, String), Attempts>) {
    let path = escape(&payment_path(payment.provider, &payment.reference));
    let webhooks = match attempts.get(&(payment.provider, payment.reference.clone())) {
        None => "<span class=muted>none</span>".to_owned(),
        Some(seen) => {
            let last = match seen.last {
                Some(Some(status)) if (200..300).contains(&status) => format!("<span class=ok>{status}</span>"),
                Some(Some(status)) => format!("<span class=bad>{status}</span>"),
                _ => "<span class=bad>no answer</span>".to_owned(),
            };
            format!("{} · last {last}", seen.count)
        }
    };
    let _ = write!(
        html,
        "<tr data-payment=\"{provider}/{reference}\"><td class=nowrap>{created}<td class=nowrap>{gateway}<td>{merchant}\
         <td><a class=mono href=\"{path}\">{id}</a><td class=num>{amount}<td>{state}<td class=nowrap>{webhooks}</tr>",
        provider = payment.provider.as_str(),
        reference = escape(&payment.reference),
        created = local(payment.created_at),
        gateway = gateway_name(payment.provider),
        merchant =
            payment.merchant_reference.as_deref().map_or_else(|| "<span class=muted>—</span>".to_owned(), escape),
        id = escape(&payment.gateway_id),
        amount = money(payment.amount, &payment.currency),
        state = state_badge(payment.state),
    );
}

/// A payment's page: what it is, its history and its webhook attempts (live), and the forms
/// that move it and resend its webhook.
pub(super) fn payment(payment: &PaymentSummary, deliveries: &[Delivery]) -> String {
    let mut html = String::with_capacity(4096 + deliveries.len() * 1024);
    let action = escape(&payment_path(payment.provider, &payment.reference));
    let _ = write!(
        html,
        "<p><a href=\"/\">← every payment</a></p><h1>{gateway} payment <code>{id}</code></h1><div class=columns><div>",
        gateway = gateway_name(payment.provider),
        id = escape(&payment.gateway_id),
    );
    html.push_str("<section id=payment data-live><dl class=facts>");
    let facts: [(&str, String); 8] = [
        ("State", state_badge(payment.state)),
        ("Amount", money(payment.amount, &payment.currency)),
        ("Gateway", gateway_name(payment.provider).to_owned()),
        ("Reference", format!("<code>{}</code>", escape(&payment.reference))),
        ("Gateway id", format!("<code>{}</code>", escape(&payment.gateway_id))),
        ("Merchant reference", payment.merchant_reference.as_deref().map_or_else(|| "—".to_owned(), escape)),
        ("Created", local(payment.created_at)),
        ("Expires", payment.expires_at.map_or_else(|| "never".to_owned(), local)),
    ];
    for (name, value) in facts {
        let _ = write!(html, "<dt>{name}<dd>{value}");
    }
    if let Some(url) = &payment.page_url {
        let _ = write!(html, "<dt>Customer's page<dd><a href=\"{0}\">{0}</a>", escape(url));
    }
    html.push_str("</dl><h2>History</h2><ol class=history>");
    for event in &payment.history {
        let what = if event.state == PaymentState::Pending { "created" } else { event.state.as_str() };
        let _ = write!(
            html,
            "<li><time>{}</time> {} <span class=muted>{}: {}</span>{}</li>",
            local(event.at),
            state_badge(event.state),
            what,
            event.cause.describe(),
            event.note.map(|n| format!(" <span class=muted>({})</span>", escape(n))).unwrap_or_default(),
        );
    }
    html.push_str("</ol>");
    let _ = write!(html, "<h2>Webhook attempts <span class=muted>({})</span></h2>", deliveries.len());
    if deliveries.is_empty() {
        html.push_str("<p class=muted>None yet.</p>");
    }
    for (index, delivery) in deliveries.iter().enumerate().rev() {
        attempt(&mut html, index, delivery);
    }
    html.push_str("</section></div><div>");
    controls(&mut html, payment, &action);
    html.push_str("</div></div>");
    html
}

fn attempt(html: &mut String, index: usize, delivery: &Delivery) {
    let outcome = match (delivery.status, &delivery.error) {
        _ if delivery.dropped => "<span class=muted>dropped by the plan: not sent</span>".to_owned(),
        (Some(status), _) if (200..300).contains(&status) => format!("<span class=ok>answered {status}</span>"),
        (Some(status), _) => format!("<span class=bad>answered {status}</span>"),
        (None, Some(error)) => format!("<span class=bad>{}</span>", escape(error)),
        (None, None) => "<span class=bad>no answer</span>".to_owned(),
    };
    let mut headers = String::new();
    for (name, value) in &delivery.headers {
        let _ = writeln!(headers, "{}: {}", escape(name), escape(&mask(value)));
    }
    let _ = write!(
        html,
        "<article class=attempt data-attempt=\"{index}\"><h3>Copy {copy}, attempt {attempt} · {outcome}</h3>\
         <div class=muted>POST <span class=mono>{url}</span>{at}</div>\
         <details id=attempt-{index}-request><summary>Request</summary><pre>{headers}</pre><pre>{body}</pre></details>",
        copy = delivery.copy,
        attempt = delivery.attempt,
        url = escape(&delivery.url),
        at = delivery.at.map(|at| format!(" · {}", local(at))).unwrap_or_default(),
        body = escape(&mask(&delivery.body)),
    );
    if let Some(answer) = &delivery.answer {
        let _ = write!(
            html,
            "<details id=attempt-{index}-answer><summary>Answer</summary><pre>{}</pre></details>",
            if answer.is_empty() { "<span class=muted>(empty body)</span>".to_owned() } else { escape(answer) }
        );
    }
    html.push_str("</article>");
}

/// The forms: the moves (with a delivery plan), and the webhook's resend, duplicate and drop.
/// They sit outside the live region (a refresh would wipe what is typed in them): a button
/// pressed after the payment moved elsewhere gets the sandbox's refusal as the notice.
fn controls(html: &mut String, payment: &PaymentSummary, action: &str) {
    let _ =
        write!(html, "<form class=panel id=moves method=post action=\"{action}\"><h2>Move it</h2><div class=buttons>");
    let gateway = emulated::of(payment.provider);
    let supported = gateway.map_or(&[][..], |g| g.moves());
    for (target, label) in [
        (PaymentState::Paid, "Pay"),
        (PaymentState::Expired, "Expire"),
        (PaymentState::Failed, "Fail"),
        (PaymentState::Cancelled, "Cancel"),
    ] {
        if !supported.contains(&target) {
            continue;
        }
        let verb = match target {
            PaymentState::Paid => "pay",
            PaymentState::Expired => "expire",
            PaymentState::Failed => "fail",
            _ => "cancel",
        };
        let disabled = if payment.state == PaymentState::Pending { "" } else { " disabled" };
        let _ = write!(html, "<button name=action value={verb}{disabled}>{label}</button>");
    }
    if payment.state != PaymentState::Pending {
        let _ = write!(html, "<span class=muted>it is {}: final</span>", payment.state.as_str());
    }
    html.push_str(
        "</div><fieldset><legend>Its webhook's delivery plan</legend>\
         <label>Copies<input type=number name=copies min=1 max=100 value=1></label>\
         <label>Delay ms<input type=number name=delay_ms min=0 value=0></label>\
         <label>Spacing ms<input type=number name=spacing_ms min=0 value=0></label>\
         <label>Drop it<input type=checkbox name=drop value=true></label></fieldset></form>",
    );
    if let Some(Webhooks::None { page, .. }) = gateway.map(|g| g.webhooks()) {
        let _ = write!(html, "<div class=panel><h2>Its webhook</h2><p class=muted>{}</p></div>", escape(page));
        return;
    }
    let _ = write!(
        html,
        "<form class=panel method=post action=\"{action}\"><h2>Its webhook</h2>\
         <label>Of the state<select name=status><option value=\"\">current ({current})</option>",
        current = payment.state.as_str()
    );
    for state in STATES {
        let _ = write!(html, "<option>{}</option>", state.as_str());
    }
    html.push_str(
        "</select></label><div class=buttons>\
         <button name=action value=resend>Resend</button>\
         <button name=action value=duplicate class=quiet>Duplicate (2 at once)</button>\
         <button name=action value=drop class=quiet>Drop (record, send nothing)</button></div></form>",
    );
}

/// `text` with each of the sandbox's own test secrets (every gateway's
/// [credentials](crate::emulated::EmulatedGateway::credentials) that the SDK reads from a
/// variable) replaced by its name, `[sandbox cashin secret key]`: a crypto invoice's callback
/// carries the private key, and the dashboard shows no secret outside the masked fields of the
/// keys panel.
pub(super) fn mask(text: &str) -> std::borrow::Cow<'_, str> {
    let mut masked = std::borrow::Cow::Borrowed(text);
    for gateway in emulated::all() {
        for secret in gateway.credentials().iter().filter(|c| c.variable.is_some()) {
            if masked.contains(secret.value) {
                let name = format!("[sandbox {} {}]", gateway.provider().as_str(), secret.label);
                masked = std::borrow::Cow::Owned(masked.replace(secret.value, &name));
            }
        }
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rupiah_are_grouped_and_other_currencies_kept() {
        assert_eq!(money(Decimal::from(150_000), "IDR"), "Rp 150.000");
        assert_eq!(money(Decimal::from(1_234_567), "IDR"), "Rp 1.234.567");
        assert_eq!(money(Decimal::from(999), "IDR"), "Rp 999");
        assert_eq!(money(Decimal::new(72_550, 2), "USD"), "725.5 USD");
        assert_eq!(money(Decimal::new(-1_500, 0), "IDR"), "Rp -1.500");
    }

    #[test]
    fn secrets_are_masked_in_shown_text() {
        let mut secrets = 0;
        for gateway in emulated::all() {
            for credential in gateway.credentials() {
                let body = format!(r#"{{"{}":"{}","id":1}}"#, credential.key, credential.value);
                let masked = mask(&body);
                if credential.variable.is_some() {
                    secrets += 1;
                    let name = format!("[sandbox {} {}]", gateway.provider().as_str(), credential.label);
                    assert_eq!(masked, format!(r#"{{"{}":"{name}","id":1}}"#, credential.key));
                } else {
                    assert_eq!(masked, body, "an identifier is shown as it is");
                }
            }
        }
        assert!(secrets >= 5, "every gateway has a secret");
        assert!(matches!(mask("nothing secret"), std::borrow::Cow::Borrowed(_)));
    }
}
