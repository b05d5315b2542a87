//! Jakarta time: Western Indonesia Time (WIB), a fixed UTC+07:00.
//!
//! Indonesia's western zone has kept +07:00 without daylight saving since 1964, so a fixed
//! offset is exact for every timestamp a gateway sends today and no time-zone database is
//! needed. SNAP and Cash In want `X-TIMESTAMP` in this zone (`2024-11-04T10:00:00+07:00`);
//! Cuan10pay writes `created_at` as a bare local `2025-09-28 17:02:30`.
//!
//! The formatters convert to +07:00 first, so any [`OffsetDateTime`] can be passed in. They never
//! fail: an instant so late (after 9999-12-31 in Jakarta) that the `time` crate cannot hold it at
//! +07:00 is written at its own offset instead.

use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::SignatureError;

/// Western Indonesia Time, UTC+07:00.
pub const OFFSET: UtcOffset = offset!(+7);

/// Formats `t` in Jakarta time, to the second: `2024-11-04T10:00:00+07:00`.
///
/// Sub-second digits are dropped (truncated, not rounded).
///
/// ```
/// use gerbang_signing::jakarta::format_timestamp;
/// use time::macros::datetime;
///
/// assert_eq!(format_timestamp(datetime!(2024-11-04 03:00:00 UTC)), "2024-11-04T10:00:00+07:00");
/// ```
#[must_use]
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = to_jakarta(t);
    format!("{}{}", date_time(t, 'T'), offset_text(t.offset()))
}

/// Formats `t` in Jakarta time, to the millisecond: `2025-02-09T13:00:52.195+07:00`.
///
/// Digits below the millisecond are dropped (truncated, not rounded).
///
/// ```
/// use gerbang_signing::jakarta::format_timestamp_millis;
/// use time::macros::datetime;
///
/// assert_eq!(
///     format_timestamp_millis(datetime!(2025-02-09 06:00:52.195_9 UTC)),
///     "2025-02-09T13:00:52.195+07:00",
/// );
/// ```
#[must_use]
pub fn format_timestamp_millis(t: OffsetDateTime) -> String {
    let t = to_jakarta(t);
    format!("{}.{:03}{}", date_time(t, 'T'), t.millisecond(), offset_text(t.offset()))
}

/// Parses an RFC 3339 timestamp, with or without a fraction of a second, at `+07:00`, `Z` or
/// any other offset: `2024-11-04T10:00:00+07:00`, `2024-11-04T03:00:00Z`,
/// `2025-04-11T10:42:53.352+07:00`.
///
/// The result keeps the offset it was written with; compare instants, not fields. Checking a
/// signature needs the timestamp text exactly as received, not this value re-formatted.
///
/// # Errors
///
/// [`SignatureError::Timestamp`] for anything that is not RFC 3339: a missing offset, a missing
/// second, `+0700` without the colon, a Unix time. (RFC 3339 itself allows a space instead of
/// the `T` and lower-case `t` and `z`; those are accepted.)
///
/// ```
/// use gerbang_signing::jakarta::parse_timestamp;
/// use time::macros::datetime;
///
/// assert_eq!(parse_timestamp("2024-11-04T10:00:00+07:00")?, datetime!(2024-11-04 03:00:00 UTC));
/// assert_eq!(parse_timestamp("2024-11-04T03:00:00Z")?, datetime!(2024-11-04 03:00:00 UTC));
/// assert!(parse_timestamp("2024-11-04T10:00:00").is_err()); // no offset
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn parse_timestamp(s: &str) -> Result<OffsetDateTime, SignatureError> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|_| SignatureError::Timestamp {
        reason: "expected an RFC 3339 timestamp such as 2024-11-04T10:00:00+07:00",
    })
}

/// Formats `t` as a Jakarta wall-clock time without offset, `YYYY-MM-DD HH:MM:SS`: the form of
/// Cuan10pay's `created_at`.
///
/// ```
/// use gerbang_signing::jakarta::format_local_datetime;
/// use time::macros::datetime;
///
/// assert_eq!(format_local_datetime(datetime!(2025-09-28 10:02:30 UTC)), "2025-09-28 17:02:30");
/// ```
#[must_use]
pub fn format_local_datetime(t: OffsetDateTime) -> String {
    date_time(to_jakarta(t), ' ')
}

/// Parses a Jakarta wall-clock time written `YYYY-MM-DD HH:MM:SS` (Cuan10pay's `created_at`),
/// the inverse of [`format_local_datetime`]. The result is at +07:00.
///
/// # Errors
///
/// [`SignatureError::Timestamp`] if `s` is not exactly in that form or is not a real date and
/// time.
///
/// ```
/// use gerbang_signing::jakarta::parse_local_datetime;
/// use time::macros::datetime;
///
/// assert_eq!(parse_local_datetime("2025-09-28 17:02:30")?, datetime!(2025-09-28 17:02:30 +07:00));
/// assert!(parse_local_datetime("2025-09-28T17:02:30").is_err());
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn parse_local_datetime(s: &str) -> Result<OffsetDateTime, SignatureError> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(s, format).map(|local| local.assume_offset(OFFSET)).map_err(|_| {
        SignatureError::Timestamp { reason: "expected a Jakarta date and time written YYYY-MM-DD HH:MM:SS" }
    })
}

fn to_jakarta(t: OffsetDateTime) -> OffsetDateTime {
    // `to_offset` would panic past the end of the `time` crate's range: keep the instant as is.
    t.checked_to_offset(OFFSET).unwrap_or(t)
}

/// `YYYY-MM-DD{separator}HH:MM:SS` of `t` in its own offset. Written by hand rather than with
/// `time`'s formatter, whose `Result` could only be an error for formats we do not use.
fn date_time(t: OffsetDateTime, separator: char) -> String {
    format!(
        "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn offset_text(offset: UtcOffset) -> String {
    let (hours, minutes, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", hours.unsigned_abs(), minutes.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn instants_beyond_the_range_keep_their_own_offset() {
        let last = datetime!(9999-12-31 23:00:00 UTC);
        assert_eq!(format_timestamp(last), "9999-12-31T23:00:00+00:00");
    }

    #[test]
    fn negative_offsets_are_written_with_a_minus() {
        assert_eq!(offset_text(offset!(-3:30)), "-03:30");
    }
}
