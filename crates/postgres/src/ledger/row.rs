//! A [`WatchedPayment`] to statement parameters and back from a row.
//!
//! Times travel as `SystemTime` (the driver's own `timestamptz` type, no feature needed), to the
//! microsecond Postgres keeps; amounts as the decimal's text into `numeric`, which keeps its
//! digits and scale.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use gerbang_core::ledger::{WatchState, WatchedPayment};
use gerbang_core::time::{self, OffsetDateTime, PrimitiveDateTime};
use gerbang_core::{Currency, Decimal, Money, ProviderId};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::error::Failure;

/// The parameters of the `record` statement, owned (`$1` to `$13`).
pub(crate) struct Params {
    provider: &'static str,
    reference: String,
    provider_reference: Option<String>,
    amount: String,
    currency: String,
    state: &'static str,
    rank: i16,
    provider_status: Option<String>,
    expires_at: Option<SystemTime>,
    recorded_at: SystemTime,
    next_check: Option<SystemTime>,
    checks: i64,
    note: Option<String>,
}

impl Params {
    pub(crate) fn of(payment: &WatchedPayment) -> Self {
        Self {
            provider: payment.provider.as_str(),
            reference: payment.reference.clone(),
            provider_reference: payment.provider_reference.clone(),
            amount: payment.amount.value().to_string(),
            currency: payment.amount.currency().as_str().to_owned(),
            state: payment.state.as_str(),
            rank: i16::from(payment.state.rank()),
            provider_status: payment.provider_status.clone(),
            expires_at: payment.expires_at.map(SystemTime::from),
            recorded_at: payment.recorded_at.into(),
            next_check: payment.next_check.map(SystemTime::from),
            checks: i64::from(payment.checks),
            note: payment.note.clone(),
        }
    }

    pub(crate) fn as_sql(&self) -> [&(dyn ToSql + Sync); 13] {
        [
            &self.provider,
            &self.reference,
            &self.provider_reference,
            &self.amount,
            &self.currency,
            &self.state,
            &self.rank,
            &self.provider_status,
            &self.expires_at,
            &self.recorded_at,
            &self.next_check,
            &self.checks,
            &self.note,
        ]
    }
}

/// `now + lease`, as the next check of a record handed out; the latest time there is when that
/// is past the year 9999 (a lease that never runs out, in effect).
pub(crate) fn lease_end(now: OffsetDateTime, lease: std::time::Duration) -> SystemTime {
    time::Duration::try_from(lease)
        .ok()
        .and_then(|lease| now.checked_add(lease))
        .unwrap_or_else(|| PrimitiveDateTime::MAX.assume_utc())
        .into()
}

/// The record in a row of the columns `sql::COLUMNS`.
pub(crate) fn read(row: &Row) -> Result<WatchedPayment, Failure> {
    let provider: &str = row.try_get(0)?;
    let reference: String = row.try_get(1)?;
    let bad = |what: String| Failure::Corrupt(format!("the record {provider}/{reference}: {what}"));
    let provider = ProviderId::from_str(provider).map_err(|_| bad(format!("no gateway is called {provider:?}")))?;
    let amount: &str = row.try_get(3)?;
    let currency: &str = row.try_get(4)?;
    let value = Decimal::from_str_exact(amount).map_err(|_| bad(format!("the amount {amount:?} is not a decimal")))?;
    let currency = Currency::new(currency).map_err(|_| bad(format!("{currency:?} is not a currency code")))?;
    let amount = Money::new(value, currency).map_err(|e| bad(format!("the amount: {e}")))?;
    let state: &str = row.try_get(5)?;
    let state =
        WatchState::from_word(state).ok_or_else(|| bad(format!("{state:?} is not a state this version knows")))?;
    let checks: i64 = row.try_get(10)?;
    let checks = u32::try_from(checks).map_err(|_| bad(format!("{checks} checks is out of range")))?;
    let time = |t: SystemTime| from_system_time(t).ok_or_else(|| bad("a time past the year 9999".into()));
    let optional_time = |t: Option<SystemTime>| t.map(time).transpose();

    let mut record = WatchedPayment::new(provider, reference.clone(), amount, state, time(row.try_get(8)?)?);
    record.provider_reference = row.try_get(2)?;
    record.provider_status = row.try_get(6)?;
    record.expires_at = optional_time(row.try_get(7)?)?;
    record.next_check = optional_time(row.try_get(9)?)?;
    record.checks = checks;
    record.note = row.try_get(11)?;
    Ok(record)
}

/// The time `t` is, when the calendar of `time` reaches it (Postgres goes to the year 294276).
pub(crate) fn from_system_time(t: SystemTime) -> Option<OffsetDateTime> {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => OffsetDateTime::UNIX_EPOCH.checked_add(time::Duration::try_from(after).ok()?),
        Err(before) => OffsetDateTime::UNIX_EPOCH.checked_sub(time::Duration::try_from(before.duration()).ok()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_convert_both_ways_and_never_panic() {
        let t = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_900_000_000);
        assert_eq!(from_system_time(t.into()), Some(t));
        let before = OffsetDateTime::UNIX_EPOCH - time::Duration::milliseconds(1500);
        assert_eq!(from_system_time(before.into()), Some(before));
        let far = UNIX_EPOCH + Duration::from_secs(300_000 * 365 * 86_400);
        assert_eq!(from_system_time(far), None, "Postgres's 'infinity' and the like");
        let end = lease_end(t, Duration::MAX);
        assert_eq!(from_system_time(end), Some(PrimitiveDateTime::MAX.assume_utc()));
        assert_eq!(from_system_time(lease_end(t, Duration::from_secs(60))), Some(t + time::Duration::minutes(1)));
    }

    #[test]
    fn every_state_reads_back() {
        for state in WatchState::ALL {
            assert_eq!(WatchState::from_word(state.as_str()), Some(state));
        }
        assert_eq!(WatchState::from_word("settled"), None);
    }
}
