//! The answers of the QRIS API, typed.
//!
//! Field names are the document's (`seeds/002_70371d71cc9c4025.txt`). Each type reads the
//! gateway's JSON with lenient readers (amounts as numbers or strings, both kinds of time) and
//! keeps every field it does not name in `extra`, so that nothing the gateway sends is lost and a
//! new field never breaks parsing. Serialised, amounts are [`Money`] (`{"value","currency"}`)
//! and times RFC 3339, and that form reads back too.

use std::fmt;

use gerbang_core::Money;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::de;

/// Fields of an answer that no typed field names, as received.
pub type Extra = Map<String, Value>;

macro_rules! status_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A word the document does not list, kept as sent.
            Other(String),
        }

        impl $name {
            /// The gateway's word for it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $word,)+
                    Self::Other(word) => word,
                }
            }

            /// Reads the gateway's word, without regard to case; an unknown word is
            /// [`Other`](Self::Other).
            pub fn parse(word: &str) -> Self {
                let trimmed = word.trim();
                $(if trimmed.eq_ignore_ascii_case($word) { return Self::$variant; })+
                Self::Other(word.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self::parse(&de::string(d)?))
            }
        }
    };
}

status_enum! {
    /// An invoice's status, as the document lists it: "pending, paid, expired". A cancelled
    /// invoice is `expired` too (the gateway has no word of its own for it).
    InvoiceStatus {
        /// Waiting for the customer to pay.
        Pending => "pending",
        /// Paid: the amount is in the balance.
        Paid => "paid",
        /// Not paid in time, or cancelled.
        Expired => "expired",
    }
}

status_enum! {
    /// A withdrawal's status: "Status awal adalah pending. Admin akan menyetujui (status menjadi
    /// success) atau menolak (status menjadi rejected)."
    WithdrawalStatus {
        /// Waiting for the gateway's admin.
        Pending => "pending",
        /// Approved and sent.
        Success => "success",
        /// Refused by the gateway's admin.
        Rejected => "rejected",
    }
}

/// The balance (`Cek Saldo`): `{"balance": 100000}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Balance {
    /// The active balance, in rupiah.
    #[serde(deserialize_with = "de::idr")]
    pub balance: Money,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A deposit invoice: the answer of `invoice/create` and `invoice/status`.
///
/// The create answer has no `status` and no `created_at`: a new invoice is
/// [`InvoiceStatus::Pending`] (see [`QrisClient::create_invoice`](crate::QrisClient::create_invoice)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Invoice {
    /// The gateway's id for the invoice (`64c8d9e...`): what
    /// [`invoice_status`](crate::QrisClient::invoice_status) and
    /// [`cancel_invoice`](crate::QrisClient::cancel_invoice) take.
    #[serde(deserialize_with = "de::string")]
    pub invoice_id: String,
    /// The amount asked for, in rupiah: what reaches the balance once paid.
    #[serde(deserialize_with = "de::idr")]
    pub amount: Money,
    /// The gateway's fee, in rupiah.
    #[serde(default, deserialize_with = "de::idr_opt")]
    pub fee: Option<Money>,
    /// What the customer pays: amount plus fee.
    #[serde(default, deserialize_with = "de::idr_opt")]
    pub total: Option<Money>,
    /// The status.
    #[serde(default = "pending")]
    pub status: InvoiceStatus,
    /// The URL of the QRIS image to show the customer.
    #[serde(default, deserialize_with = "de::string_opt")]
    pub qris_image: Option<String>,
    /// When the invoice expires.
    #[serde(default, deserialize_with = "de::time_opt", serialize_with = "time::serde::rfc3339::option::serialize")]
    pub expired_at: Option<OffsetDateTime>,
    /// When it was created (status answers only).
    #[serde(default, deserialize_with = "de::time_opt", serialize_with = "time::serde::rfc3339::option::serialize")]
    pub created_at: Option<OffsetDateTime>,
    /// Every other field, as received (`success`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// **Decision** (`PROVIDERS.md` §3): the create answer of the document carries no `status`;
/// an invoice without one is pending, since it was just made and only a pending invoice can
/// become paid or expired.
fn pending() -> InvoiceStatus {
    InvoiceStatus::Pending
}

/// The answer of `invoice/cancel`: `{"success":true,"invoice_id","status":"expired","message"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CancelledInvoice {
    /// The invoice.
    #[serde(deserialize_with = "de::string")]
    pub invoice_id: String,
    /// Its status now: `expired`, as the document says a cancelled invoice becomes.
    pub status: InvoiceStatus,
    /// The gateway's message (`Invoice berhasil dibatalkan`).
    #[serde(default, deserialize_with = "de::string_opt")]
    pub message: Option<String>,
    /// Every other field, as received.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A withdrawal to DANA: the answer of `withdraw/dana` (with `new_balance` and `message`), of
/// `withdraw/status` and the items of `withdraw/history` (with `method`, the account and the
/// admin's note).
///
/// The account number is a phone number: `Debug` hides it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Withdrawal {
    /// The gateway's id for it: what [`withdraw_status`](crate::QrisClient::withdraw_status)
    /// takes.
    #[serde(deserialize_with = "de::string")]
    pub withdraw_id: String,
    /// The amount sent to the account.
    #[serde(deserialize_with = "de::idr")]
    pub amount: Money,
    /// The gateway's fee.
    #[serde(default, deserialize_with = "de::idr_opt")]
    pub fee: Option<Money>,
    /// What leaves the balance: amount plus fee.
    #[serde(default, deserialize_with = "de::idr_opt")]
    pub total_deduct: Option<Money>,
    /// The balance after the deduction (the create answer only).
    #[serde(default, deserialize_with = "de::idr_opt")]
    pub new_balance: Option<Money>,
    /// The status.
    pub status: WithdrawalStatus,
    /// The e-wallet (`dana`).
    #[serde(default, deserialize_with = "de::string_opt")]
    pub method: Option<String>,
    /// The DANA account number.
    #[serde(default, deserialize_with = "de::string_opt")]
    pub account_number: Option<String>,
    /// The account holder's name.
    #[serde(default, deserialize_with = "de::string_opt")]
    pub account_name: Option<String>,
    /// The gateway admin's note (a reason for a rejection, say).
    #[serde(default, deserialize_with = "de::string_opt")]
    pub admin_note: Option<String>,
    /// The gateway's message (the create answer: `Permintaan penarikan berhasil diajukan`).
    #[serde(default, deserialize_with = "de::string_opt")]
    pub message: Option<String>,
    /// When it was asked for.
    #[serde(default, deserialize_with = "de::time_opt", serialize_with = "time::serde::rfc3339::option::serialize")]
    pub created_at: Option<OffsetDateTime>,
    /// When the admin approved or rejected it.
    #[serde(default, deserialize_with = "de::time_opt", serialize_with = "time::serde::rfc3339::option::serialize")]
    pub processed_at: Option<OffsetDateTime>,
    /// Every other field, as received (`success`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for Withdrawal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Withdrawal")
            .field("withdraw_id", &self.withdraw_id)
            .field("amount", &self.amount)
            .field("fee", &self.fee)
            .field("total_deduct", &self.total_deduct)
            .field("new_balance", &self.new_balance)
            .field("status", &self.status)
            .field("method", &self.method)
            .field("account_number", &self.account_number.as_ref().map(|_| "<redacted>"))
            .field("account_name", &self.account_name)
            .field("admin_note", &self.admin_note)
            .field("created_at", &self.created_at)
            .field("processed_at", &self.processed_at)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// One page of `withdraw/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WithdrawalPage {
    /// The withdrawals on this page, as the gateway orders them.
    pub data: Vec<Withdrawal>,
    /// Where this page is in the whole list.
    pub pagination: Pagination,
    /// Every other field, as received (`success`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `pagination` of a history page: `{"page":1,"limit":10,"total":5,"total_pages":1}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pagination {
    /// This page's number, from 1.
    #[serde(default, deserialize_with = "de::u64_opt")]
    pub page: Option<u64>,
    /// Items per page.
    #[serde(default, deserialize_with = "de::u64_opt")]
    pub limit: Option<u64>,
    /// Items in all pages.
    #[serde(default, deserialize_with = "de::u64_opt")]
    pub total: Option<u64>,
    /// How many pages there are.
    #[serde(default, deserialize_with = "de::u64_opt")]
    pub total_pages: Option<u64>,
}
