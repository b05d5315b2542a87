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
    let invalid =
        || SignatureError::Timestamp { reason: "expected a Jakarta date and time written YYYY-MM-DD HH:MM:SS" };
    // Every gateway's answer carries its times in exactly this shape, and a status call reads
    // two or three of them: read digit by digit, it costs a tenth of `time`'s general parser.
    // Anything else goes to that parser, which decides as before.
    if let Some(local) = digits_in_shape(s.as_bytes()) {
        return local.map(|local| local.assume_offset(OFFSET)).ok_or_else(invalid);
    }
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(s, format).map(|local| local.assume_offset(OFFSET)).map_err(|_| invalid())
}

/// `YYYY-MM-DD HH:MM:SS`, every `Y`, `M`, … an ASCII digit: `None` for any other text, else the
/// date and time if they are real ones (`Some(None)` for `2025-02-30 10:00:00`).
fn digits_in_shape(s: &[u8]) -> Option<Option<PrimitiveDateTime>> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b' ', h0, h1, b':', i0, i1, b':', s0, s1] = s else {
        return None;
    };
    let number =
        |digits: &[u8]| digits.iter().try_fold(0u16, |n, &d| d.is_ascii_digit().then(|| n * 10 + u16::from(d - b'0')));
    let year = number(&[y0, y1, y2, y3])?;
    let [month, day, hour, minute, second] =
        [[m0, m1], [d0, d1], [h0, h1], [i0, i1], [s0, s1]].map(|pair| number(&pair).and_then(|n| u8::try_from(n).ok()));
    let (month, day, hour, minute, second) = (month?, day?, hour?, minute?, second?);
    let date =
        time::Month::try_from(month).ok().and_then(|m| time::Date::from_calendar_date(i32::from(year), m, day).ok());
    let time = time::Time::from_hms(hour, minute, second).ok();
    Some(date.zip(time).map(|(date, time)| PrimitiveDateTime::new(date, time)))
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

    /// The digit-by-digit reading agrees with `time`'s parser on real and impossible dates alike.
    #[test]
    fn the_quick_reading_agrees_with_the_time_crate() {
        let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let by_time = |s: &str| PrimitiveDateTime::parse(s, format).ok().map(|local| local.assume_offset(OFFSET));
        let mut read = 0;
        for year in ["0000", "1900", "2000", "2024", "2025", "9999"] {
            for month in 0..=13 {
                for day in 0..=32 {
                    for clock in ["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "07:05:09"] {
                        let text = format!("{year}-{month:02}-{day:02} {clock}");
                        let quick =
                            digits_in_shape(text.as_bytes()).map(|local| local.map(|l| l.assume_offset(OFFSET)));
                        assert_eq!(quick, Some(by_time(&text)), "{text}");
                        assert_eq!(parse_local_datetime(&text).ok(), by_time(&text), "{text}");
                        read += usize::from(by_time(&text).is_some());
                    }
                }
            }
        }
        assert!(read > 1_000, "real dates were among them: {read}");
        for other in ["2025-09-28T17:02:30", "2025-9-28 17:02:30", "+2025-09-28 17:02:30", "2025-09-28 17:02:3x", ""] {
            assert_eq!(digits_in_shape(other.as_bytes()), None, "{other}");
            assert_eq!(parse_local_datetime(other).ok(), by_time(other), "{other}");
        }
    }

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
