//! Report periods: months, quarters and years of the sessions' local dates in Amsterdam.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};

use super::disclosure::Hierarchy;
use crate::domain::time::from_local;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    Month,
    Quarter,
    Year,
}

/// One whole month, quarter or year. A report's range picks periods; it never cuts one short,
/// so a cell's value never depends on the range asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub unit: Unit,
    pub year: i32,
    /// The month (1..=12) or quarter (1..=4) within the year; 1 for a year.
    pub index: u32,
}

impl Period {
    pub fn first_day(&self) -> NaiveDate {
        let month = match self.unit {
            Unit::Month => self.index,
            Unit::Quarter => 3 * self.index - 2,
            Unit::Year => 1,
        };
        date(self.year, month, 1)
    }

    pub fn last_day(&self) -> NaiveDate {
        let next = match self.unit {
            Unit::Month => Period {
                unit: Unit::Month,
                year: self.year + i32::from(self.index == 12),
                index: self.index % 12 + 1,
            },
            Unit::Quarter => Period {
                unit: Unit::Quarter,
                year: self.year + i32::from(self.index == 4),
                index: self.index % 4 + 1,
            },
            Unit::Year => Period {
                unit: Unit::Year,
                year: self.year + 1,
                index: 1,
            },
        };
        next.first_day().pred_opt().unwrap_or(NaiveDate::MIN)
    }

    /// `2026-03`, `2026-Q1` or `2026`.
    pub fn label(&self) -> String {
        match self.unit {
            Unit::Month => format!("{}-{:02}", self.year, self.index),
            Unit::Quarter => format!("{}-Q{}", self.year, self.index),
            Unit::Year => format!("{}", self.year),
        }
    }

    /// Its node in the year's hierarchy.
    pub fn node(&self) -> usize {
        match self.unit {
            Unit::Month => Hierarchy::month_node(self.index as usize - 1),
            Unit::Quarter => Hierarchy::quarter_node(self.index as usize - 1),
            Unit::Year => 0,
        }
    }
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

/// The whole periods that share at least one day with `from..=to`, in order.
pub fn periods_between(unit: Unit, from: NaiveDate, to: NaiveDate) -> Vec<Period> {
    let mut periods = Vec::new();
    for year in from.year()..=to.year() {
        let indices = match unit {
            Unit::Month => 1..=12,
            Unit::Quarter => 1..=4,
            Unit::Year => 1..=1,
        };
        for index in indices {
            let period = Period { unit, year, index };
            if period.last_day() >= from && period.first_day() <= to {
                periods.push(period);
            }
        }
    }
    periods
}

/// The instants at which the months of a year begin in Amsterdam, and the next year's first:
/// thirteen bounds, so a session's month is found by comparing its start in UTC.
pub fn month_bounds(year: i32) -> Vec<DateTime<Utc>> {
    (0..13)
        .map(|m| {
            let day = if m == 12 {
                date(year + 1, 1, 1)
            } else {
                date(year, m + 1, 1)
            };
            // Midnight always exists in Amsterdam (the clocks change at 02:00 and 03:00).
            from_local(day, NaiveTime::MIN).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_picks_every_period_it_touches_whole() {
        let periods = periods_between(Unit::Quarter, date(2026, 2, 15), date(2026, 4, 1));
        let labels: Vec<String> = periods.iter().map(Period::label).collect();
        assert_eq!(labels, ["2026-Q1", "2026-Q2"]);
        assert_eq!(periods[0].first_day(), date(2026, 1, 1));
        assert_eq!(periods[1].last_day(), date(2026, 6, 30));
    }

    #[test]
    fn months_begin_at_local_midnight() {
        let bounds = month_bounds(2026);
        assert_eq!(bounds[0].to_rfc3339(), "2025-12-31T23:00:00+00:00");
        assert_eq!(bounds[6].to_rfc3339(), "2026-06-30T22:00:00+00:00");
        assert_eq!(bounds[12].to_rfc3339(), "2026-12-31T23:00:00+00:00");
    }
}
