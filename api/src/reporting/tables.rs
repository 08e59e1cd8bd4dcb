//! One measure over one calendar year, as a protected table: every period level by course, and
//! for measures about people also by province and role group.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{
    Cell, Dimension, Key, Measure, Status,
    cache::ProtectionCache,
    db::{self, At, CourseTitle},
    disclosure::{Hierarchy, Rules, Table, protect},
    keys::{PROVINCES, ROLE_GROUPS, province_index, role_group_index},
    periods::Period,
};
use crate::{domain::ids::CourseId, error::ApiError};

/// The courses of a year's table: those with a session (not cancelled) in it.
struct Courses(Vec<(Uuid, String)>);

impl Courses {
    fn index(&self, id: Uuid) -> Option<usize> {
        self.0.iter().position(|(c, _)| *c == id)
    }
}

/// How a cell's value comes from the table(s).
enum Values {
    /// The protected table holds the figure itself.
    Count,
    /// A mean: the protected table counts the ratings, `sums` adds them up.
    Mean { sums: Table },
    /// Seats taken over seats offered, both public.
    Rate { taken: Table },
}

pub struct YearTable {
    courses: Courses,
    /// Counts, by period, course and (for people) province and role group.
    table: Arc<Table>,
    values: Values,
    suppressed: Arc<Vec<bool>>,
}

/// The leaf node of each key in a table: months are nodes 5..=16, keys 1..
fn leaves(month: i32, course: usize, rest: &[usize]) -> Vec<usize> {
    let month = usize::try_from(month.clamp(0, 11)).unwrap_or(0);
    let mut nodes = vec![Hierarchy::month_node(month), course + 1];
    nodes.extend(rest.iter().map(|k| k + 1));
    nodes
}

impl YearTable {
    pub async fn build(
        db: &impl ConnectionTrait,
        measure: Measure,
        year: i32,
        titles: &[CourseTitle],
        threshold: u64,
        protections: &ProtectionCache,
        now: DateTime<Utc>,
    ) -> Result<Self, ApiError> {
        let sessions = db::session_tallies(db, year, now).await?;
        let courses = Courses(
            titles
                .iter()
                .filter(|t| sessions.iter().any(|s| s.course_id == t.id))
                .map(|t| (t.id, t.title.clone()))
                .collect(),
        );
        let by_course = Hierarchy::flat(courses.0.len());
        if measure.is_about_sessions() {
            let mut table = Table::new(vec![Hierarchy::calendar_year(), by_course.clone()]);
            let mut taken = Table::new(vec![Hierarchy::calendar_year(), by_course]);
            for s in &sessions {
                let Some(course) = courses.index(s.course_id) else {
                    continue;
                };
                let figure = match measure {
                    Measure::SessionsHeld => s.held,
                    _ => s.seats,
                };
                table.add(&leaves(s.month, course, &[]), count(figure));
            }
            let values = if measure == Measure::FillRate {
                for row in db::enrolment_tallies(db, year, SEATED).await? {
                    if let Some(course) = courses.index(row.course_id) {
                        taken.add(&leaves(row.month, course, &[]), count(row.n));
                    }
                }
                Values::Rate { taken }
            } else {
                Values::Count
            };
            let suppressed = Arc::new(vec![false; table.len()]);
            return Ok(Self {
                courses,
                table: Arc::new(table),
                values,
                suppressed,
            });
        }
        let dims = vec![
            Hierarchy::calendar_year(),
            by_course,
            Hierarchy::flat(PROVINCES.len()),
            Hierarchy::flat(ROLE_GROUPS.len()),
        ];
        let mut table = Table::new(dims.clone());
        let add = |table: &mut Table, at: At<'_>, n: u64| {
            if let Some(course) = courses.index(at.course_id) {
                let province = province_index(at.province);
                let role = role_group_index(at.role);
                table.add(&leaves(at.month, course, &[province, role]), n);
            }
        };
        let values = match measure {
            Measure::Enrolments
            | Measure::Attended
            | Measure::NoShows
            | Measure::WaitingListEntries
            | Measure::Alumni => {
                let rows = match measure {
                    Measure::Alumni => db::alumni_tallies(db, year).await?,
                    Measure::Enrolments => db::enrolment_tallies(db, year, SEATED).await?,
                    Measure::Attended => db::enrolment_tallies(db, year, &["ATTENDED"]).await?,
                    Measure::NoShows => db::enrolment_tallies(db, year, &["NO_SHOW"]).await?,
                    _ => db::enrolment_tallies(db, year, &["WAITLISTED"]).await?,
                };
                for row in rows {
                    add(&mut table, row.at(), count(row.n));
                }
                Values::Count
            }
            _ => {
                let mut sums = Table::new(dims);
                for row in db::rating_tallies(db, year).await? {
                    let (n, sum) = match measure {
                        Measure::RatingOverall => (row.overall_n, row.overall_sum),
                        Measure::RatingRelevance => (row.relevance_n, row.relevance_sum),
                        Measure::RatingActor => (row.actor_n, row.actor_sum),
                        _ => (row.trainer_n, row.trainer_sum),
                    };
                    add(&mut table, row.at(), count(n));
                    add(&mut sums, row.at(), count(sum));
                }
                Values::Mean { sums }
            }
        };
        // Seats taken and waiting lists per course are on the public programme; their split by
        // province or role group is not. Everything else about people is protected at every
        // level.
        let rules = Rules {
            threshold,
            sensitive_dims: measure.is_public().then(|| vec![false, false, true, true]),
        };
        let table = Arc::new(table);
        let suppressed = match protections.get(measure, year, &table, &rules) {
            Some(suppressed) => suppressed,
            None => {
                // Protecting a busy year takes a noticeable share of a second of CPU: off the
                // worker that serves other requests.
                let (counts, rules_used) = (table.clone(), rules.clone());
                let suppressed = tokio::task::spawn_blocking(move || protect(&counts, &rules_used))
                    .await
                    .map_err(|error| {
                        ApiError::Internal(anyhow::anyhow!("protecting a report: {error}"))
                    })?;
                let suppressed = Arc::new(suppressed);
                protections.put(measure, year, table.clone(), rules, suppressed.clone());
                suppressed
            }
        };
        Ok(Self {
            courses,
            table,
            values,
            suppressed,
        })
    }

    /// The cells of `period` for the dimensions asked: each key, then the total.
    pub fn cells(&self, period: Option<Period>, dimensions: &[Dimension], out: &mut Vec<Cell>) {
        let period_node = period.map_or(0, |p| p.node());
        let choices: Vec<Vec<(usize, Key)>> = dimensions
            .iter()
            .map(|dimension| {
                let mut keys: Vec<(usize, Key)> = match dimension {
                    Dimension::Course => self
                        .courses
                        .0
                        .iter()
                        .enumerate()
                        .map(|(i, (id, title))| {
                            (
                                i + 1,
                                Key {
                                    code: CourseId(*id).to_global(),
                                    label: title.clone(),
                                },
                            )
                        })
                        .collect(),
                    Dimension::Province => named(&PROVINCES),
                    Dimension::RoleGroup => named(&ROLE_GROUPS),
                };
                keys.push((0, Key::total()));
                keys
            })
            .collect();
        let mut index = vec![0; choices.len()];
        loop {
            let mut nodes = vec![0; self.table.dims().len()];
            nodes[0] = period_node;
            let mut keys = Vec::new();
            for (d, i) in index.iter().enumerate() {
                let (node, key) = &choices[d][*i];
                nodes[table_dim(dimensions[d])] = *node;
                keys.push(key.clone());
            }
            let cell = self.table.index(&nodes);
            let (value, status) = self.value(cell);
            out.push(Cell {
                period,
                keys,
                value,
                status,
            });
            if !step(&mut index, &choices) {
                break;
            }
        }
    }

    fn value(&self, cell: usize) -> (Option<f64>, Status) {
        if self.suppressed[cell] {
            return (None, Status::Suppressed);
        }
        let n = self.table.value(cell);
        match &self.values {
            Values::Count => (Some(n as f64), Status::Published),
            Values::Mean { sums } if n > 0 => (
                Some(round(sums.value(cell) as f64 / n as f64, 2)),
                Status::Published,
            ),
            Values::Rate { taken } if n > 0 => (
                Some(round(taken.value(cell) as f64 / n as f64, 3)),
                Status::Published,
            ),
            Values::Mean { .. } | Values::Rate { .. } => (None, Status::Empty),
        }
    }
}

fn named(keys: &[(&str, &str)]) -> Vec<(usize, Key)> {
    keys.iter()
        .enumerate()
        .map(|(i, (code, label))| {
            (
                i + 1,
                Key {
                    code: (*code).into(),
                    label: (*label).into(),
                },
            )
        })
        .collect()
}

/// Where a dimension sits in a year's table (period first).
fn table_dim(dimension: Dimension) -> usize {
    match dimension {
        Dimension::Course => 1,
        Dimension::Province => 2,
        Dimension::RoleGroup => 3,
    }
}

fn step(index: &mut [usize], choices: &[Vec<(usize, Key)>]) -> bool {
    for d in (0..index.len()).rev() {
        index[d] += 1;
        if index[d] < choices[d].len() {
            return true;
        }
        index[d] = 0;
    }
    false
}

/// The statuses of a seat taken: confirmed, attended or absent.
const SEATED: &[&str] = &["CONFIRMED", "ATTENDED", "NO_SHOW"];

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Each course's alumni over all time, as the public programme shows them (those from before
/// the platform included), and their total; for courses that appear in the report.
pub async fn alumni_over_all_time(
    db: &impl ConnectionTrait,
    dimensions: &[Dimension],
    titles: &[CourseTitle],
    out: &mut Vec<Cell>,
) -> Result<(), ApiError> {
    let totals: HashMap<Uuid, u64> = db::alumni_totals(db)
        .await?
        .into_iter()
        .map(|t| (t.course_id, count(i64::from(t.before_platform) + t.since)))
        .collect();
    let cell = |keys: Vec<Key>, value: u64| Cell {
        period: None,
        keys,
        value: Some(value as f64),
        status: Status::Published,
    };
    if dimensions.is_empty() {
        out.push(cell(vec![], totals.values().sum()));
        return Ok(());
    }
    let mut total = 0;
    for title in titles {
        let Some(n) = totals.get(&title.id).copied().filter(|n| *n > 0) else {
            continue;
        };
        total += n;
        out.push(cell(
            vec![Key {
                code: CourseId(title.id).to_global(),
                label: title.title.clone(),
            }],
            n,
        ));
    }
    out.push(cell(vec![Key::total()], total));
    Ok(())
}
