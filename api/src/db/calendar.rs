//! Calendar links: a secret URL per participant or actor that calendar programs subscribe to.
//! Only a hash of the secret is stored; issuing a new link revokes the owner's earlier ones, and
//! a revoked link answers nothing.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    change::{Change, Outcome},
    transaction::TxError,
};
use crate::{
    domain::booking::Refusal,
    messages::{
        calendar::{self, Entry},
        notice::{SessionFacts, calendar_entry, revision_of},
    },
};
use entity::{
    actor, calendar_link, course, enrolment,
    enums::{CalendarOwner, EnrolmentStatus, SessionStatus},
    location, organisation, participant, session, session_actor,
};

/// Whose sessions a link shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Participant(Uuid),
    Actor(Uuid),
}

impl Owner {
    fn condition(self) -> Condition {
        match self {
            Owner::Participant(id) => {
                Condition::all().add(calendar_link::Column::ParticipantId.eq(id))
            }
            Owner::Actor(id) => Condition::all().add(calendar_link::Column::ActorId.eq(id)),
        }
    }

    pub fn of(link: &calendar_link::Model) -> Option<Self> {
        match (link.owner_type, link.participant_id, link.actor_id) {
            (CalendarOwner::Participant, Some(id), _) => Some(Owner::Participant(id)),
            (CalendarOwner::Actor, _, Some(id)) => Some(Owner::Actor(id)),
            _ => None,
        }
    }
}

/// Feeds show what lies ahead and the recent past.
const PAST_DAYS: i64 = 90;
/// Writing "last used" on every poll of a calendar program would be a write per poll.
const TOUCH_AFTER_MINUTES: i64 = 60;

/// Issues a link for `owner` with the secret's hash, revoking the owner's earlier links.
pub async fn issue(
    change: &Change<'_>,
    owner: Owner,
    secret_hash: &str,
) -> Result<Outcome, TxError> {
    let exists = match owner {
        Owner::Participant(id) => participant::Entity::find_by_id(id)
            .one(change.txn)
            .await?
            .is_some(),
        Owner::Actor(id) => actor::Entity::find_by_id(id)
            .one(change.txn)
            .await?
            .is_some(),
    };
    if !exists {
        let field = match owner {
            Owner::Participant(_) => "participant",
            Owner::Actor(_) => "input.actorId",
        };
        return Err(Refusal::not_found("owner", field).into());
    }
    calendar_link::Entity::update_many()
        .col_expr(calendar_link::Column::RevokedAt, Expr::val(change.now))
        .filter(owner.condition())
        .filter(calendar_link::Column::RevokedAt.is_null())
        .exec(change.txn)
        .await?;
    let id = Uuid::new_v4();
    let (owner_type, participant_id, actor_id) = match owner {
        Owner::Participant(p) => (CalendarOwner::Participant, Some(p), None),
        Owner::Actor(a) => (CalendarOwner::Actor, None, Some(a)),
    };
    calendar_link::Entity::insert(calendar_link::ActiveModel {
        id: Set(id),
        secret_hash: Set(secret_hash.to_owned()),
        owner_type: Set(owner_type),
        participant_id: Set(participant_id),
        actor_id: Set(actor_id),
        created_at: Set(change.now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_without_returning(change.txn)
    .await?;
    change
        .audit_change("createCalendarLink", "CalendarLink", &[id])
        .await?;
    Ok(Outcome::for_record(id))
}

/// Revokes a link, if `allowed` says the caller may.
pub async fn revoke(
    change: &Change<'_>,
    id: Uuid,
    allowed: impl Fn(Owner) -> bool + Send,
) -> Result<Outcome, TxError> {
    let link = calendar_link::Entity::find_by_id(id)
        .one(change.txn)
        .await?
        .filter(|link| Owner::of(link).is_some_and(&allowed))
        .ok_or_else(|| Refusal::not_found("calendar link", "input.id"))?;
    if link.revoked_at.is_none() {
        calendar_link::Entity::update_many()
            .col_expr(calendar_link::Column::RevokedAt, Expr::val(change.now))
            .filter(calendar_link::Column::Id.eq(id))
            .exec(change.txn)
            .await?;
    }
    change
        .audit_change("revokeCalendarLink", "CalendarLink", &[id])
        .await?;
    Ok(Outcome::for_record(id))
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<calendar_link::Model>, DbErr> {
    calendar_link::Entity::find_by_id(id).one(db).await
}

/// The owner's link in use, if any.
pub async fn active(
    db: &impl ConnectionTrait,
    owner: Owner,
) -> Result<Option<calendar_link::Model>, DbErr> {
    calendar_link::Entity::find()
        .filter(owner.condition())
        .filter(calendar_link::Column::RevokedAt.is_null())
        .order_by_desc(calendar_link::Column::CreatedAt)
        .one(db)
        .await
}

/// The link a secret opens, if it is valid; notes its use now and then.
pub async fn open(
    db: &impl ConnectionTrait,
    secret_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<calendar_link::Model>, DbErr> {
    let Some(link) = calendar_link::Entity::find()
        .filter(calendar_link::Column::SecretHash.eq(secret_hash))
        .filter(calendar_link::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let stale = link
        .last_used_at
        .is_none_or(|used| now - used > Duration::minutes(TOUCH_AFTER_MINUTES));
    if stale {
        // Only a note: a busy database must not keep anyone from their calendar.
        let touched = calendar_link::Entity::update_many()
            .col_expr(calendar_link::Column::LastUsedAt, Expr::val(now))
            .filter(calendar_link::Column::Id.eq(link.id))
            .exec(db)
            .await;
        if let Err(error) = touched {
            tracing::debug!(error = %error, "could not note a calendar link's use");
        }
    }
    Ok(Some(link))
}

/// The entries of an owner's feed: a participant's seats, an actor's parts.
pub async fn entries(
    db: &impl ConnectionTrait,
    owner: Owner,
    now: DateTime<Utc>,
) -> Result<(String, Vec<Entry>), DbErr> {
    let since = now - Duration::days(PAST_DAYS);
    match owner {
        Owner::Participant(id) => participant_entries(db, id, since).await,
        Owner::Actor(id) => actor_entries(db, id, since).await,
    }
}

async fn participant_entries(
    db: &impl ConnectionTrait,
    participant_id: Uuid,
    since: DateTime<Utc>,
) -> Result<(String, Vec<Entry>), DbErr> {
    let seats = enrolment::Entity::find()
        .filter(enrolment::Column::ParticipantId.eq(participant_id))
        .filter(enrolment::Column::Status.is_in(EnrolmentStatus::SEATED))
        .all(db)
        .await?;
    let sessions = Sessions::load(db, seats.iter().map(|s| s.session_id), since).await?;
    let revisions = revision_of(db, seats.iter().map(|s| s.id)).await?;
    let entries = seats
        .iter()
        .filter_map(|seat| {
            let facts = sessions.facts(seat.session_id)?;
            let sequence = revisions.get(&seat.id).copied().unwrap_or(0);
            Some(calendar_entry(
                calendar::enrolment_uid(seat.id),
                &facts,
                None,
                // Who attends is left out: a link that leaked should tell as little as it can.
                None,
                sequence,
            ))
        })
        .collect();
    Ok(("Mijn trainingen".into(), entries))
}

async fn actor_entries(
    db: &impl ConnectionTrait,
    actor_id: Uuid,
    since: DateTime<Utc>,
) -> Result<(String, Vec<Entry>), DbErr> {
    let parts = session_actor::Entity::find()
        .filter(session_actor::Column::ActorId.eq(actor_id))
        .all(db)
        .await?;
    let sessions = Sessions::load(db, parts.iter().map(|p| p.session_id), since).await?;
    let entries = parts
        .iter()
        .filter_map(|part| {
            let facts = sessions.facts(part.session_id)?;
            let role = match &part.exercise_role {
                Some(role) => format!("acteur: {role}"),
                None => "acteur".into(),
            };
            Some(calendar_entry(
                calendar::actor_uid(part.session_id, actor_id),
                &facts,
                Some(role),
                None,
                calendar::sequence_at(facts.session.updated_at.max(part.updated_at)),
            ))
        })
        .collect();
    Ok(("Trainingen (acteur)".into(), entries))
}

/// Scheduled sessions with their course, provider and location, read in four statements.
struct Sessions {
    sessions: HashMap<Uuid, session::Model>,
    courses: HashMap<Uuid, course::Model>,
    providers: HashMap<Uuid, organisation::Model>,
    locations: HashMap<Uuid, location::Model>,
}

impl Sessions {
    async fn load(
        db: &impl ConnectionTrait,
        ids: impl Iterator<Item = Uuid>,
        since: DateTime<Utc>,
    ) -> Result<Self, DbErr> {
        let ids: Vec<Uuid> = ids.collect();
        let sessions: HashMap<Uuid, session::Model> = if ids.is_empty() {
            HashMap::new()
        } else {
            session::Entity::find()
                .filter(session::Column::Id.is_in(ids))
                .filter(session::Column::Status.eq(SessionStatus::Scheduled))
                .filter(session::Column::StartsAt.gte(since))
                .order_by_asc(session::Column::StartsAt)
                .limit(1000)
                .all(db)
                .await?
                .into_iter()
                .map(|s| (s.id, s))
                .collect()
        };
        let course_ids: Vec<Uuid> = sessions.values().map(|s| s.course_id).collect();
        let courses: HashMap<Uuid, course::Model> = by_id(
            course::Entity::find()
                .filter(course::Column::Id.is_in(course_ids))
                .all(db)
                .await?,
            |c| c.id,
        );
        let provider_ids: Vec<Uuid> = courses.values().map(|c| c.provider_id).collect();
        let providers = by_id(
            organisation::Entity::find()
                .filter(organisation::Column::Id.is_in(provider_ids))
                .all(db)
                .await?,
            |o| o.id,
        );
        let location_ids: Vec<Uuid> = sessions.values().filter_map(|s| s.location_id).collect();
        let locations = by_id(
            location::Entity::find()
                .filter(location::Column::Id.is_in(location_ids))
                .all(db)
                .await?,
            |l| l.id,
        );
        Ok(Self {
            sessions,
            courses,
            providers,
            locations,
        })
    }

    fn facts(&self, session: Uuid) -> Option<SessionFacts<'_>> {
        let session = self.sessions.get(&session)?;
        let course = self.courses.get(&session.course_id)?;
        Some(SessionFacts {
            session,
            course,
            provider: self.providers.get(&course.provider_id)?,
            location: session.location_id.and_then(|id| self.locations.get(&id)),
        })
    }
}

fn by_id<M>(models: Vec<M>, id: impl Fn(&M) -> Uuid) -> HashMap<Uuid, M> {
    models.into_iter().map(|m| (id(&m), m)).collect()
}
