//! Enrolments as a source system sends them: its participant (by the source's id), a session,
//! and whether the source wants it active or cancelled. A new enrolment is booked, and a
//! cancelled one cancelled, through `db::booking` as any booking is (capacity, the waiting list,
//! eligibility, the booking window, the session's lock), so a sync racing people who book the
//! same session is judged by the same rules in the same order.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{
    enrolment,
    enums::{EnrolmentStatus, SessionStatus},
    session,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{
    external_ids::{self, AssignError, RecordType, Source},
    upsert::{Item, ItemOutcome, SyncAction},
};
use crate::{
    db::{
        booking::{self, BookRequest, Booker, CancelledBy},
        change::Change,
        people,
        transaction::TxError,
    },
    domain::{
        booking::{Refusal, UserErrorCode},
        input,
    },
};

/// What the source wants of an enrolment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WantedStatus {
    /// Booked: a seat, or a place on the waiting list when the session is full.
    Active,
    Cancelled,
}

/// The session an item names: by id, or by the id the source knows it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRef {
    Id(Uuid),
    External(String),
}

/// One enrolment as the source describes it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedEnrolment {
    pub external_id: String,
    pub participant_external_id: String,
    pub session: SessionRef,
    pub status: WantedStatus,
    pub reason: Option<String>,
}

/// The reason a cancellation by sync carries when the source gives none.
const SYNC_REASON: &str = "geannuleerd in het bronsysteem";

pub fn check_ids(
    index: usize,
    external_id: &str,
    participant_external_id: &str,
) -> Result<(String, String), Refusal> {
    let field = |name: &str| format!("items.{index}.{name}");
    Ok((
        input::required(
            external_id,
            &field("externalId"),
            external_ids::MAX_EXTERNAL_ID,
            false,
        )?,
        input::required(
            participant_external_id,
            &field("participantExternalId"),
            external_ids::MAX_EXTERNAL_ID,
            false,
        )?,
    ))
}

/// Enrolments a snapshot leaves out, to be cancelled.
pub struct Snapshot {
    /// The session, or every session of the course, whose enrolments the batch lists in full.
    pub sessions: Vec<Uuid>,
    /// Share of the source's active enrolments there that may be cancelled without `force`.
    pub max_cancel_share: f64,
    pub force: bool,
}

/// Plans a batch: every item looked up at once; `UNCHANGED` where the enrolment already stands
/// as the source wants it, work for the rest; with a snapshot, cancellations of what it leaves
/// out, or a refusal of the whole batch when that is more than its guard allows.
pub async fn plan(
    db: &impl ConnectionTrait,
    source: &Source,
    items: Vec<Result<SyncedEnrolment, Refusal>>,
    snapshot: Option<Snapshot>,
) -> Result<Result<Vec<Item>, Refusal>, DbErr> {
    let checked: Vec<&SyncedEnrolment> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
    let participant_ids: Vec<&str> = checked
        .iter()
        .map(|i| i.participant_external_id.as_str())
        .collect();
    let participants =
        external_ids::find_records(db, source, RecordType::Participant, &participant_ids).await?;
    let enrolment_ids: Vec<&str> = checked.iter().map(|i| i.external_id.as_str()).collect();
    let known =
        external_ids::find_records(db, source, RecordType::Enrolment, &enrolment_ids).await?;
    let session_ids: Vec<&str> = checked
        .iter()
        .filter_map(|i| match &i.session {
            SessionRef::External(id) => Some(id.as_str()),
            SessionRef::Id(_) => None,
        })
        .collect();
    let sessions_by_external =
        external_ids::find_records(db, source, RecordType::Session, &session_ids).await?;
    let known_ids: Vec<Uuid> = known.values().copied().collect();
    let mut enrolments: HashMap<Uuid, enrolment::Model> = HashMap::new();
    for chunk in known_ids.chunks(500) {
        for row in people::find_enrolments_by_ids(db, chunk).await? {
            enrolments.insert(row.id, row);
        }
    }
    // Enrolments the participants hold already (booked by the service desk, say).
    let holders: Vec<Uuid> = participants.values().copied().collect();
    let mut held: HashMap<(Uuid, Uuid), enrolment::Model> = HashMap::new();
    for chunk in holders.chunks(500) {
        for row in people::find_enrolments_of(db, &[], chunk).await? {
            if matches!(
                row.status,
                EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted
            ) {
                held.insert((row.participant_id, row.session_id), row);
            }
        }
    }

    let mut seen = HashSet::new();
    let mut pairs = HashSet::new();
    let mut listed: HashSet<Uuid> = HashSet::new();
    let mut planned = Vec::with_capacity(items.len() + 8);
    for (index, item) in items.into_iter().enumerate() {
        let field = |name: &str| format!("items.{index}.{name}");
        let wanted = match item {
            Ok(wanted) => wanted,
            Err(refusal) => {
                planned.push(Item::Answered(ItemOutcome::rejected(refusal)));
                continue;
            }
        };
        if !seen.insert(wanted.external_id.clone()) {
            planned.push(rejected(
                UserErrorCode::DuplicateInBatch,
                "an earlier item of this batch has this external id",
                &field("externalId"),
            ));
            continue;
        }
        let Some(participant) = participants.get(&wanted.participant_external_id).copied() else {
            planned.push(rejected(
                UserErrorCode::NotFound,
                "the source knows no participant by this id; sync the participant first",
                &field("participantExternalId"),
            ));
            continue;
        };
        let session_id = match &wanted.session {
            SessionRef::Id(id) => *id,
            SessionRef::External(id) => match sessions_by_external.get(id) {
                Some(id) => *id,
                None => {
                    planned.push(rejected(
                        UserErrorCode::NotFound,
                        "the source knows no session by this id",
                        &field("sessionExternalId"),
                    ));
                    continue;
                }
            },
        };
        if !pairs.insert((participant, session_id)) {
            planned.push(rejected(
                UserErrorCode::Conflict,
                "an earlier item of this batch enrols this participant in this session",
                &field("externalId"),
            ));
            continue;
        }
        let existing = known
            .get(&wanted.external_id)
            .and_then(|id| enrolments.get(id))
            .cloned();
        if let Some(existing) = &existing {
            listed.insert(existing.id);
        }
        let item = match (existing, wanted.status) {
            (Some(existing), _) if existing.session_id != session_id => rejected(
                UserErrorCode::Conflict,
                "this enrolment is in another session; cancel it and enrol under a new id",
                &field("sessionId"),
            ),
            (Some(existing), WantedStatus::Active) if is_active(&existing) => {
                answered(SyncAction::Unchanged, &existing)
            }
            (Some(existing), WantedStatus::Cancelled) if !is_active(&existing) => {
                answered(SyncAction::Unchanged, &existing)
            }
            (Some(existing), WantedStatus::Cancelled) => {
                cancel(index, existing.id, wanted.reason.clone())
            }
            // Cancelled before, wanted again: a new booking takes over the source's id.
            (Some(_), WantedStatus::Active) => {
                book(index, participant, session_id, &wanted, source, true)
            }
            (None, WantedStatus::Cancelled) => Item::Answered(ItemOutcome::unchanged()),
            (None, WantedStatus::Active) => match held.get(&(participant, session_id)) {
                // Booked before the source knew of it: the source's id is given to it.
                Some(current) => {
                    listed.insert(current.id);
                    adopt(index, current.id, &wanted, source)
                }
                None => book(index, participant, session_id, &wanted, source, false),
            },
        };
        planned.push(item);
    }

    if let Some(snapshot) = snapshot {
        let left_out = left_out(db, source, &snapshot.sessions, &listed).await?;
        let active = scope_active(db, source, &snapshot.sessions).await?;
        let share = if active == 0 {
            0.0
        } else {
            left_out.len() as f64 / active as f64
        };
        if share > snapshot.max_cancel_share && !snapshot.force {
            return Ok(Err(Refusal::new(
                UserErrorCode::SnapshotGuard,
                format!(
                    "the snapshot would cancel {} of the source's {active} active enrolments there ({:.0}%), more than {:.0}%; check it, or send it with `force`",
                    left_out.len(),
                    share * 100.0,
                    snapshot.max_cancel_share * 100.0
                ),
            )
            .at("input.snapshot")));
        }
        for id in left_out {
            planned.push(cancel(
                usize::MAX,
                id,
                Some("niet meer in de momentopname van het bronsysteem".into()),
            ));
        }
    }
    Ok(Ok(planned))
}

fn is_active(enrolment: &enrolment::Model) -> bool {
    matches!(
        enrolment.status,
        EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted
    )
}

fn rejected(code: UserErrorCode, message: &str, field: &str) -> Item {
    Item::Answered(ItemOutcome::rejected(Refusal::new(code, message).at(field)))
}

fn answered(action: SyncAction, enrolment: &enrolment::Model) -> Item {
    Item::Answered(ItemOutcome {
        action,
        participant_id: Some(enrolment.participant_id),
        enrolment_id: Some(enrolment.id),
        refusal: None,
    })
}

/// A booking's refusal, under its item.
fn item_refusal(error: TxError, index: usize) -> TxError {
    match error {
        TxError::Refused(mut refusal) if index != usize::MAX => {
            let field = refusal.field.take().unwrap_or_default();
            let name = field
                .rsplit('.')
                .next()
                .filter(|n| !n.is_empty())
                .unwrap_or("externalId");
            refusal.field = Some(format!("items.{index}.{name}"));
            TxError::Refused(refusal)
        }
        other => other,
    }
}

fn book(
    index: usize,
    participant: Uuid,
    session_id: Uuid,
    wanted: &SyncedEnrolment,
    source: &Source,
    take_over: bool,
) -> Item {
    let external_id = wanted.external_id.clone();
    let reason = wanted.reason.clone();
    let source = source.clone();
    Item::Work(Box::new(move |txn, actor, live| {
        let request = BookRequest {
            session_id,
            booker: Booker::Existing(participant),
            override_eligibility: false,
            reason: reason.clone(),
            // Sync clients see every course; the booking rules still hold.
            sees_unpublished: true,
            // Found by the source's own id: in its scope already.
            scope: None,
        };
        let external_id = external_id.clone();
        let source = source.clone();
        Box::pin(async move {
            let outcome = booking::book(Change::new(txn, actor), &live, &request)
                .await
                .map_err(|error| item_refusal(error, index))?;
            let Some(id) = outcome.enrolment_id else {
                return Err(TxError::Db(DbErr::Custom(
                    "a booking without its enrolment".into(),
                )));
            };
            if take_over {
                external_ids::forget(txn, &source, RecordType::Enrolment, &external_id).await?;
            }
            external_ids::assign(
                txn,
                &source,
                RecordType::Enrolment,
                &external_id,
                id,
                Utc::now(),
            )
            .await
            .map_err(|error| taken(error, index))?;
            Ok((
                ItemOutcome {
                    action: SyncAction::Created,
                    participant_id: Some(participant),
                    enrolment_id: Some(id),
                    refusal: None,
                },
                outcome.live,
            ))
        })
    }))
}

fn adopt(index: usize, enrolment_id: Uuid, wanted: &SyncedEnrolment, source: &Source) -> Item {
    let external_id = wanted.external_id.clone();
    let source = source.clone();
    Item::Work(Box::new(move |txn, _actor, _live| {
        let external_id = external_id.clone();
        let source = source.clone();
        Box::pin(async move {
            external_ids::assign(
                txn,
                &source,
                RecordType::Enrolment,
                &external_id,
                enrolment_id,
                Utc::now(),
            )
            .await
            .map_err(|error| taken(error, index))?;
            Ok((
                ItemOutcome {
                    action: SyncAction::Updated,
                    participant_id: None,
                    enrolment_id: Some(enrolment_id),
                    refusal: None,
                },
                Vec::new(),
            ))
        })
    }))
}

fn cancel(index: usize, enrolment_id: Uuid, reason: Option<String>) -> Item {
    Item::Work(Box::new(move |txn, actor, live| {
        let reason = reason.clone().unwrap_or_else(|| SYNC_REASON.to_owned());
        Box::pin(async move {
            let outcome = booking::cancel(
                Change::new(txn, actor),
                &live,
                enrolment_id,
                CancelledBy::Staff,
                Some(&reason),
            )
            .await
            .map_err(|error| item_refusal(error, index))?;
            Ok((
                ItemOutcome {
                    action: SyncAction::Cancelled,
                    participant_id: None,
                    enrolment_id: Some(enrolment_id),
                    refusal: None,
                },
                outcome.live,
            ))
        })
    }))
}

fn taken(error: AssignError, index: usize) -> TxError {
    match error {
        AssignError::Taken => TxError::Refused(
            Refusal::new(
                UserErrorCode::Conflict,
                "the source knows this enrolment by another id, or this id names another enrolment",
            )
            .at(format!("items.{index}.externalId")),
        ),
        AssignError::Db(error) => error.into(),
    }
}

/// The source's active enrolments in these sessions that the batch does not list.
async fn left_out(
    db: &impl ConnectionTrait,
    source: &Source,
    sessions: &[Uuid],
    listed: &HashSet<Uuid>,
) -> Result<Vec<Uuid>, DbErr> {
    Ok(in_scope(db, source, sessions)
        .await?
        .into_iter()
        .filter(|id| !listed.contains(id))
        .collect())
}

async fn scope_active(
    db: &impl ConnectionTrait,
    source: &Source,
    sessions: &[Uuid],
) -> Result<usize, DbErr> {
    Ok(in_scope(db, source, sessions).await?.len())
}

/// Active enrolments in these sessions of participants the source knows.
async fn in_scope(
    db: &impl ConnectionTrait,
    source: &Source,
    sessions: &[Uuid],
) -> Result<Vec<Uuid>, DbErr> {
    let rows = people::find_enrolments_of(db, sessions, &[]).await?;
    let active: Vec<&enrolment::Model> = rows.iter().filter(|e| is_active(e)).collect();
    let participants: Vec<Uuid> = active.iter().map(|e| e.participant_id).collect();
    let known =
        external_ids::find_external_ids(db, source, RecordType::Participant, &participants).await?;
    Ok(active
        .into_iter()
        .filter(|e| known.contains_key(&e.participant_id))
        .map(|e| e.id)
        .collect())
}

/// The sessions a snapshot covers: one session, or every session of a course that has not been
/// cancelled.
pub async fn snapshot_sessions(
    db: &impl ConnectionTrait,
    session: Option<Uuid>,
    course: Option<Uuid>,
) -> Result<Vec<Uuid>, DbErr> {
    match (session, course) {
        (Some(session), _) => Ok(vec![session]),
        (None, Some(course)) => Ok(session::Entity::find()
            .filter(session::Column::CourseId.eq(course))
            .filter(session::Column::Status.ne(SessionStatus::Cancelled))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect()),
        (None, None) => Ok(Vec::new()),
    }
}
