//! The page an invoice URL points at: what the customer would see, with buttons that pay the
//! invoice or let it expire through the control API, so that a person trying the flow in a
//! browser can finish it.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};

use gerbang_core::ProviderId;

use crate::PaymentState;
use crate::page::{controls, escape, not_found};
use crate::state::{Shared, lock};

/// `GET /invoice/{id}`.
pub(super) async fn invoice(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut store = lock(&super::emulator(&shared).store);
    let Some(invoice) = id.parse::<u64>().ok().and_then(|id| store.get(id, shared.now())) else {
        return not_found(&format!("invoice {id}"));
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
        let moves = [("pay", "Pay in USDT"), ("expire", "Let it expire")];
        body.push_str(&controls(ProviderId::CryptoInvoice, &invoice.id.to_string(), &moves));
    }
    Html(body).into_response()
}
