//! The withdrawal history as a stream over every page, fetched lazily.

use futures_util::{StreamExt, TryStreamExt};
use gerbang_core::Error;
use gerbang_qris::{WithdrawHistoryQuery, WithdrawalStatus};
use httpmock::{Mock, MockServer};
use serde_json::json;

use crate::common::client;

/// Page `page` of a history of `total` withdrawals, `limit` a page, as the gateway writes it;
/// `total_pages` left out when `None`.
fn page_body(page: u64, limit: u64, total: u64, total_pages: Option<u64>) -> String {
    let first = (page - 1) * limit;
    let data: Vec<_> = (first..total.min(first + limit))
        .map(|n| {
            json!({
                "withdraw_id": format!("wd-{n}"),
                "amount": 10_000 + n,
                "fee": 1000,
                "total_deduct": 11_000 + n,
                "status": "success",
                "method": "dana",
                "account_number": "081234567890",
                "account_name": "John Doe",
                "admin_note": null,
                "created_at": "2025-01-15T10:30:00.000Z",
                "processed_at": "2025-01-15T14:20:00.000Z"
            })
        })
        .collect();
    let mut pagination = json!({"page": page, "limit": limit, "total": total});
    if let Some(total_pages) = total_pages {
        pagination["total_pages"] = json!(total_pages);
    }
    json!({"success": true, "data": data, "pagination": pagination}).to_string()
}

async fn serve_page<'a>(server: &'a MockServer, page: u64, status: u16, body: String) -> Mock<'a> {
    server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/withdraw/history")
                .query_param("page", page.to_string())
                .query_param("limit", "2")
                .query_param("status", "success");
            then.status(status).body(body);
        })
        .await
}

fn query() -> WithdrawHistoryQuery {
    WithdrawHistoryQuery::new().limit(2).status(WithdrawalStatus::Success)
}

#[tokio::test]
async fn walks_three_pages_in_order_and_stops_at_total_pages() {
    let server = MockServer::start_async().await;
    let pages = [
        serve_page(&server, 1, 200, page_body(1, 2, 5, Some(3))).await,
        serve_page(&server, 2, 200, page_body(2, 2, 5, Some(3))).await,
        serve_page(&server, 3, 200, page_body(3, 2, 5, Some(3))).await,
    ];
    let beyond = serve_page(&server, 4, 200, page_body(4, 2, 5, Some(3))).await;

    let all: Vec<_> = client(&server).withdraw_history_stream(query()).try_collect().await.unwrap();
    let ids: Vec<_> = all.iter().map(|w| w.withdraw_id.as_str()).collect();
    assert_eq!(ids, ["wd-0", "wd-1", "wd-2", "wd-3", "wd-4"]);
    for page in &pages {
        assert_eq!(page.calls_async().await, 1);
    }
    assert_eq!(beyond.calls_async().await, 0);
}

#[tokio::test]
async fn fetches_a_page_only_when_its_items_are_wanted() {
    let server = MockServer::start_async().await;
    let first = serve_page(&server, 1, 200, page_body(1, 2, 6, Some(3))).await;
    let second = serve_page(&server, 2, 200, page_body(2, 2, 6, Some(3))).await;
    let third = serve_page(&server, 3, 200, page_body(3, 2, 6, Some(3))).await;

    let stream = client(&server).withdraw_history_stream(query());
    assert_eq!(first.calls_async().await, 0, "nothing is fetched before the stream is polled");
    let mut stream = std::pin::pin!(stream);
    stream.next().await.unwrap().unwrap();
    stream.next().await.unwrap().unwrap();
    assert_eq!((first.calls_async().await, second.calls_async().await), (1, 0));
    assert_eq!(stream.next().await.unwrap().unwrap().withdraw_id, "wd-2");
    assert_eq!((second.calls_async().await, third.calls_async().await), (1, 0));
}

#[tokio::test]
async fn without_total_pages_a_short_page_is_the_last() {
    let server = MockServer::start_async().await;
    serve_page(&server, 1, 200, page_body(1, 2, 3, None)).await;
    serve_page(&server, 2, 200, page_body(2, 2, 3, None)).await;
    let beyond = serve_page(&server, 3, 200, page_body(3, 2, 3, None)).await;
    let all: Vec<_> = client(&server).withdraw_history_stream(query()).try_collect().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(beyond.calls_async().await, 0);
}

#[tokio::test]
async fn an_error_is_yielded_once_and_ends_the_stream() {
    let server = MockServer::start_async().await;
    serve_page(&server, 1, 200, page_body(1, 2, 6, Some(3))).await;
    serve_page(&server, 2, 500, r#"{"error":"Terjadi kesalahan pada server"}"#.into()).await;
    let third = serve_page(&server, 3, 200, page_body(3, 2, 6, Some(3))).await;
    let items: Vec<_> = client(&server).withdraw_history_stream(query()).collect().await;
    assert_eq!(items.len(), 3);
    assert!(items[..2].iter().all(Result::is_ok));
    assert_eq!(
        items[2].as_ref().unwrap_err(),
        &Error::Api { status: Some(500), code: None, message: "Terjadi kesalahan pada server".into() }
    );
    assert_eq!(third.calls_async().await, 0);
}
