//! Reports as the schema shows them.

use async_graphql::{
    Enum, InputObject, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::NaiveDate;

use crate::reporting::{self, periods};

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("a date is written YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// What a report counts. Seats, sessions, seats taken and waiting lists per course are public
/// (the programme shows them); everything about people by province or role group, and
/// attendance, absence, ratings and alumni at every level, are protected.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "reporting::Measure")]
pub enum ReportMeasure {
    /// Sessions that have ended (not cancelled).
    SessionsHeld,
    /// Seats of the sessions that are not cancelled.
    SeatsOffered,
    /// Seats taken: confirmed, attended or absent.
    Enrolments,
    Attended,
    NoShows,
    /// People on a waiting list.
    WaitingListEntries,
    /// Seats taken over seats offered, from 0 to 1.
    FillRate,
    /// The mean overall rating (1 to 5).
    RatingOverall,
    RatingRelevance,
    RatingActor,
    RatingTrainer,
    /// People who attended a course, once per course, in the period of their first session of
    /// it. Alumni from before the platform appear only in the all-time cells (no period).
    Alumni,
}

/// What a report is broken down by. There is no municipality and no filter on a person.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "reporting::Dimension")]
pub enum ReportDimension {
    Course,
    /// By CBS province code (PV20..PV31), or UNKNOWN for participants without a municipality.
    Province,
    /// MAYOR, ALDERMAN or OTHER.
    RoleGroup,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "periods::Unit")]
pub enum ReportPeriodUnit {
    Month,
    Quarter,
    Year,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "reporting::Status")]
pub enum CellStatus {
    Published,
    /// Hidden to protect the people counted; `value` is null.
    Suppressed,
    /// Nothing to take a mean or a rate of; `value` is null.
    Empty,
}

/// The periods of a report: every month, quarter or year that shares a day with `from..to`,
/// whole (in Amsterdam's calendar, by each session's local date).
#[derive(InputObject, Debug, Clone, Copy)]
pub struct ReportPeriodInput {
    pub unit: ReportPeriodUnit,
    pub from: Date,
    pub to: Date,
}

#[derive(InputObject, Debug, Clone)]
pub struct ReportInput {
    pub measure: ReportMeasure,
    /// At most two, each once.
    #[graphql(default)]
    pub dimensions: Vec<ReportDimension>,
    pub period: ReportPeriodInput,
}

impl From<&ReportInput> for reporting::Question {
    fn from(input: &ReportInput) -> Self {
        Self {
            measure: input.measure.into(),
            dimensions: input.dimensions.iter().map(|d| (*d).into()).collect(),
            unit: input.period.unit.into(),
            from: input.period.from.0,
            to: input.period.to.0,
        }
    }
}

/// A month, quarter or year.
#[derive(SimpleObject, Debug, Clone)]
pub struct ReportPeriod {
    pub unit: ReportPeriodUnit,
    /// `2026-03`, `2026-Q1` or `2026`.
    pub label: String,
    pub start: Date,
    /// Its last day.
    pub end: Date,
}

/// One key of a cell.
#[derive(SimpleObject, Debug, Clone)]
pub struct ReportKey {
    pub dimension: ReportDimension,
    /// A course's id, a province's CBS code, a role group, or `TOTAL`.
    pub code: String,
    pub label: String,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ReportCell {
    /// Null for all-time alumni, which include those from before the platform.
    pub period: Option<ReportPeriod>,
    /// The key codes, one per dimension in the order asked; a total's is `TOTAL`.
    pub keys: Vec<String>,
    /// The keys with their dimension and a label to show.
    pub key_details: Vec<ReportKey>,
    /// Null when suppressed or empty.
    pub value: Option<f64>,
    pub status: CellStatus,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct Report {
    pub measure: ReportMeasure,
    pub dimensions: Vec<ReportDimension>,
    pub unit: ReportPeriodUnit,
    /// k: no published count is below it, and no hidden one can be worked out.
    pub threshold: i32,
    /// How many cells are suppressed.
    pub suppressed_cells: i32,
    pub cells: Vec<ReportCell>,
}

impl From<reporting::Report> for Report {
    fn from(report: reporting::Report) -> Self {
        let dimensions: Vec<ReportDimension> = report
            .question
            .dimensions
            .iter()
            .map(|d| (*d).into())
            .collect();
        let suppressed = report.suppressed();
        let cells = report
            .cells
            .into_iter()
            .map(|cell| ReportCell {
                period: cell.period.map(|p| ReportPeriod {
                    unit: p.unit.into(),
                    label: p.label(),
                    start: Date(p.first_day()),
                    end: Date(p.last_day()),
                }),
                keys: cell.keys.iter().map(|k| k.code.clone()).collect(),
                key_details: cell
                    .keys
                    .into_iter()
                    .zip(&dimensions)
                    .map(|(key, dimension)| ReportKey {
                        dimension: *dimension,
                        code: key.code,
                        label: key.label,
                    })
                    .collect(),
                value: cell.value,
                status: cell.status.into(),
            })
            .collect();
        Self {
            measure: report.question.measure.into(),
            dimensions,
            unit: report.question.unit.into(),
            threshold: i32::try_from(report.threshold).unwrap_or(i32::MAX),
            suppressed_cells: i32::try_from(suppressed).unwrap_or(i32::MAX),
            cells,
        }
    }
}
