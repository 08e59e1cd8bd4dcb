//! Role-play actors: their profiles, availability and assignments to sessions.
//!
//! Assigning locks the actor's row first, so two assignments of one actor (from two
//! coordinators, on two servers) happen one after the other and the second sees the first: an
//! actor is never booked for two sessions that overlap, nor outside their availability.

use chrono::{DateTime, Utc};
use entity::{actor, actor_availability, enums::SessionStatus, session, session_actor};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, SqlErr,
    sea_query::{Expr, Query},
};
use uuid::Uuid;

use super::{
    change::{Change, Outcome, update_and_read},
    transaction::TxError,
};
use crate::{
    domain::booking::{Refusal, UserErrorCode},
    live::Live,
};

#[derive(Debug, Clone)]
pub struct ActorDetails {
    pub full_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub profile: Option<String>,
    pub scenarios: Vec<String>,
    pub playable_roles: Vec<String>,
    pub active: bool,
}

/// A period in which an actor can play.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

fn conflict(message: impl Into<String>) -> TxError {
    Refusal::new(UserErrorCode::Conflict, message).into()
}

/// Locks an actor for this transaction.
async fn lock_actor(change: &Change<'_>, id: Uuid) -> Result<actor::Model, TxError> {
    let lock = actor::Entity::update_many()
        .col_expr(actor::Column::UpdatedAt, Expr::value(change.now))
        .filter(actor::Column::Id.eq(id));
    update_and_read(change.txn, lock, id)
        .await?
        .ok_or_else(|| Refusal::not_found("actor", "input.actorId").into())
}

/// Creates an actor or replaces their details.
pub async fn save_actor(
    change: Change<'_>,
    live: &Live,
    existing: Option<Uuid>,
    details: &ActorDetails,
) -> Result<Outcome, TxError> {
    let id = match existing {
        Some(id) => lock_actor(&change, id).await?.id,
        None => Uuid::new_v4(),
    };
    let json = |items: &[String]| serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
    let model = actor::ActiveModel {
        id: Set(id),
        full_name: Set(details.full_name.clone()),
        email: Set(details.email.clone()),
        phone: Set(details.phone.clone()),
        profile: Set(details.profile.clone()),
        is_active: Set(details.active),
        scenarios: Set(json(&details.scenarios)),
        playable_roles: Set(json(&details.playable_roles)),
        updated_at: Set(change.now),
        ..Default::default()
    };
    if existing.is_some() {
        actor::Entity::update(model).exec(change.txn).await?;
    } else {
        actor::Entity::insert(actor::ActiveModel {
            created_at: Set(change.now),
            ..model
        })
        .exec_without_returning(change.txn)
        .await?;
    }
    let action = if existing.is_some() {
        "updateActor"
    } else {
        "createActor"
    };
    change.audit_change(action, "Actor", &[id]).await?;
    change.finish(live, Outcome::for_record(id)).await
}

/// Replaces an actor's availability with these periods.
pub async fn set_availability(
    change: Change<'_>,
    live: &Live,
    actor_id: Uuid,
    periods: &[Period],
) -> Result<Outcome, TxError> {
    lock_actor(&change, actor_id).await?;
    actor_availability::Entity::delete_many()
        .filter(actor_availability::Column::ActorId.eq(actor_id))
        .exec(change.txn)
        .await?;
    if !periods.is_empty() {
        actor_availability::Entity::insert_many(periods.iter().map(|period| {
            actor_availability::ActiveModel {
                id: Set(Uuid::new_v4()),
                actor_id: Set(actor_id),
                starts_at: Set(period.starts_at),
                ends_at: Set(period.ends_at),
                created_at: Set(change.now),
            }
        }))
        .exec_without_returning(change.txn)
        .await?;
    }
    change
        .audit_change("setActorAvailability", "Actor", &[actor_id])
        .await?;
    change.finish(live, Outcome::for_record(actor_id)).await
}

/// Assigns an actor to a session, with their role in the exercise.
pub async fn assign_actor(
    change: Change<'_>,
    live: &Live,
    session_id: Uuid,
    actor_id: Uuid,
    exercise_role: Option<&str>,
) -> Result<Outcome, TxError> {
    let actor = lock_actor(&change, actor_id).await?;
    let Some(session) = session::Entity::find_by_id(session_id)
        .one(change.txn)
        .await?
    else {
        return Err(Refusal::not_found("session", "input.sessionId").into());
    };
    if session.status == SessionStatus::Cancelled {
        return Err(Refusal::new(
            UserErrorCode::SessionCancelled,
            "this session was cancelled",
        )
        .into());
    }
    if change.now >= session.starts_at {
        return Err(Refusal::new(UserErrorCode::SessionStarted, "this session has started").into());
    }
    if !actor.is_active {
        return Err(conflict("this actor is not active"));
    }
    check_free(
        &change,
        actor_id,
        session.id,
        session.starts_at,
        session.ends_at,
        false,
    )
    .await?;
    let id = Uuid::new_v4();
    session_actor::Entity::insert(session_actor::ActiveModel {
        id: Set(id),
        session_id: Set(session.id),
        actor_id: Set(actor_id),
        exercise_role: Set(exercise_role.map(str::to_owned)),
        created_at: Set(change.now),
        updated_at: Set(change.now),
    })
    .exec_without_returning(change.txn)
    .await
    .map_err(|error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            conflict("the actor is already assigned to this session")
        }
        _ => TxError::from(error),
    })?;
    change
        .audit_change("assignActor", "Session", &[session.id, actor_id])
        .await?;
    change.finish(live, Outcome::for_record(session.id)).await
}

/// Whether an actor can play in a session at these times: within one of their availability
/// periods, and in no other (not cancelled) session overlapping them. The caller holds the
/// actor's lock.
async fn check_free(
    change: &Change<'_>,
    actor_id: Uuid,
    session_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    rescheduling: bool,
) -> Result<(), TxError> {
    let available = actor_availability::Entity::find()
        .filter(actor_availability::Column::ActorId.eq(actor_id))
        .filter(actor_availability::Column::StartsAt.lte(starts_at))
        .filter(actor_availability::Column::EndsAt.gte(ends_at))
        .one(change.txn)
        .await?;
    if available.is_none() {
        return Err(conflict(
            "the session falls outside the actor's availability",
        ));
    }
    let overlapping = session_actor::Entity::find()
        .filter(session_actor::Column::ActorId.eq(actor_id))
        .filter(
            session_actor::Column::SessionId.in_subquery(
                Query::select()
                    .column(session::Column::Id)
                    .from(session::Entity)
                    .and_where(session::Column::Status.ne(SessionStatus::Cancelled))
                    .and_where(session::Column::StartsAt.lt(ends_at))
                    .and_where(session::Column::EndsAt.gt(starts_at))
                    .to_owned(),
            ),
        )
        .all(change.txn)
        .await?;
    // When the session itself moves, its own assignment does not count against the new times.
    if !rescheduling
        && overlapping
            .iter()
            .any(|other| other.session_id == session_id)
    {
        return Err(conflict("the actor is already assigned to this session"));
    }
    if overlapping
        .iter()
        .any(|other| other.session_id != session_id)
    {
        return Err(conflict("the actor plays in another session at that time"));
    }
    Ok(())
}

/// Before a session moves to other times: every actor in it must still be free then. Locks
/// those actors (in id order), so no assignment slips in meanwhile.
pub(super) async fn check_actors_free_at(
    change: &Change<'_>,
    session_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<(), TxError> {
    let mut actors: Vec<Uuid> = session_actor::Entity::find()
        .filter(session_actor::Column::SessionId.eq(session_id))
        .all(change.txn)
        .await?
        .into_iter()
        .map(|row| row.actor_id)
        .collect();
    actors.sort();
    for actor_id in actors {
        lock_actor(change, actor_id).await?;
        check_free(change, actor_id, session_id, starts_at, ends_at, true).await?;
    }
    Ok(())
}

/// Takes an actor off a session.
pub async fn unassign_actor(
    change: Change<'_>,
    live: &Live,
    session_id: Uuid,
    actor_id: Uuid,
) -> Result<Outcome, TxError> {
    lock_actor(&change, actor_id).await?;
    let removed = session_actor::Entity::delete_many()
        .filter(session_actor::Column::SessionId.eq(session_id))
        .filter(session_actor::Column::ActorId.eq(actor_id))
        .exec(change.txn)
        .await?;
    if removed.rows_affected == 0 {
        return Err(Refusal::not_found("assignment", "input.actorId").into());
    }
    change
        .audit_change("unassignActor", "Session", &[session_id, actor_id])
        .await?;
    change.finish(live, Outcome::for_record(session_id)).await
}

pub async fn find_actors_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<actor::Model>, DbErr> {
    actor::Entity::find()
        .filter(actor::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Every actor, by name; with `active`, only those (in)active.
pub async fn list_actors(
    db: &impl ConnectionTrait,
    active: Option<bool>,
) -> Result<Vec<actor::Model>, DbErr> {
    let mut query = actor::Entity::find().order_by_asc(actor::Column::FullName);
    if let Some(active) = active {
        query = query.filter(actor::Column::IsActive.eq(active));
    }
    query.all(db).await
}

pub async fn availability_of(
    db: &impl ConnectionTrait,
    actor_ids: &[Uuid],
) -> Result<Vec<actor_availability::Model>, DbErr> {
    actor_availability::Entity::find()
        .filter(actor_availability::Column::ActorId.is_in(actor_ids.iter().copied()))
        .order_by_asc(actor_availability::Column::StartsAt)
        .all(db)
        .await
}

/// The assignments of these sessions, or of these actors, as (assignment, session) pairs in
/// the sessions' order.
pub async fn assignments(
    db: &impl ConnectionTrait,
    session_ids: &[Uuid],
    actor_ids: &[Uuid],
) -> Result<Vec<(session_actor::Model, session::Model)>, DbErr> {
    let rows = session_actor::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(session_actor::Column::SessionId.is_in(session_ids.iter().copied()))
                .add(session_actor::Column::ActorId.is_in(actor_ids.iter().copied())),
        )
        .all(db)
        .await?;
    let sessions = session::Entity::find()
        .filter(session::Column::Id.is_in(rows.iter().map(|r| r.session_id)))
        .all(db)
        .await?;
    let mut pairs: Vec<_> = rows
        .into_iter()
        .filter_map(|row| {
            let session = sessions.iter().find(|s| s.id == row.session_id)?.clone();
            Some((row, session))
        })
        .collect();
    pairs.sort_by_key(|(row, session)| (session.starts_at, session.id, row.actor_id));
    Ok(pairs)
}
