//! The status calls as a merchant writes them without gerbang: reqwest, the bare signing crates
//! (`hmac`, `sha2`, `base64`, `hex`), the answer parsed into `serde_json::Value` and checked for
//! the gateway's success marks. Each sends what the SDK's call sends on the wire: the same
//! headers, and a timestamp, request id and signature made anew per call where the SDK makes
//! them per call. A refusal is an error, so that a wrong signature fails the bench instead of
//! being timed.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use crate::Result;

/// A client as careful as the SDK's: its default timeouts (without them the comparison would
/// measure the timers, not the SDK), no redirects, and a user agent of about its length.
pub(super) fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent("shop-backend/1.0 (+https://shop.example.com/about/payments)")
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()?)
}

fn hmac_sha256(key: &str, message: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The answer as JSON, if the HTTP status is a success and `accepted` says the body is too.
async fn answer(response: reqwest::Response, accepted: impl FnOnce(&Value) -> bool) -> Result<Value> {
    let status = response.status();
    let body: Value = serde_json::from_slice(&response.bytes().await?)?;
    if !status.is_success() || !accepted(&body) {
        return Err(format!("the gateway refused the call: HTTP {status}, {body}").into());
    }
    Ok(body)
}

/// Cuan10pay's `X-SIGNATURE`: lowercase hex of HMAC-SHA256(private key, timestamp + METHOD +
/// path with query + body), the body empty for a GET.
pub(super) fn cuan10pay_signature(timestamp: u64, path: &str) -> String {
    hex::encode(hmac_sha256(gerbang_sandbox::cuan10pay::PRIVATE_KEY, &format!("{timestamp}GET{path}")))
}

/// The deposit out of Cuan10pay's envelope, if it says `success`.
pub(super) fn cuan10pay_deposit(mut body: Value) -> Result<Value> {
    match body["status"].as_str() {
        Some("success") => Ok(body["data"].take()),
        _ => Err(format!("the gateway refused the call: {body}").into()),
    }
}

/// `GET /v1/deposit_status?ref=`: key, Unix timestamp and signature headers.
pub(super) async fn cuan10pay(http: &reqwest::Client, base: &str, deposit_id: &str) -> Result<Value> {
    let path = format!("/v1/deposit_status?ref={deposit_id}");
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let response = http
        .get(format!("{base}{path}"))
        .header("accept", "application/json")
        .header("x-api-key", gerbang_sandbox::cuan10pay::API_KEY)
        .header("x-timestamp", timestamp.to_string())
        .header("x-signature", cuan10pay_signature(timestamp, &path))
        .send()
        .await?;
    cuan10pay_deposit(answer(response, |_| true).await?)
}

/// `POST /payment/status` `{"trxNo":…}`: client id, a fresh UUID v4 request id, a Jakarta
/// timestamp and base64(HMAC-SHA256(secret, `base64(SHA-256(body)):clientId:requestId:/payment/status:timestamp`)).
/// The body is written compact, so it is its own minified form.
pub(super) async fn cashin(http: &reqwest::Client, base: &str, trx_no: &str) -> Result<Value> {
    use gerbang_sandbox::cashin::{CLIENT_ID, SECRET_KEY};
    let body = serde_json::to_vec(&serde_json::json!({ "trxNo": trx_no }))?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let timestamp = OffsetDateTime::now_utc()
        .to_offset(offset!(+7))
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+07:00"))?;
    let digest = STANDARD.encode(Sha256::digest(&body));
    let signature = STANDARD
        .encode(hmac_sha256(SECRET_KEY, &format!("{digest}:{CLIENT_ID}:{request_id}:/payment/status:{timestamp}")));
    let response = http
        .post(format!("{base}/payment/status"))
        .header("accept", "application/json")
        .header("x-client-id", CLIENT_ID)
        .header("x-request-id", request_id)
        .header("x-timestamp", timestamp)
        .header("x-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    Ok(answer(response, |body| body["data"].is_object()).await?["data"].take())
}

/// `GET /api/v1/invoice/status?invoice_id=…&apikey=…`: the key in the query, nothing signed.
/// Written into the URL as they are: the sandbox's invoice ids and key need no escaping.
pub(super) async fn qris(http: &reqwest::Client, base: &str, invoice_id: &str) -> Result<Value> {
    let url = format!("{base}/api/v1/invoice/status?invoice_id={invoice_id}&apikey={}", gerbang_sandbox::qris::API_KEY);
    let response = http.get(url).header("accept", "application/json").send().await?;
    answer(response, |body| body.get("error").is_none() && body["success"] != Value::Bool(false)).await
}

/// `POST /get_invoices` with both keys and the order id in a JSON body; the answer's `message`
/// is a JSON string holding the array of invoices, parsed in turn.
pub(super) async fn crypto_invoice(http: &reqwest::Client, base: &str, order_id: &str) -> Result<Value> {
    use gerbang_sandbox::crypto_invoice::{PRIVATE_KEY, PUBLIC_KEY};
    let body = serde_json::json!({ "public_key": PUBLIC_KEY, "private_key": PRIVATE_KEY, "order_id": order_id });
    let response = http
        .post(format!("{base}/get_invoices"))
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body)?)
        .send()
        .await?;
    let body = answer(response, |body| body["status"] == "success").await?;
    let invoices: Value = serde_json::from_str(body["message"].as_str().ok_or("`message` is not a string")?)?;
    match invoices.as_array() {
        Some(list) if !list.is_empty() => Ok(invoices),
        _ => Err("the gateway lists no invoice for this order".into()),
    }
}

/// `POST /auth/token` with the `api-key` and `api-secret` headers: the bearer token, fetched
/// once and reused, as the SDK caches its own.
pub(super) async fn ciputra_token(http: &reqwest::Client, base: &str) -> Result<String> {
    use gerbang_sandbox::ciputra::{API_KEY, API_SECRET};
    let response = http
        .post(format!("{base}/auth/token"))
        .header("accept", "application/json")
        .header("api-key", API_KEY)
        .header("api-secret", API_SECRET)
        .send()
        .await?;
    let body = answer(response, ciputra_accepted).await?;
    Ok(body["access_token"].as_str().ok_or("no `access_token` in the answer")?.to_owned())
}

/// Ciputra's envelope says success: `code` `00` and `status` true.
fn ciputra_accepted(body: &Value) -> bool {
    body["code"] == "00" && body["status"] == true
}

/// `POST /transaction/status`, form `external_id`, with `Authorization: Bearer <token>`.
pub(super) async fn ciputra(http: &reqwest::Client, base: &str, token: &str, external_id: &str) -> Result<Value> {
    let response = http
        .post(format!("{base}/transaction/status"))
        .header("accept", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("external_id", external_id)])?)
        .send()
        .await?;
    Ok(answer(response, ciputra_accepted).await?["data"].take())
}
