//! The page an invoice URL points at: what the customer would see, with buttons that pay the
//! invoice or let it expire through the control API, so that a person trying the flow in a
//! browser can finish it.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::PaymentState;
use crate::state::{Shared, lock};

/// `GET /invoice/{id}`.
pub(super) async fn invoice(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut store = lock(&shared.crypto_invoice.store);
    let Some(invoice) = id.parse::<u64>().ok().and_then(|id| store.get(id, shared.now())) else {
        let body = format!("<!doctype html><title>Not found</title><p>No invoice {} in this sandbox.</p>", escape(&id));
        return (StatusCode::NOT_FOUND, Html(body)).into_response();
    };
    let mut body = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        body,
        "<!doctype html><meta charset=utf-8><title>Crypto invoice sandbox: {id}</title>\
         <h1>Crypto invoice sandbox</h1>\
         <p>Invoice <code>{id}</code>{test}: <b>{price} {currency}</b>{title}</p>\
         <p>Order: <code>{order}</code></p><p>Status: <b>{status}</b></p>",
        id = invoice.id,
        test = if invoice.test { " (test)" } else { "" },
        price = invoice.price_amount,
        currency = escape(&invoice.price_currency),
        title = invoice.title.as_deref().map(|t| format!(" for {}", escape(t))).unwrap_or_default(),
        order = escape(invoice.order_id.as_deref().unwrap_or("-")),
        status = invoice.status_word(),
    );
    if invoice.state == PaymentState::Pending {
        let id = invoice.id;
        let _ = write!(
            body,
            "<form method=post action=\"/_sandbox/crypto-invoice/payments/{id}/pay\"><button>Pay in USDT</button></form>\
             <form method=post action=\"/_sandbox/crypto-invoice/payments/{id}/expire\"><button>Let it expire</button></form>"
        );
    }
    Html(body).into_response()
}

fn escape(text: &str) -> String {
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
