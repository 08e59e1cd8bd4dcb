//! Retention: what is kept no longer than needed goes on schedule. A participant is anonymised
//! (by the erasure's own code path, cause RETENTION) a set time after their last session; a
//! feedback comment goes a set time after its session unless it is a published testimonial its
//! writer consented to; audit events, finished outbox messages and message files go after their
//! own periods. One process runs each turn (`db::job_runs`), in batches, and logs counts only.

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

use chrono::{DateTime, Duration, Months, Utc};
use entity::{
    audit_event, enrolment,
    enums::{ModerationStatus, OutboxStatus},
    feedback, outbox_event, participant, session,
};
use futures_util::future::BoxFuture;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    audit,
    auth::{Actor, Role},
    config::{RetentionSettings, Settings},
    db::{
        erasure::{Cause, Erasure},
        transaction::TxError,
    },
    domain::booking::UserErrorCode,
    live::Live,
    privacy::log,
};

/// Rows touched by one statement; small enough for SQLite's limit of parameters and for locks
/// that are short.
const BATCH: u64 = 500;

/// How long each kind of data is kept.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub participant_months: u32,
    pub feedback_days: u32,
    pub audit_days: u32,
    pub messages_days: u32,
}

impl From<&RetentionSettings> for Policy {
    fn from(settings: &RetentionSettings) -> Self {
        Self {
            participant_months: settings.participant_months,
            feedback_days: settings.feedback_days,
            audit_days: settings.audit_days,
            messages_days: settings.messages_days,
        }
    }
}

/// For each kind of data, the instant before which it goes.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cutoffs {
    pub participants: DateTime<Utc>,
    pub feedback: DateTime<Utc>,
    pub audit: DateTime<Utc>,
    pub messages: DateTime<Utc>,
}

impl Policy {
    pub fn cutoffs(&self, as_of: DateTime<Utc>) -> Cutoffs {
        let days = |n: u32| as_of - Duration::days(i64::from(n));
        Cutoffs {
            // Calendar months: 24 months before 5 December is 5 December two years earlier.
            participants: as_of
                .checked_sub_months(Months::new(self.participant_months))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            feedback: days(self.feedback_days),
            audit: days(self.audit_days),
            messages: days(self.messages_days),
        }
    }
}

/// What a run removed, or with `dry_run` would remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    /// Participants anonymised.
    pub participants: u64,
    /// Feedback comments removed (their ratings stay).
    pub comments: u64,
    pub audit_events: u64,
    /// Outbox messages that were delivered, cancelled or given up.
    pub messages: u64,
    /// Message files under MAIL_OUTBOX_DIR.
    pub mail_files: u64,
}

impl Swept {
    fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// Everything a run needs besides the moment it runs for.
#[derive(Clone)]
pub struct Retention {
    pub db: DatabaseConnection,
    pub live: Live,
    pub policy: Policy,
    /// Where messages are written as files, if they are.
    pub mail_folder: Option<PathBuf>,
    /// Each anonymisation is logged there, as an erasure on request is.
    pub erasure_log: PathBuf,
}

/// The name of the job in `job_runs`.
pub const JOB: &str = "retention";

impl Retention {
    pub fn from_settings(settings: &Settings, db: DatabaseConnection, live: Live) -> Self {
        Self {
            db,
            live,
            policy: Policy::from(&settings.retention),
            mail_folder: settings.messages.file_folder(&settings.auth.data_dir),
            erasure_log: settings.erasure_log_path(),
        }
    }

    /// Removes what is due at `as_of`; with `dry_run`, only counts it.
    pub async fn run(&self, as_of: DateTime<Utc>, dry_run: bool) -> anyhow::Result<Swept> {
        let cut = self.policy.cutoffs(as_of);
        let swept = if dry_run {
            Swept {
                participants: participants_due(cut.participants).count(&self.db).await?,
                comments: feedback::Entity::find()
                    .filter(comments_due(cut.feedback))
                    .count(&self.db)
                    .await?,
                audit_events: audit_event::Entity::find()
                    .filter(audit_event::Column::OccurredAt.lt(cut.audit))
                    .count(&self.db)
                    .await?,
                messages: outbox_event::Entity::find()
                    .filter(messages_due(cut.messages))
                    .count(&self.db)
                    .await?,
                mail_files: self.mail_files(cut.messages, true).await?,
            }
        } else {
            Swept {
                participants: self.anonymise(cut.participants).await?,
                comments: self.remove_comments(cut.feedback).await?,
                audit_events: self.remove_audit_events(cut.audit).await?,
                messages: self.remove_messages(cut.messages).await?,
                mail_files: self.mail_files(cut.messages, false).await?,
            }
        };
        if !dry_run && swept.any() {
            tracing::info!(
                participants = swept.participants,
                comments = swept.comments,
                audit_events = swept.audit_events,
                messages = swept.messages,
                mail_files = swept.mail_files,
                "retention: removed what was kept long enough"
            );
            let details = serde_json::json!({ "removed": swept, "cutoffs": cut });
            audit::record_event(
                &self.db,
                &job_actor(),
                "retention",
                "Retention",
                &[],
                Some(details),
                Utc::now(),
            )
            .await?;
        }
        Ok(swept)
    }

    /// Anonymises, one transaction each, the participants whose last session ended before
    /// `cutoff`; each is logged in the erasure log once committed.
    async fn anonymise(&self, cutoff: DateTime<Utc>) -> anyhow::Result<u64> {
        let actor = job_actor();
        let mut done = 0;
        let mut after = Uuid::nil();
        loop {
            let batch: Vec<Uuid> = participants_due(cutoff)
                .select_only()
                .column(participant::Column::Id)
                .filter(participant::Column::Id.gt(after))
                .order_by_asc(participant::Column::Id)
                .limit(BATCH)
                .into_tuple()
                .all(&self.db)
                .await?;
            let Some(last) = batch.last() else {
                return Ok(done);
            };
            after = *last;
            for id in batch {
                let erasure = Erasure {
                    participant_id: id,
                    cause: Cause::Retention,
                    reason: format!("retention: no session since {}", cutoff.format("%Y-%m-%d")),
                    keep_consented_comment: true,
                };
                match log::erase_alone(&self.db, &self.live, &actor, &erasure).await {
                    Ok(_) => {
                        done += 1;
                        let entry = log::Entry {
                            participant_id: id,
                            cause: Cause::Retention,
                            erased_at: Utc::now(),
                        };
                        if let Err(error) = log::append(&self.erasure_log, &entry) {
                            tracing::error!(participant = %id, error = %error, "could not log an erasure");
                        }
                    }
                    // Erased meanwhile, by a request or another run.
                    Err(TxError::Refused(refusal))
                        if matches!(
                            refusal.code,
                            UserErrorCode::AlreadyErased | UserErrorCode::NotFound
                        ) => {}
                    Err(error) => anyhow::bail!("could not anonymise participant {id}: {error:?}"),
                }
            }
        }
    }

    async fn remove_comments(&self, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
        let (db, due) = (&self.db, &comments_due(cutoff));
        in_batches::<feedback::Entity>(db, feedback::Column::Id, due, move |batch| {
            Box::pin(async move {
                let cleared = feedback::Entity::update_many()
                    .col_expr(
                        feedback::Column::Comment,
                        Expr::value(Option::<String>::None),
                    )
                    .col_expr(feedback::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(feedback::Column::Id.is_in(batch))
                    .filter(due.clone())
                    .exec(db)
                    .await?;
                Ok(cleared.rows_affected)
            })
        })
        .await
    }

    async fn remove_audit_events(&self, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
        let db = &self.db;
        let due = &Condition::all().add(audit_event::Column::OccurredAt.lt(cutoff));
        in_batches::<audit_event::Entity>(db, audit_event::Column::Id, due, move |batch| {
            Box::pin(async move {
                let removed = audit_event::Entity::delete_many()
                    .filter(audit_event::Column::Id.is_in(batch))
                    .exec(db)
                    .await?;
                Ok(removed.rows_affected)
            })
        })
        .await
    }

    async fn remove_messages(&self, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
        let (db, due) = (&self.db, &messages_due(cutoff));
        in_batches::<outbox_event::Entity>(db, outbox_event::Column::Id, due, move |batch| {
            Box::pin(async move {
                // Checked again: a message retried meanwhile is pending, and stays.
                let removed = outbox_event::Entity::delete_many()
                    .filter(outbox_event::Column::Id.is_in(batch))
                    .filter(due.clone())
                    .exec(db)
                    .await?;
                Ok(removed.rows_affected)
            })
        })
        .await
    }

    /// Removes (or counts) the message files written before `cutoff`.
    async fn mail_files(&self, cutoff: DateTime<Utc>, dry_run: bool) -> std::io::Result<u64> {
        match &self.mail_folder {
            Some(folder) => files_written_before(folder, cutoff.into(), dry_run).await,
            None => Ok(0),
        }
    }
}

/// Hands the ids of the rows that are `due` to `apply`, a batch at a time, until none are left;
/// the rows `apply` changed, in all.
async fn in_batches<'a, E: EntityTrait>(
    db: &'a DatabaseConnection,
    id: E::Column,
    due: &'a Condition,
    apply: impl Fn(Vec<Uuid>) -> BoxFuture<'a, Result<u64, DbErr>>,
) -> Result<u64, DbErr> {
    let mut done = 0;
    loop {
        let batch: Vec<Uuid> = E::find()
            .select_only()
            .column(id)
            .filter(due.clone())
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        done += apply(batch).await?;
    }
}

/// Who the job is on the audit trail and in the enrolment history.
fn job_actor() -> Actor {
    Actor {
        id: "job:retention".into(),
        role: Role::Administrator,
    }
}

/// Participants not erased yet, known since before `cutoff`, without a session (booked,
/// waiting or cancelled) that ends after it.
fn participants_due(cutoff: DateTime<Utc>) -> sea_orm::Select<participant::Entity> {
    let recent = Query::select()
        .column((enrolment::Entity, enrolment::Column::ParticipantId))
        .from(enrolment::Entity)
        .inner_join(
            session::Entity,
            Expr::col((session::Entity, session::Column::Id))
                .equals((enrolment::Entity, enrolment::Column::SessionId)),
        )
        .and_where(Expr::col((session::Entity, session::Column::EndsAt)).gte(cutoff))
        .to_owned();
    participant::Entity::find()
        .filter(participant::Column::ErasedAt.is_null())
        .filter(participant::Column::CreatedAt.lt(cutoff))
        .filter(participant::Column::Id.not_in_subquery(recent))
}

/// Comments on sessions that ended before `cutoff` (or, for a comment on the course as a
/// whole, written before it), except published testimonials their writers consented to.
fn comments_due(cutoff: DateTime<Utc>) -> Condition {
    let ended = Query::select()
        .column(session::Column::Id)
        .from(session::Entity)
        .and_where(Expr::col(session::Column::EndsAt).lt(cutoff))
        .to_owned();
    let published = Condition::all()
        .add(feedback::Column::ConsentToPublish.eq(true))
        .add(feedback::Column::ModerationStatus.eq(ModerationStatus::Approved));
    Condition::all()
        .add(feedback::Column::Comment.is_not_null())
        .add(published.not())
        .add(
            Condition::any()
                .add(feedback::Column::SessionId.in_subquery(ended))
                .add(
                    Condition::all()
                        .add(feedback::Column::SessionId.is_null())
                        .add(feedback::Column::SubmittedAt.lt(cutoff)),
                ),
        )
}

/// Messages finished before `cutoff`: delivered then, or cancelled or given up on messages
/// made before it. Pending ones stay, however old: the dispatcher still owns them.
fn messages_due(cutoff: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(outbox_event::Column::Status.ne(OutboxStatus::Pending))
        .add(
            Condition::any()
                .add(outbox_event::Column::DeliveredAt.lt(cutoff))
                .add(
                    Condition::all()
                        .add(outbox_event::Column::DeliveredAt.is_null())
                        .add(outbox_event::Column::CreatedAt.lt(cutoff)),
                ),
        )
}

/// The `.eml` files in `folder` last written before `cutoff`, removed unless `dry_run`.
async fn files_written_before(
    folder: &Path,
    cutoff: SystemTime,
    dry_run: bool,
) -> std::io::Result<u64> {
    let mut entries = match tokio::fs::read_dir(folder).await {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut removed = 0;
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let written = entry.metadata().await?.modified()?;
        if written < cutoff {
            if !dry_run {
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => {}
                    // Removed meanwhile (an erasure, another process).
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error),
                }
            }
            removed += 1;
        }
    }
    Ok(removed)
}

/// Runs the job in this process whenever it is this process's turn: every process asks, the
/// database gives each turn to one. The first ask is a while after the start, not at it.
pub fn spawn(
    retention: Retention,
    every: std::time::Duration,
    shutdown: &crate::shutdown::Shutdown,
) {
    let Ok(turn) = Duration::from_std(every) else {
        return;
    };
    let shutdown = shutdown.clone();
    // Not a worker the stop waits for: a run is batches of transactions, and one cut off
    // between them leaves nothing half done; the next turn goes on from there.
    tokio::spawn(async move {
        let ask = every.min(std::time::Duration::from_secs(60));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + ask, ask);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.stopping() => return,
            }
            let now = Utc::now();
            match crate::db::job_runs::claim(&retention.db, JOB, now, turn).await {
                Ok(true) => {
                    if let Err(error) = retention.run(now, false).await {
                        tracing::warn!(error = %error, "the retention job failed; it runs again next turn");
                    }
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::debug!(error = %error, "could not ask whether retention is due")
                }
            }
        }
    });
}
