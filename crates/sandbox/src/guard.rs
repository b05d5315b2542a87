//! The one layer in front of every route that keeps web pages from driving or reading the
//! sandbox through a visitor's browser.
//!
//! The sandbox runs on a developer's laptop, and any page the developer opens can make the
//! browser send requests to `http://127.0.0.1:8870`. Three rules, checked in this order:
//!
//! 1. **Host** (every route, the gateways' too): the request must name a host the sandbox
//!    serves: `localhost`, an IP address (any port), or the host of
//!    [`public_url`](crate::SandboxBuilder::public_url); else 421. This is what defeats DNS
//!    rebinding: a page at `http://evil.example:8870` whose name is re-pointed at 127.0.0.1 is
//!    same-origin with what it fetches, so it can read the answers, but its browser still sends
//!    `Host: evil.example:8870`. The attack needs a DNS name the attacker controls: a page whose
//!    origin is an IP address is served by whoever listens at that address, so the only page
//!    same-origin with `http://127.0.0.1:8870` is one the sandbox served itself; and browsers
//!    resolve `localhost` to loopback without asking DNS. Without it, a rebinding page reads
//!    `GET /_sandbox/payments`, the dashboard, or a QRIS invoice's status.
//! 2. **Where a change comes from** (the control API and the dashboard; any method but GET,
//!    HEAD and OPTIONS): a browser says where a request comes from. `Sec-Fetch-Site:
//!    cross-site` is refused, as is `same-site` (another port of the same host is another
//!    application) unless its `Origin` is one the sandbox serves, and so is an `Origin` that is
//!    not one the sandbox serves (`null` included, unless `Sec-Fetch-Site` says `same-origin`:
//!    the dashboard's own forms under its `no-referrer` policy): 403. A client that says neither
//!    (curl, the SDK, `gerbang sandbox …`) is obeyed, as is the sandbox's own dashboard.
//! 3. **JSON is JSON** (the control API, same methods): a body that is not
//!    `Content-Type: application/json` is refused (415), and the routes that read JSON
//!    (`POST /_sandbox/faults`) require it. A page can send `text/plain` without asking the
//!    server first (a CORS "simple request"); `application/json` makes the browser ask (a
//!    preflight), and the sandbox answers no CORS, so the request is never sent.
//!
//! The gateways' own routes are left to rule 1 only: they are called by servers, and their
//! checkout pages by a merchant's pages, as the real gateways' are.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::emulated;
use crate::state::Shared;

/// What the layer needs to know: the public URL's host and origin, and the address served on.
#[derive(Debug)]
pub(crate) struct Guard {
    shared: Arc<Shared>,
    /// The host of the public URL, lower case, and its origin (`https://name:port`).
    public: Option<(String, String)>,
}

impl Guard {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let public = shared.settings.public_url.as_deref().and_then(|url| {
            let url = reqwest::Url::parse(url).ok()?;
            let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
            Some((host, url.origin().ascii_serialization()))
        });
        Self { shared, public }
    }

    /// Whether `host` (a `Host` header's name, without its port) is one the sandbox serves.
    fn serves_host(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok()
            || self.public.as_ref().is_some_and(|(public, _)| public.eq_ignore_ascii_case(host))
    }

    /// Whether `origin` is one of the sandbox's own: its address, its public URL, or the
    /// scheme and host the request itself names (the host already checked by rule 1).
    fn serves_origin(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/');
        let own = |candidate: &str| candidate.eq_ignore_ascii_case(origin);
        host.is_some_and(|host| ["http://", "https://"].iter().any(|scheme| own(&format!("{scheme}{host}"))))
            || self.public.as_ref().is_some_and(|(_, public)| own(public))
            || self.shared.served_at.get().is_some_and(|served| own(served))
    }

    /// The names to give someone whose request named another host.
    fn allowed_hosts(&self) -> String {
        let mut names = vec!["localhost".to_owned(), "an IP address".to_owned()];
        if let Some(served) = self.shared.served_at.get() {
            names[1] = format!("an IP address (its own: {})", served.trim_start_matches("http://"));
        }
        if let Some((host, _)) = &self.public {
            names.push(format!("{host} (its public URL)"));
        }
        names.join(", ")
    }
}

/// The layer: rule 1 on every request, rules 2 and 3 on the changes outside the gateways.
pub(crate) async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = match named_host(headers, request.uri().authority().map(|a| a.as_str())) {
        Ok(host) => host,
        Err(problem) => return misdirected(&guard, &problem),
    };
    if let Some(host) = &host
        && !guard.serves_host(&host_name(host))
    {
        let shown: String = host.chars().take(100).collect();
        return misdirected(&guard, &format!("it named host {shown:?}"));
    }
    let path = request.uri().path();
    if changes(request.method()) && !is_gateway(path) {
        if let Err(why) = comes_from_the_sandbox(&guard, headers, host.as_deref()) {
            return refusal(
                StatusCode::FORBIDDEN,
                format!(
                    "refused: {why}. A web page must not drive the sandbox through its visitor's browser: use the \
                     sandbox's own dashboard, `gerbang sandbox …`, or an HTTP client that sends no Origin (curl, \
                     the SDK)"
                ),
            );
        }
        if let Some(problem) = content_type_problem(request.method(), path, headers) {
            return refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, problem);
        }
    }
    next.run(request).await
}

/// Whether a request of `method` may change something: any but GET, HEAD and OPTIONS.
fn changes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether `path` is an emulated gateway's (its prefix, then nothing or `/`).
fn is_gateway(path: &str) -> bool {
    emulated::all()
        .any(|gateway| path.strip_prefix(gateway.prefix()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

/// The one host the request names (`Host`, and the authority of an absolute-form target, which
/// must agree), or `None` when it names none (an HTTP/1.0 client: no browser).
fn named_host(headers: &HeaderMap, authority: Option<&str>) -> Result<Option<String>, String> {
    let mut hosts = headers.get_all(HOST).iter();
    let header = match (hosts.next(), hosts.next()) {
        (None, _) => None,
        (Some(value), None) => {
            Some(value.to_str().map_err(|_| "its Host header is not text".to_owned())?.trim().to_owned())
        }
        (Some(_), Some(_)) => return Err("it has several Host headers".to_owned()),
    };
    match (header, authority) {
        (Some(header), Some(authority)) if !header.eq_ignore_ascii_case(authority) => {
            Err("its Host header and its target name different hosts".to_owned())
        }
        (Some(header), _) => Ok(Some(header)),
        (None, authority) => Ok(authority.map(str::to_owned)),
    }
}

/// The name in a `Host` value, without its port: `[::1]:8870` is `::1`, `Localhost:80` is
/// `Localhost`. An unbalanced bracket gives a name no rule allows.
fn host_name(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.strip_prefix(':').is_some_and(is_port) => {
                ip.parse::<Ipv6Addr>().map(|ip| ip.to_string()).unwrap_or_else(|_| host.to_owned())
            }
            _ => host.to_owned(),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) && !name.contains(':') => name.to_owned(),
        Some(_) => format!("[{host}"), // a bare IPv6 or a bad port: never a name allowed
        None => host.to_owned(),
    }
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u16>().is_ok()
}

/// Rule 2: `Ok` when the request comes from the sandbox's own pages or from no page at all;
/// else why not.
fn comes_from_the_sandbox(guard: &Guard, headers: &HeaderMap, host: Option<&str>) -> Result<(), String> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let origin = text(ORIGIN);
    let own_origin = origin.is_some_and(|origin| guard.serves_origin(origin, host));
    let site = text(axum::http::HeaderName::from_static("sec-fetch-site"));
    match site {
        None | Some("same-origin" | "none") => {}
        Some("same-site") if own_origin => {}
        Some("same-site") => {
            return Err("it came from a page of another origin on the same site (Sec-Fetch-Site: same-site)".into());
        }
        Some("cross-site") => return Err("it came from a page of another site (Sec-Fetch-Site: cross-site)".into()),
        Some(_) => return Err("its Sec-Fetch-Site header is not one a browser sends".into()),
    }
    // The dashboard's pages are sent with `Referrer-Policy: no-referrer`, under which a
    // browser writes `Origin: null` on their own forms; a browser says `same-origin` only for
    // the sandbox's own pages (a sandboxed frame or a `data:` page, whose origin is opaque, is
    // `cross-site`), and no page can set that header.
    let said_own = matches!(site, Some("same-origin" | "none"));
    match origin {
        Some(_) if own_origin => Ok(()),
        Some("null") if said_own => Ok(()),
        Some("null") => Err("it came from a page with no origin of its own (Origin: null)".into()),
        Some(_) => Err("its Origin is not the sandbox's own".into()),
        None => Ok(()),
    }
}

/// Rule 3, on the control API: a body must be JSON, and the routes that read one require it.
fn content_type_problem(method: &Method, path: &str, headers: &HeaderMap) -> Option<String> {
    let route = path.strip_prefix("/_sandbox")?;
    let takes_json = *method == Method::POST && route == "/faults";
    let given = headers.get(CONTENT_TYPE).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let media = given.map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => None,
        None if !takes_json => None,
        _ if takes_json => {
            Some("POST /_sandbox/faults takes a JSON fault: send it with Content-Type: application/json".to_owned())
        }
        _ => Some(
            "this control route reads no body, and the control API takes no body but JSON: send none, or send it \
             with Content-Type: application/json"
                .to_owned(),
        ),
    }
}

fn misdirected(guard: &Guard, problem: &str) -> Response {
    refusal(
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "refused: {problem}, and this sandbox answers only the hosts it serves: {}. Reach it by one of them, or \
             give the name clients use as its public URL (gerbang sandbox serve --public-url http://NAME:PORT)",
            guard.allowed_hosts()
        ),
    )
}

fn refusal(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_their_port_and_only_their_port() {
        assert_eq!(host_name("127.0.0.1:8870"), "127.0.0.1");
        assert_eq!(host_name("Localhost"), "Localhost");
        assert_eq!(host_name("[::1]:8870"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
        assert!(host_name("::1").parse::<IpAddr>().is_err(), "a bare IPv6 is not a Host value");
        assert!(host_name("localhost:http").parse::<IpAddr>().is_err());
        assert_ne!(host_name("localhost:99999"), "localhost");
        assert_ne!(host_name("[::1]evil.example"), "::1");
        assert_ne!(host_name("[::1]8870"), "::1");
    }

    #[test]
    fn forms_from_another_site_are_told_apart() {
        let sandbox = crate::Sandbox::builder().public_url("https://sandbox.example:8443").build();
        let guard = Guard::new(Arc::clone(sandbox.shared()));
        let from = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, axum::http::HeaderValue::from_static(value));
            }
            comes_from_the_sandbox(&guard, &map, Some("127.0.0.1:8870")).is_ok()
        };
        assert!(from(&[("sec-fetch-site", "same-origin")]));
        assert!(from(&[("sec-fetch-site", "same-origin"), ("origin", "http://127.0.0.1:8870")]));
        assert!(!from(&[("sec-fetch-site", "cross-site"), ("origin", "http://127.0.0.1:8870")]));
        assert!(!from(&[("sec-fetch-site", "same-origin"), ("origin", "https://evil.example")]));
        assert!(!from(&[("sec-fetch-site", "same-site"), ("origin", "http://127.0.0.1:3000")]));
        assert!(from(&[("sec-fetch-site", "same-site"), ("origin", "https://sandbox.example:8443")]));
        assert!(from(&[("origin", "http://127.0.0.1:8870")]));
        assert!(!from(&[("origin", "https://evil.example")]));
        assert!(!from(&[("origin", "null")]));
        assert!(!from(&[("sec-fetch-site", "cross-site"), ("origin", "null")]));
        assert!(from(&[("sec-fetch-site", "same-origin"), ("origin", "null")]), "the dashboard's forms, no-referrer");
        assert!(!from(&[("sec-fetch-site", "cross-origin")]), "not a value browsers send");
        assert!(from(&[]), "curl says nothing");
    }

    #[test]
    fn the_gateways_are_told_from_the_control_api() {
        assert!(is_gateway("/cuan10pay") && is_gateway("/qris/api/v1/invoice/create"));
        assert!(!is_gateway("/_sandbox/faults") && !is_gateway("/cuan10payments") && !is_gateway("/"));
    }
}
