//! Answers recorded from the sandbox, kept as files in `tests/fixtures/sandbox/`.
//!
//! Normally this checks two things: every recorded answer still parses with the client's own
//! parser, and the sandbox still answers in the recorded shape (the same keys with the same JSON
//! types; ids, tokens and times differ from run to run). A change on either side fails here
//! instead of drifting apart. `cargo xtask fixtures` (which sets `GERBANG_REGENERATE_FIXTURES=1`)
//! records the answers anew, for review in `git diff`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gerbang_ciputra::{
    RegistrationStatus, TransactionResult, TransactionStatus, check_envelope, parse_answer, parse_callback,
};
use gerbang_core::http::{HeaderMap, Method, StatusCode};
use gerbang_core::transport::{Call, HttpRequest, HttpResponse};
use gerbang_core::{BaseUrl, HttpClient, ProviderId, WebhookRequest};
use gerbang_sandbox::Sandbox;
use gerbang_sandbox::ciputra::{API_KEY, API_SECRET};
use gerbang_testkit::check_sandbox_fixtures;
use serde_json::Value;

/// A call to the sandbox, returning the raw answer.
async fn call(
    http: &HttpClient,
    base: &BaseUrl,
    path: &str,
    headers: &[(&'static str, &str)],
    form: &str,
) -> HttpResponse {
    let url = base.join(path).unwrap();
    http.send(Call::once(ProviderId::Ciputra, "fixture"), || {
        let mut request = HttpRequest::new(Method::POST, url.clone());
        for (name, value) in headers {
            request = request.header(name, value)?;
        }
        Ok(request.body("application/x-www-form-urlencoded", form.to_owned()))
    })
    .await
    .unwrap()
}

/// Every answer worth recording, by fixture name, with its HTTP status.
async fn record() -> Vec<(&'static str, u16, Value)> {
    let sandbox = Sandbox::builder()
        .webhook_url(ProviderId::Ciputra, "http://127.0.0.1:9/unused")
        .webhook_retry(1, Duration::ZERO)
        .start()
        .await
        .unwrap();
    let base = BaseUrl::parse(&sandbox.base_url(ProviderId::Ciputra)).unwrap();
    let http = HttpClient::new();
    let mut answers = Vec::new();
    let mut keep = |name, response: HttpResponse| {
        let value: Value = serde_json::from_slice(&response.body).unwrap();
        answers.push((name, response.status.as_u16(), value));
    };
    let credentials = [("api-key", API_KEY), ("api-secret", API_SECRET)];
    let token_answer = call(&http, &base, "/auth/token", &credentials, "").await;
    let token: Value = serde_json::from_slice(&token_answer.body).unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];
    keep("token", token_answer);
    keep(
        "token_refused",
        call(&http, &base, "/auth/token", &[("api-key", API_KEY), ("api-secret", "wrong")], "").await,
    );
    keep(
        "unauthorized",
        call(&http, &base, "/transaction/status", &[("authorization", "Bearer forged")], "external_id=E").await,
    );

    let charge = "action=charge&paytype=va&paycode=bca&external_id=FIX-1&name=Budi&amount=350000&exptype=D&expval=1";
    keep("transaction_charge", call(&http, &base, "/transaction", &auth, charge).await);
    keep("transaction_duplicate", call(&http, &base, "/transaction", &auth, charge).await);
    keep("transaction_status_pending", call(&http, &base, "/transaction/status", &auth, "external_id=FIX-1").await);
    sandbox.pay(ProviderId::Ciputra, "FIX-1").await.unwrap();
    keep("transaction_status_paid", call(&http, &base, "/transaction/status", &auth, "external_id=FIX-1").await);
    keep("transaction_not_found", call(&http, &base, "/transaction/status", &auth, "external_id=NOPE").await);

    let charge = "action=charge&paytype=ewallet&paycode=gopay&external_id=FIX-2&name=Budi&amount=10000";
    call(&http, &base, "/transaction", &auth, charge).await;
    keep("transaction_cancel", call(&http, &base, "/transaction", &auth, "action=cancel&external_id=FIX-2").await);

    let registration = "action=registration&paytype=va&paycode=bca&external_id=FIX-3&name=Jhone&phone=081111111111";
    keep("transaction_registration", call(&http, &base, "/transaction", &auth, registration).await);
    sandbox.pay(ProviderId::Ciputra, "FIX-3").await.unwrap();
    keep("registration_status", call(&http, &base, "/registration/status", &auth, "external_id=FIX-3").await);

    let deliveries = sandbox.wait_for_deliveries(2, Duration::from_secs(5)).await.unwrap();
    // Form bodies: kept as the JSON object of their fields, for the shape check.
    for (name, reference) in [("callback_paid", "FIX-1"), ("callback_registration", "FIX-3")] {
        let delivery = deliveries.iter().find(|d| d.reference == reference).unwrap();
        let fields: serde_json::Map<String, Value> = delivery
            .body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect();
        answers.push((name, 200, Value::Object(fields)));
    }
    sandbox.shutdown().await;
    answers
}

/// The client reads a recorded answer as it reads a live one.
fn parse_with_client(name: &str, status: u16, body: &Value) {
    let response =
        HttpResponse::new(StatusCode::from_u16(status).unwrap(), HeaderMap::new(), serde_json::to_vec(body).unwrap());
    let parsed = match name {
        "token" => check_envelope(name, &response).map(|map| assert!(map["access_token"].is_string())),
        "transaction_charge" | "transaction_cancel" | "transaction_registration" => {
            parse_answer::<TransactionResult>(name, &response).map(drop)
        }
        "transaction_status_pending" | "transaction_status_paid" => {
            parse_answer::<TransactionStatus>(name, &response).map(drop)
        }
        "registration_status" => parse_answer::<RegistrationStatus>(name, &response).map(drop),
        "callback_paid" | "callback_registration" => {
            let form: Vec<String> =
                body.as_object().unwrap().iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap())).collect();
            let form = form.join("&");
            let headers = HeaderMap::new();
            let (hint, _) = parse_callback(&WebhookRequest::new(Method::POST, "/", &headers, form.as_bytes())).unwrap();
            assert!(hint.external_id.is_some() && hint.order_id.is_some(), "{name}: {hint:?}");
            return;
        }
        _ => {
            // The refusals must map to an error that keeps the gateway's message.
            let error = check_envelope(name, &response).expect_err(name);
            let message = body["message"].as_str().unwrap();
            assert!(error.to_string().contains(message), "{name}: {error} lost `{message}`");
            return;
        }
    };
    parsed.unwrap_or_else(|e| panic!("{name}: the client cannot parse the sandbox's answer: {e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_answers_match_the_recorded_fixtures() {
    for (name, status, body) in check_sandbox_fixtures(env!("CARGO_MANIFEST_DIR"), &record().await) {
        parse_with_client(&name, status, &body);
    }
}
