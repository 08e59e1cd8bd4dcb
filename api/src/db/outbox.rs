//! The transactional outbox: events written in the transaction of the change they tell about,
//! claimed by one dispatcher at a time, and finished as delivered, retried later, dead or
//! cancelled.
//!
//! A claim is a lease: the claiming dispatcher writes its token and a time until which the event
//! is its own. On PostgreSQL the claim skips rows another process is claiming at that moment
//! (`FOR UPDATE SKIP LOCKED`); on SQLite the write lock serialises claims. A dispatcher that dies
//! mid-delivery lets go when the lease ends; finishing is fenced by the token, so a dispatcher
//! whose lease was taken over cannot overwrite the new owner's result.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TryInsertResult,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query},
};
use uuid::Uuid;

use super::{
    change::Change,
    transaction::{self, TxError},
};
use crate::domain::{
    booking::{Refusal, UserErrorCode},
    pagination::OutboxCursor,
};
use entity::{enums::OutboxStatus, outbox_event};

/// An event to write: what happened, to which record, with the facts as JSON.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub topic: &'a str,
    pub aggregate_type: &'a str,
    pub aggregate_id: Uuid,
    pub payload: serde_json::Value,
    /// When to deliver it: now, or later for a scheduled message.
    pub deliver_at: DateTime<Utc>,
    /// Makes a scheduled message unique: a second event with the same key is not written.
    pub dedupe_key: Option<String>,
}

/// Rows per INSERT, and keys per IN list: well under the parameter limits of SQLite and
/// PostgreSQL.
pub const CHUNK: usize = 500;

/// Writes events in the caller's transaction; with a dedupe key, an event that exists already
/// is left as it is. Returns how many were written.
pub async fn add(
    db: &impl ConnectionTrait,
    events: Vec<NewEvent<'_>>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if events.is_empty() {
        return Ok(0);
    }
    let rows = events.into_iter().map(|event| outbox_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        topic: Set(event.topic.to_owned()),
        aggregate_type: Set(event.aggregate_type.to_owned()),
        aggregate_id: Set(event.aggregate_id),
        payload: Set(event.payload.to_string()),
        status: Set(OutboxStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(event.deliver_at),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
        claim_token: Set(None),
        claimed_until: Set(None),
        dedupe_key: Set(event.dedupe_key),
    });
    let rows: Vec<_> = rows.collect();
    let mut total = 0;
    // Bounded statements: databases limit the parameters of one.
    for chunk in rows.chunks(CHUNK) {
        let written = outbox_event::Entity::insert_many(chunk.to_vec())
            .on_conflict_do_nothing_on([outbox_event::Column::DedupeKey])
            .exec_without_returning(db)
            .await?;
        total += match written {
            TryInsertResult::Inserted(written) => written,
            TryInsertResult::Conflicted | TryInsertResult::Empty => 0,
        };
    }
    Ok(total)
}

/// Which events a dispatcher takes: e-mail (and everything else) or webhook deliveries, so that
/// neither kind waits behind the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topics {
    Mail,
    Webhooks,
}

impl Topics {
    fn condition(self) -> Condition {
        let webhook =
            outbox_event::Column::Topic.like(format!("{}%", crate::sync::webhooks::OUTBOX_PREFIX));
        match self {
            Self::Mail => Condition::all().add(webhook.not()),
            Self::Webhooks => Condition::all().add(webhook),
        }
    }
}

/// Claims up to `limit` events that are due, oldest first, for `lease`. An event waits while an
/// earlier event of the same record is still pending, so that people hear of changes in the
/// order they were made.
pub async fn claim(
    db: &DatabaseConnection,
    limit: u64,
    lease: chrono::Duration,
    topics: Topics,
) -> Result<Vec<outbox_event::Model>, TxError> {
    // A plain read first: an idle outbox costs no write lock (SQLite) or row locks.
    let due = outbox_event::Entity::find()
        .select_only()
        .column(outbox_event::Column::Id)
        .filter(due_condition(Utc::now()))
        .filter(topics.condition())
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    let token = Uuid::new_v4();
    transaction::write(db, move |txn| {
        Box::pin(async move {
            let now = Utc::now();
            let earlier =
                Query::select()
                    .expr(Expr::val(1))
                    .from_as(outbox_event::Entity, "earlier")
                    .and_where(
                        Expr::col(("earlier", outbox_event::Column::AggregateId))
                            .equals((outbox_event::Entity, outbox_event::Column::AggregateId)),
                    )
                    .and_where(
                        Expr::col(("earlier", outbox_event::Column::AggregateType))
                            .equals((outbox_event::Entity, outbox_event::Column::AggregateType)),
                    )
                    .and_where(
                        Expr::col(("earlier", outbox_event::Column::Status))
                            .eq(OutboxStatus::Pending.to_value()),
                    )
                    .and_where(Expr::col(("earlier", outbox_event::Column::CreatedAt)).lt(
                        Expr::col((outbox_event::Entity, outbox_event::Column::CreatedAt)),
                    ))
                    .to_owned();
            let due = Query::select()
                .column(outbox_event::Column::Id)
                .from(outbox_event::Entity)
                .cond_where(due_condition(now))
                .cond_where(topics.condition())
                .and_where(Expr::exists(earlier).not())
                .order_by(outbox_event::Column::NextAttemptAt, sea_orm::Order::Asc)
                .order_by(outbox_event::Column::CreatedAt, sea_orm::Order::Asc)
                .limit(limit)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .to_owned();
            outbox_event::Entity::update_many()
                .col_expr(outbox_event::Column::ClaimToken, Expr::val(token))
                .col_expr(outbox_event::Column::ClaimedUntil, Expr::val(now + lease))
                .col_expr(
                    outbox_event::Column::Attempts,
                    Expr::col(outbox_event::Column::Attempts).add(1),
                )
                .filter(outbox_event::Column::Id.in_subquery(due))
                // Checked again: on PostgreSQL the row may have changed since the subquery read it.
                .filter(due_condition(now))
                .exec(txn)
                .await?;
            Ok(outbox_event::Entity::find()
                .filter(outbox_event::Column::ClaimToken.eq(token))
                .filter(outbox_event::Column::Status.eq(OutboxStatus::Pending))
                .order_by_asc(outbox_event::Column::CreatedAt)
                .all(txn)
                .await?)
        })
    })
    .await
}

/// Pending, due, and claimed by nobody (or by a dispatcher whose lease ended).
fn due_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(outbox_event::Column::Status.eq(OutboxStatus::Pending))
        .add(outbox_event::Column::NextAttemptAt.lte(now))
        .add(
            Condition::any()
                .add(outbox_event::Column::ClaimedUntil.is_null())
                .add(outbox_event::Column::ClaimedUntil.lt(now)),
        )
}

/// How a claimed event ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Delivered,
    /// Try again at the given time.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Failed for good: an administrator may retry it.
    Dead {
        error: String,
    },
    /// Nothing to send any more (the enrolment was cancelled before its reminder, say).
    Obsolete {
        why: String,
    },
}

/// Records how a claimed event ended, if the claim is still the caller's. Returns whether it was.
pub async fn finish(
    db: &impl ConnectionTrait,
    event: &outbox_event::Model,
    finish: Finish,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let (status, next_attempt_at, error, delivered_at) = match finish {
        Finish::Delivered => (
            OutboxStatus::Delivered,
            event.next_attempt_at,
            None,
            Some(now),
        ),
        Finish::Retry { at, error } => (OutboxStatus::Pending, at, Some(error), None),
        Finish::Dead { error } => (OutboxStatus::Dead, event.next_attempt_at, Some(error), None),
        Finish::Obsolete { why } => (
            OutboxStatus::Cancelled,
            event.next_attempt_at,
            Some(why),
            None,
        ),
    };
    let Some(token) = event.claim_token else {
        return Ok(false);
    };
    let updated = outbox_event::Entity::update_many()
        .col_expr(outbox_event::Column::Status, Expr::val(status.to_value()))
        .col_expr(
            outbox_event::Column::NextAttemptAt,
            Expr::val(next_attempt_at),
        )
        .col_expr(outbox_event::Column::LastError, Expr::val(error))
        .col_expr(outbox_event::Column::DeliveredAt, Expr::val(delivered_at))
        .col_expr(outbox_event::Column::ClaimToken, Expr::val(None::<Uuid>))
        .col_expr(
            outbox_event::Column::ClaimedUntil,
            Expr::val(None::<DateTime<Utc>>),
        )
        .filter(outbox_event::Column::Id.eq(event.id))
        .filter(outbox_event::Column::ClaimToken.eq(token))
        .filter(outbox_event::Column::Status.eq(OutboxStatus::Pending))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// A dispatcher's view of whether it can work: while the database cannot be reached it pauses
/// (says so once, not at every poll) and resumes by itself when a claim succeeds again.
pub struct Paused {
    what: &'static str,
    since: Option<std::time::Instant>,
}

impl Paused {
    pub fn new(what: &'static str) -> Self {
        Self { what, since: None }
    }

    /// The events claimed, or none when the claim failed; logs pauses and resumptions.
    pub fn claimed(
        &mut self,
        result: Result<Vec<outbox_event::Model>, TxError>,
    ) -> Vec<outbox_event::Model> {
        match result {
            Ok(claimed) => {
                if let Some(since) = self.since.take() {
                    tracing::info!(
                        dispatcher = self.what,
                        paused_seconds = since.elapsed().as_secs(),
                        "the database answers again: the dispatcher resumes"
                    );
                }
                claimed
            }
            Err(TxError::Db(error)) if transaction::is_unreachable(&error) => {
                if self.since.is_none() {
                    tracing::warn!(
                        dispatcher = self.what,
                        "the database cannot be reached: the dispatcher pauses"
                    );
                    self.since = Some(std::time::Instant::now());
                }
                Vec::new()
            }
            Err(error) => {
                tracing::warn!(dispatcher = self.what, error = %error, "could not claim outbox events");
                Vec::new()
            }
        }
    }
}

/// Gives back the events of a claim that were not attempted to the end (the process is stopping):
/// due again at once for any dispatcher, and the attempt the claim counted is not counted.
pub async fn hand_back(db: &impl ConnectionTrait, token: Uuid) -> Result<u64, DbErr> {
    let handed = outbox_event::Entity::update_many()
        .col_expr(outbox_event::Column::ClaimToken, Expr::val(None::<Uuid>))
        .col_expr(
            outbox_event::Column::ClaimedUntil,
            Expr::val(None::<DateTime<Utc>>),
        )
        .col_expr(
            outbox_event::Column::Attempts,
            Expr::col(outbox_event::Column::Attempts).sub(1),
        )
        .filter(outbox_event::Column::ClaimToken.eq(token))
        .filter(outbox_event::Column::Status.eq(OutboxStatus::Pending))
        .exec(db)
        .await?;
    Ok(handed.rows_affected)
}

/// Delivers a claimed batch with `deliver`, unless the process stops: when its grace period
/// ends first, what is left of the batch is handed back. Returns whether it was.
pub async fn deliver_or_hand_back<F, Fut>(
    db: &DatabaseConnection,
    claimed: Vec<outbox_event::Model>,
    concurrency: usize,
    shutdown: &crate::shutdown::Shutdown,
    deliver: F,
) -> bool
where
    F: FnMut(outbox_event::Model) -> Fut,
    Fut: Future<Output = ()>,
{
    use futures_util::StreamExt;
    let token = claimed.first().and_then(|event| event.claim_token);
    let delivering = futures_util::stream::iter(claimed).for_each_concurrent(concurrency, deliver);
    tokio::select! {
        () = delivering => false,
        () = shutdown.overdue() => {
            if let Some(token) = token {
                match hand_back(db, token).await {
                    Ok(handed) => tracing::info!(handed, "handed claimed outbox events back"),
                    Err(error) => tracing::warn!(error = %error, "could not hand outbox events back; their lease frees them"),
                }
            }
            true
        }
    }
}

/// What administrators filter the outbox by.
#[derive(Debug, Default, Clone)]
pub struct OutboxFilter {
    pub statuses: Vec<OutboxStatus>,
    pub topic: Option<String>,
    pub aggregate_id: Option<Uuid>,
}

/// Events, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &OutboxFilter,
    after: Option<OutboxCursor>,
    limit: u64,
) -> Result<Vec<outbox_event::Model>, DbErr> {
    let mut condition = Condition::all();
    if !filter.statuses.is_empty() {
        condition = condition.add(outbox_event::Column::Status.is_in(filter.statuses.clone()));
    }
    if let Some(topic) = &filter.topic {
        condition = condition.add(outbox_event::Column::Topic.eq(topic.as_str()));
    }
    if let Some(aggregate) = filter.aggregate_id {
        condition = condition.add(outbox_event::Column::AggregateId.eq(aggregate));
    }
    if let Some(OutboxCursor { created_at, id }) = after {
        condition = condition.add(
            Condition::any()
                .add(outbox_event::Column::CreatedAt.lt(created_at))
                .add(
                    Condition::all()
                        .add(outbox_event::Column::CreatedAt.eq(created_at))
                        .add(outbox_event::Column::Id.lt(id)),
                ),
        );
    }
    outbox_event::Entity::find()
        .filter(condition)
        .order_by_desc(outbox_event::Column::CreatedAt)
        .order_by_desc(outbox_event::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// What an administrator does with an event that has not been delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intervention {
    /// Deliver it now, with a fresh count of attempts.
    Retry,
    /// Never deliver it.
    Cancel,
}

/// Retries or cancels an event that was not delivered; a delivered event stays as it is, and
/// one a dispatcher is sending at this moment is left to it.
pub async fn intervene(
    change: &Change<'_>,
    id: Uuid,
    intervention: Intervention,
) -> Result<super::change::Outcome, TxError> {
    let event = outbox_event::Entity::find_by_id(id)
        .lock_exclusive()
        .one(change.txn)
        .await?
        .ok_or_else(|| Refusal::not_found("outbox event", "input.id"))?;
    if event.status == OutboxStatus::Delivered {
        return Err(Refusal::new(
            UserErrorCode::AlreadyDelivered,
            "the message went out already",
        )
        .at("input.id")
        .into());
    }
    if event.status == OutboxStatus::Pending
        && event.claimed_until.is_some_and(|until| until > change.now)
    {
        return Err(Refusal::new(
            UserErrorCode::BeingSent,
            "the message is being sent at this moment; look again in a minute",
        )
        .at("input.id")
        .into());
    }
    let mut update = outbox_event::ActiveModel {
        id: Set(id),
        claim_token: Set(None),
        claimed_until: Set(None),
        ..Default::default()
    };
    match intervention {
        Intervention::Retry => {
            update.status = Set(OutboxStatus::Pending);
            update.attempts = Set(0);
            update.next_attempt_at = Set(change.now);
        }
        Intervention::Cancel => update.status = Set(OutboxStatus::Cancelled),
    }
    outbox_event::Entity::update(update)
        .exec(change.txn)
        .await?;
    let action = match intervention {
        Intervention::Retry => "retryOutboxEvent",
        Intervention::Cancel => "cancelOutboxEvent",
    };
    change.audit_change(action, "OutboxEvent", &[id]).await?;
    Ok(super::change::Outcome::for_record(id))
}

/// The events about enrolments of people erased since `since` (see `db::erasure`).
pub async fn about_erased_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    use sea_orm::FromQueryResult;
    #[derive(FromQueryResult)]
    struct Row {
        id: Uuid,
    }
    let rows = Row::find_by_statement(super::statement(
        db,
        "SELECT o.id AS id FROM outbox_events o \
         JOIN enrolments e ON e.id = o.aggregate_id \
         JOIN erasures x ON x.participant_id = e.participant_id \
         WHERE o.aggregate_type = 'Enrolment' AND x.erased_at >= $1",
        vec![since.into()],
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
