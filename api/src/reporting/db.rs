//! The statements reports are counted by: `GROUP BY` in the database, one statement per table,
//! never a row per person in the service. A session's month is found by comparing its start with
//! the instants Amsterdam's months begin at, which both databases can do without knowing time
//! zones.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult, Value};
use uuid::Uuid;

use super::periods::month_bounds;
use crate::db::statement;

/// The instants a statement compares with: the year's 13 month bounds, then `now` where asked.
///
/// PostgreSQL gets them written into the statement. Bound as parameters, a prepared statement
/// is planned once for any year after a few runs, with a guess of a handful of sessions in it,
/// and counting a busy year by nested loops took three times as long. The instants are the
/// service's own (never a caller's text). SQLite, whose plans do not depend on them, gets them as
/// parameters, in the form its driver stores them.
struct Instants {
    at: Vec<DateTime<Utc>>,
    inline: bool,
}

impl Instants {
    fn of_year(db: &impl ConnectionTrait, year: i32) -> Self {
        Self {
            at: month_bounds(year),
            inline: db.get_database_backend() == DatabaseBackend::Postgres,
        }
    }

    fn and(mut self, instant: DateTime<Utc>) -> Self {
        self.at.push(instant);
        self
    }

    /// The `i`-th instant (from 0) in a statement.
    fn sql(&self, i: usize) -> String {
        if self.inline {
            let text = self.at[i].to_rfc3339_opts(SecondsFormat::Micros, true);
            format!("TIMESTAMPTZ '{text}'")
        } else {
            format!("${}", i + 1)
        }
    }

    /// `CASE` that gives the month (0..12) of `column`.
    fn month_of(&self, column: &str) -> String {
        let arms: String = (1..12)
            .map(|m| format!("WHEN {column} < {} THEN {} ", self.sql(m), m - 1))
            .collect();
        format!("CASE {arms}ELSE 11 END")
    }

    fn within_year(&self, column: &str) -> String {
        format!(
            "{column} >= {} AND {column} < {}",
            self.sql(0),
            self.sql(12)
        )
    }

    fn values(&self) -> Vec<Value> {
        if self.inline {
            Vec::new()
        } else {
            self.at.iter().copied().map(Value::from).collect()
        }
    }
}

/// Sessions of one course in one month.
#[derive(Debug, FromQueryResult)]
pub struct SessionTally {
    pub month: i32,
    pub course_id: Uuid,
    pub held: i64,
    pub seats: i64,
}

/// Sessions that were not cancelled, by month and course: how many have ended by `now`, and
/// their seats.
pub async fn session_tallies(
    db: &impl ConnectionTrait,
    year: i32,
    now: DateTime<Utc>,
) -> Result<Vec<SessionTally>, DbErr> {
    let at = Instants::of_year(db, year).and(now);
    let sql = format!(
        "SELECT {} AS month, s.course_id AS course_id, \
         SUM(CASE WHEN s.ends_at <= {} THEN 1 ELSE 0 END) AS held, \
         SUM(s.capacity) AS seats \
         FROM sessions s WHERE {} AND s.status <> 'CANCELLED' GROUP BY 1, 2",
        at.month_of("s.starts_at"),
        at.sql(13),
        at.within_year("s.starts_at"),
    );
    SessionTally::find_by_statement(statement(db, &sql, at.values()))
        .all(db)
        .await
}

/// People counted in one month, course, province and role.
#[derive(Debug, FromQueryResult)]
pub struct PeopleTally {
    pub month: i32,
    pub course_id: Uuid,
    pub province: Option<String>,
    pub role: Option<String>,
    pub n: i64,
}

/// Where people are counted: a month, a course, a province code and a role.
pub struct At<'a> {
    pub month: i32,
    pub course_id: Uuid,
    pub province: Option<&'a str>,
    pub role: Option<&'a str>,
}

impl PeopleTally {
    pub fn at(&self) -> At<'_> {
        At {
            month: self.month,
            course_id: self.course_id,
            province: self.province.as_deref(),
            role: self.role.as_deref(),
        }
    }
}

/// Enrolments in one of `statuses`, of sessions that are not cancelled. The statuses are the
/// service's own constants, never a caller's text; filtering here keeps the groups few.
pub async fn enrolment_tallies(
    db: &impl ConnectionTrait,
    year: i32,
    statuses: &[&'static str],
) -> Result<Vec<PeopleTally>, DbErr> {
    let wanted: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
    let at = Instants::of_year(db, year);
    let sql = format!(
        "SELECT {} AS month, s.course_id AS course_id, m.province_code AS province, \
         p.role AS role, COUNT(*) AS n \
         FROM enrolments e \
         JOIN sessions s ON s.id = e.session_id \
         JOIN participants p ON p.id = e.participant_id \
         LEFT JOIN municipalities m ON m.id = p.municipality_id \
         WHERE {} AND s.status <> 'CANCELLED' AND e.status IN ({}) \
         GROUP BY 1, 2, 3, 4",
        at.month_of("s.starts_at"),
        at.within_year("s.starts_at"),
        wanted.join(", "),
    );
    PeopleTally::find_by_statement(statement(db, &sql, at.values()))
        .all(db)
        .await
}

/// Alumni: people counted once per course, in the month of the first session of it they
/// attended.
pub async fn alumni_tallies(
    db: &impl ConnectionTrait,
    year: i32,
) -> Result<Vec<PeopleTally>, DbErr> {
    let at = Instants::of_year(db, year);
    let sql = format!(
        "SELECT {} AS month, f.course_id AS course_id, m.province_code AS province, \
         p.role AS role, COUNT(*) AS n \
         FROM (SELECT e.participant_id AS participant_id, s.course_id AS course_id, \
               MIN(s.starts_at) AS first_start \
               FROM enrolments e JOIN sessions s ON s.id = e.session_id \
               WHERE e.status = 'ATTENDED' GROUP BY e.participant_id, s.course_id) f \
         JOIN participants p ON p.id = f.participant_id \
         LEFT JOIN municipalities m ON m.id = p.municipality_id \
         WHERE {} GROUP BY 1, 2, 3, 4",
        at.month_of("f.first_start"),
        at.within_year("f.first_start"),
    );
    PeopleTally::find_by_statement(statement(db, &sql, at.values()))
        .all(db)
        .await
}

/// Ratings given in one month, course, province and role: how many of each, and their sum.
#[derive(Debug, FromQueryResult)]
pub struct RatingTally {
    pub month: i32,
    pub course_id: Uuid,
    pub province: Option<String>,
    pub role: Option<String>,
    pub overall_n: i64,
    pub overall_sum: i64,
    pub relevance_n: i64,
    pub relevance_sum: i64,
    pub actor_n: i64,
    pub actor_sum: i64,
    pub trainer_n: i64,
    pub trainer_sum: i64,
}

impl RatingTally {
    pub fn at(&self) -> At<'_> {
        At {
            month: self.month,
            course_id: self.course_id,
            province: self.province.as_deref(),
            role: self.role.as_deref(),
        }
    }
}

/// Feedback on sessions that were not cancelled, by the session's month. The comment is never
/// read: free text never reaches a report.
pub async fn rating_tallies(
    db: &impl ConnectionTrait,
    year: i32,
) -> Result<Vec<RatingTally>, DbErr> {
    let rating = |name: &str| {
        format!(
            "COUNT(f.{name}_rating) AS {name}_n, COALESCE(SUM(f.{name}_rating), 0) AS {name}_sum"
        )
    };
    let at = Instants::of_year(db, year);
    let sql = format!(
        "SELECT {} AS month, s.course_id AS course_id, m.province_code AS province, \
         COALESCE(f.author_role, p.role) AS role, {}, {}, {}, {} \
         FROM feedback f \
         JOIN sessions s ON s.id = f.session_id \
         LEFT JOIN participants p ON p.id = f.participant_id \
         LEFT JOIN municipalities m ON m.id = p.municipality_id \
         WHERE {} AND s.status <> 'CANCELLED' GROUP BY 1, 2, 3, 4",
        at.month_of("s.starts_at"),
        rating("overall"),
        rating("relevance"),
        rating("actor"),
        rating("trainer"),
        at.within_year("s.starts_at"),
    );
    RatingTally::find_by_statement(statement(db, &sql, at.values()))
        .all(db)
        .await
}

/// A course's alumni over all time as the public programme shows them: those from before the
/// platform and each person marked as attended since.
#[derive(Debug, FromQueryResult)]
pub struct AlumniTotal {
    pub course_id: Uuid,
    pub before_platform: i32,
    pub since: i64,
}

pub async fn alumni_totals(db: &impl ConnectionTrait) -> Result<Vec<AlumniTotal>, DbErr> {
    let sql = "SELECT c.id AS course_id, c.alumni_count_before_platform AS before_platform, \
               (SELECT COUNT(DISTINCT e.participant_id) FROM enrolments e \
                JOIN sessions s ON s.id = e.session_id \
                WHERE s.course_id = c.id AND e.status = 'ATTENDED') AS since \
               FROM courses c";
    AlumniTotal::find_by_statement(statement(db, sql, vec![]))
        .all(db)
        .await
}

/// Course titles, for the keys of a report.
#[derive(Debug, FromQueryResult)]
pub struct CourseTitle {
    pub id: Uuid,
    pub title: String,
}

pub async fn course_titles(db: &impl ConnectionTrait) -> Result<Vec<CourseTitle>, DbErr> {
    CourseTitle::find_by_statement(statement(
        db,
        "SELECT id, title FROM courses ORDER BY title, id",
        vec![],
    ))
    .all(db)
    .await
}
