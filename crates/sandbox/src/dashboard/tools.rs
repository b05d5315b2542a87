//! The dashboard's workbench parts: the faults page, and the panel of gateways and test keys.

use std::fmt::Write as _;

use super::render::gateway_name;
use crate::emulated;
use crate::faults::operation_names;
use crate::page::escape;
use crate::{FaultAction, InjectedFault};

/// The faults page's content: the faults held (live), the form that adds one, and each
/// gateway's operations.
pub(super) fn faults(held: &[InjectedFault]) -> String {
    let mut html = String::with_capacity(4096);
    html.push_str(
        "<h1>Faults</h1><p class=muted>Each fault answers a gateway's operation in its place, for a number of calls or \
         until cleared: the oldest matching fault serves a call. The control API has the same: \
         <code>POST /_sandbox/faults</code>.</p><section id=faults data-live>",
    );
    if held.is_empty() {
        html.push_str("<p class=muted>No fault: every call reaches its gateway.</p>");
    } else {
        html.push_str(
            "<table><thead><tr><th>Id<th>Gateway<th>Operation<th>Action<th>Details<th class=num>Served\
             <th class=num>Left<th></tr></thead><tbody>",
        );
        for rule in held {
            let fault = &rule.fault;
            let mut details = Vec::new();
            if let Some(status) = fault.status {
                details.push(format!("HTTP {status}"));
            }
            if let Some(ms) = fault.delay_ms {
                details.push(format!("after {ms} ms"));
            }
            if let Some(wait) = fault.retry_after {
                details.push(format!("Retry-After {wait} s"));
            }
            if let Some(body) = &fault.body {
                let short: String = body.chars().take(60).collect();
                let more = if body.chars().count() > 60 { "…" } else { "" };
                details.push(format!("body <code>{}{more}</code>", escape(&short)));
            }
            let _ = write!(
                html,
                "<tr data-fault={id}><td>{id}<td>{gateway}<td><code>{operation}</code><td>{action}<td>{details}\
                 <td class=num>{hits}<td class=num>{left}<td><form method=post action=\"/faults/{id}/clear\">\
                 <button class=quiet>Clear</button></form></tr>",
                id = rule.id,
                gateway = gateway_name(fault.gateway),
                operation = escape(&fault.operation),
                action = fault.action.as_str(),
                details = if details.is_empty() { "—".to_owned() } else { details.join(", ") },
                hits = rule.hits,
                left = rule.remaining.map_or_else(|| "until cleared".to_owned(), |n| n.to_string()),
            );
        }
        html.push_str(
            "</tbody></table><form method=post action=\"/faults/clear\"><p><button class=quiet>Clear every fault</button></p></form>",
        );
    }
    html.push_str(
        "</section><form class=panel method=post action=\"/faults\"><h2>Inject a fault</h2><div class=buttons>",
    );
    html.push_str("<label>Gateway<select name=gateway>");
    for gateway in emulated::all() {
        let _ = write!(html, "<option value={}>{}</option>", gateway.provider().as_str(), gateway.name());
    }
    html.push_str(
        "</select></label><label>Operation<input name=operation list=operations value=create required></label>\
         <label>Action<select name=action>",
    );
    for action in FaultAction::ALL {
        let _ = write!(html, "<option>{}</option>", action.as_str());
    }
    html.push_str(
        "</select></label><label>Status<input type=number name=status min=200 max=599 placeholder=503></label>\
         <label>Delay ms<input type=number name=delay_ms min=0 placeholder=0></label>\
         <label>Retry-After s<input type=number name=retry_after min=0 placeholder=3600></label>\
         <label>Times<input type=number name=times min=1 placeholder=\"until cleared\"></label></div>\
         <label>Body (default: the gateway's own error shape)<textarea name=body rows=2 cols=60></textarea></label>\
         <p><button>Inject</button></p></form><datalist id=operations>",
    );
    let mut every: Vec<&str> = emulated::all().flat_map(|g| operation_names(g.provider())).collect();
    every.sort_unstable();
    every.dedup();
    for name in every {
        let _ = write!(html, "<option value={name}>");
    }
    html.push_str("</datalist><h2>Operations</h2><table><thead><tr><th>Gateway<th>Operations</tr></thead><tbody>");
    for gateway in emulated::all() {
        let names: Vec<String> =
            operation_names(gateway.provider()).iter().map(|n| format!("<code>{n}</code>")).collect();
        let _ = write!(html, "<tr><td>{}<td>{}</tr>", gateway.name(), names.join(" "));
    }
    html.push_str(
        "</tbody></table><h2>Actions</h2><dl class=facts>\
         <dt><code>status</code><dd>answers with the status and body given\
         <dt><code>delay</code><dd>the gateway's own answer, <code>delay_ms</code> late\
         <dt><code>hang</code><dd>reads the request and never answers\
         <dt><code>cut</code><dd>reads the request, does not handle it, closes the connection\
         <dt><code>cut_after</code><dd>handles the request, then closes the connection before the answer\
         <dt><code>rate_limit</code><dd>429 with <code>Retry-After</code></dl>",
    );
    html
}

/// The panel of each gateway's base URL and test keys: its identifiers as they are, its secrets
/// in masked fields with a Copy button (the sandbox's own published values, accepted nowhere
/// else), and a key it publishes folded away.
pub(super) fn keys(origin: &str) -> String {
    let mut html = String::from(
        "<details class=keys><summary>Gateways and test keys</summary><table><thead><tr><th>Gateway<th>Base URL\
         <th>Credentials</tr></thead><tbody>",
    );
    for gateway in emulated::all() {
        let base = format!("{origin}{}", gateway.prefix());
        let _ = write!(
            html,
            "<tr><td>{name}<td><span class=secret><input id=base-{id} readonly value=\"{base}\" aria-label=\"{name} base URL\">\
             <button type=button class=quiet data-copy=base-{id}>Copy</button></span><td>",
            name = gateway.name(),
            id = gateway.provider().as_str(),
            base = escape(&base),
        );
        for credential in gateway.credentials() {
            let label = credential.label;
            let Some(variable) = credential.variable else {
                let _ = write!(html, "<div>{label} <code>{}</code></div>", escape(credential.value));
                continue;
            };
            let _ = write!(
                html,
                "<div class=secret title=\"{variable}\">{label} <input type=password readonly id=key-{variable} value=\"{secret}\" \
                 aria-label=\"{label}\"><button type=button class=quiet data-copy=key-{variable}>Copy</button></div>",
                secret = escape(credential.value),
            );
        }
        if let Some(published) = gateway.published_key() {
            let _ = write!(
                html,
                "<details><summary>{}</summary><pre>{}</pre></details>",
                published.label,
                escape(&published.pem)
            );
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></details>");
    html
}
