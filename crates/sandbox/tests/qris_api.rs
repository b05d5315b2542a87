//! The QRIS gateway as the sandbox serves it, over real HTTP: the key in the query, the document's
//! shapes and Indonesian messages, the balance, invoices and withdrawals and their moves
//! (`seeds/002_70371d71cc9c4025.txt`).
#![allow(clippy::unwrap_used)] // helpers of tests: a panic is the failing test

use std::sync::Arc;
use std::time::Duration;

use gerbang_core::{FixedClock, ProviderId};
use gerbang_sandbox::qris::{API_KEY, DEFAULT_BALANCE, WithdrawalError, WithdrawalState, invoice_fee};
use gerbang_sandbox::{PaymentState, Sandbox, SandboxError, SandboxHandle};
use serde_json::{Value, json};

/// An answer: HTTP status and JSON body (`Null` if not JSON).
struct Answer {
    status: u16,
    json: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let json = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    Answer { status, json }
}

/// `GET {base}{path}?{query}&apikey=…` with the sandbox's key.
async fn get(sandbox: &SandboxHandle, path: &str, query: &str) -> Answer {
    let sep = if query.is_empty() { "" } else { "&" };
    let url = format!("{}{path}?{query}{sep}apikey={API_KEY}", sandbox.base_url(ProviderId::Qris));
    send(reqwest::Client::new().get(url)).await
}

/// `POST {base}{path}?{query}&apikey=…` with a JSON body (or none).
async fn post(sandbox: &SandboxHandle, path: &str, query: &str, body: Option<Value>) -> Answer {
    let sep = if query.is_empty() { "" } else { "&" };
    let url = format!("{}{path}?{query}{sep}apikey={API_KEY}", sandbox.base_url(ProviderId::Qris));
    let request = reqwest::Client::new().post(url);
    send(match body {
        Some(body) => request.header("content-type", "application/json").body(body.to_string()),
        None => request,
    })
    .await
}

fn assert_error(answer: &Answer, status: u16, message: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.json);
    assert_eq!(answer.json, json!({ "error": message }));
}

async fn create_invoice(sandbox: &SandboxHandle, amount: u64) -> Value {
    let answer = get(sandbox, "/api/v1/invoice/create", &format!("amount={amount}")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    answer.json
}

async fn balance(sandbox: &SandboxHandle) -> u64 {
    get(sandbox, "/api/v1/balance", "").await.json["balance"].as_u64().unwrap()
}

async fn withdraw(sandbox: &SandboxHandle, amount: u64) -> Answer {
    let body = json!({"amount": amount, "accountNumber": "081234567890", "accountName": "John Doe"});
    post(sandbox, "/api/v1/withdraw/dana", "", Some(body)).await
}

#[tokio::test]
async fn every_call_needs_the_key_in_the_query() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::Qris);
    let client = reqwest::Client::new();
    let missing = send(client.get(format!("{base}/api/v1/balance"))).await;
    assert_error(&missing, 401, "API key diperlukan");
    let wrong = send(client.get(format!("{base}/api/v1/invoice/create?amount=10000&apikey=nope"))).await;
    assert_error(&wrong, 401, "API key tidak valid");
    // In a header instead of the query, it is not seen.
    let header = send(client.get(format!("{base}/api/v1/balance")).header("apikey", API_KEY)).await;
    assert_eq!(header.status, 401);
    let unknown = send(client.get(format!("{base}/api/v1/nothing?apikey={API_KEY}"))).await;
    assert_error(&unknown, 404, "Endpoint tidak ditemukan");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_balance_starts_at_the_default_or_the_builders_figure() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    assert_eq!(get(&sandbox, "/api/v1/balance", "").await.json, json!({ "balance": DEFAULT_BALANCE }));
    let rich = Sandbox::builder().qris_balance(5_000_000).start().await.unwrap();
    assert_eq!(balance(&rich).await, 5_000_000);
}

#[tokio::test]
async fn invoices_are_shaped_like_the_document() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let created = create_invoice(&sandbox, 10_000).await;
    let id = created["invoice_id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let fee = invoice_fee(10_000);
    assert_eq!(fee, 70);
    let image = format!("{}/invoice/{id}/qr.svg", sandbox.base_url(ProviderId::Qris));
    let keys: Vec<_> = created.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["amount", "expired_at", "fee", "invoice_id", "qris_image", "success", "total"]);
    assert_eq!(created["success"], true);
    assert_eq!((created["amount"].as_u64(), created["fee"].as_u64()), (Some(10_000), Some(fee)));
    assert_eq!(created["total"], 10_000 + fee);
    assert_eq!(created["qris_image"], image);

    let status = get(&sandbox, "/api/v1/invoice/status", &format!("invoice_id={id}")).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.json["status"], "pending");
    assert_eq!(status.json["expired_at"], created["expired_at"]);
    let created_at = gerbang_signing::jakarta::parse_local_datetime(status.json["created_at"].as_str().unwrap());
    let expired_at = gerbang_signing::jakarta::parse_local_datetime(status.json["expired_at"].as_str().unwrap());
    assert_eq!(expired_at.unwrap() - created_at.unwrap(), time::Duration::minutes(30));

    let svg = reqwest::get(image).await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains(id));
}

#[tokio::test]
async fn bad_invoice_requests_are_refused_in_indonesian() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    assert_error(&get(&sandbox, "/api/v1/invoice/create", "").await, 400, "Parameter amount wajib diisi");
    for amount in ["0", "-5", "10.5", "sepuluh"] {
        let answer = get(&sandbox, "/api/v1/invoice/create", &format!("amount={amount}")).await;
        assert_error(&answer, 400, "Amount harus berupa angka bulat lebih dari 0");
    }
    assert_error(&get(&sandbox, "/api/v1/invoice/status", "").await, 400, "Parameter invoice_id wajib diisi");
    let unknown = get(&sandbox, "/api/v1/invoice/status", "invoice_id=000000000000000000000000").await;
    assert_error(&unknown, 404, "Invoice tidak ditemukan");
}

#[tokio::test]
async fn a_paid_invoice_credits_its_amount_and_cannot_be_cancelled() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let id = create_invoice(&sandbox, 25_000).await["invoice_id"].as_str().unwrap().to_owned();
    assert_eq!(sandbox.pay(ProviderId::Qris, &id).await, Ok(PaymentState::Paid));
    assert_eq!(balance(&sandbox).await, DEFAULT_BALANCE + 25_000);
    assert_eq!(get(&sandbox, "/api/v1/invoice/status", &format!("invoice_id={id}")).await.json["status"], "paid");

    let refused = post(&sandbox, "/api/v1/invoice/cancel", &format!("invoice_id={id}"), None).await;
    assert_error(&refused, 400, "Invoice tidak bisa dibatalkan, status saat ini: paid");
    assert!(matches!(sandbox.pay(ProviderId::Qris, &id).await, Err(SandboxError::NotPending { .. })));
    assert!(matches!(sandbox.expire(ProviderId::Qris, "nope").await, Err(SandboxError::UnknownPayment { .. })));
    let fresh = create_invoice(&sandbox, 10_000).await["invoice_id"].as_str().unwrap().to_owned();
    assert!(matches!(
        sandbox.fail(ProviderId::Qris, &fresh).await,
        Err(SandboxError::UnsupportedTransition { target: PaymentState::Failed, .. })
    ));
}

#[tokio::test]
async fn cancel_takes_the_id_in_the_query_or_a_json_body_and_makes_it_expired() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    for by_body in [false, true] {
        let id = create_invoice(&sandbox, 10_000).await["invoice_id"].as_str().unwrap().to_owned();
        let answer = if by_body {
            post(&sandbox, "/api/v1/invoice/cancel", "", Some(json!({ "invoice_id": id }))).await
        } else {
            post(&sandbox, "/api/v1/invoice/cancel", &format!("invoice_id={id}"), None).await
        };
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.json,
            json!({"success": true, "invoice_id": id, "status": "expired", "message": "Invoice berhasil dibatalkan"})
        );
        let again = post(&sandbox, "/api/v1/invoice/cancel", &format!("invoice_id={id}"), None).await;
        assert_error(&again, 400, "Invoice tidak bisa dibatalkan, status saat ini: expired");
        assert!(matches!(sandbox.pay(ProviderId::Qris, &id).await, Err(SandboxError::NotPending { .. })));
    }
    let none = post(&sandbox, "/api/v1/invoice/cancel", "", None).await;
    assert_error(&none, 400, "Parameter invoice_id wajib diisi");
}

#[tokio::test]
async fn an_invoice_expires_thirty_minutes_after_it_was_made() {
    let clock = Arc::new(FixedClock::at_unix(1_735_702_200)); // 2025-01-01 10:30:00 +07:00
    let sandbox = Sandbox::builder().clock(clock.clone()).start().await.unwrap();
    let created = create_invoice(&sandbox, 10_000).await;
    assert_eq!(created["expired_at"], "2025-01-01 11:00:00");
    let id = created["invoice_id"].as_str().unwrap();
    clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(get(&sandbox, "/api/v1/invoice/status", &format!("invoice_id={id}")).await.json["status"], "pending");
    clock.advance(Duration::from_secs(60));
    assert_eq!(get(&sandbox, "/api/v1/invoice/status", &format!("invoice_id={id}")).await.json["status"], "expired");
    assert!(matches!(sandbox.pay(ProviderId::Qris, id).await, Err(SandboxError::NotPending { .. })));
}

#[tokio::test]
async fn a_withdrawal_answers_the_documents_example_figures() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let answer = withdraw(&sandbox, 100_000).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    let w = &answer.json;
    assert_eq!(w["success"], true);
    assert_eq!(w["message"], "Permintaan penarikan berhasil diajukan");
    assert_eq!((w["amount"].as_u64(), w["fee"].as_u64()), (Some(100_000), Some(1_000)));
    assert_eq!((w["total_deduct"].as_u64(), w["new_balance"].as_u64()), (Some(101_000), Some(899_000)));
    assert_eq!(w["status"], "pending");
    let created_at = w["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z') && created_at.len() == 24, "{created_at}");
    assert_eq!(balance(&sandbox).await, 899_000);

    let id = w["withdraw_id"].as_str().unwrap();
    let status = get(&sandbox, "/api/v1/withdraw/status", &format!("withdraw_id={id}")).await;
    assert_eq!(status.status, 200);
    let keys: Vec<_> = status.json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "account_name",
            "account_number",
            "admin_note",
            "amount",
            "created_at",
            "fee",
            "method",
            "processed_at",
            "status",
            "success",
            "total_deduct",
            "withdraw_id"
        ]
    );
    assert_eq!(status.json["method"], "dana");
    assert_eq!(status.json["processed_at"], Value::Null);
}

#[tokio::test]
async fn bad_withdrawals_are_refused_and_take_nothing() {
    let sandbox = Sandbox::builder().qris_balance(50_000).start().await.unwrap();
    let cases = [
        (
            json!({"amount": 10_000, "accountNumber": "0812-3456", "accountName": "John"}),
            "accountNumber hanya boleh berisi angka",
        ),
        (json!({"amount": 10_000, "accountName": "John"}), "Field accountNumber wajib diisi"),
        (json!({"amount": 10_000, "accountNumber": "081234567890"}), "Field accountName wajib diisi"),
        (json!({"accountNumber": "081234567890", "accountName": "John"}), "Field amount wajib diisi"),
        (
            json!({"amount": -1, "accountNumber": "081234567890", "accountName": "John"}),
            "Amount harus berupa angka bulat lebih dari 0",
        ),
        (json!({"amount": 49_500, "accountNumber": "081234567890", "accountName": "John"}), "Saldo tidak mencukupi"),
    ];
    for (body, message) in cases {
        assert_error(&post(&sandbox, "/api/v1/withdraw/dana", "", Some(body)).await, 400, message);
    }
    let unknown = get(&sandbox, "/api/v1/withdraw/status", "withdraw_id=nope").await;
    assert_error(&unknown, 404, "Withdraw tidak ditemukan");
    assert_eq!(balance(&sandbox).await, 50_000);
    // Exactly the balance, fee included, is fine.
    assert_eq!(withdraw(&sandbox, 49_000).await.json["new_balance"], 0);
}

#[tokio::test]
async fn the_admin_approves_or_rejects_and_a_rejection_refunds() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let first = withdraw(&sandbox, 100_000).await.json["withdraw_id"].as_str().unwrap().to_owned();
    let second = withdraw(&sandbox, 200_000).await.json["withdraw_id"].as_str().unwrap().to_owned();
    assert_eq!(balance(&sandbox).await, DEFAULT_BALANCE - 101_000 - 201_000);

    assert_eq!(sandbox.qris_approve_withdrawal(&first).await, Ok(WithdrawalState::Success));
    assert_eq!(sandbox.qris_reject_withdrawal(&second, Some("Nama tidak sesuai")).await, Ok(WithdrawalState::Rejected));
    assert_eq!(balance(&sandbox).await, DEFAULT_BALANCE - 101_000, "the rejected one came back, fee included");

    let approved = get(&sandbox, "/api/v1/withdraw/status", &format!("withdraw_id={first}")).await.json;
    assert_eq!(approved["status"], "success");
    assert!(approved["processed_at"].is_string());
    let rejected = get(&sandbox, "/api/v1/withdraw/status", &format!("withdraw_id={second}")).await.json;
    assert_eq!(
        (rejected["status"].as_str(), rejected["admin_note"].as_str()),
        (Some("rejected"), Some("Nama tidak sesuai"))
    );

    assert_eq!(
        sandbox.qris_approve_withdrawal(&second).await,
        Err(WithdrawalError::NotPending { withdraw_id: second.clone(), status: WithdrawalState::Rejected })
    );
    assert_eq!(
        sandbox.qris_reject_withdrawal("nope", None).await,
        Err(WithdrawalError::Unknown { withdraw_id: "nope".into() })
    );
}

#[tokio::test]
async fn the_control_routes_answer_in_the_control_apis_shape() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let id = withdraw(&sandbox, 10_000).await.json["withdraw_id"].as_str().unwrap().to_owned();
    let control = |action: &str| format!("{}/_sandbox/qris/withdrawals/{id}/{action}", sandbox.url());
    let client = reqwest::Client::new();
    let rejected = send(client.post(format!("{}?note=Rekening%20salah", control("reject")))).await;
    assert_eq!(rejected.status, 200);
    assert_eq!(rejected.json, json!({"provider": "qris", "withdraw_id": id, "status": "rejected"}));
    let again = send(client.post(control("approve"))).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.json["status"], "rejected");
    let note = get(&sandbox, "/api/v1/withdraw/status", &format!("withdraw_id={id}")).await.json["admin_note"].clone();
    assert_eq!(note, "Rekening salah");
    let unknown = send(client.post(format!("{}/_sandbox/qris/withdrawals/nope/approve", sandbox.url()))).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.json["error"].as_str().unwrap().contains("nope"));
}

#[tokio::test]
async fn the_history_pages_newest_first_and_filters_by_status() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(withdraw(&sandbox, n * 10_000).await.json["withdraw_id"].as_str().unwrap().to_owned());
    }
    sandbox.qris_approve_withdrawal(&ids[0]).await.unwrap();
    sandbox.qris_approve_withdrawal(&ids[3]).await.unwrap();

    let first = get(&sandbox, "/api/v1/withdraw/history", "page=1&limit=2").await.json;
    assert_eq!(first["success"], true);
    assert_eq!(first["pagination"], json!({"page": 1, "limit": 2, "total": 5, "total_pages": 3}));
    let listed: Vec<_> = first["data"].as_array().unwrap().iter().map(|w| w["withdraw_id"].clone()).collect();
    assert_eq!(listed, [json!(ids[4]), json!(ids[3])]);
    let last = get(&sandbox, "/api/v1/withdraw/history", "page=3&limit=2").await.json;
    assert_eq!(last["data"].as_array().unwrap().len(), 1);

    let success = get(&sandbox, "/api/v1/withdraw/history", "status=success").await.json;
    assert_eq!(success["pagination"], json!({"page": 1, "limit": 10, "total": 2, "total_pages": 1}));
    assert!(success["data"].as_array().unwrap().iter().all(|w| w["status"] == "success"));

    let bad = get(&sandbox, "/api/v1/withdraw/history", "status=done").await;
    assert_error(&bad, 400, "Status tidak valid, gunakan pending, success atau rejected");
    let bad = get(&sandbox, "/api/v1/withdraw/history", "page=0").await;
    assert_error(&bad, 400, "Parameter page harus berupa angka lebih dari 0");
}
