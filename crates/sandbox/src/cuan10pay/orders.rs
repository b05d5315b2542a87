//! The catalogues and the orders placed from them (PPOB, SMM, vouchers).
//!
//! **Decision** (the document shows no order answer and no order status call,
//! `seeds/000_b443c682d4d25840.txt`): an order is answered `"status": "pending"` with its price
//! and a fresh `order_id`, and the sandbox fulfils it at once, reporting the change with the same
//! webhook as deposits (status `"SUCCESS"`, `reference` = the `order_id`, `amount` = the price) to
//! the order's `callback_url`, or else to the configured Cuan10pay webhook URL.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use gerbang_core::ProviderId;
use gerbang_signing::jakarta::format_local_datetime;
use serde::Serialize;

use super::catalog::{PPOB_PRODUCTS, SMM_SERVICES, VOUCHER_PRODUCTS, matches_filter};
use super::fields::Fields;
use super::store::{new_id, webhook};
use super::{Refusal, success};
use crate::DeliveryPlan;
use crate::state::{Shared, lock};
use crate::webhook::{Target, Webhook, dispatch};

/// The status an order is answered with.
const ORDER_STATUS: &str = "pending";
/// The status its webhook reports once the sandbox has fulfilled it.
const ORDER_DONE_STATUS: &str = "SUCCESS";

type QueryParams = Result<Query<HashMap<String, String>>, QueryRejection>;

fn filter<'a>(query: &'a QueryParams, name: &str) -> Option<&'a str> {
    query.as_ref().ok().and_then(|Query(q)| q.get(name)).map(String::as_str)
}

/// `GET /v1/ppob_products[?operator=]`.
pub(super) async fn ppob_products(query: QueryParams) -> Response {
    let operator = filter(&query, "operator");
    let items: Vec<_> = PPOB_PRODUCTS.iter().filter(|p| matches_filter(p.operator, operator)).collect();
    success("PPOB products retrieved successfully", items)
}

/// `GET /v1/smm_services[?category=]`.
pub(super) async fn smm_services(query: QueryParams) -> Response {
    let category = filter(&query, "category");
    let items: Vec<_> = SMM_SERVICES.iter().filter(|s| matches_filter(s.category, category)).collect();
    success("SMM services retrieved successfully", items)
}

/// `GET /v1/voucher_products[?game=]`.
pub(super) async fn voucher_products(query: QueryParams) -> Response {
    let game = filter(&query, "game");
    let items: Vec<_> = VOUCHER_PRODUCTS.iter().filter(|v| matches_filter(v.game, game)).collect();
    success("Voucher products retrieved successfully", items)
}

/// An order's answer: the fields every order has around the ones of its kind.
#[derive(Debug, Serialize)]
struct Order<'a, T> {
    order_id: String,
    #[serde(rename = "ref")]
    client_ref: Option<&'a str>,
    #[serde(flatten)]
    item: T,
    price: u64,
    status: &'static str,
    created_at: String,
}

/// The optional fields every order has: `ref` and `callback_url`.
struct Common<'a> {
    client_ref: Option<&'a str>,
    callback_url: Option<&'a str>,
}

fn common(fields: &Fields) -> Result<Common<'_>, Refusal> {
    let client_ref = fields.string("ref")?;
    let callback_url = fields.string("callback_url")?.filter(|url| !url.trim().is_empty());
    if callback_url.is_some_and(|url| !(url.starts_with("http://") || url.starts_with("https://"))) {
        return Err(Refusal::bad_request("The callback_url must be an http or https URL"));
    }
    Ok(Common { client_ref, callback_url })
}

/// Answers the order and sends its completion webhook.
fn place<T: Serialize>(shared: &Arc<Shared>, kind: &str, common: &Common<'_>, item: T, price: u64) -> Response {
    let now = shared.now();
    let order_id = {
        let mut store = lock(&super::emulator(shared).store);
        let id = new_id(kind, now, |id| store.contains_order(id));
        store.add_order(&id);
        id
    };
    tracing::info!(reference = %order_id, kind, price, "order placed");
    let order = Order {
        order_id,
        client_ref: common.client_ref,
        item,
        price,
        status: ORDER_STATUS,
        created_at: format_local_datetime(now),
    };
    let target = common.callback_url.map_or(Target::Configured, |url| Target::Url(url.to_owned()));
    let outgoing = webhook(&order.order_id, ORDER_DONE_STATUS, price, shared.wall_now());
    dispatch(shared, Webhook::new(ProviderId::Cuan10pay, &order.order_id, target, outgoing), DeliveryPlan::new());
    success("Order created successfully", order)
}

/// `POST /v1/ppob_order`.
pub(super) async fn ppob_order(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Refusal> {
    #[derive(Serialize)]
    struct Item<'a> {
        product_code: &'a str,
        product_name: &'a str,
        target: &'a str,
    }
    let fields = Fields::parse(&body)?;
    fields.require(&["product_code", "target"])?;
    let code = fields.required_string("product_code")?;
    let target = fields.required_string("target")?;
    let common = common(&fields)?;
    let product = PPOB_PRODUCTS
        .iter()
        .find(|p| p.code == code)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("Product not found: {code}")))?;
    // **Decision**: "Target number or account ID" (the document): phone numbers, meter and
    // customer numbers are all digits; anything else is a client bug worth catching.
    if !(6..=20).contains(&target.len()) || !target.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::bad_request("The target must be a phone number or account ID of 6 to 20 digits"));
    }
    let item = Item { product_code: product.code, product_name: product.name, target };
    Ok(place(&shared, "PPOB", &common, item, product.price))
}

/// `POST /v1/smm_order`.
pub(super) async fn smm_order(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Refusal> {
    #[derive(Serialize)]
    struct Item<'a> {
        service_id: u64,
        service_name: &'a str,
        link: &'a str,
        quantity: u64,
    }
    let fields = Fields::parse(&body)?;
    fields.require(&["service_id", "link", "quantity"])?;
    let service_id = fields.required_number("service_id")?;
    let link = fields.required_string("link")?;
    let quantity = fields.required_number("quantity")?;
    let common = common(&fields)?;
    let service = SMM_SERVICES
        .iter()
        .find(|s| s.id == service_id)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("Service not found: {service_id}")))?;
    if !(service.min..=service.max).contains(&quantity) {
        let message = format!("The quantity must be between {} and {} for this service", service.min, service.max);
        return Err(Refusal::bad_request(message));
    }
    let price = (service.rate * quantity).div_ceil(1000);
    let item = Item { service_id, service_name: service.name, link, quantity };
    Ok(place(&shared, "SMM", &common, item, price))
}

/// `POST /v1/voucher_order`.
pub(super) async fn voucher_order(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Refusal> {
    #[derive(Serialize)]
    struct Item<'a> {
        product_code: &'a str,
        product_name: &'a str,
        player_id: &'a str,
        server_id: Option<&'a str>,
    }
    let fields = Fields::parse(&body)?;
    fields.require(&["product_code", "player_id"])?;
    let code = fields.required_string("product_code")?;
    let player_id = fields.required_string("player_id")?;
    let server_id = fields.string("server_id")?.filter(|s| !s.trim().is_empty());
    let common = common(&fields)?;
    let product = VOUCHER_PRODUCTS
        .iter()
        .find(|v| v.code == code)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("Product not found: {code}")))?;
    if product.server_id_required && server_id.is_none() {
        return Err(Refusal::bad_request("Missing required field: server_id (this game needs a server/zone ID)"));
    }
    let item = Item { product_code: product.code, product_name: product.name, player_id, server_id };
    Ok(place(&shared, "VCR", &common, item, product.price))
}
