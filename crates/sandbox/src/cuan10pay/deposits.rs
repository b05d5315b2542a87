//! `deposit_create`, `deposit_status` and `invoice_status`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use super::fields::Fields;
use super::store::{Deposit, new_id};
use super::{PREFIX, Refusal, error, success};
use crate::PaymentState;
use crate::payments::Timeline;
use crate::state::{Shared, lock};

/// The document's limits: "Deposit amount (min 10,000, max 10,000,000)".
const MIN_AMOUNT: u64 = 10_000;
const MAX_AMOUNT: u64 = 10_000_000;

/// How a channel charges its fee.
#[derive(Debug, Clone, Copy)]
enum Fee {
    /// A flat fee in rupiah.
    Flat(u64),
    /// Thousandths of the amount, rounded up to the rupiah.
    PerMille(u64),
}

/// **Decision**: the channels the sandbox accepts and what each charges. The document names
/// "QRIS, BCA, etc." as channel codes and shows one answer, BCA at a flat 2 500 on 10 000
/// (`seeds/000_b443c682d4d25840.txt`); the rest is assumed: virtual accounts of the big banks at
/// the same flat fee, QRIS at 0.7 % (the usual MDR). `QRIS2` is the code the document's PHP
/// example sends. Codes are matched without regard to case.
const CHANNELS: &[(&str, &str, Fee)] = &[
    ("QRIS", "QRIS", Fee::PerMille(7)),
    ("QRIS2", "QRIS", Fee::PerMille(7)),
    ("BCA", "BCA Virtual Account", Fee::Flat(2_500)),
    ("BNI", "BNI Virtual Account", Fee::Flat(2_500)),
    ("BRI", "BRI Virtual Account", Fee::Flat(2_500)),
    ("MANDIRI", "Mandiri Virtual Account", Fee::Flat(2_500)),
    ("PERMATA", "Permata Virtual Account", Fee::Flat(2_500)),
    ("CIMB", "CIMB Niaga Virtual Account", Fee::Flat(2_500)),
];

/// `POST /v1/deposit_create`.
pub(super) async fn create(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Refusal> {
    let fields = Fields::parse(&body)?;
    fields.require(&["channel_code", "amount"])?;
    let code = fields.required_string("channel_code")?;
    let amount = fields.required_number("amount")?;
    if !(MIN_AMOUNT..=MAX_AMOUNT).contains(&amount) {
        return Err(Refusal::bad_request("The amount must be between 10000 and 10000000"));
    }
    let Some(&(code, channel_name, fee)) = CHANNELS.iter().find(|(known, ..)| known.eq_ignore_ascii_case(code.trim()))
    else {
        let known: Vec<&str> = CHANNELS.iter().map(|(known, ..)| *known).collect();
        let message = format!("Unsupported channel_code; supported: {}", known.join(", "));
        return Err(Refusal::bad_request(message));
    };
    let notes = fields.string("notes")?.map(str::to_owned);
    for optional in ["customer_name", "customer_email", "customer_phone", "return_url"] {
        fields.string(optional)?;
    }
    let (now, wall) = (shared.now(), shared.wall_now());
    // The client's `expired_time` is on its clock, which keeps real time: read against the
    // unmoved clock, and kept on the sandbox's (moved by as much as time travel moved it).
    let expires_at = match fields.whole_number("expired_time")? {
        None => None,
        Some(expires) => match i64::try_from(expires) {
            Ok(expires) if expires > wall.unix_timestamp() => {
                Some(now + time::Duration::seconds(expires - wall.unix_timestamp()))
            }
            _ => return Err(Refusal::bad_request("The expired_time must be a Unix timestamp in the future")),
        },
    };

    let base = format!("{}{PREFIX}", shared.origin());
    let mut store = lock(&super::emulator(&shared).store);
    let id = new_id("CP", now, |id| store.contains(id));
    let fee = match fee {
        Fee::Flat(fee) => fee,
        Fee::PerMille(per_mille) => (amount * per_mille).div_ceil(1000),
    };
    let payment_code =
        if channel_name == "QRIS" { qris_payload(amount + fee, &id) } else { virtual_account(code, &id) };
    let deposit = Deposit {
        checkout_url: format!("{base}/checkout/{id}"),
        // The document's `link_url` is `https://cuan10pay.com/pay.php?ref=CP-…`: same form here.
        link_url: format!("{base}/pay.php?ref={id}"),
        id,
        channel_name,
        amount,
        fee,
        payment_code,
        state: PaymentState::Pending,
        created_at: now,
        paid_at: None,
        notes,
        expires_at,
        timeline: Timeline::created(&shared, now),
    };
    tracing::info!(reference = %deposit.id, amount, channel = code, "deposit created");
    let response = success("Deposit request created successfully", deposit.view());
    store.insert(deposit);
    Ok(response)
}

/// `GET /v1/deposit_status?ref=`.
pub(super) async fn status(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    look_up(&shared, query, "Deposit status retrieved successfully", "Deposit not found")
}

/// `GET /v1/invoice_status?ref=`. The document calls the Invoice API a way "to check the payment
/// status of invoices that have been created" but creates nothing but deposits: **Decision**, an
/// invoice is looked up among the deposits, by `deposit_id`.
pub(super) async fn invoice_status(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    look_up(&shared, query, "Invoice status retrieved successfully", "Invoice not found")
}

fn look_up(
    shared: &Shared,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    found: &str,
    not_found: &str,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(StatusCode::BAD_REQUEST, "Invalid query string");
    };
    let Some(reference) = query.get("ref").map(|r| r.trim()).filter(|r| !r.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "Missing required parameter: ref");
    };
    let store = lock(&super::emulator(shared).store);
    match store.get(reference) {
        Some(deposit) => success(found, deposit.view()),
        None => error(StatusCode::NOT_FOUND, not_found),
    }
}

/// A 16-digit virtual account number, like the document's `"1234567890123456"`: a four-digit bank
/// prefix, then digits derived from the deposit id.
fn virtual_account(code: &str, id: &str) -> String {
    let prefix = match code {
        "BCA" => "3901",
        "BNI" => "8808",
        "BRI" => "2620",
        "MANDIRI" => "8954",
        "PERMATA" => "8625",
        _ => "8059",
    };
    let digest = gerbang_signing::hmac_sha256(b"virtual-account", &[id.as_bytes()]);
    let digits: String = digest.iter().take(12).map(|b| char::from(b'0' + b % 10)).collect();
    format!("{prefix}{digits}")
}

/// A QRIS (EMVCo merchant-presented) payload for `amount`, so that a client can render a QR code
/// that scanners recognise as QRIS: tag-length-value fields closed by a CRC-16/CCITT-FALSE.
fn qris_payload(amount: u64, id: &str) -> String {
    fn tlv(tag: &str, value: &str) -> String {
        format!("{tag}{:02}{value}", value.len())
    }
    let merchant = format!("{}{}{}", tlv("00", "ID.CO.QRIS.WWW"), tlv("01", "936000000000000000"), tlv("03", "UMI"));
    let mut payload = [
        tlv("00", "01"),
        tlv("01", "12"),
        tlv("26", &merchant),
        tlv("52", "5999"),
        tlv("53", "360"),
        tlv("54", &amount.to_string()),
        tlv("58", "ID"),
        tlv("59", "CUAN10PAY SANDBOX"),
        tlv("60", "JAKARTA"),
        tlv("62", &tlv("05", id)),
    ]
    .concat();
    payload.push_str("6304");
    let crc = crc16_ccitt_false(payload.as_bytes());
    payload.push_str(&format!("{crc:04X}"));
    payload
}

fn crc16_ccitt_false(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 == 0 { crc << 1 } else { (crc << 1) ^ 0x1021 };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        // The catalogued check value of CRC-16/CCITT-FALSE over "123456789".
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
    }

    #[test]
    fn qris_payload_carries_the_amount_and_ends_with_its_crc() {
        let payload = qris_payload(10_070, "CP-20250928-38B575");
        assert!(payload.starts_with("000201010212"));
        assert!(payload.contains("540510070"));
        let (body, crc) = payload.split_at(payload.len() - 4);
        assert_eq!(crc, format!("{:04X}", crc16_ccitt_false(body.as_bytes())));
    }

    #[test]
    fn virtual_accounts_have_sixteen_digits() {
        let number = virtual_account("BCA", "CP-20250928-38B575");
        assert_eq!(number.len(), 16);
        assert!(number.chars().all(|c| c.is_ascii_digit()));
    }
}
