//! Reports for dashboards: counts, rates and means over months, quarters and years, by course,
//! province and role group, with disclosure control so that no published figure, alone or
//! with any other, identifies an official.
//!
//! A question is answered per calendar year from one table that holds every level of period and
//! every dimension (`tables`), protected as a whole (`disclosure`); the answer is the part of it
//! the question asks for. So what two questions publish never conflicts, and a cell's status
//! depends only on its year's data, never on how it was asked.

mod cache;
pub mod csv;
mod db;
pub mod disclosure;
pub mod keys;
pub mod periods;
mod tables;

mod access;
pub use access::report_for;
pub use cache::ProtectionCache;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use crate::error::ApiError;
use periods::{Period, Unit, periods_between};
use tables::YearTable;

/// What a report counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Sessions that have ended (not cancelled).
    SessionsHeld,
    /// The seats of sessions that are not cancelled.
    SeatsOffered,
    /// Seats taken: confirmed, attended or absent.
    Enrolments,
    Attended,
    NoShows,
    /// People on a waiting list now.
    WaitingListEntries,
    /// Seats taken over seats offered.
    FillRate,
    RatingOverall,
    RatingRelevance,
    RatingActor,
    RatingTrainer,
    /// People who attended a course, each once per course, in the period of their first time.
    Alumni,
}

impl Measure {
    pub const ALL: [(Self, &'static str); 12] = [
        (Self::SessionsHeld, "SESSIONS_HELD"),
        (Self::SeatsOffered, "SEATS_OFFERED"),
        (Self::Enrolments, "ENROLMENTS"),
        (Self::Attended, "ATTENDED"),
        (Self::NoShows, "NO_SHOWS"),
        (Self::WaitingListEntries, "WAITING_LIST_ENTRIES"),
        (Self::FillRate, "FILL_RATE"),
        (Self::RatingOverall, "RATING_OVERALL"),
        (Self::RatingRelevance, "RATING_RELEVANCE"),
        (Self::RatingActor, "RATING_ACTOR"),
        (Self::RatingTrainer, "RATING_TRAINER"),
        (Self::Alumni, "ALUMNI"),
    ];

    /// Its name in the schema and in CSV requests.
    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    pub fn parse(code: &str) -> Option<Self> {
        parse_code(&Self::ALL, code)
    }

    /// Measures the public programme shows per session and course: by course and period they
    /// are published as they are.
    fn is_public(self) -> bool {
        matches!(
            self,
            Self::SessionsHeld
                | Self::SeatsOffered
                | Self::Enrolments
                | Self::WaitingListEntries
                | Self::FillRate
        )
    }

    /// Measures about sessions, not people: they have no province or role group.
    fn is_about_sessions(self) -> bool {
        matches!(
            self,
            Self::SessionsHeld | Self::SeatsOffered | Self::FillRate
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Course,
    Province,
    RoleGroup,
}

impl Dimension {
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::Course, "COURSE"),
        (Self::Province, "PROVINCE"),
        (Self::RoleGroup, "ROLE_GROUP"),
    ];

    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    pub fn parse(code: &str) -> Option<Self> {
        parse_code(&Self::ALL, code)
    }
}

impl Unit {
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::Month, "MONTH"),
        (Self::Quarter, "QUARTER"),
        (Self::Year, "YEAR"),
    ];

    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    pub fn parse(code: &str) -> Option<Self> {
        parse_code(&Self::ALL, code)
    }
}

fn code_of<T: PartialEq>(all: &[(T, &'static str)], value: T) -> &'static str {
    all.iter()
        .find(|(v, _)| *v == value)
        .map_or("", |(_, code)| code)
}

fn parse_code<T: Copy>(all: &[(T, &'static str)], code: &str) -> Option<T> {
    all.iter().find(|(_, c)| *c == code).map(|(v, _)| *v)
}

/// A report's question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub measure: Measure,
    pub dimensions: Vec<Dimension>,
    pub unit: Unit,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The longest range one report may cover.
const MAX_YEARS: i32 = 10;

/// Why a question cannot be answered; each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum QuestionError {
    #[error("a report has at most two dimensions")]
    TooManyDimensions,
    #[error("a dimension may be asked for once")]
    RepeatedDimension,
    #[error("this measure counts sessions, which have no province or role group")]
    DimensionNotApplicable,
    #[error("the period ends before it starts")]
    ReversedPeriod,
    #[error("a report covers at most ten years")]
    PeriodTooLong,
    #[error("a report's period lies within the years 1900 to 9999")]
    PeriodOutOfRange,
}

impl QuestionError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooManyDimensions => "REPORT_TOO_MANY_DIMENSIONS",
            Self::RepeatedDimension => "REPORT_DIMENSION_REPEATED",
            Self::DimensionNotApplicable => "REPORT_DIMENSION_NOT_APPLICABLE",
            Self::ReversedPeriod => "REPORT_PERIOD_REVERSED",
            Self::PeriodTooLong => "REPORT_PERIOD_TOO_LONG",
            Self::PeriodOutOfRange => "REPORT_PERIOD_OUT_OF_RANGE",
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            Self::TooManyDimensions | Self::RepeatedDimension | Self::DimensionNotApplicable => {
                "input.dimensions"
            }
            Self::ReversedPeriod | Self::PeriodTooLong | Self::PeriodOutOfRange => "input.period",
        }
    }
}

impl From<QuestionError> for ApiError {
    fn from(error: QuestionError) -> Self {
        ApiError::Refused {
            code: error.code(),
            field: error.field(),
            message: error.to_string(),
        }
    }
}

impl Question {
    /// What the audit trail keeps of a question, with how many cells its answer hid.
    pub fn details(&self, report: Option<&Report>) -> serde_json::Value {
        serde_json::json!({
            "measure": self.measure.code(),
            "dimensions": self.dimensions.iter().map(|d| d.code()).collect::<Vec<_>>(),
            "unit": self.unit.code(),
            "from": self.from.to_string(),
            "to": self.to.to_string(),
            "cells": report.map(|r| r.cells.len()),
            "suppressedCells": report.map(Report::suppressed),
        })
    }

    pub fn check(&self) -> Result<(), QuestionError> {
        if self.dimensions.len() > 2 {
            return Err(QuestionError::TooManyDimensions);
        }
        if self.dimensions.len() == 2 && self.dimensions[0] == self.dimensions[1] {
            return Err(QuestionError::RepeatedDimension);
        }
        if self.measure.is_about_sessions()
            && self.dimensions.iter().any(|d| *d != Dimension::Course)
        {
            return Err(QuestionError::DimensionNotApplicable);
        }
        if self.to < self.from {
            return Err(QuestionError::ReversedPeriod);
        }
        // Dates far from ours cannot be turned into instants everywhere: in year 1, midnight in
        // Amsterdam is in year 0 in UTC, which PostgreSQL refuses.
        let within = |date: NaiveDate| (1900..=9999).contains(&date.year());
        if !within(self.from) || !within(self.to) {
            return Err(QuestionError::PeriodOutOfRange);
        }
        let limit = self
            .from
            .with_year(self.from.year() + MAX_YEARS)
            .unwrap_or(NaiveDate::MAX);
        if self.to >= limit {
            return Err(QuestionError::PeriodTooLong);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Published,
    /// Hidden: too few people, or a figure from which a hidden one could be worked out. Which of
    /// the two is never said, since that would tell which cells are small.
    Suppressed,
    /// Nothing to take a mean or rate of.
    Empty,
}

/// One key of a cell: a course's id, a province's CBS code, a role group, or `TOTAL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub code: String,
    pub label: String,
}

pub const TOTAL: &str = "TOTAL";

impl Key {
    fn total() -> Self {
        Self {
            code: TOTAL.into(),
            label: "Totaal".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// None for a course's alumni over all time, which includes those from before the platform.
    pub period: Option<Period>,
    /// One per dimension, in the order asked.
    pub keys: Vec<Key>,
    pub value: Option<f64>,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub question: Question,
    pub threshold: u64,
    pub cells: Vec<Cell>,
}

impl Report {
    pub fn suppressed(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| c.status == Status::Suppressed)
            .count()
    }
}

/// Answers a question from `db` (which may be a read replica): one protected table per year.
pub async fn answer(
    db: &impl ConnectionTrait,
    question: &Question,
    threshold: u64,
    protections: &ProtectionCache,
    now: DateTime<Utc>,
) -> Result<Report, ApiError> {
    question.check()?;
    let periods = periods_between(question.unit, question.from, question.to);
    let titles = db::course_titles(db).await?;
    let mut cells = Vec::new();
    let mut year_periods: Vec<(i32, Vec<Period>)> = Vec::new();
    for period in periods {
        match year_periods.last_mut() {
            Some((year, list)) if *year == period.year => list.push(period),
            _ => year_periods.push((period.year, vec![period])),
        }
    }
    for (year, periods) in year_periods {
        let table = YearTable::build(
            db,
            question.measure,
            year,
            &titles,
            threshold,
            protections,
            now,
        )
        .await?;
        for period in periods {
            table.cells(Some(period), &question.dimensions, &mut cells);
        }
    }
    if question.measure == Measure::Alumni
        && question.dimensions.iter().all(|d| *d == Dimension::Course)
    {
        tables::alumni_over_all_time(db, &question.dimensions, &titles, &mut cells).await?;
    }
    Ok(Report {
        question: question.clone(),
        threshold,
        cells,
    })
}
