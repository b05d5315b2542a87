//! The dashboard, at the sandbox's root: a developer's workbench in the browser. Server-rendered
//! HTML, one small stylesheet and one small script (no build step); every action is an HTML form
//! that posts and is redirected back (303), so it all works without JavaScript, and the script
//! only keeps the page's live parts up to date (polling `GET /_sandbox/version`) and copies keys.
//!
//! | route | page or action |
//! |---|---|
//! | `GET /[?gateway=&state=&page=]` | every payment of every gateway, newest first, 1 000 a page; the gateways' base URLs and test keys |
//! | `GET /payments/{provider}/{reference}` | one payment: its facts, history and every webhook attempt (URL, request headers and body, answer status and body, time), and its controls |
//! | `POST /payments/{provider}/{reference}` | form `action` = `pay`, `expire`, `fail`, `cancel` (with the plan: `copies`, `delay_ms`, `spacing_ms`, `drop`), `resend`, `duplicate`, `drop` (with `status`) |
//! | `GET /faults`, `POST /faults`, `POST /faults/clear`, `POST /faults/{id}/clear` | the faults held, injecting one, clearing them |
//! | `POST /clock` | form `by` (`2h`): time travel |
//! | `GET /_sandbox/version` | `{"version": "…"}`: changes whenever anything the pages show changes |
//!
//! Every value shown is HTML-escaped (payments carry user text), every page is sent with a
//! content security policy that allows no inline script, and no secret is shown: the sandbox's
//! own test keys sit in masked fields with a Copy button, and are masked in webhook bodies. A
//! form posted from another site (`Sec-Fetch-Site: cross-site`, or an `Origin` that is not the
//! sandbox's own) is refused, and a page is served only to a request naming a host the sandbox
//! serves: the layer in front of every route does both (`guard.rs`).

mod render;
mod tools;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gerbang_core::ProviderId;
use serde_json::json;

use self::render::{Attempts, Frame, List, Nav};
use crate::page::link;
use crate::payments::{self, Filter, PaymentSummary};
use crate::state::Shared;
use crate::{DeliveryPlan, Fault, FaultAction, PaymentState, control};

/// How many payments a page of the list shows.
pub(crate) const PAGE_SIZE: usize = 1_000;

const STYLESHEET: &str = include_str!("dashboard.css");
const SCRIPT: &str = include_str!("dashboard.js");

/// The pages and their forms, at the root.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(list))
        .route("/payments/{provider}/{reference}", get(payment).post(act))
        .route("/faults", get(faults).post(add_fault))
        .route("/faults/clear", post(clear_faults))
        .route("/faults/{id}/clear", post(clear_fault))
        .route("/clock", post(advance))
        .route("/assets/dashboard.css", get(|| async { asset("text/css; charset=utf-8", STYLESHEET) }))
        .route("/assets/dashboard.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .with_state(shared)
}

/// Adds `GET /version` to the control router (mounted under `/_sandbox`).
pub(crate) fn control_routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router.route("/version", get(version))
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")], body).into_response()
}

/// A fingerprint of everything the pages show: every payment's state and history, the webhook
/// attempts, the faults and the clock's offset.
fn fingerprint(shared: &Shared, every: &[PaymentSummary]) -> String {
    let mut hasher = DefaultHasher::new();
    for payment in every {
        (payment.provider.as_str(), &payment.reference, payment.state.as_str(), payment.history.len())
            .hash(&mut hasher);
    }
    shared.deliveries.recorded().hash(&mut hasher);
    for fault in shared.faults.list() {
        (fault.id, fault.hits).hash(&mut hasher);
    }
    shared.clock.offset().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

async fn version(State(shared): State<Arc<Shared>>) -> Response {
    let every = payments::all(&shared, &Filter::default());
    let mut response = Json(json!({ "version": fingerprint(&shared, &every) })).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page with the dashboard's headers: no inline script, no framing, not cached, and the time
/// it took to render (`Server-Timing`, which the benchmark reads).
fn page(started: Instant, html: String) -> Response {
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(timing) = HeaderValue::from_str(&format!("render;dur={millis:.3}")) {
        headers.insert(HeaderName::from_static("server-timing"), timing);
    }
    response
}

fn frame<'a>(shared: &Shared, title: &'a str, nav: Nav, version: &'a str, back: &'a str) -> Frame<'a> {
    Frame { title, nav, version, now: shared.now(), offset: shared.clock.offset(), back, done: None, error: None }
}

/// `GET /`: the list.
async fn list(State(shared): State<Arc<Shared>>, query: Params) -> Response {
    let started = Instant::now();
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let (filter, problem) = match control::filter(&query, &["page", "done", "error"]) {
        Ok(filter) => (filter, None),
        Err(problem) => (Filter::default(), Some(problem)),
    };
    let every = payments::all(&shared, &Filter::default());
    let version = fingerprint(&shared, &every);
    let matching: Vec<&PaymentSummary> = every
        .iter()
        .filter(|p| filter.provider.is_none_or(|g| g == p.provider) && filter.state.is_none_or(|s| s == p.state))
        .collect();
    let pages = matching.len().div_ceil(PAGE_SIZE).max(1);
    let page_number = query.get("page").and_then(|p| p.trim().parse::<usize>().ok()).unwrap_or(1).clamp(1, pages);
    let first = (page_number - 1) * PAGE_SIZE;
    let shown: Vec<PaymentSummary> = matching.iter().skip(first).take(PAGE_SIZE).map(|p| (*p).clone()).collect();
    let mut attempts: HashMap<(ProviderId, String), Attempts> = HashMap::new();
    for delivery in shared.deliveries.all() {
        let seen = attempts.entry((delivery.provider, delivery.reference.clone())).or_default();
        seen.count += 1;
        seen.last = Some(delivery.status);
    }
    let content = render::list(
        &List {
            payments: &shown,
            matching: matching.len(),
            first,
            attempts: &attempts,
            gateway: filter.provider,
            state: filter.state,
            page: page_number,
            pages,
        },
        &tools::keys(shared.origin()),
    );
    let mut frame = frame(&shared, "Payments", Nav::Payments, &version, "/");
    frame.done = query.get("done").map(String::as_str);
    frame.error = problem.as_deref().or(query.get("error").map(String::as_str));
    page(started, render::layout(&frame, &content))
}

/// `GET /payments/{provider}/{reference}`.
async fn payment(
    State(shared): State<Arc<Shared>>,
    Path((provider, reference)): Path<(String, String)>,
    query: Params,
) -> Response {
    let started = Instant::now();
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let Ok(provider) = control::provider(&provider) else {
        return crate::page::not_found(&format!("gateway {provider}"));
    };
    let every = payments::all(&shared, &Filter::default());
    let Some(summary) = every.iter().find(|p| p.provider == provider && p.reference == reference) else {
        return crate::page::not_found(&format!("{provider} payment {reference}"));
    };
    let version = fingerprint(&shared, &every);
    let deliveries = shared.deliveries.of(provider, &summary.reference);
    let back = render::payment_path(provider, &summary.reference);
    let title = format!("{} {}", render::gateway_name(provider), summary.gateway_id);
    let mut frame = frame(&shared, &title, Nav::Payments, &version, &back);
    frame.done = query.get("done").map(String::as_str);
    frame.error = query.get("error").map(String::as_str);
    page(started, render::layout(&frame, &render::payment(summary, &deliveries)))
}

/// `GET /faults`.
async fn faults(State(shared): State<Arc<Shared>>, query: Params) -> Response {
    let started = Instant::now();
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let every = payments::all(&shared, &Filter::default());
    let version = fingerprint(&shared, &every);
    let mut frame = frame(&shared, "Faults", Nav::Faults, &version, "/faults");
    frame.done = query.get("done").map(String::as_str);
    frame.error = query.get("error").map(String::as_str);
    page(started, render::layout(&frame, &tools::faults(&shared.faults.list())))
}

/// A form's fields; an empty field is left out, as if not sent (an empty number box).
fn form(body: &[u8]) -> HashMap<String, String> {
    let fields: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    fields.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect()
}

/// 303 to `path` with `done` or `error` in its query.
fn back(segments: &[&str], outcome: Result<String, String>) -> Response {
    let location = match &outcome {
        Ok(done) => link(segments, &[("done", done)]),
        Err(error) => link(segments, &[("error", error)]),
    };
    match HeaderValue::from_str(&location) {
        Ok(location) => (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response(),
        Err(_) => (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_static("/"))]).into_response(),
    }
}

/// `POST /payments/{provider}/{reference}`: a move or a webhook, then back to its page.
async fn act(
    State(shared): State<Arc<Shared>>,
    Path((provider, reference)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Ok(provider) = control::provider(&provider) else {
        return crate::page::not_found(&format!("gateway {provider}"));
    };
    let fields = form(&body);
    let segments = ["payments", provider.as_str(), reference.as_str()];
    back(&segments, perform(&shared, provider, &reference, &fields))
}

fn perform(
    shared: &Arc<Shared>,
    provider: ProviderId,
    reference: &str,
    fields: &HashMap<String, String>,
) -> Result<String, String> {
    let mut plan_fields: HashMap<String, String> = HashMap::new();
    for name in ["copies", "delay_ms", "spacing_ms", "drop"] {
        if let Some(value) = fields.get(name) {
            plan_fields.insert(name.to_owned(), value.clone());
        }
    }
    let plan = DeliveryPlan::from_query(&plan_fields, &[])?;
    let action = fields.get("action").map_or("", String::as_str);
    let target = match action {
        "pay" => Some(PaymentState::Paid),
        "expire" => Some(PaymentState::Expired),
        "fail" => Some(PaymentState::Failed),
        "cancel" => Some(PaymentState::Cancelled),
        _ => None,
    };
    if let Some(target) = target {
        let state = control::settle(shared, provider, reference, target, plan).map_err(|e| e.to_string())?.state;
        let webhook =
            if plan.drop { "its webhook dropped" } else { "its webhook is on its way, where the gateway sends one" };
        return Ok(format!("Now {state}: {webhook}."));
    }
    let state = fields.get("status").map(|s| s.parse::<PaymentState>()).transpose()?;
    let (plan, what) = match action {
        "resend" => (plan, "was sent"),
        "duplicate" => (plan.copies(2), "was sent twice, at once"),
        "drop" => (plan.drop(true), "was dropped: recorded, not sent"),
        other => {
            return Err(format!(
                "unknown action {other:?}; expected pay, expire, fail, cancel, resend, duplicate or drop"
            ));
        }
    };
    let sent = control::send_webhook(shared, provider, reference, state, plan).map_err(|e| e.to_string())?.state;
    Ok(format!("The {sent} webhook {what}."))
}

/// `POST /faults`: the form's fault, then back to the faults page.
async fn add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fields = form(&body);
    let outcome = fault_of(&fields).and_then(|fault| shared.faults.add(fault).map_err(|e| e.to_string()));
    back(
        &["faults"],
        outcome.map(|held| {
            format!(
                "Fault {} injected: {} {} now {}.",
                held.id,
                held.fault.gateway,
                held.fault.operation,
                held.fault.action.as_str()
            )
        }),
    )
}

/// The fault a form describes; every problem of its numbers at once.
fn fault_of(fields: &HashMap<String, String>) -> Result<Fault, String> {
    let gateway = control::provider(fields.get("gateway").map_or("", String::as_str))?;
    let action_text = fields.get("action").map_or("", String::as_str);
    let action = FaultAction::ALL
        .into_iter()
        .find(|a| a.as_str() == action_text)
        .ok_or_else(|| format!("action: unknown action {action_text:?}"))?;
    let mut fault = Fault::new(gateway, fields.get("operation").map_or("", |o| o.trim()), action);
    let mut problems = Vec::new();
    let mut number = |name: &str| -> Option<u64> {
        let text = fields.get(name)?;
        text.trim().parse::<u64>().map_err(|_| problems.push(format!("{name}: {text:?} is not a whole number"))).ok()
    };
    fault.status = number("status").map(|n| u16::try_from(n).unwrap_or(u16::MAX));
    fault.delay_ms = number("delay_ms");
    fault.retry_after = number("retry_after");
    fault.times = number("times").map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    fault.body = fields.get("body").cloned();
    if problems.is_empty() { Ok(fault) } else { Err(problems.join("; ")) }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    let cleared = shared.faults.clear();
    back(&["faults"], Ok(format!("{cleared} fault{} cleared.", if cleared == 1 { "" } else { "s" })))
}

async fn clear_fault(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let cleared = id.parse::<u64>().is_ok_and(|n| shared.faults.remove(n));
    let outcome = if cleared {
        Ok(format!("Fault {id} cleared."))
    } else {
        Err(crate::SandboxError::UnknownFault { id }.to_string())
    };
    back(&["faults"], outcome)
}

/// `POST /clock`: time travel, then back to the page the form was on.
async fn advance(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fields = form(&body);
    // Only a path of this sandbox: never another site, nor `//host`.
    let to = fields.get("back").map_or("/", String::as_str);
    let to = if to.starts_with('/') && !to.starts_with("//") && !to.contains('\\') { to } else { "/" };
    let segments: Vec<&str> = to.split('?').next().unwrap_or("/").split('/').filter(|s| !s.is_empty()).collect();
    let decoded: Vec<String> = segments.iter().map(|s| percent_decode(s)).collect();
    let decoded: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let by = fields.get("by").map_or("", String::as_str);
    let outcome = control::advance(&shared, by).map(|expired| {
        let offset = crate::clock::describe(shared.clock.offset());
        match expired.len() {
            0 => format!("Clock advanced by {}: moved +{offset} in all; nothing expired.", by.trim()),
            n => format!(
                "Clock advanced by {}: moved +{offset} in all; {n} payment{} expired.",
                by.trim(),
                if n == 1 { "" } else { "s" }
            ),
        }
    });
    back(&decoded, outcome)
}

/// A path segment, percent-decoded (it was encoded by [`link`]); kept as is if it is not valid.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_back_are_decoded() {
        assert_eq!(percent_decode("A%2FB%20%3C1%3E"), "A/B <1>");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
