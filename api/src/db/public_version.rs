//! The version of everything anonymous callers can read, raised by the database with every
//! change to it (migration `public_version`): the response cache's test of freshness.

use sea_orm::{ConnectionTrait, DbErr, Statement};

/// The version now: the sum of its rows, read in one statement (one snapshot).
pub async fn current(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) AS version FROM public_versions",
        ))
        .await?;
    match row {
        Some(row) => row.try_get("", "version"),
        None => Ok(0),
    }
}
