//! Jobs that run once across all processes: each process asks now and then whether a job is
//! due, and the database lets exactly one of them have each turn (a conditional update moves
//! the due time on; only the process whose update changed the row runs the job).

use chrono::{DateTime, Duration, Utc};
use entity::job_run;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::Expr,
};

/// Claims this turn of job `name` when it is due at `now`; the next turn is `every` later.
/// True for one caller only, however many processes ask at once.
pub async fn claim(
    db: &impl ConnectionTrait,
    name: &str,
    now: DateTime<Utc>,
    every: Duration,
) -> Result<bool, DbErr> {
    // The first ask creates the row, due at once; a row that exists is left alone.
    job_run::Entity::insert(job_run::ActiveModel {
        name: Set(name.to_owned()),
        due_at: Set(now),
        last_started_at: Set(None),
    })
    .on_conflict_do_nothing_on([job_run::Column::Name])
    .exec_without_returning(db)
    .await?;
    let moved = job_run::Entity::update_many()
        .col_expr(job_run::Column::DueAt, Expr::value(now + every))
        .col_expr(job_run::Column::LastStartedAt, Expr::value(now))
        .filter(job_run::Column::Name.eq(name))
        .filter(job_run::Column::DueAt.lte(now))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}
