//! The pages a deposit's `checkout_url` and `link_url` point at: what the customer would see, with
//! buttons that pay or expire the deposit through the control API, so that a person trying the
//! flow in a browser can finish it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::state::{Shared, lock};

/// `GET /checkout/{deposit_id}`.
pub(super) async fn checkout(State(shared): State<Arc<Shared>>, Path(deposit_id): Path<String>) -> Response {
    page(&shared, &deposit_id)
}

/// `GET /pay.php?ref=`, the form of the document's `link_url`.
pub(super) async fn link(State(shared): State<Arc<Shared>>, Query(query): Query<HashMap<String, String>>) -> Response {
    page(&shared, query.get("ref").map_or("", String::as_str))
}

fn page(shared: &Shared, deposit_id: &str) -> Response {
    let store = lock(&shared.cuan10pay.store);
    let Some(deposit) = store.get(deposit_id) else {
        let body =
            format!("<!doctype html><title>Not found</title><p>No deposit {} in this sandbox.</p>", escape(deposit_id));
        return (StatusCode::NOT_FOUND, Html(body)).into_response();
    };
    let id = escape(&deposit.id);
    let mut body = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        body,
        "<!doctype html><meta charset=utf-8><title>Cuan10pay sandbox: {id}</title>\
         <h1>Cuan10pay sandbox checkout</h1>\
         <p>Deposit <code>{id}</code> via {channel}: Rp {amount} + fee Rp {fee} = <b>Rp {total}</b></p>\
         <p>Payment code: <code>{code}</code></p><p>Status: <b>{status}</b></p>",
        channel = escape(deposit.channel_name),
        amount = deposit.amount,
        fee = deposit.fee,
        total = deposit.amount + deposit.fee,
        code = escape(&deposit.payment_code),
        status = deposit.state,
    );
    if deposit.state == crate::PaymentState::Pending {
        let _ = write!(
            body,
            "<form method=post action=\"/_sandbox/cuan10pay/payments/{id}/pay\"><button>Pay</button></form>\
             <form method=post action=\"/_sandbox/cuan10pay/payments/{id}/expire\"><button>Let it expire</button></form>"
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
