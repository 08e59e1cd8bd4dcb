//! The change feed: the enrolment history, read in the order of writing, never skipping a change.
//!
//! Each change is written in the transaction that makes it (`db::booking`), with the enrolment's
//! next version (1, 2, 3, … without a gap) and, filled by the database, its transaction and its
//! position. The trap of every such feed is a transaction that commits late: a reader that has
//! moved past position 10 never sees position 9 committing afterwards. Here that cannot happen:
//!
//! - On PostgreSQL the feed is ordered by (transaction id, position), and every page ends before
//!   the first change whose transaction id is not below `pg_snapshot_xmin(pg_current_snapshot())`:
//!   below that horizon every transaction has finished, so nothing can appear there later. No
//!   timers, no gaps waited out. (The horizon is the cluster's: a long transaction in another
//!   database holds the feed back, which the lag on `/metrics` shows.)
//! - On SQLite one writer at a time holds the lock from `BEGIN`, and positions are taken inside
//!   it: commit order is position order.
//!
//! A cursor carries the feed's epoch. After a restore from a backup the epoch changes (by hand,
//! `training feed new-epoch`, or by itself when PostgreSQL's system identifier changes or a stored
//! transaction id is ahead of the server's), and older cursors answer `MUST_RESYNC`, as do cursors
//! older than the feed's retention: never an empty page that would look like "nothing changed".

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use entity::feed_state;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, Statement, TransactionTrait, Value, sea_query::OnConflict,
};
use uuid::Uuid;

use super::external_ids::Source;

/// A place in the feed: after the change of this transaction and position, in this epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedCursor {
    pub epoch: Uuid,
    pub xact: i64,
    pub position: i64,
}

impl FeedCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "feed:1:{}:{}:{}",
            self.epoch.as_hyphenated(),
            self.xact,
            self.position
        ))
    }

    pub fn decode(text: &str) -> Option<Self> {
        if text.len() > 200 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.strip_prefix("feed:1:")?.split(':');
        let cursor = Self {
            epoch: Uuid::try_parse(parts.next()?).ok()?,
            xact: parts.next()?.parse().ok()?,
            position: parts.next()?.parse().ok()?,
        };
        (parts.next().is_none() && cursor.encode() == URL_SAFE_NO_PAD.encode(&text))
            .then_some(cursor)
    }
}

/// Why a page of the feed cannot be read from a cursor.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The cursor is of another epoch or older than the retention: start again from a snapshot.
    #[error("the feed cannot continue from this cursor; start again from a snapshot")]
    MustResync,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// One change as the feed gives it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct FeedChange {
    pub id: Uuid,
    pub enrolment_id: Uuid,
    pub change: entity::enums::EnrolmentChangeKind,
    pub to_status: entity::enums::EnrolmentStatus,
    pub occurred_at: DateTime<Utc>,
    pub version: i32,
    pub xact: i64,
    pub position: i64,
}

impl FeedChange {
    pub fn cursor(&self, epoch: Uuid) -> FeedCursor {
        FeedCursor {
            epoch,
            xact: self.xact,
            position: self.position,
        }
    }
}

/// A page of changes, in feed order.
#[derive(Debug)]
pub struct FeedPage {
    pub epoch: Uuid,
    pub changes: Vec<FeedChange>,
    pub has_next_page: bool,
}

pub(crate) use crate::db::statement;

/// Records which sources' scope a change falls in: those that know its participant now.
pub async fn record_scope(txn: &impl ConnectionTrait, change_id: Uuid) -> Result<(), DbErr> {
    record_scopes(txn, &[change_id]).await
}

/// `record_scope` for many changes in one statement.
pub async fn record_scopes(txn: &impl ConnectionTrait, change_ids: &[Uuid]) -> Result<(), DbErr> {
    if change_ids.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (1..=change_ids.len()).map(|n| format!("${n}")).collect();
    txn.execute_raw(statement(
        txn,
        &format!(
            "INSERT INTO enrolment_change_sources (change_id, source, xact, position) \
             SELECT c.id, x.source, c.xact, c.position FROM enrolment_changes c \
             JOIN enrolments e ON e.id = c.enrolment_id \
             JOIN external_ids x ON x.record_type = 'PARTICIPANT' AND x.record_id = e.participant_id \
             WHERE c.id IN ({})",
            placeholders.join(", ")
        ),
        change_ids.iter().map(|id| (*id).into()).collect(),
    ))
    .await?;
    Ok(())
}

/// The feed's epoch.
pub async fn epoch(db: &impl ConnectionTrait) -> Result<Uuid, DbErr> {
    match feed_state::Entity::find_by_id(1).one(db).await? {
        Some(state) => Ok(state.epoch),
        None => Err(DbErr::RecordNotFound(
            "the feed has no epoch yet (it is set when the service starts)".into(),
        )),
    }
}

/// PostgreSQL's system identifier; a restore onto another cluster changes it.
async fn system_identifier(db: &impl ConnectionTrait) -> Option<String> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    #[derive(FromQueryResult)]
    struct Row {
        id: String,
    }
    Row::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT system_identifier::text AS id FROM pg_control_system()",
    ))
    .one(db)
    .await
    .ok()
    .flatten()
    .map(|row| row.id)
}

/// Begins a new epoch: every cursor handed out before answers `MUST_RESYNC`.
pub async fn new_epoch(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Uuid, DbErr> {
    let epoch = Uuid::new_v4();
    let state = feed_state::ActiveModel {
        id: Set(1),
        epoch: Set(epoch),
        system_identifier: Set(system_identifier(db).await),
        started_at: Set(now),
    };
    feed_state::Entity::insert(state)
        .on_conflict(
            OnConflict::column(feed_state::Column::Id)
                .update_columns([
                    feed_state::Column::Epoch,
                    feed_state::Column::SystemIdentifier,
                    feed_state::Column::StartedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    tracing::warn!(%epoch, "the change feed begins a new epoch: earlier cursors must resync");
    Ok(epoch)
}

/// At start: makes sure the feed has an epoch, and begins a new one when the database is not the
/// one the epoch began on (a restore onto another cluster, or from a backup whose transaction ids
/// run ahead of the server's).
pub async fn check_epoch(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Uuid, DbErr> {
    let state = feed_state::Entity::find_by_id(1).one(db).await?;
    let Some(state) = state else {
        // Several processes may start at once: the first one's epoch stands.
        feed_state::Entity::insert(feed_state::ActiveModel {
            id: Set(1),
            epoch: Set(Uuid::new_v4()),
            system_identifier: Set(system_identifier(db).await),
            started_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(feed_state::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        return epoch(db).await;
    };
    if db.get_database_backend() == DbBackend::Postgres {
        let identifier = system_identifier(db).await;
        if identifier.is_some()
            && state.system_identifier.is_some()
            && identifier != state.system_identifier
        {
            tracing::warn!("the database's system identifier changed (a restore?)");
            return new_epoch(db, now).await;
        }
        #[derive(FromQueryResult)]
        struct Ahead {
            ahead: bool,
        }
        let ahead = Ahead::find_by_statement(Statement::from_string(
            DbBackend::Postgres,
            "SELECT COALESCE(MAX(xact), 0) >= pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS ahead \
             FROM enrolment_changes",
        ))
        .one(db)
        .await?
        .is_some_and(|row| row.ahead);
        if ahead {
            tracing::warn!("stored transaction ids run ahead of the database's (a restore?)");
            return new_epoch(db, now).await;
        }
    }
    Ok(state.epoch)
}

/// Changes after `after` (from the start without one), at most `limit`, in the scope of
/// `source` (every change without one), ending where a change may still be committing.
pub async fn read(
    db: &impl ConnectionTrait,
    source: Option<&Source>,
    after: Option<FeedCursor>,
    limit: u64,
    retention: Duration,
    now: DateTime<Utc>,
) -> Result<FeedPage, FeedError> {
    let epoch = epoch(db).await?;
    let (xact, position) = match after {
        None => (i64::MIN, i64::MIN),
        Some(cursor) if cursor.epoch != epoch => return Err(FeedError::MustResync),
        Some(cursor) => {
            if cursor.position >= 0 && too_old(db, cursor, now - retention).await? {
                return Err(FeedError::MustResync);
            }
            (cursor.xact, cursor.position)
        }
    };
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut values: Vec<Value> = vec![xact.into(), position.into()];
    if let Some(source) = source {
        values.push(source.as_str().into());
    }
    values.push(i64::try_from(limit + 1).unwrap_or(i64::MAX).into());
    let sql = page_sql(postgres, source.is_some());
    let mut changes = FeedChange::find_by_statement(statement(db, &sql, values))
        .all(db)
        .await?;
    let has_next_page = changes.len() as u64 > limit;
    changes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(FeedPage {
        epoch,
        changes,
        has_next_page,
    })
}

/// The statement of a page: the changes after (`$1` transaction, `$2` position), in the scope
/// of the source `$3` when `scoped`, at most the last parameter many, ending (on PostgreSQL)
/// below the oldest transaction still running. Public for the benchmark, which runs the same
/// statement with pgbench as its ceiling. The row comparison lets both databases start each page
/// in the `(xact, position)` index where the last one ended, instead of scanning from the start.
pub fn page_sql(postgres: bool, scoped: bool) -> String {
    let columns =
        "c.id, c.enrolment_id, c.change, c.to_status, c.occurred_at, c.version, c.xact, c.position";
    let fence = |table: &str| {
        if postgres {
            format!(" AND {table}.xact < pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        } else {
            String::new()
        }
    };
    if scoped {
        // The source's own rows in feed order, from an index of their own.
        format!(
            "SELECT {columns} FROM enrolment_change_sources s \
             JOIN enrolment_changes c ON c.id = s.change_id \
             WHERE s.source = $3 AND (s.xact, s.position) > ($1, $2){} \
             ORDER BY s.xact, s.position LIMIT $4",
            fence("s")
        )
    } else {
        format!(
            "SELECT {columns} FROM enrolment_changes c \
             WHERE (c.xact, c.position) > ($1, $2){} \
             ORDER BY c.xact, c.position LIMIT $3",
            fence("c")
        )
    }
}

/// Whether the change a cursor points after is older than the retention (or gone).
async fn too_old(
    db: &impl ConnectionTrait,
    cursor: FeedCursor,
    oldest: DateTime<Utc>,
) -> Result<bool, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        occurred_at: DateTime<Utc>,
    }
    let row = Row::find_by_statement(statement(
        db,
        "SELECT occurred_at FROM enrolment_changes WHERE position = $1",
        vec![cursor.position.into()],
    ))
    .one(db)
    .await?;
    Ok(row.is_none_or(|row| row.occurred_at < oldest))
}

/// Where the feed stands now, for a snapshot read in the same transaction: a cursor from which
/// the feed brings every change the snapshot may not show (some twice: versions tell).
pub async fn cursor_now(db: &impl ConnectionTrait) -> Result<FeedCursor, DbErr> {
    let epoch = epoch(db).await?;
    #[derive(FromQueryResult)]
    struct Row {
        xact: i64,
        position: i64,
    }
    let sql = if db.get_database_backend() == DbBackend::Postgres {
        // Every transaction below xmin has finished and is in the snapshot; from xmin on, the
        // feed repeats what the snapshot may already hold.
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xact, -1::bigint AS position"
    } else {
        "SELECT 0 AS xact, COALESCE(MAX(position), 0) AS position FROM enrolment_changes"
    };
    let row = Row::find_by_statement(statement(db, sql, vec![]))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the feed's position".into()))?;
    Ok(FeedCursor {
        epoch,
        xact: row.xact,
        position: row.position,
    })
}

/// How far the visible end of the feed trails its newest change.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeedLag {
    /// Changes written but not yet visible (their transaction, or an older one, still runs).
    pub changes: i64,
    /// Age of the oldest transaction that holds the feed back, in seconds.
    pub oldest_transaction_seconds: f64,
}

pub async fn lag(db: &DatabaseConnection) -> Result<FeedLag, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(FeedLag::default());
    }
    #[derive(FromQueryResult)]
    struct Row {
        changes: i64,
        oldest: Option<f64>,
    }
    let row = Row::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT \
         (SELECT COUNT(*) FROM enrolment_changes \
          WHERE xact >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint) AS changes, \
         (SELECT EXTRACT(EPOCH FROM now() - MIN(xact_start))::float8 FROM pg_stat_activity \
          WHERE backend_xid IS NOT NULL OR backend_xmin IS NOT NULL) AS oldest",
    ))
    .one(db)
    .await?;
    Ok(row.map_or_else(FeedLag::default, |row| FeedLag {
        changes: row.changes,
        oldest_transaction_seconds: row.oldest.unwrap_or(0.0),
    }))
}

/// Reads a snapshot page and the feed's cursor in one database snapshot (PostgreSQL: a
/// repeatable-read transaction; SQLite: one read transaction).
pub async fn in_one_snapshot<T, F>(
    db: &DatabaseConnection,
    read: F,
) -> Result<(T, FeedCursor), DbErr>
where
    F: for<'a> FnOnce(
        &'a sea_orm::DatabaseTransaction,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 'a>>,
{
    // SQLite reads one snapshot in any transaction (and warns at isolation levels).
    let txn = if db.get_database_backend() == DbBackend::Postgres {
        db.begin_with_config(
            Some(sea_orm::IsolationLevel::RepeatableRead),
            Some(sea_orm::AccessMode::ReadOnly),
        )
        .await?
    } else {
        db.begin().await?
    };
    // The cursor first: its xmin is the snapshot's, taken by this first statement.
    let cursor = cursor_now(&txn).await?;
    let value = read(&txn).await?;
    txn.commit().await?;
    Ok((value, cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_does_not_decode() {
        let cursor = FeedCursor {
            epoch: Uuid::new_v4(),
            xact: 12345,
            position: -1,
        };
        assert_eq!(FeedCursor::decode(&cursor.encode()), Some(cursor));
        for text in [
            "",
            "abc",
            &URL_SAFE_NO_PAD.encode("feed:1:x:1:2"),
            &"A".repeat(300),
        ] {
            assert_eq!(FeedCursor::decode(text), None, "{text}");
        }
    }

    #[test]
    fn statements_take_each_backends_placeholders() {
        let sql = "SELECT $1, $2";
        assert_eq!(sql.replace('$', "?"), "SELECT ?1, ?2");
    }
}
