//! The statements reports are counted by: `GROUP BY` in the database, one statement per table,
//! never a row per person in the service. A session's month is found by comparing its start with
//! the instants Amsterdam's months begin at (bound as parameters), which both databases can do
//! without knowing time zones.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};
use uuid::Uuid;

use super::periods::month_bounds;
use crate::db::statement;

/// `CASE` that gives the month (0..12) of `column`, with the year's bounds in `$1..=$13`.
fn month_of(column: &str) -> String {
    let arms: String = (2..=12)
        .map(|p| format!("WHEN {column} < ${p} THEN {} ", p - 2))
        .collect();
    format!("CASE {arms}ELSE 11 END")
}

fn within_year(column: &str) -> String {
    format!("{column} >= $1 AND {column} < $13")
}

fn bounds(year: i32) -> Vec<Value> {
    month_bounds(year).into_iter().map(Value::from).collect()
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
    let sql = format!(
        "SELECT {} AS month, s.course_id AS course_id, \
         SUM(CASE WHEN s.ends_at <= $14 THEN 1 ELSE 0 END) AS held, \
         SUM(s.capacity) AS seats \
         FROM sessions s WHERE {} AND s.status <> 'CANCELLED' GROUP BY 1, 2",
        month_of("s.starts_at"),
        within_year("s.starts_at"),
    );
    let mut values = bounds(year);
    values.push(now.into());
    SessionTally::find_by_statement(statement(db, &sql, values))
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
    /// The enrolment status, for enrolment tallies.
    pub status: Option<String>,
    pub n: i64,
}

/// Enrolments that are not cancelled, of sessions that are not, by status.
pub async fn enrolment_tallies(
    db: &impl ConnectionTrait,
    year: i32,
) -> Result<Vec<PeopleTally>, DbErr> {
    let sql = format!(
        "SELECT {} AS month, s.course_id AS course_id, m.province_code AS province, \
         p.role AS role, e.status AS status, COUNT(*) AS n \
         FROM enrolments e \
         JOIN sessions s ON s.id = e.session_id \
         JOIN participants p ON p.id = e.participant_id \
         LEFT JOIN municipalities m ON m.id = p.municipality_id \
         WHERE {} AND s.status <> 'CANCELLED' AND e.status <> 'CANCELLED' \
         GROUP BY 1, 2, 3, 4, 5",
        month_of("s.starts_at"),
        within_year("s.starts_at"),
    );
    PeopleTally::find_by_statement(statement(db, &sql, bounds(year)))
        .all(db)
        .await
}

/// Alumni: people counted once per course, in the month of the first session of it they
/// attended.
pub async fn alumni_tallies(
    db: &impl ConnectionTrait,
    year: i32,
) -> Result<Vec<PeopleTally>, DbErr> {
    let sql = format!(
        "SELECT {} AS month, f.course_id AS course_id, m.province_code AS province, \
         p.role AS role, NULL AS status, COUNT(*) AS n \
         FROM (SELECT e.participant_id AS participant_id, s.course_id AS course_id, \
               MIN(s.starts_at) AS first_start \
               FROM enrolments e JOIN sessions s ON s.id = e.session_id \
               WHERE e.status = 'ATTENDED' GROUP BY e.participant_id, s.course_id) f \
         JOIN participants p ON p.id = f.participant_id \
         LEFT JOIN municipalities m ON m.id = p.municipality_id \
         WHERE {} GROUP BY 1, 2, 3, 4",
        month_of("f.first_start"),
        within_year("f.first_start"),
    );
    PeopleTally::find_by_statement(statement(db, &sql, bounds(year)))
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
    let sql = format!(
        "SELECT {} AS month, s.course_id AS course_id, m.province_code AS province, \
         COALESCE(f.author_role, p.role) AS role, {}, {}, {}, {} \
         FROM feedback f \
         JOIN sessions s ON s.id = f.session_id \
         LEFT JOIN participants p ON p.id = f.participant_id \
         LEFT JOIN municipalities m ON m.id = p.municipality_id \
         WHERE {} AND s.status <> 'CANCELLED' GROUP BY 1, 2, 3, 4",
        month_of("s.starts_at"),
        rating("overall"),
        rating("relevance"),
        rating("actor"),
        rating("trainer"),
        within_year("s.starts_at"),
    );
    RatingTally::find_by_statement(statement(db, &sql, bounds(year)))
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
