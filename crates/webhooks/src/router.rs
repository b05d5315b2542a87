//! The receiver as an axum `Router` (feature `axum`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use gerbang_core::MAX_WEBHOOK_BODY_BYTES;

use crate::Receiver;

/// The route, as the SERVER span of a delivery names it (`http.route`).
const ROUTE: &str = "/webhooks/{gateway}";

/// `POST /webhooks/{gateway}` for every gateway of `receiver`, with the body capped at
/// [`MAX_WEBHOOK_BODY_BYTES`]. Nest it or merge it into the application's router; the path the
/// gateway calls is the one a Cash In notification is signed over, so give Cash In this URL.
///
/// On a port the internet can reach, serve it with `gerbang::server::serve` (the facade's `axum`
/// feature, crate `gerbang-server`) rather than `axum::serve`, which has no header-read timeout
/// and no connection cap: a client sending half its headers would hold a connection for minutes.
///
/// ```no_run
/// use std::sync::Arc;
/// use gerbang_core::inbox::MemoryInbox;
/// use gerbang_webhooks::{Receiver, handler_fn, router};
///
/// # async fn run(gateways: Vec<Arc<dyn gerbang_core::PaymentProvider>>) -> std::io::Result<()> {
/// let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
///     .providers(gateways)
///     .build(handler_fn(|event| async move { println!("{}", event.status); Ok::<(), std::io::Error>(()) }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, router(receiver)).await
/// # }
/// ```
pub fn router(receiver: Receiver) -> Router {
    Router::new().route(ROUTE, any(receive)).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES)).with_state(receiver)
}

async fn receive(
    State(receiver): State<Receiver>,
    Path(gateway): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delivery = receiver.receive_at(Some(ROUTE), &gateway, method, uri.path(), &headers, &body).await;
    let status = StatusCode::from_u16(delivery.ack.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = HeaderValue::from_static(delivery.ack.content_type);
    (status, [(header::CONTENT_TYPE, content_type)], delivery.ack.body).into_response()
}
