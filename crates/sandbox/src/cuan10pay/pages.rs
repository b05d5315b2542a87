//! The pages a deposit's `checkout_url` and `link_url` point at: what the customer would see, with
//! buttons that pay or expire the deposit through the control API, so that a person trying the
//! flow in a browser can finish it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};

use gerbang_core::ProviderId;

use crate::page::{controls, escape, not_found};
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
    let store = lock(&super::emulator(shared).store);
    let Some(deposit) = store.get(deposit_id) else {
        return not_found(&format!("deposit {deposit_id}"));
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
        body.push_str(&controls(ProviderId::Cuan10pay, &deposit.id, &[("pay", "Pay"), ("expire", "Let it expire")]));
    }
    Html(body).into_response()
}
