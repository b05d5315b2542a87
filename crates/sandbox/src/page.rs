//! What the emulators' customer-facing pages share: HTML escaping, the buttons that drive a
//! payment through the control API, and the not-found page. The pages exist so that a person
//! trying the flow in a browser (`gerbang sandbox serve`) can finish it.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use gerbang_core::ProviderId;

/// `text` safe inside HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One button per move (`("pay", "Pay")`, …), each posting to
/// `/_sandbox/{provider}/payments/{reference}/{move}`; the reference is percent-encoded as a
/// path segment, whatever it holds.
pub(crate) fn controls(provider: ProviderId, reference: &str, moves: &[(&str, &str)]) -> String {
    let mut html = String::new();
    for (action, label) in moves {
        let path = link(&["_sandbox", provider.as_str(), "payments", reference, action], &[]);
        html.push_str(&format!(
            "<form method=post action=\"{}\"><button>{}</button></form>",
            escape(&path),
            escape(label)
        ));
    }
    html
}

/// `/a/b?k=v`: a path of `segments`, each percent-encoded whatever it holds (a `/` in a
/// reference stays inside its segment), and `query`, form-encoded; not HTML-escaped.
pub(crate) fn link(segments: &[&str], query: &[(&str, &str)]) -> String {
    let Ok(mut url) = reqwest::Url::parse("http://sandbox.invalid/") else { return "/".to_owned() };
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// A 404 page saying no `what` exists in this sandbox.
pub(crate) fn not_found(what: &str) -> Response {
    let body = format!("<!doctype html><title>Not found</title><p>No {} in this sandbox.</p>", escape(what));
    (StatusCode::NOT_FOUND, Html(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_encode_the_reference_and_escape_the_labels() {
        for provider in ProviderId::ALL {
            let html = controls(provider, "ORDER 1/2", &[("pay", "Pay <now>")]);
            let path = format!("/_sandbox/{}/payments/ORDER%201%2F2/pay", provider.as_str());
            assert_eq!(html, format!("<form method=post action=\"{path}\"><button>Pay &lt;now&gt;</button></form>"));
        }
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(
            link(&["payments", "cashin", "A/B <1>"], &[("done", "paid & sent")]),
            "/payments/cashin/A%2FB%20%3C1%3E?done=paid+%26+sent"
        );
        assert_eq!(link(&[], &[]), "/");
    }
}
