//! Bookings of one session that arrive together, made in one transaction (`BookingQueue`
//! gathers them).
//!
//! The rules are `booking::book`'s, applied to each booking in the order they arrived, as if
//! they had come one after another: a booking a rule refuses writes nothing and the others are
//! made. The session is locked once; every read is one statement for all of them (their
//! participants, who the course is for, what they already hold, the seats) and every write one
//! multi-row statement (enrolments, their history and its scope, messages and webhook
//! deliveries, the audit trail, the idempotency answers). So a rush of bookings holds the
//! session's lock for a few statements per group instead of about fifteen per booking.

use std::collections::{HashMap, HashSet};

use entity::{enrolment, enrolment_change, enums::EnrolmentStatus, participant};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::LockType,
};
use uuid::Uuid;

use super::{
    booking::{
        self, BookRequest, Booker, Change, Outcome, audience, booked_kind, booked_message,
        eligible, held_in_course, may_book, not_enrolled,
    },
    idempotency,
    outbox::{self, NewEvent},
    session::SeatCounts,
    transaction::TxError,
};
use crate::{
    audit,
    auth::Actor,
    domain::booking::{Refusal, UserErrorCode},
    live::{Live, LiveChange},
    sync::external_ids::Source,
};

/// A booking of an existing participant (a new one is created on its own, see `Booker::New`).
#[derive(Debug, Clone)]
pub struct Job {
    pub request: BookRequest,
    pub actor: Actor,
    /// Its idempotency key, claimed: it gets the answer in the same transaction.
    pub claimed: Option<Uuid>,
}

impl Job {
    /// The participant booked, unless a new one is to be created.
    pub fn participant(&self) -> Option<Uuid> {
        match self.request.booker {
            Booker::Myself(id) | Booker::Existing(id) => Some(id),
            Booker::New(_) => None,
        }
    }
}

/// What became of bookings made together.
#[derive(Debug)]
pub struct Made {
    /// For each booking, in order: its answer, or why it was refused.
    pub answers: Vec<Result<Outcome, Refusal>>,
    /// What subscribers must hear once the transaction has committed.
    pub live: Vec<LiveChange>,
    /// Another request took over a key of this group (its lease ran out): the group is not to
    /// be committed, and its bookings are made one by one instead.
    pub key_taken_over: bool,
}

impl Made {
    /// Whether the transaction is to be committed: something was made, and every key is ours.
    pub fn to_commit(&self) -> bool {
        !self.key_taken_over && self.answers.iter().any(Result::is_ok)
    }
}

/// Makes the bookings (all of one session), in order. Fails as a whole only where the
/// database does; the caller then makes them one by one.
pub async fn book_together(
    txn: &DatabaseTransaction,
    live: &Live,
    jobs: &[Job],
) -> Result<Made, TxError> {
    let Some(first) = jobs.first() else {
        return Ok(made(Vec::new(), Vec::new()));
    };
    let count = i64::try_from(jobs.len()).unwrap_or(i64::MAX);
    let mut change = Change::new(txn, first.actor.clone());
    let session = match change
        .lock_session_raising(first.request.session_id, count, "input.sessionId")
        .await
    {
        Ok(session) => session,
        Err(TxError::Refused(refusal)) => {
            return Ok(made(vec![Some(Err(refusal)); jobs.len()], Vec::new()));
        }
        Err(error) => return Err(error),
    };
    let now = change.now;
    let course = change.course(session.course_id).await?;
    let mut answers: Vec<Option<Result<Outcome, Refusal>>> = jobs
        .iter()
        .map(|job| {
            let allowed = may_book(&session, &course, job.request.sees_unpublished, now);
            allowed.err().map(Err)
        })
        .collect();

    let wanted: Vec<Uuid> = standing(&answers, jobs)
        .filter_map(|(_, job)| job.participant())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if wanted.is_empty() {
        return Ok(made(answers, Vec::new()));
    }
    let participants = lock_participants(txn, wanted).await?;
    let known = known_by_scopes(txn, jobs, &participants).await?;
    let roles = audience(txn, &course).await?;
    let held = held_in_course(txn, &course, participants.keys().copied().collect()).await?;
    let mut booked_here = HashSet::new();
    for (index, job) in jobs.iter().enumerate() {
        if answers[index].is_some() {
            continue;
        }
        let reachable = |participant: &&participant::Model| match &job.request.scope {
            None => true,
            Some(source) => known.contains(&(source.clone(), participant.id)),
        };
        let found = job.participant().and_then(|id| participants.get(&id));
        let verdict = match found.filter(reachable) {
            None => Err(participant_not_found(&job.request.booker)),
            Some(participant) => eligible(&roles, participant, &job.request)
                .and_then(|()| {
                    let theirs = held.iter().filter(|e| e.participant_id == participant.id);
                    not_enrolled(&course, session.id, theirs)
                })
                .and_then(|()| {
                    // Booked by an earlier booking of this group: as if it had committed.
                    if booked_here.insert(participant.id) {
                        Ok(())
                    } else {
                        Err(Refusal::new(
                            UserErrorCode::AlreadyEnrolled,
                            "already enrolled in this session",
                        ))
                    }
                }),
        };
        if let Err(refusal) = verdict {
            answers[index] = Some(Err(refusal));
        }
    }
    if booked_here.is_empty() {
        return Ok(made(answers, Vec::new()));
    }

    // Promotions are recorded as the first booking made's doing, as if it had come alone.
    if let Some((_, first_made)) = standing(&answers, jobs).next() {
        change.actor = first_made.actor.clone();
    }
    // A seat freed while nobody could be promoted goes to the queue first, not to a newcomer.
    let seats = change.promote_waiting(&session).await?;
    let mut taken = seats.taken;
    let mut waiting = seats.waiting;
    // The lock raised the version by one per booking: a strictly rising arrival number each.
    let first_number = session.availability_version - count + 1;
    let mut enrolments = Vec::new();
    let mut history = Vec::new();
    let mut scoped = Vec::new();
    let mut events = Vec::new();
    let mut audited = Vec::new();
    let mut keys = Vec::new();
    for (index, job) in jobs.iter().enumerate() {
        let Some(participant_id) = job.participant().filter(|_| answers[index].is_none()) else {
            continue;
        };
        let (status, place) = if taken < i64::from(session.capacity) {
            taken += 1;
            (EnrolmentStatus::Confirmed, None)
        } else {
            waiting += 1;
            (EnrolmentStatus::Waitlisted, Some(waiting))
        };
        let id = Uuid::new_v4();
        let arrival = first_number + i64::try_from(index).unwrap_or(i64::MAX);
        enrolments.push(enrolment::ActiveModel {
            id: Set(id),
            session_id: Set(session.id),
            participant_id: Set(participant_id),
            status: Set(status),
            waitlisted_at: Set(place.map(|_| now)),
            queue_number: Set(place.map(|_| arrival)),
            moved_from_id: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        });
        let change_id = Uuid::new_v4();
        history.push(enrolment_change::ActiveModel {
            id: Set(change_id),
            enrolment_id: Set(id),
            change: Set(booked_kind(status)),
            from_status: Set(None),
            to_status: Set(status),
            actor: Set(job.actor.id.clone()),
            actor_role: Set(job.actor.role_name()),
            reason: Set(job.request.reason.clone()),
            occurred_at: Set(now),
            version: Set(1),
            // The database writes the transaction and the position.
            xact: NotSet,
            position: NotSet,
        });
        scoped.push((change_id, id));
        let (topic, payload) = booked_message(id, session.id, participant_id, place);
        events.push(NewEvent {
            topic,
            aggregate_type: "Enrolment",
            aggregate_id: id,
            payload,
            deliver_at: now,
            dedupe_key: None,
        });
        audited.push((&job.actor, id));
        change.live.push(LiveChange::Enrolment { id, status });
        let outcome = Outcome {
            enrolment_id: Some(id),
            session_id: Some(session.id),
            status: Some(status),
            waiting_list_place: place,
            ..Outcome::default()
        };
        if let Some(key) = job.claimed {
            let answer =
                serde_json::to_string(&outcome).map_err(|e| DbErr::Custom(e.to_string()))?;
            keys.push((key, answer));
        }
        answers[index] = Some(Ok(outcome));
    }

    enrolment::Entity::insert_many(enrolments)
        .exec_without_returning(txn)
        .await?;
    enrolment_change::Entity::insert_many(history)
        .exec_without_returning(txn)
        .await?;
    let change_ids: Vec<Uuid> = scoped.iter().map(|(change_id, _)| *change_id).collect();
    crate::sync::feed::record_scopes(txn, &change_ids).await?;
    events.extend(crate::sync::webhooks::deliveries(txn, &scoped, now).await?);
    outbox::add(txn, events, now).await?;
    audit::record_changes(txn, "bookSeat", "Enrolment", &audited, now).await?;
    // A key another request took over (its lease ran out) is that request's work now.
    if !idempotency::complete_many(txn, &keys).await? {
        let mut taken = made(answers, Vec::new());
        taken.key_taken_over = true;
        return Ok(taken);
    }
    change.announce(&session, SeatCounts { taken, waiting });
    let heard = change.finish(live, Outcome::default()).await?.live;
    Ok(made(answers, heard))
}

/// The bookings no rule has refused yet.
fn standing<'j>(
    answers: &'j [Option<Result<Outcome, Refusal>>],
    jobs: &'j [Job],
) -> impl Iterator<Item = (usize, &'j Job)> {
    jobs.iter()
        .enumerate()
        .filter(|(index, _)| answers[*index].is_none())
}

/// The answers, every booking having one by now (should one not, it is refused: never lost).
fn made(answers: Vec<Option<Result<Outcome, Refusal>>>, live: Vec<LiveChange>) -> Made {
    let answers = answers
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| {
                Err(Refusal::new(
                    UserErrorCode::NotFound,
                    "participant not found",
                ))
            })
        })
        .collect();
    Made {
        answers,
        live,
        key_taken_over: false,
    }
}

fn participant_not_found(booker: &Booker) -> Refusal {
    let refusal = Refusal::new(UserErrorCode::NotFound, "participant not found");
    match booker {
        Booker::Existing(_) => refusal.at("input.participantId"),
        Booker::Myself(_) | Booker::New(_) => refusal,
    }
}

/// Which participants each source system's key of the group may reach (`booking::knows`).
async fn known_by_scopes(
    txn: &DatabaseTransaction,
    jobs: &[Job],
    participants: &HashMap<Uuid, participant::Model>,
) -> Result<HashSet<(Source, Uuid)>, TxError> {
    let scopes: HashSet<&Source> = jobs
        .iter()
        .filter_map(|job| job.request.scope.as_ref())
        .collect();
    let ids: Vec<Uuid> = participants.keys().copied().collect();
    let mut known = HashSet::new();
    for source in scopes {
        let of_source = booking::knows(txn, source, &ids).await?;
        known.extend(of_source.into_iter().map(|id| (source.clone(), id)));
    }
    Ok(known)
}

/// Locks the participants (not erased) in id order, as `booking::lock_participant` locks one:
/// a booking of the same person elsewhere waits, and two groups never wait for each other in a
/// circle. SQLite holds its write lock from BEGIN already.
async fn lock_participants(
    txn: &DatabaseTransaction,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, participant::Model>, DbErr> {
    Ok(participant::Entity::find()
        .filter(participant::Column::Id.is_in(ids))
        .filter(participant::Column::ErasedAt.is_null())
        .order_by_asc(participant::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .all(txn)
        .await?
        .into_iter()
        .map(|participant| (participant.id, participant))
        .collect())
}
