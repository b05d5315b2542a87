//! When a transaction expires: `exptype` with its `expval`.

use time::Date;
use time::macros::format_description;

/// When the transaction expires: `exptype` with its `expval`.
///
/// ```
/// use gerbang_ciputra::Expiry;
/// use time::macros::date;
///
/// assert_eq!((Expiry::Days(3).exptype(), Expiry::Days(3).expval()), ("D", "3".to_owned()));
/// let date = Expiry::Date(date!(2026 - 12 - 31));
/// assert_eq!((date.exptype(), date.expval()), ("SD", "2026-12-31".to_owned()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expiry {
    /// `S`: this many seconds.
    Seconds(u32),
    /// `M`: this many minutes.
    Minutes(u32),
    /// `H`: this many hours.
    Hours(u32),
    /// `D`: this many days.
    Days(u32),
    /// `MN`: this many months.
    Months(u32),
    /// `SD`: on this date (sent `yyyy-MM-dd`).
    Date(Date),
}

impl Expiry {
    /// `exptype`: `S`, `M`, `H`, `D`, `MN` or `SD`.
    pub const fn exptype(&self) -> &'static str {
        match self {
            Self::Seconds(_) => "S",
            Self::Minutes(_) => "M",
            Self::Hours(_) => "H",
            Self::Days(_) => "D",
            Self::Months(_) => "MN",
            Self::Date(_) => "SD",
        }
    }

    /// `expval`: the number, or the date as `yyyy-MM-dd`.
    pub fn expval(&self) -> String {
        match self {
            Self::Seconds(n) | Self::Minutes(n) | Self::Hours(n) | Self::Days(n) | Self::Months(n) => n.to_string(),
            Self::Date(date) => {
                date.format(format_description!("[year]-[month]-[day]")).unwrap_or_else(|_| date.to_string())
            }
        }
    }

    /// The largest unit that divides `duration` exactly: `Days(1)` for 24 hours, `Minutes(90)`
    /// for an hour and a half, `Seconds(n)` otherwise. `None` past `u32::MAX` seconds.
    pub fn from_duration(duration: std::time::Duration) -> Option<Self> {
        let seconds = u32::try_from(duration.as_secs()).ok()?;
        Some(match seconds {
            s if s % 86_400 == 0 => Self::Days(s / 86_400),
            s if s % 3_600 == 0 => Self::Hours(s / 3_600),
            s if s % 60 == 0 => Self::Minutes(s / 60),
            s => Self::Seconds(s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_the_largest_exact_unit() {
        use std::time::Duration;
        assert_eq!(Expiry::from_duration(Duration::from_secs(3 * 86_400)), Some(Expiry::Days(3)));
        assert_eq!(Expiry::from_duration(Duration::from_secs(7_200)), Some(Expiry::Hours(2)));
        assert_eq!(Expiry::from_duration(Duration::from_secs(5_400)), Some(Expiry::Minutes(90)));
        assert_eq!(Expiry::from_duration(Duration::from_secs(61)), Some(Expiry::Seconds(61)));
        assert_eq!(Expiry::from_duration(Duration::from_secs(u64::MAX)), None);
    }
}
