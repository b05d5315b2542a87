//! A [`Record`] back from a row of the columns `sql::COLUMNS`.

use std::str::FromStr;
use std::time::SystemTime;

use gerbang_core::ProviderId;
use gerbang_core::outbox::{DeliveryState, Message, Record};
use gerbang_core::time::OffsetDateTime;
use tokio_postgres::Row;

use crate::error::Failure;
use crate::ledger::from_system_time;

/// The record in `row`, whose first columns are `sql::COLUMNS`.
pub(crate) fn read(row: &Row) -> Result<Record, Failure> {
    let id: String = row.try_get(0)?;
    let bad = |what: String| Failure::Corrupt(format!("the outbox message {id:?}: {what}"));
    let gateway: &str = row.try_get(1)?;
    let gateway = ProviderId::from_str(gateway).map_err(|_| bad(format!("no gateway is called {gateway:?}")))?;
    let rank: i16 = row.try_get(6)?;
    let rank = u8::try_from(rank).map_err(|_| bad(format!("the rank {rank} is out of range")))?;
    let state: &str = row.try_get(8)?;
    let state =
        DeliveryState::from_str(state).map_err(|_| bad(format!("{state:?} is not a state this version knows")))?;
    let attempts: i32 = row.try_get(9)?;
    let attempts = u32::try_from(attempts).map_err(|_| bad(format!("{attempts} attempts is out of range")))?;
    let time = |t: SystemTime| from_system_time(t).ok_or_else(|| bad("a time past the year 9999".into()));
    let optional_time = |t: Option<SystemTime>| t.map(time).transpose();
    let received_at: OffsetDateTime = time(row.try_get(11)?)?;
    let next_attempt = optional_time(row.try_get(12)?)?;
    let settled_at = optional_time(row.try_get(13)?)?;
    let message = Message {
        gateway,
        payment: row.try_get(2)?,
        reference: row.try_get(3)?,
        provider_reference: row.try_get(4)?,
        status: row.try_get(5)?,
        rank,
        body: row.try_get(7)?,
        id,
    };
    Ok(Record { message, state, attempts, last_answer: row.try_get(10)?, received_at, next_attempt, settled_at })
}
