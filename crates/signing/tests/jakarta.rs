//! Jakarta (+07:00) timestamps. The expected strings are plain calendar arithmetic (UTC + 7 h).

use gerbang_signing::SignatureError;
use gerbang_signing::jakarta::{
    OFFSET, format_local_datetime, format_timestamp, format_timestamp_millis, parse_local_datetime, parse_timestamp,
};
use time::macros::{datetime, offset};

#[test]
fn offset_is_plus_seven_hours() {
    assert_eq!(OFFSET.whole_seconds(), 7 * 3600);
}

#[test]
fn utc_instant_is_written_at_plus_seven_with_the_hour_shifted() {
    assert_eq!(format_timestamp(datetime!(2024-11-04 03:00:00 UTC)), "2024-11-04T10:00:00+07:00");
}

#[test]
fn shift_crosses_midnight_and_year_end() {
    assert_eq!(format_timestamp(datetime!(2024-11-04 20:30:15 UTC)), "2024-11-05T03:30:15+07:00");
    assert_eq!(format_timestamp(datetime!(2024-12-31 17:00:00 UTC)), "2025-01-01T00:00:00+07:00");
}

#[test]
fn other_offsets_are_converted_first() {
    // 10:00 in Makassar (+08:00) is 09:00 in Jakarta.
    assert_eq!(format_timestamp(datetime!(2024-11-04 10:00:00 +08:00)), "2024-11-04T09:00:00+07:00");
    assert_eq!(format_timestamp(datetime!(2024-11-04 10:00:00 +07:00)), "2024-11-04T10:00:00+07:00");
}

#[test]
fn seconds_format_drops_the_fraction() {
    assert_eq!(format_timestamp(datetime!(2024-11-04 03:00:00.999 UTC)), "2024-11-04T10:00:00+07:00");
}

#[test]
fn millis_format_has_three_digits() {
    assert_eq!(format_timestamp_millis(datetime!(2025-02-09 06:00:52.195 UTC)), "2025-02-09T13:00:52.195+07:00");
    assert_eq!(format_timestamp_millis(datetime!(2025-04-11 03:42:53.05 UTC)), "2025-04-11T10:42:53.050+07:00");
    assert_eq!(format_timestamp_millis(datetime!(2025-04-11 03:42:53 UTC)), "2025-04-11T10:42:53.000+07:00");
}

#[test]
fn parses_plus_seven_z_and_millis() {
    let instant = datetime!(2024-11-04 03:00:00 UTC);
    assert_eq!(parse_timestamp("2024-11-04T10:00:00+07:00"), Ok(instant));
    assert_eq!(parse_timestamp("2024-11-04T03:00:00Z"), Ok(instant));
    assert_eq!(parse_timestamp("2025-04-11T10:42:53.352+07:00"), Ok(datetime!(2025-04-11 03:42:53.352 UTC)));
    assert_eq!(parse_timestamp("2025-02-09T06:00:52.195Z"), Ok(datetime!(2025-02-09 13:00:52.195 +07:00)));
}

#[test]
fn parse_accepts_what_rfc_3339_allows_beyond_the_usual_form() {
    let instant = datetime!(2024-11-04 03:00:00 UTC);
    // RFC 3339 section 5.6 lets a space stand for the T, and the letters be lower case.
    assert_eq!(parse_timestamp("2024-11-04 10:00:00+07:00"), Ok(instant));
    assert_eq!(parse_timestamp("2024-11-04t03:00:00z"), Ok(instant));
    assert_eq!(parse_timestamp("2024-11-04T11:00:00+08:00"), Ok(instant));
}

#[test]
fn parse_keeps_the_written_offset() {
    assert_eq!(parse_timestamp("2024-11-04T10:00:00+07:00").unwrap().offset(), offset!(+7));
    assert_eq!(parse_timestamp("2024-11-04T10:00:00Z").unwrap().offset(), offset!(UTC));
}

#[test]
fn format_then_parse_is_the_same_instant() {
    let t = datetime!(2025-02-09 06:00:52.195 UTC);
    assert_eq!(parse_timestamp(&format_timestamp_millis(t)), Ok(t));
    assert_eq!(parse_timestamp(&format_timestamp(t)), Ok(datetime!(2025-02-09 06:00:52 UTC)));
}

#[test]
fn garbage_timestamps_are_rejected() {
    for bad in [
        "",
        "garbage",
        "1730689200",
        "2024-11-04",
        "2024-11-04T10:00:00",
        "2024-11-04T10:00+07:00",
        "2024-13-04T10:00:00+07:00",
        "2024-11-04T10:00:00+0700",
        " 2024-11-04T10:00:00+07:00",
    ] {
        assert!(matches!(parse_timestamp(bad), Err(SignatureError::Timestamp { .. })), "{bad:?}");
    }
}

#[test]
fn local_datetime_is_jakarta_wall_clock() {
    assert_eq!(format_local_datetime(datetime!(2025-09-28 10:02:30 UTC)), "2025-09-28 17:02:30");
    assert_eq!(parse_local_datetime("2025-09-28 17:02:30"), Ok(datetime!(2025-09-28 10:02:30 UTC)));
    let parsed = parse_local_datetime("2025-09-28 17:02:30").unwrap();
    assert_eq!(parsed.offset(), OFFSET);
    assert_eq!(format_local_datetime(parsed), "2025-09-28 17:02:30");
}

#[test]
fn garbage_local_datetimes_are_rejected() {
    for bad in [
        "",
        "2025-09-28",
        "2025-09-28T17:02:30",
        "2025-09-28 17:02:30+07:00",
        "2025-02-30 17:02:30",
        "28/09/2025 17:02",
    ] {
        assert!(matches!(parse_local_datetime(bad), Err(SignatureError::Timestamp { .. })), "{bad:?}");
    }
}
