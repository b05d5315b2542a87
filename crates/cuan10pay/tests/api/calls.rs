//! Every call of PROVIDERS.md §1: method, path, query, auth headers, body, and its answer parsed.

use gerbang_core::Decimal;
use gerbang_cuan10pay::{DepositRequest, PpobOrderRequest, SmmOrderRequest, VoucherOrderRequest};
use httpmock::Method::{GET, POST};
use httpmock::{Mock, MockServer};

use crate::common::{API_KEY, NOW, client, fixture, signature};

/// A mock answering `answer` to a signed GET of `path` (under `/api`) with exactly `query`;
/// `signed` is the path and query the signature must cover.
async fn signed_get<'a>(
    server: &'a MockServer,
    path: &str,
    query: &[(&str, &str)],
    signed: &str,
    answer: &str,
) -> Mock<'a> {
    let answer = fixture(answer);
    let expected = signature(NOW, "GET", signed, "");
    server
        .mock_async(|when, then| {
            let mut when = when
                .method(GET)
                .path(format!("/api{path}"))
                .header("x-api-key", API_KEY)
                .header("x-timestamp", NOW.to_string())
                .header("x-signature", expected)
                .header_missing("content-type")
                .is_true(|req| req.body().is_empty());
            when = if query.is_empty() {
                when.query_param_count(".*", ".*", 0)
            } else {
                when.query_param_count(".*", ".*", query.len())
            };
            for (name, value) in query {
                when = when.query_param(*name, *value);
            }
            then.status(200).header("content-type", "application/json").body(answer);
        })
        .await
}

/// A mock answering `answer` to a signed JSON POST of exactly the body in `requests/{body}`.
async fn signed_post<'a>(server: &'a MockServer, path: &str, body: &str, answer: &str) -> Mock<'a> {
    let answer = fixture(answer);
    let body = fixture(&format!("requests/{body}")).trim_end().to_owned();
    let expected = signature(NOW, "POST", path, &body);
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/api{path}"))
                .query_param_count(".*", ".*", 0)
                .header("x-api-key", API_KEY)
                .header("x-timestamp", NOW.to_string())
                .header("x-signature", expected)
                .header("content-type", "application/json")
                .body(body);
            then.status(200).header("content-type", "application/json").body(answer);
        })
        .await
}

#[tokio::test]
async fn invoice_status_is_a_signed_get_with_ref_in_the_query() {
    let server = MockServer::start_async().await;
    let mock = signed_get(
        &server,
        "/v1/invoice_status",
        &[("ref", "INV123")],
        "/v1/invoice_status?ref=INV123",
        "invoice_status.json",
    )
    .await;
    let invoice = client(&server).invoice_status("INV123").await.unwrap();
    mock.assert_async().await;
    assert_eq!(invoice.reference.as_deref(), Some("INV123"));
    assert_eq!(invoice.status.as_deref(), Some("PAID"));
    assert_eq!(invoice.amount, Some(Decimal::from(100_000)));
    assert_eq!(invoice.extra["description"], "Langganan bulan Oktober");
}

#[tokio::test]
async fn query_values_are_encoded_and_signed_as_sent() {
    let server = MockServer::start_async().await;
    let signed = "/v1/invoice_status?ref=INV+1%2F2%26x%3Dy";
    let mock =
        signed_get(&server, "/v1/invoice_status", &[("ref", "INV 1/2&x=y")], signed, "invoice_status.json").await;
    client(&server).invoice_status("INV 1/2&x=y").await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn deposit_status_is_a_signed_get_and_reads_loosely_typed_numbers() {
    let server = MockServer::start_async().await;
    let id = "CP-20250928-38B575";
    let mock = signed_get(
        &server,
        "/v1/deposit_status",
        &[("ref", id)],
        &format!("/v1/deposit_status?ref={id}"),
        "deposit_status_paid.json",
    )
    .await;
    let deposit = client(&server).deposit_status(id).await.unwrap();
    mock.assert_async().await;
    assert_eq!(deposit.deposit_id, id);
    assert_eq!(deposit.amount, Some(Decimal::from(50_000)));
    assert_eq!(deposit.fee, Some(Decimal::from(350)));
    assert_eq!(deposit.total, Some(Decimal::from(50_350)));
    assert_eq!(deposit.payment_code, None);
    assert!(deposit.payment_instructions.as_ref().is_some_and(|v| v.is_array()));
    assert_eq!(deposit.extra["paid_at"], "2025-09-28 17:05:11");
}

#[tokio::test]
async fn deposit_create_posts_the_exact_json_body_signed_over_its_bytes() {
    let server = MockServer::start_async().await;
    let mock = signed_post(&server, "/v1/deposit_create", "deposit_create.json", "deposit_create.json").await;
    let request = DepositRequest::new("BCA", 10_000)
        .notes("ORDER-1001")
        .customer_name("John Doe")
        .customer_email("john@example.com")
        .customer_phone("081234567890")
        .return_url("https://merchant.example.com/thanks")
        .expires_at(time::OffsetDateTime::from_unix_timestamp(NOW + 3600).unwrap());
    let deposit = client(&server).deposit_create(&request).await.unwrap();
    mock.assert_async().await;
    assert_eq!(deposit.deposit_id, "CP-20250928-38B575");
    assert_eq!(deposit.status, "pending");
    assert_eq!(deposit.payment_code.as_deref(), Some("1234567890123456"));
}

#[tokio::test]
async fn the_documents_deposit_answer_parses_with_deposit_id_or_reference() {
    for answer in ["deposit_create.json", "deposit_create_reference.json"] {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(POST).path("/api/v1/deposit_create");
                then.status(200).body(fixture(answer));
            })
            .await;
        let deposit = client(&server).deposit_create(&DepositRequest::new("BCA", 10_000)).await.unwrap();
        assert_eq!(deposit.deposit_id, "CP-20250928-38B575", "{answer}");
        assert_eq!(deposit.channel_name.as_deref(), Some("BCA Virtual Account"));
        assert_eq!(
            (deposit.amount, deposit.fee, deposit.total),
            (Some(10_000.into()), Some(2_500.into()), Some(12_500.into()))
        );
        assert_eq!(deposit.created_at.as_deref(), Some("2025-09-28 17:02:30"));
        assert!(deposit.extra.is_empty(), "{answer}: {:?}", deposit.extra);
    }
}

#[tokio::test]
async fn ppob_products_without_and_with_an_operator() {
    let server = MockServer::start_async().await;
    let all = signed_get(&server, "/v1/ppob_products", &[], "/v1/ppob_products", "ppob_products.json").await;
    let products = client(&server).ppob_products(None).await.unwrap();
    all.assert_async().await;
    assert_eq!(products.len(), 3);
    assert_eq!(products[1].price, Some(Decimal::from(65_000)));
    assert_eq!(products[2].extra["nominal"], 100_000);
    // Both spellings of the code are read.
    assert_eq!(products[0].code.as_deref(), Some("PULSA_50K"));
    assert_eq!(products[2].code.as_deref(), Some("PLN_100K"));

    let server = MockServer::start_async().await;
    let one = signed_get(
        &server,
        "/v1/ppob_products",
        &[("operator", "telkomsel")],
        "/v1/ppob_products?operator=telkomsel",
        "ppob_products.json",
    )
    .await;
    client(&server).ppob_products(Some("telkomsel")).await.unwrap();
    one.assert_async().await;
}

#[tokio::test]
async fn ppob_order_posts_the_documents_example_body() {
    let server = MockServer::start_async().await;
    let mock = signed_post(&server, "/v1/ppob_order", "ppob_order.json", "ppob_order.json").await;
    let request = PpobOrderRequest::new("PULSA_50K", "081234567890")
        .reference("ORDER123")
        .callback_url("https://merchant.example.com/ppob_callback");
    let order = client(&server).ppob_order(&request).await.unwrap();
    mock.assert_async().await;
    assert_eq!(order.order_id.as_deref(), Some("PP-20250928-0001"));
    assert_eq!(order.reference.as_deref(), Some("ORDER123"));
    assert_eq!(order.sn, None);
}

#[tokio::test]
async fn smm_services_with_a_category() {
    let server = MockServer::start_async().await;
    let mock = signed_get(
        &server,
        "/v1/smm_services",
        &[("category", "instagram")],
        "/v1/smm_services?category=instagram",
        "smm_services.json",
    )
    .await;
    let services = client(&server).smm_services(Some("instagram")).await.unwrap();
    mock.assert_async().await;
    assert_eq!(services[0].id, Some(123));
    assert_eq!(services[1].id, Some(124));
    assert_eq!(services[1].max, Some(1_000_000));
    assert_eq!(services[1].price, Some(Decimal::new(150_050, 2)));
}

#[tokio::test]
async fn smm_order_posts_the_documents_example_body() {
    let server = MockServer::start_async().await;
    let mock = signed_post(&server, "/v1/smm_order", "smm_order.json", "smm_order.json").await;
    let request = SmmOrderRequest::new(123, "https://instagram.com/p/xxxx", 1000)
        .reference("SMM123")
        .callback_url("https://merchant.example.com/smm_callback");
    let order = client(&server).smm_order(&request).await.unwrap();
    mock.assert_async().await;
    assert_eq!(order.order_id.as_deref(), Some("778899"));
    assert_eq!(order.extra["remains"], 1000);
}

#[tokio::test]
async fn voucher_products_with_a_game() {
    let server = MockServer::start_async().await;
    let mock = signed_get(
        &server,
        "/v1/voucher_products",
        &[("game", "ml")],
        "/v1/voucher_products?game=ml",
        "voucher_products.json",
    )
    .await;
    let products = client(&server).voucher_products(Some("ml")).await.unwrap();
    mock.assert_async().await;
    assert_eq!(products[0].code.as_deref(), Some("ML_86_DIAMOND"));
    assert_eq!(products[1].price, Some(Decimal::from(19_000)));
    assert_eq!(products[1].code.as_deref(), Some("FF_140_DIAMOND"));
}

#[tokio::test]
async fn voucher_order_posts_the_documents_example_body() {
    let server = MockServer::start_async().await;
    let mock = signed_post(&server, "/v1/voucher_order", "voucher_order.json", "voucher_order.json").await;
    let request = VoucherOrderRequest::new("ML_86_DIAMOND", "12345678")
        .server_id("9001")
        .reference("VCHR123")
        .callback_url("https://merchant.example.com/voucher_callback");
    let order = client(&server).voucher_order(&request).await.unwrap();
    mock.assert_async().await;
    assert_eq!(order.sn.as_deref(), Some("ML-86-XYZ-0042"));
}

#[tokio::test]
async fn catalogues_and_orders_snapshot() {
    let server = MockServer::start_async().await;
    for (path, answer) in [
        ("/api/v1/ppob_products", "ppob_products.json"),
        ("/api/v1/smm_services", "smm_services.json"),
        ("/api/v1/voucher_products", "voucher_products.json"),
        ("/api/v1/invoice_status", "invoice_status.json"),
        ("/api/v1/ppob_order", "ppob_order.json"),
        ("/api/v1/smm_order", "smm_order.json"),
        ("/api/v1/voucher_order", "voucher_order.json"),
    ] {
        server
            .mock_async(|when, then| {
                when.path(path);
                then.status(200).body(fixture(answer));
            })
            .await;
    }
    let client = client(&server);
    insta::assert_json_snapshot!("ppob_products", client.ppob_products(None).await.unwrap());
    insta::assert_json_snapshot!("smm_services", client.smm_services(None).await.unwrap());
    insta::assert_json_snapshot!("voucher_products", client.voucher_products(None).await.unwrap());
    insta::assert_json_snapshot!("invoice", client.invoice_status("INV123").await.unwrap());
    let ppob = client.ppob_order(&PpobOrderRequest::new("PULSA_50K", "081234567890")).await.unwrap();
    insta::assert_json_snapshot!("ppob_order", ppob);
    insta::assert_json_snapshot!(
        "smm_order",
        client.smm_order(&SmmOrderRequest::new(123, "https://instagram.com/p/xxxx", 1000)).await.unwrap()
    );
    insta::assert_json_snapshot!(
        "voucher_order",
        client.voucher_order(&VoucherOrderRequest::new("ML_86_DIAMOND", "12345678")).await.unwrap()
    );
}
