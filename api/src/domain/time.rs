//! Sessions happen in the Netherlands: instants are stored in UTC and shown in Europe/Amsterdam,
//! whose offset changes with daylight saving time (+01:00 in winter, +02:00 in summer).

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub const TIME_ZONE: Tz = chrono_tz::Europe::Amsterdam;

pub fn to_local(instant: DateTime<Utc>) -> DateTime<Tz> {
    instant.with_timezone(&TIME_ZONE)
}

/// The instant of a local date and time in Amsterdam. In the autumn hour that happens twice the
/// earlier one is taken; a time in the spring gap (which does not exist) is `None`.
pub fn from_local(date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    TIME_ZONE
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|local| local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nine() -> NaiveTime {
        NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()
    }

    #[test]
    fn nine_in_the_morning_is_eight_utc_in_winter_and_seven_in_summer() {
        let winter = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap_or_default();
        let summer = NaiveDate::from_ymd_opt(2027, 6, 8).unwrap_or_default();
        assert_eq!(
            from_local(winter, nine()).map(|t| t.to_rfc3339()),
            Some("2026-12-08T08:00:00+00:00".into())
        );
        assert_eq!(
            from_local(summer, nine()).map(|t| t.to_rfc3339()),
            Some("2027-06-08T07:00:00+00:00".into())
        );
    }

    #[test]
    fn a_time_in_the_spring_gap_does_not_exist() {
        let change = NaiveDate::from_ymd_opt(2027, 3, 28).unwrap_or_default();
        assert_eq!(
            from_local(
                change,
                NaiveTime::from_hms_opt(2, 30, 0).unwrap_or_default()
            ),
            None
        );
    }
}
