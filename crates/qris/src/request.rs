//! What the calls that take more than an id send, checked before anything goes out.

use std::fmt;
use std::ops::RangeInclusive;

use gerbang_core::Error;
use serde::Serialize;

use crate::types::WithdrawalStatus;

/// **Decision** (`PROVIDERS.md` §3): how many digits a DANA account number may have. DANA
/// accounts are Indonesian mobile numbers (the document's example is `081234567890`, 12 digits);
/// 8 to 15 digits covers every national and international (E.164, without `+`) spelling of one.
pub const ACCOUNT_NUMBER_DIGITS: RangeInclusive<usize> = 8..=15;

/// The longest account name sent. The document sets none; this only stops a mistake (a whole
/// paragraph pasted) before it reaches the gateway.
pub const MAX_ACCOUNT_NAME_CHARS: usize = 100;

/// A withdrawal to a DANA e-wallet (`POST /api/v1/withdraw/dana`), sent as the document's JSON:
/// `{"amount":50000,"accountNumber":"081234567890","accountName":"John Doe"}`.
///
/// ```
/// use gerbang_qris::WithdrawRequest;
///
/// let request = WithdrawRequest::new(100_000, "081234567890", "John Doe");
/// assert!(request.validate().is_ok());
/// assert!(WithdrawRequest::new(100_000, "0812-3456-7890", "John Doe").validate().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WithdrawRequest {
    /// Whole rupiah to send (the fee comes on top, from the balance).
    pub amount: i64,
    /// The DANA account number: digits only.
    #[serde(rename = "accountNumber")]
    pub account_number: String,
    /// The account holder's name.
    #[serde(rename = "accountName")]
    pub account_name: String,
}

impl WithdrawRequest {
    /// A withdrawal of `amount` rupiah to DANA account `account_number`, held by `account_name`.
    pub fn new(amount: i64, account_number: impl Into<String>, account_name: impl Into<String>) -> Self {
        Self { amount, account_number: account_number.into(), account_name: account_name.into() }
    }

    /// Checks what the client can check before sending: a positive amount, an account number
    /// of [`ACCOUNT_NUMBER_DIGITS`] digits, and a name of 1 to [`MAX_ACCOUNT_NAME_CHARS`]
    /// printable characters. The error never repeats the number.
    pub fn validate(&self) -> Result<(), Error> {
        if self.amount <= 0 {
            return Err(Error::validation("amount", "must be a positive whole number of rupiah"));
        }
        let digits_only = self.account_number.bytes().all(|b| b.is_ascii_digit());
        if !digits_only || !ACCOUNT_NUMBER_DIGITS.contains(&self.account_number.len()) {
            return Err(Error::validation(
                "account_number",
                format!(
                    "expected the DANA account's phone number as {} to {} digits, without spaces, dashes or +",
                    ACCOUNT_NUMBER_DIGITS.start(),
                    ACCOUNT_NUMBER_DIGITS.end()
                ),
            ));
        }
        let name = self.account_name.trim();
        if name.is_empty() || name.chars().count() > MAX_ACCOUNT_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(Error::validation(
                "account_name",
                format!("expected the account holder's name, 1 to {MAX_ACCOUNT_NAME_CHARS} printable characters"),
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for WithdrawRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithdrawRequest")
            .field("amount", &self.amount)
            .field("account_number", &"<redacted>")
            .field("account_name", &self.account_name)
            .finish()
    }
}

/// Which page of `withdraw/history` to fetch: `page` (from 1), `limit` per page, and an
/// optional `status` filter.
///
/// ```
/// use gerbang_qris::{WithdrawHistoryQuery, WithdrawalStatus};
///
/// let query = WithdrawHistoryQuery::new().limit(50).status(WithdrawalStatus::Success);
/// assert_eq!(query.page_number(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawHistoryQuery {
    page: u32,
    limit: u32,
    status: Option<WithdrawalStatus>,
}

/// The page size asked for when none is set: the document's example answer's `limit`.
pub const DEFAULT_HISTORY_LIMIT: u32 = 10;

impl Default for WithdrawHistoryQuery {
    fn default() -> Self {
        Self::new()
    }
}

impl WithdrawHistoryQuery {
    /// The first page, [`DEFAULT_HISTORY_LIMIT`] items, every status.
    pub fn new() -> Self {
        Self { page: 1, limit: DEFAULT_HISTORY_LIMIT, status: None }
    }

    /// The page to fetch, from 1.
    pub fn page(mut self, page: u32) -> Self {
        self.page = page;
        self
    }

    /// How many items per page.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Only withdrawals with this status.
    pub fn status(mut self, status: WithdrawalStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// The page this query asks for.
    pub fn page_number(&self) -> u32 {
        self.page
    }

    /// The page size this query asks for.
    pub fn page_size(&self) -> u32 {
        self.limit
    }

    /// The status filter, if any.
    pub fn status_filter(&self) -> Option<&WithdrawalStatus> {
        self.status.as_ref()
    }

    /// A page and a limit of at least 1, and a status filter that is not empty.
    pub fn validate(&self) -> Result<(), Error> {
        if self.page == 0 {
            return Err(Error::validation("page", "pages are numbered from 1"));
        }
        if self.limit == 0 {
            return Err(Error::validation("limit", "must be at least 1"));
        }
        if self.status.as_ref().is_some_and(|s| s.as_str().trim().is_empty()) {
            return Err(Error::validation("status", "expected pending, success or rejected"));
        }
        Ok(())
    }

    /// The query's parameters, in the order they are sent.
    pub(crate) fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![("page", self.page.to_string()), ("limit", self.limit.to_string())];
        if let Some(status) = &self.status {
            params.push(("status", status.as_str().to_owned()));
        }
        params
    }
}
