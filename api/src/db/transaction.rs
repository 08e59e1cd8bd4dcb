//! Write transactions that are retried when the database reports a transient conflict.
//!
//! Booking takes row locks on PostgreSQL and the write lock on SQLite; under load the database
//! may still answer with a deadlock, a serialization failure, a lock time-out or "database is
//! locked". Such a transaction is rolled back and run again, a bounded number of times with a
//! growing, jittered pause; then the caller gets a retryable error.

use std::{future::Future, pin::Pin, time::Duration};

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, RuntimeErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait, sqlx,
};

use crate::domain::booking::Refusal;

/// Attempts per transaction, the first included.
const ATTEMPTS: u32 = 6;

/// How a transaction's work can end besides success.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// A rule refused the change; nothing was written.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// Still conflicting after every retry: the caller may try again.
    #[error("the database is busy")]
    Busy,
    #[error(transparent)]
    Db(#[from] DbErr),
}

pub type TxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, TxError>> + Send + 'a>>;

/// Runs `work` in a write transaction and commits it; on a transient conflict, rolls back and
/// runs it again. `work` must do nothing outside the transaction, since it may run more than once.
pub async fn write<T, F>(db: &DatabaseConnection, work: F) -> Result<T, TxError>
where
    F: for<'a> FnMut(&'a DatabaseTransaction) -> TxFuture<'a, T>,
{
    write_if(db, work, |_| true).await
}

/// `write`, committing only when `keep` says the value is worth it (otherwise the transaction
/// is rolled back and the value returned all the same).
pub async fn write_if<T, F>(
    db: &DatabaseConnection,
    mut work: F,
    keep: fn(&T) -> bool,
) -> Result<T, TxError>
where
    F: for<'a> FnMut(&'a DatabaseTransaction) -> TxFuture<'a, T>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match attempt_once(db, &mut work, keep).await {
            Err(TxError::Db(error)) if is_transient(&error) => {
                if attempt >= ATTEMPTS {
                    tracing::warn!(attempts = attempt, error = %error, "a write kept conflicting");
                    return Err(TxError::Busy);
                }
                tokio::time::sleep(pause(attempt)).await;
            }
            result => return result,
        }
    }
}

async fn attempt_once<T, F>(
    db: &DatabaseConnection,
    work: &mut F,
    keep: fn(&T) -> bool,
) -> Result<T, TxError>
where
    F: for<'a> FnMut(&'a DatabaseTransaction) -> TxFuture<'a, T>,
{
    // SQLite: take the write lock at BEGIN, so a transaction that reads first never has to
    // upgrade its lock (which fails at once instead of waiting). PostgreSQL ignores the mode.
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?;
    match work(&txn).await {
        Ok(value) if keep(&value) => {
            txn.commit().await?;
            Ok(value)
        }
        Ok(value) => {
            txn.rollback().await?;
            Ok(value)
        }
        Err(error) => {
            // A failed rollback leaves nothing behind either: the connection discards it.
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(error = %rollback, "could not roll back a transaction");
            }
            Err(error)
        }
    }
}

/// 10, 20, 40, 80, 160 ms, each with up to as much again at random, so that the transactions
/// that collided do not collide again.
fn pause(attempt: u32) -> Duration {
    let base = 10u64 << attempt.saturating_sub(1).min(6);
    let mut byte = [0u8; 1];
    let jitter = getrandom::fill(&mut byte).map_or(0, |()| u64::from(byte[0]) * base / 255);
    Duration::from_millis(base + jitter)
}

/// Deadlocks, serialization failures and lock time-outs (PostgreSQL), and a busy or locked
/// database (SQLite): the same work may well succeed when run again.
pub fn is_transient(error: &DbErr) -> bool {
    let Some(error) = database_error(error) else {
        return false;
    };
    let Some(code) = error.code() else {
        return false;
    };
    if error
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        // serialization_failure, deadlock_detected, lock_not_available
        return matches!(code.as_ref(), "40001" | "40P01" | "55P03");
    }
    // SQLite's primary result codes SQLITE_BUSY (5) and SQLITE_LOCKED (6), also extended.
    error
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
        && code
            .parse::<u32>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

/// A statement cut off by PostgreSQL's `statement_timeout` (query_canceled): the database was
/// slow or busy, not wrong, so the caller may try again. Not retried here: a retry would wait
/// as long again while the caller waits.
pub fn is_timed_out(error: &DbErr) -> bool {
    database_error(error).is_some_and(|error| {
        error
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some_and(|error| error.code() == "57014")
    })
}

/// The error the database itself answered, if it is one.
fn database_error(error: &DbErr) -> Option<&(dyn sqlx::error::DatabaseError + 'static)> {
    let (DbErr::Exec(RuntimeErr::SqlxError(error))
    | DbErr::Query(RuntimeErr::SqlxError(error))
    | DbErr::Conn(RuntimeErr::SqlxError(error))) = error
    else {
        return None;
    };
    match error.as_ref() {
        sqlx::Error::Database(error) => Some(error.as_ref()),
        _ => None,
    }
}

/// The database cannot be reached (refused, dropped or timed-out connections, a pool that could
/// not get one, a server shutting down): an outage, which a retry later will cure, unlike a
/// fault.
pub fn is_unreachable(error: &DbErr) -> bool {
    let error = match error {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(error))
        | DbErr::Query(RuntimeErr::SqlxError(error))
        | DbErr::Conn(RuntimeErr::SqlxError(error)) => error.as_ref(),
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // connection_exception (class 08), admin_shutdown, crash_shutdown, cannot_connect_now.
        sqlx::Error::Database(error) => error
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some_and(|error| {
                let code = error.code();
                code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
            }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_stay_bounded() {
        for attempt in 1..=ATTEMPTS {
            let base = 10u64 << (attempt - 1);
            let pause = pause(attempt).as_millis() as u64;
            assert!((base..=2 * base).contains(&pause), "{attempt}: {pause}");
        }
    }

    #[test]
    fn other_errors_are_not_transient() {
        assert!(!is_transient(&DbErr::Custom("x".into())));
        assert!(!is_transient(&DbErr::RecordNotFound("x".into())));
    }
}
