//! Booking, cancelling, moving, attendance and a session's seats, each in one transaction.
//!
//! Every change to a session's seats first locks the session's row (an UPDATE that raises its
//! availability version): on PostgreSQL a row lock that other processes wait for, on SQLite
//! inside the write lock taken at BEGIN. Counting the seats and taking one then happen with
//! nobody else changing that session, so a session never holds more people than its capacity;
//! the partial unique index on active enrolments is the last line of defence against a double
//! booking. Sessions are locked in id order and before participants, so two transactions never
//! wait for each other in a circle.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{
    course, course_audience_role, enrolment, enrolment_change,
    enums::{EnrolmentChangeKind, EnrolmentStatus, ParticipantRole},
    participant, session,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, SqlErr,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, Query, QueryStatementBuilder},
};
use serde_json::json;
use uuid::Uuid;

use super::change::update_and_read;
pub use super::change::{Change, Outcome};
use super::{
    outbox, people,
    session::{SeatCounts, count_seats},
    transaction::TxError,
};
use crate::{
    domain::{
        booking::{self as rules, Refusal, UserErrorCode},
        email::EmailAddress,
    },
    live::{Availability, Live, LiveChange, Standings},
    sync::external_ids::{self, AssignError, RecordType, Source},
};

/// Who a booking is for.
#[derive(Debug, Clone)]
pub enum Booker {
    /// The participant calling.
    Myself(Uuid),
    /// A participant staff or a sync client name.
    Existing(Uuid),
    New(NewParticipant),
}

#[derive(Debug, Clone)]
pub struct NewParticipant {
    pub full_name: String,
    pub email: EmailAddress,
    pub phone: Option<String>,
    pub role: ParticipantRole,
    /// The id the caller's source system knows them by.
    pub external_id: Option<String>,
    /// The source system whose id `external_id` is.
    pub source: Source,
    /// Staff accept an address that looks like another participant's (with a reason).
    pub allow_confusable: bool,
    /// Their municipality (sync clients give its CBS code).
    pub municipality_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct BookRequest {
    pub session_id: Uuid,
    pub booker: Booker,
    /// Staff only: book although the course is not meant for the participant's role.
    pub override_eligibility: bool,
    pub reason: Option<String>,
    /// Whether the caller may see unpublished courses; for anyone else their sessions do not
    /// exist, and booking one answers exactly as booking an unknown session does.
    pub sees_unpublished: bool,
    /// The source a sync client's key is confined to: people that source does not know do not
    /// exist for it, and booking one answers exactly as booking an unknown participant does.
    pub scope: Option<Source>,
}

struct NewEnrolment {
    session_id: Uuid,
    participant_id: Uuid,
    status: EnrolmentStatus,
    queue_number: Option<i64>,
    moved_from_id: Option<Uuid>,
}

/// Who cancels: the participant themselves (within the course's deadline) or staff, or a
/// source system's key, which like staff gives a reason but reaches only the people its source
/// knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelledBy {
    Participant(Uuid),
    Staff,
    SourceSystem(Source),
}

impl Change<'_> {
    /// Locks a session for this transaction and returns it as it now stands. The clock is read
    /// again once the lock is held, so the changes of one session are recorded in the order in
    /// which they were made, and the rules see the time they apply at.
    async fn lock_session(&mut self, id: Uuid, field: &str) -> Result<session::Model, TxError> {
        self.lock_session_raising(id, 1, field).await
    }

    /// `lock_session`, raising the version by `by`: bookings made together take a number each.
    pub(super) async fn lock_session_raising(
        &mut self,
        id: Uuid,
        by: i64,
        field: &str,
    ) -> Result<session::Model, TxError> {
        let lock = session::Entity::update_many()
            .col_expr(
                session::Column::AvailabilityVersion,
                Expr::col(session::Column::AvailabilityVersion).add(by),
            )
            .filter(session::Column::Id.eq(id));
        let locked = update_and_read(self.txn, lock, id)
            .await?
            .ok_or_else(|| TxError::from(Refusal::not_found("session", field)))?;
        self.now = Utc::now();
        Ok(locked)
    }

    /// Locks two sessions, in id order.
    async fn lock_sessions(
        &mut self,
        first: (Uuid, &str),
        second: (Uuid, &str),
    ) -> Result<(session::Model, session::Model), TxError> {
        if first.0 < second.0 {
            let a = self.lock_session(first.0, first.1).await?;
            let b = self.lock_session(second.0, second.1).await?;
            Ok((a, b))
        } else {
            let b = self.lock_session(second.0, second.1).await?;
            let a = self.lock_session(first.0, first.1).await?;
            Ok((a, b))
        }
    }

    pub(super) async fn course(&self, id: Uuid) -> Result<course::Model, TxError> {
        course::Entity::find_by_id(id)
            .one(self.txn)
            .await?
            .ok_or_else(|| TxError::Db(DbErr::RecordNotFound("the session's course".into())))
    }

    async fn seats(&self, session_id: Uuid) -> Result<SeatCounts, DbErr> {
        Ok(count_seats(self.txn, &[session_id])
            .await?
            .remove(&session_id)
            .unwrap_or_default())
    }

    async fn enrolment(&self, id: Uuid, field: &str) -> Result<enrolment::Model, TxError> {
        enrolment::Entity::find_by_id(id)
            .one(self.txn)
            .await?
            .ok_or_else(|| Refusal::not_found("enrolment", field).into())
    }

    async fn set_status(
        &mut self,
        enrolment: &enrolment::Model,
        to: EnrolmentStatus,
        change: EnrolmentChangeKind,
        reason: Option<&str>,
    ) -> Result<(), DbErr> {
        enrolment::Entity::update_many()
            .col_expr(enrolment::Column::Status, Expr::value(to))
            .col_expr(
                enrolment::Column::Version,
                Expr::col(enrolment::Column::Version).add(1),
            )
            .col_expr(enrolment::Column::UpdatedAt, Expr::value(self.now))
            .filter(enrolment::Column::Id.eq(enrolment.id))
            .exec(self.txn)
            .await?;
        // The enrolment's session is locked: nobody else changes it meanwhile.
        let version = enrolment.version + 1;
        self.history(
            enrolment.id,
            version,
            change,
            Some(enrolment.status),
            to,
            reason,
        )
        .await
    }

    /// Inserts an enrolment; the unique index on active enrolments is the last line of
    /// defence against a double booking.
    async fn insert_enrolment(&self, new: NewEnrolment) -> Result<Uuid, TxError> {
        let id = Uuid::new_v4();
        let waitlisted = new.status == EnrolmentStatus::Waitlisted;
        enrolment::Entity::insert(enrolment::ActiveModel {
            id: Set(id),
            session_id: Set(new.session_id),
            participant_id: Set(new.participant_id),
            status: Set(new.status),
            waitlisted_at: Set(waitlisted.then_some(self.now)),
            queue_number: Set(new.queue_number),
            moved_from_id: Set(new.moved_from_id),
            version: Set(1),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        })
        .exec_without_returning(self.txn)
        .await
        .map_err(|error| match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Refusal::new(
                UserErrorCode::AlreadyEnrolled,
                "already enrolled in this session",
            )
            .into(),
            _ => TxError::from(error),
        })?;
        Ok(id)
    }

    /// Keeps one step of an enrolment's history: a change of the feed, in the scope of every
    /// source that knows the participant, as it is now (see `sync::feed`).
    async fn history(
        &mut self,
        enrolment_id: Uuid,
        version: i32,
        change: EnrolmentChangeKind,
        from: Option<EnrolmentStatus>,
        to: EnrolmentStatus,
        reason: Option<&str>,
    ) -> Result<(), DbErr> {
        let id = Uuid::new_v4();
        enrolment_change::Entity::insert(enrolment_change::ActiveModel {
            id: Set(id),
            enrolment_id: Set(enrolment_id),
            change: Set(change),
            from_status: Set(from),
            to_status: Set(to),
            actor: Set(self.actor.id.clone()),
            actor_role: Set(self.actor.role_name()),
            reason: Set(reason.map(str::to_owned)),
            occurred_at: Set(self.now),
            version: Set(version),
            // The database writes the transaction and the position.
            xact: sea_orm::ActiveValue::NotSet,
            position: sea_orm::ActiveValue::NotSet,
        })
        .exec_without_returning(self.txn)
        .await?;
        crate::sync::feed::record_scope(self.txn, id).await?;
        crate::sync::webhooks::queue(self.txn, id, enrolment_id, self.now).await?;
        self.live.push(LiveChange::Enrolment {
            id: enrolment_id,
            status: to,
        });
        Ok(())
    }

    /// Records, for notification, a change someone must hear about.
    async fn outbox(
        &self,
        topic: &str,
        enrolment: Uuid,
        payload: serde_json::Value,
    ) -> Result<(), DbErr> {
        let event = outbox::NewEvent {
            topic,
            aggregate_type: "Enrolment",
            aggregate_id: enrolment,
            payload,
            deliver_at: self.now,
            dedupe_key: None,
        };
        outbox::add(self.txn, vec![event], self.now).await?;
        Ok(())
    }

    async fn audit(&self, action: &'static str, ids: &[Uuid]) -> Result<(), DbErr> {
        self.audit_change(action, "Enrolment", ids).await
    }

    /// An erased person's seat or waiting place in a session still to come: freed for the next
    /// person waiting. No message goes to them: they are gone.
    pub(crate) async fn release_for_erasure(&mut self, enrolment_id: Uuid) -> Result<(), TxError> {
        const FIELD: &str = "input.participantId";
        let found = self.enrolment(enrolment_id, FIELD).await?;
        let session = self.lock_session(found.session_id, FIELD).await?;
        // Read again under the lock: it may have changed while we waited.
        let enrolment = self.enrolment(enrolment_id, FIELD).await?;
        let active = matches!(
            enrolment.status,
            EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted
        );
        if !active || session.starts_at <= self.now {
            return Ok(());
        }
        self.set_status(
            &enrolment,
            EnrolmentStatus::Cancelled,
            EnrolmentChangeKind::Cancelled,
            Some("erased"),
        )
        .await?;
        if enrolment.status == EnrolmentStatus::Confirmed {
            self.promote_waiting(&session).await?;
        }
        self.availability(&session).await?;
        Ok(())
    }

    /// Tells the feed (and through it the webhooks) that an enrolment's person was erased; the
    /// enrolment itself stays as it is, an anonymous record.
    pub(crate) async fn record_erased(&mut self, enrolment_id: Uuid) -> Result<(), TxError> {
        let enrolment = self.enrolment(enrolment_id, "input.participantId").await?;
        enrolment::Entity::update_many()
            .col_expr(
                enrolment::Column::Version,
                Expr::col(enrolment::Column::Version).add(1),
            )
            .col_expr(enrolment::Column::UpdatedAt, Expr::value(self.now))
            .filter(enrolment::Column::Id.eq(enrolment.id))
            .exec(self.txn)
            .await?;
        self.history(
            enrolment.id,
            enrolment.version + 1,
            EnrolmentChangeKind::Erased,
            Some(enrolment.status),
            enrolment.status,
            None,
        )
        .await?;
        Ok(())
    }

    /// Gives freed seats to the waiting list, first come first served, while booking is open;
    /// returns the session's seats as they then stand.
    pub(super) async fn promote_waiting(
        &mut self,
        session: &session::Model,
    ) -> Result<SeatCounts, DbErr> {
        let seats = self.seats(session.id).await?;
        if !rules::may_promote(session, self.now) {
            return Ok(seats);
        }
        let free = i64::from(session.capacity) - seats.taken;
        if free <= 0 || seats.waiting == 0 {
            return Ok(seats);
        }
        let next = enrolment::Entity::find()
            .filter(enrolment::Column::SessionId.eq(session.id))
            .filter(enrolment::Column::Status.eq(EnrolmentStatus::Waitlisted))
            .order_by_asc(enrolment::Column::QueueNumber)
            .order_by_asc(enrolment::Column::Id)
            .limit(u64::try_from(free).unwrap_or(0))
            .all(self.txn)
            .await?;
        for enrolment in &next {
            self.set_status(
                enrolment,
                EnrolmentStatus::Confirmed,
                EnrolmentChangeKind::Promoted,
                None,
            )
            .await?;
            self.outbox(
                "enrolment.promoted",
                enrolment.id,
                json!({
                    "enrolmentId": enrolment.id,
                    "sessionId": session.id,
                    "participantId": enrolment.participant_id,
                }),
            )
            .await?;
        }
        let promoted = i64::try_from(next.len()).unwrap_or(i64::MAX);
        Ok(SeatCounts {
            taken: seats.taken + promoted,
            waiting: seats.waiting - promoted,
        })
    }

    /// Notes the session's seats as they stand at the end of this transaction.
    async fn availability(&mut self, session: &session::Model) -> Result<(), DbErr> {
        let seats = self.seats(session.id).await?;
        self.announce(session, seats);
        Ok(())
    }

    /// Notes the session's seats, already counted in this transaction.
    pub(super) fn announce(&mut self, session: &session::Model, seats: SeatCounts) {
        self.live.push(LiveChange::Availability(Availability {
            session_id: session.id,
            version: session.availability_version,
            capacity: session.capacity,
            taken: seats.taken,
            waiting: seats.waiting,
            booking_open: session.booking_open,
        }));
    }
}

/// Books a seat, or a place on the waiting list when the session is full.
pub async fn book(
    mut change: Change<'_>,
    live: &Live,
    request: &BookRequest,
) -> Result<Outcome, TxError> {
    let session = change
        .lock_session(request.session_id, "input.sessionId")
        .await?;
    let course = change.course(session.course_id).await?;
    may_book(&session, &course, request.sees_unpublished, change.now)?;
    let participant = match &request.booker {
        Booker::Myself(id) => lock_participant(change.txn, *id, None).await?,
        Booker::Existing(id) => {
            let participant =
                lock_participant(change.txn, *id, Some("input.participantId")).await?;
            if let Some(source) = &request.scope
                && !knows(change.txn, source, &[participant.id])
                    .await?
                    .contains(&participant.id)
            {
                return Err(
                    Refusal::new(UserErrorCode::NotFound, "participant not found")
                        .at("input.participantId")
                        .into(),
                );
            }
            participant
        }
        Booker::New(details) => create_participant(change.txn, details, change.now).await?,
    };
    check_eligibility(change.txn, &course, &participant, request).await?;
    check_not_enrolled(change.txn, &course, session.id, participant.id).await?;

    // A seat freed while nobody could be promoted goes to the queue first, not to a newcomer.
    let seats = change.promote_waiting(&session).await?;
    let (status, place) = if seats.taken < i64::from(session.capacity) {
        (EnrolmentStatus::Confirmed, None)
    } else {
        (EnrolmentStatus::Waitlisted, Some(seats.waiting + 1))
    };
    let waitlisted = status == EnrolmentStatus::Waitlisted;
    let id = change
        .insert_enrolment(NewEnrolment {
            session_id: session.id,
            participant_id: participant.id,
            status,
            // The version is raised by every locked change: a strictly rising arrival number.
            queue_number: waitlisted.then_some(session.availability_version),
            moved_from_id: None,
        })
        .await?;
    let kind = booked_kind(status);
    change
        .history(id, 1, kind, None, status, request.reason.as_deref())
        .await?;
    let (topic, payload) = booked_message(id, session.id, participant.id, place);
    change.outbox(topic, id, payload).await?;
    change.audit("bookSeat", &[id]).await?;
    let joined = SeatCounts {
        taken: seats.taken + i64::from(!waitlisted),
        waiting: seats.waiting + i64::from(waitlisted),
    };
    change.announce(&session, joined);
    change
        .finish(
            live,
            Outcome {
                enrolment_id: Some(id),
                session_id: Some(session.id),
                status: Some(status),
                waiting_list_place: place,
                ..Outcome::default()
            },
        )
        .await
}

/// How a new booking's history begins.
pub(super) fn booked_kind(status: EnrolmentStatus) -> EnrolmentChangeKind {
    if status == EnrolmentStatus::Waitlisted {
        EnrolmentChangeKind::Waitlisted
    } else {
        EnrolmentChangeKind::Booked
    }
}

/// The message a new booking sends: a seat, or a place on the waiting list (`place`).
pub(super) fn booked_message(
    enrolment_id: Uuid,
    session_id: Uuid,
    participant_id: Uuid,
    place: Option<i64>,
) -> (&'static str, serde_json::Value) {
    let topic = if place.is_some() {
        "enrolment.waitlisted"
    } else {
        "enrolment.confirmed"
    };
    let payload = json!({
        "enrolmentId": enrolment_id,
        "sessionId": session_id,
        "participantId": participant_id,
        "waitingListPlace": place,
    });
    (topic, payload)
}

/// Cancels a seat or a waiting-list place; a freed seat goes to the first person waiting.
pub async fn cancel(
    mut change: Change<'_>,
    live: &Live,
    enrolment_id: Uuid,
    by: CancelledBy,
    reason: Option<&str>,
) -> Result<Outcome, TxError> {
    const FIELD: &str = "input.enrolmentId";
    let found = change.enrolment(enrolment_id, FIELD).await?;
    // Someone else's enrolment looks the same as none at all, and so does the enrolment of
    // someone a source system's key does not reach.
    let reachable = match &by {
        CancelledBy::Participant(own) => found.participant_id == *own,
        CancelledBy::Staff => true,
        CancelledBy::SourceSystem(source) => knows(change.txn, source, &[found.participant_id])
            .await?
            .contains(&found.participant_id),
    };
    if !reachable {
        return Err(Refusal::not_found("enrolment", FIELD).into());
    }
    let session = change.lock_session(found.session_id, FIELD).await?;
    // Read again under the lock: it may have changed while we waited.
    let enrolment = change.enrolment(enrolment_id, FIELD).await?;
    require_active(&enrolment, FIELD)?;
    match by {
        CancelledBy::Participant(_) => {
            let course = change.course(session.course_id).await?;
            let until = rules::cancellable_until(&session, course.cancellation_deadline_hours);
            if change.now >= until {
                return Err(Refusal::new(
                    UserErrorCode::CancellationDeadlinePassed,
                    format!(
                        "cancelling yourself was possible until {}; contact the service desk",
                        until.to_rfc3339()
                    ),
                )
                .into());
            }
        }
        CancelledBy::Staff | CancelledBy::SourceSystem(_) if reason.is_none() => {
            return Err(Refusal::new(
                UserErrorCode::ReasonRequired,
                "give a reason for cancelling on someone's behalf",
            )
            .at("input.reason")
            .into());
        }
        CancelledBy::Staff | CancelledBy::SourceSystem(_) => {}
    }
    change
        .set_status(
            &enrolment,
            EnrolmentStatus::Cancelled,
            EnrolmentChangeKind::Cancelled,
            reason,
        )
        .await?;
    change
        .outbox(
            "enrolment.cancelled",
            enrolment.id,
            json!({
                "enrolmentId": enrolment.id,
                "sessionId": session.id,
                "participantId": enrolment.participant_id,
                "byParticipant": matches!(by, CancelledBy::Participant(_)),
                "previousStatus": enrolment.status,
            }),
        )
        .await?;
    change.audit("cancelEnrolment", &[enrolment.id]).await?;
    if enrolment.status == EnrolmentStatus::Confirmed {
        change.promote_waiting(&session).await?;
    }
    change.availability(&session).await?;
    change
        .finish(
            live,
            Outcome {
                enrolment_id: Some(enrolment.id),
                session_id: Some(session.id),
                status: Some(EnrolmentStatus::Cancelled),
                ..Outcome::default()
            },
        )
        .await
}

/// Moves a booking to another session of the same course: the new seat is taken before the
/// old one is freed, in one transaction.
pub async fn move_enrolment(
    mut change: Change<'_>,
    live: &Live,
    enrolment_id: Uuid,
    to_session_id: Uuid,
    reason: Option<&str>,
) -> Result<Outcome, TxError> {
    const FIELD: &str = "input.enrolmentId";
    const TO: &str = "input.toSessionId";
    let found = change.enrolment(enrolment_id, FIELD).await?;
    if found.session_id == to_session_id {
        return Err(Refusal::new(
            UserErrorCode::SameSession,
            "the enrolment is already in that session",
        )
        .at(TO)
        .into());
    }
    let (from, to) = change
        .lock_sessions((found.session_id, FIELD), (to_session_id, TO))
        .await?;
    let enrolment = change.enrolment(enrolment_id, FIELD).await?;
    require_active(&enrolment, FIELD)?;
    if to.course_id != from.course_id {
        return Err(Refusal::new(
            UserErrorCode::DifferentCourse,
            "a booking moves only between sessions of the same course",
        )
        .at(TO)
        .into());
    }
    require_not_cancelled(&to).map_err(|refusal| refusal.at(TO))?;
    if to.status == entity::enums::SessionStatus::Completed || change.now >= to.starts_at {
        return Err(
            Refusal::new(UserErrorCode::BookingClosed, "that session has started")
                .at(TO)
                .into(),
        );
    }
    let already = enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.eq(to.id))
        .filter(enrolment::Column::ParticipantId.eq(enrolment.participant_id))
        .filter(
            enrolment::Column::Status
                .is_in([EnrolmentStatus::Confirmed, EnrolmentStatus::Waitlisted]),
        )
        .one(change.txn)
        .await?;
    if already.is_some() {
        return Err(Refusal::new(
            UserErrorCode::AlreadyEnrolled,
            "the participant is already enrolled in that session",
        )
        .at(TO)
        .into());
    }
    if change.promote_waiting(&to).await?.taken >= i64::from(to.capacity) {
        return Err(
            Refusal::new(UserErrorCode::SessionFull, "that session has no free seat")
                .at(TO)
                .into(),
        );
    }

    let id = change
        .insert_enrolment(NewEnrolment {
            session_id: to.id,
            participant_id: enrolment.participant_id,
            status: EnrolmentStatus::Confirmed,
            queue_number: None,
            moved_from_id: Some(enrolment.id),
        })
        .await?;
    change
        .history(
            id,
            1,
            EnrolmentChangeKind::MovedIn,
            None,
            EnrolmentStatus::Confirmed,
            reason,
        )
        .await?;
    change
        .set_status(
            &enrolment,
            EnrolmentStatus::Cancelled,
            EnrolmentChangeKind::MovedOut,
            reason,
        )
        .await?;
    change
        .outbox(
            "enrolment.moved",
            id,
            json!({
                "enrolmentId": id,
                "previousEnrolmentId": enrolment.id,
                "fromSessionId": from.id,
                "sessionId": to.id,
                "participantId": enrolment.participant_id,
            }),
        )
        .await?;
    change.audit("moveEnrolment", &[enrolment.id, id]).await?;
    if enrolment.status == EnrolmentStatus::Confirmed {
        change.promote_waiting(&from).await?;
    }
    change.availability(&from).await?;
    change.availability(&to).await?;
    change
        .finish(
            live,
            Outcome {
                enrolment_id: Some(id),
                previous_enrolment_id: Some(enrolment.id),
                session_id: Some(to.id),
                status: Some(EnrolmentStatus::Confirmed),
                ..Outcome::default()
            },
        )
        .await
}

/// Marks seated enrolments of a started session as attended or not.
pub async fn record_attendance(
    mut change: Change<'_>,
    live: &Live,
    session_id: Uuid,
    marks: &[(Uuid, bool)],
) -> Result<Outcome, TxError> {
    let session = change.lock_session(session_id, "input.sessionId").await?;
    require_not_cancelled(&session)?;
    if change.now < session.starts_at {
        return Err(Refusal::new(
            UserErrorCode::SessionNotStarted,
            "attendance can be recorded once the session has started",
        )
        .into());
    }
    let found = enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.eq(session.id))
        .filter(enrolment::Column::Id.is_in(marks.iter().map(|(id, _)| *id)))
        .all(change.txn)
        .await?;
    let mut ids = Vec::with_capacity(marks.len());
    for (index, (id, attended)) in marks.iter().enumerate() {
        let field = format!("input.marks.{index}.enrolmentId");
        let Some(enrolment) = found.iter().find(|e| e.id == *id) else {
            return Err(Refusal::not_found("enrolment in this session", &field).into());
        };
        if !EnrolmentStatus::SEATED.contains(&enrolment.status) {
            return Err(Refusal::new(
                UserErrorCode::EnrolmentNotSeated,
                "only confirmed enrolments can be marked",
            )
            .at(field)
            .into());
        }
        let (to, kind) = if *attended {
            (EnrolmentStatus::Attended, EnrolmentChangeKind::Attended)
        } else {
            (EnrolmentStatus::NoShow, EnrolmentChangeKind::NoShow)
        };
        ids.push(enrolment.id);
        if enrolment.status == to {
            continue;
        }
        change.set_status(enrolment, to, kind, None).await?;
        if *attended {
            change
                .outbox(
                    "enrolment.attended",
                    enrolment.id,
                    json!({
                        "enrolmentId": enrolment.id,
                        "sessionId": session.id,
                        "participantId": enrolment.participant_id,
                    }),
                )
                .await?;
        }
    }
    change.audit("recordAttendance", &ids).await?;
    change
        .finish(
            live,
            Outcome {
                session_id: Some(session.id),
                enrolment_ids: ids,
                ..Outcome::default()
            },
        )
        .await
}

/// Changes a session's capacity: never below the seats taken nor above the course's maximum.
/// More seats go to the waiting list at once.
pub async fn change_capacity(
    mut change: Change<'_>,
    live: &Live,
    session_id: Uuid,
    capacity: i32,
) -> Result<Outcome, TxError> {
    let session = change.lock_session(session_id, "input.sessionId").await?;
    require_not_cancelled(&session)?;
    let course = change.course(session.course_id).await?;
    if !(1..=course.max_participants).contains(&capacity) {
        return Err(Refusal::new(
            UserErrorCode::CapacityOutOfRange,
            format!(
                "the capacity must be between 1 and the course's maximum of {}",
                course.max_participants
            ),
        )
        .at("input.capacity")
        .into());
    }
    let seats = change.seats(session.id).await?;
    if i64::from(capacity) < seats.taken {
        return Err(Refusal::new(
            UserErrorCode::CapacityBelowSeated,
            format!("{} seats are already confirmed", seats.taken),
        )
        .at("input.capacity")
        .into());
    }
    let session = update_session(&change, session.id, |update| {
        update.col_expr(session::Column::Capacity, Expr::value(capacity))
    })
    .await?;
    session_changed(change, live, &session, "changeSessionCapacity").await
}

/// Closes or reopens booking by hand; reopening gives free seats to the waiting list.
pub async fn set_booking_open(
    mut change: Change<'_>,
    live: &Live,
    session_id: Uuid,
    open: bool,
) -> Result<Outcome, TxError> {
    let session = change.lock_session(session_id, "input.sessionId").await?;
    require_not_cancelled(&session)?;
    let session = update_session(&change, session.id, |update| {
        update.col_expr(session::Column::BookingOpen, Expr::value(open))
    })
    .await?;
    let action = if open {
        "reopenSessionBooking"
    } else {
        "closeSessionBooking"
    };
    session_changed(change, live, &session, action).await
}

async fn session_changed(
    mut change: Change<'_>,
    live: &Live,
    session: &session::Model,
    action: &'static str,
) -> Result<Outcome, TxError> {
    let seats = change.promote_waiting(session).await?;
    change
        .audit_change(action, "Session", &[session.id])
        .await?;
    change.announce(session, seats);
    change
        .finish(
            live,
            Outcome {
                session_id: Some(session.id),
                ..Outcome::default()
            },
        )
        .await
}

async fn update_session(
    change: &Change<'_>,
    id: Uuid,
    set: impl FnOnce(sea_orm::UpdateMany<session::Entity>) -> sea_orm::UpdateMany<session::Entity>,
) -> Result<session::Model, TxError> {
    let update = set(session::Entity::update_many())
        .col_expr(session::Column::UpdatedAt, Expr::value(change.now))
        .filter(session::Column::Id.eq(id));
    update_and_read(change.txn, update, id)
        .await?
        .ok_or_else(|| TxError::Db(DbErr::RecordNotFound("a locked session".into())))
}

/// Only confirmed and waiting enrolments can be cancelled or moved.
fn require_active(enrolment: &enrolment::Model, field: &str) -> Result<(), Refusal> {
    if matches!(
        enrolment.status,
        EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted
    ) {
        Ok(())
    } else {
        Err(Refusal::new(
            UserErrorCode::EnrolmentNotActive,
            "this enrolment is no longer confirmed or waiting",
        )
        .at(field))
    }
}

fn require_not_cancelled(session: &session::Model) -> Result<(), Refusal> {
    if session.status == entity::enums::SessionStatus::Cancelled {
        Err(Refusal::new(
            UserErrorCode::SessionCancelled,
            "this session was cancelled",
        ))
    } else {
        Ok(())
    }
}

/// Locks a participant, so that their bookings for different sessions of one course are made
/// one after the other and the once-per-course rule holds.
/// Which of these participants a source knows (carry an id of that source): a source system's
/// key reaches no one else.
pub(crate) async fn knows(
    txn: &DatabaseTransaction,
    source: &Source,
    participants: &[Uuid],
) -> Result<HashSet<Uuid>, TxError> {
    Ok(
        external_ids::find_external_ids(txn, source, RecordType::Participant, participants)
            .await?
            .into_keys()
            .collect(),
    )
}

pub(crate) async fn lock_participant(
    txn: &DatabaseTransaction,
    id: Uuid,
    field: Option<&str>,
) -> Result<participant::Model, TxError> {
    let lock = participant::Entity::update_many()
        .col_expr(
            participant::Column::UpdatedAt,
            Expr::col(participant::Column::UpdatedAt),
        )
        .filter(participant::Column::Id.eq(id))
        // An erased person is nobody to book or sync.
        .filter(participant::Column::ErasedAt.is_null());
    update_and_read(txn, lock, id).await?.ok_or_else(|| {
        let refusal = Refusal::new(UserErrorCode::NotFound, "participant not found");
        match field {
            Some(field) => refusal.at(field).into(),
            None => refusal.into(),
        }
    })
}

pub(crate) async fn create_participant(
    txn: &DatabaseTransaction,
    details: &NewParticipant,
    now: DateTime<Utc>,
) -> Result<participant::Model, TxError> {
    let exists = participant::Entity::find()
        .filter(
            Expr::expr(Func::lower(Expr::col(participant::Column::Email)))
                .eq(details.email.as_str()),
        )
        .one(txn)
        .await?;
    if exists.is_some() {
        return Err(participant_exists());
    }
    let skeleton = details.email.skeleton();
    // Two bookings of look-alike addresses at once must not both pass the check: they wait for
    // each other here (SQLite holds its write lock from BEGIN already).
    people::lock_skeleton(txn, &skeleton).await?;
    if !details.allow_confusable && people::has_look_alike(txn, &skeleton).await? {
        return Err(Refusal::new(
            UserErrorCode::EmailConfusable,
            "this e-mail address looks like another participant's; check it, or let staff accept it with a reason",
        )
        .at("input.newParticipant.email")
        .into());
    }
    let id = Uuid::new_v4();
    participant::Entity::insert(participant::ActiveModel {
        id: Set(id),
        full_name: Set(details.full_name.clone()),
        email: Set(details.email.as_str().to_owned()),
        email_skeleton: Set(Some(skeleton)),
        phone: Set(details.phone.clone()),
        role: Set(details.role),
        municipality_id: Set(details.municipality_id),
        created_at: Set(now),
        updated_at: Set(now),
        erased_at: Set(None),
    })
    .exec_without_returning(txn)
    .await
    .map_err(|error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => participant_exists(),
        _ => error.into(),
    })?;
    if let Some(external_id) = &details.external_id {
        external_ids::assign(
            txn,
            &details.source,
            RecordType::Participant,
            external_id,
            id,
            now,
        )
        .await
        .map_err(|error| match error {
            AssignError::Taken => participant_exists(),
            AssignError::Db(error) => error.into(),
        })?;
    }
    participant::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| TxError::Db(DbErr::RecordNotFound("a new participant".into())))
}

fn participant_exists() -> TxError {
    Refusal::new(
        UserErrorCode::ParticipantExists,
        "a participant with this e-mail address or external id exists; book with their id",
    )
    .at("input.newParticipant")
    .into()
}

/// Whether the session takes bookings now, from a caller who may or may not see unpublished
/// courses (for those who may not, a draft's sessions do not exist).
pub(super) fn may_book(
    session: &session::Model,
    course: &course::Model,
    sees_unpublished: bool,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let published = course.status == entity::enums::CourseStatus::Published;
    if !published && !sees_unpublished {
        return Err(Refusal::not_found("session", "input.sessionId"));
    }
    rules::check_booking_window(session, now)?;
    if !published {
        return Err(Refusal::new(
            UserErrorCode::BookingClosed,
            "this course is not open for booking",
        ));
    }
    Ok(())
}

/// The roles a course is meant for (none: everyone).
pub(super) async fn audience(
    txn: &DatabaseTransaction,
    course: &course::Model,
) -> Result<Vec<ParticipantRole>, DbErr> {
    Ok(course_audience_role::Entity::find()
        .filter(course_audience_role::Column::CourseId.eq(course.id))
        .all(txn)
        .await?
        .into_iter()
        .map(|r| r.role)
        .collect())
}

async fn check_eligibility(
    txn: &DatabaseTransaction,
    course: &course::Model,
    participant: &participant::Model,
    request: &BookRequest,
) -> Result<(), TxError> {
    Ok(eligible(
        &audience(txn, course).await?,
        participant,
        request,
    )?)
}

/// Whether the course is meant for the participant, or staff book them outside its audience
/// with a reason.
pub(super) fn eligible(
    roles: &[ParticipantRole],
    participant: &participant::Model,
    request: &BookRequest,
) -> Result<(), Refusal> {
    if roles.is_empty() || roles.contains(&participant.role) {
        return Ok(());
    }
    if !request.override_eligibility {
        return Err(Refusal::new(
            UserErrorCode::NotEligible,
            "this course is not meant for the participant's role",
        ));
    }
    if request.reason.is_none() {
        return Err(Refusal::new(
            UserErrorCode::ReasonRequired,
            "give a reason for booking outside the course's audience",
        )
        .at("input.reason"));
    }
    Ok(())
}

/// The enrolments that count against booking another session of the course, of these
/// participants.
pub(super) async fn held_in_course(
    txn: &DatabaseTransaction,
    course: &course::Model,
    participant_ids: Vec<Uuid>,
) -> Result<Vec<enrolment::Model>, DbErr> {
    enrolment::Entity::find()
        .filter(enrolment::Column::ParticipantId.is_in(participant_ids))
        .filter(enrolment::Column::Status.is_in([
            EnrolmentStatus::Confirmed,
            EnrolmentStatus::Waitlisted,
            EnrolmentStatus::Attended,
        ]))
        .filter(
            enrolment::Column::SessionId.in_subquery(
                Query::select()
                    .column(session::Column::Id)
                    .from(session::Entity)
                    .and_where(session::Column::CourseId.eq(course.id))
                    .to_owned(),
            ),
        )
        .all(txn)
        .await
}

/// One active enrolment per participant and session, and unless the course allows more, one
/// per course (an attended session counts; a no-show or a cancellation does not).
async fn check_not_enrolled(
    txn: &DatabaseTransaction,
    course: &course::Model,
    session_id: Uuid,
    participant_id: Uuid,
) -> Result<(), TxError> {
    let held = held_in_course(txn, course, vec![participant_id]).await?;
    Ok(not_enrolled(course, session_id, &held)?)
}

/// `check_not_enrolled` for one participant's enrolments in the course.
pub(super) fn not_enrolled<'e>(
    course: &course::Model,
    session_id: Uuid,
    held: impl IntoIterator<Item = &'e enrolment::Model>,
) -> Result<(), Refusal> {
    let mut any = false;
    for enrolment in held {
        if enrolment.session_id == session_id {
            return Err(Refusal::new(
                UserErrorCode::AlreadyEnrolled,
                "already enrolled in this session",
            ));
        }
        any = true;
    }
    if !course.allow_repeat_enrolment && any {
        return Err(Refusal::new(
            UserErrorCode::AlreadyEnrolledInCourse,
            "already enrolled in, or took, another session of this course",
        ));
    }
    Ok(())
}

/// The places on their waiting lists of these enrolments (1 is next), for those waiting.
/// Where every enrolment of a session stands: its status, and its place while waiting (in
/// the order of `waiting_places`). One statement, shared by all who follow the session.
pub async fn session_standings(
    db: &impl ConnectionTrait,
    session_id: Uuid,
) -> Result<Standings, DbErr> {
    let mut rows: Vec<(Uuid, EnrolmentStatus, Option<i64>)> = enrolment::Entity::find()
        .select_only()
        .column(enrolment::Column::Id)
        .column(enrolment::Column::Status)
        .column(enrolment::Column::QueueNumber)
        .filter(enrolment::Column::SessionId.eq(session_id))
        .into_tuple()
        .all(db)
        .await?;
    rows.sort_by_key(|(id, _, queue)| (*queue, *id));
    let mut place = 0;
    let standings = rows
        .into_iter()
        .map(|(id, status, _)| {
            let waiting = (status == EnrolmentStatus::Waitlisted).then(|| {
                place += 1;
                place
            });
            (id, (status, waiting))
        })
        .collect();
    Ok(std::sync::Arc::new(standings))
}

pub async fn waiting_places(
    db: &impl ConnectionTrait,
    enrolment_ids: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, DbErr> {
    #[derive(Debug, sea_orm::FromQueryResult)]
    struct Row {
        id: Uuid,
        ahead: i64,
    }
    let waiting = Alias::new("waiting");
    let theirs = |column| Expr::col((waiting.clone(), column));
    let mine = |column| Expr::col((enrolment::Entity, column));
    let ahead = Query::select()
        .expr(Func::count(Expr::col(Asterisk)))
        .from_as(enrolment::Entity, waiting.clone())
        .and_where(
            theirs(enrolment::Column::SessionId)
                .equals((enrolment::Entity, enrolment::Column::SessionId)),
        )
        .and_where(theirs(enrolment::Column::Status).eq(EnrolmentStatus::Waitlisted))
        .and_where(
            theirs(enrolment::Column::QueueNumber)
                .lt(mine(enrolment::Column::QueueNumber))
                .or(theirs(enrolment::Column::QueueNumber)
                    .eq(mine(enrolment::Column::QueueNumber))
                    .and(theirs(enrolment::Column::Id).lt(mine(enrolment::Column::Id)))),
        )
        .to_owned();
    let rows = enrolment::Entity::find()
        .select_only()
        .column(enrolment::Column::Id)
        .column_as(
            Expr::SubQuery(None, Box::new(ahead.into_sub_query_statement())),
            "ahead",
        )
        .filter(enrolment::Column::Id.is_in(enrolment_ids.iter().copied()))
        .filter(enrolment::Column::Status.eq(EnrolmentStatus::Waitlisted))
        .into_model::<Row>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.ahead + 1)).collect())
}

/// When and where a session is held, and how it is booked.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub course_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location_id: Option<Uuid>,
    /// The course's maximum when not given.
    pub capacity: Option<i32>,
    pub booking_opens_at: Option<DateTime<Utc>>,
    pub booking_closes_at: Option<DateTime<Utc>>,
    /// Actors the exercises need.
    pub actors_needed: i32,
}

/// Schedules a session of a course.
pub async fn schedule_session(
    change: Change<'_>,
    live: &Live,
    new: &NewSession,
) -> Result<Outcome, TxError> {
    let Some(course) = course::Entity::find_by_id(new.course_id)
        .one(change.txn)
        .await?
    else {
        return Err(Refusal::not_found("course", "input.courseId").into());
    };
    if let Some(location) = new.location_id {
        require_location(&change, location).await?;
    }
    let capacity = new.capacity.unwrap_or(course.max_participants);
    if !(1..=course.max_participants).contains(&capacity) {
        return Err(Refusal::new(
            UserErrorCode::CapacityOutOfRange,
            format!(
                "the capacity must be between 1 and the course's maximum of {}",
                course.max_participants
            ),
        )
        .at("input.capacity")
        .into());
    }
    let id = Uuid::new_v4();
    session::Entity::insert(session::ActiveModel {
        id: Set(id),
        course_id: Set(course.id),
        location_id: Set(new.location_id),
        starts_at: Set(new.starts_at),
        ends_at: Set(new.ends_at),
        capacity: Set(capacity),
        status: Set(entity::enums::SessionStatus::Scheduled),
        booking_opens_at: Set(new.booking_opens_at),
        booking_closes_at: Set(new.booking_closes_at),
        is_demo: Set(false),
        booking_open: Set(true),
        availability_version: Set(0),
        actors_needed: Set(new.actors_needed),
        created_at: Set(change.now),
        updated_at: Set(change.now),
    })
    .exec_without_returning(change.txn)
    .await?;
    change
        .audit_change("scheduleSession", "Session", &[id])
        .await?;
    change.finish(live, Outcome::for_record(id)).await
}

/// What a planned session gets: new times, or a new place.
#[derive(Debug, Clone, Copy)]
pub enum Replan {
    Times {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    Location(Uuid),
}

/// Moves a session in time or place before it starts; everyone booked hears of it.
pub async fn replan_session(
    mut change: Change<'_>,
    live: &Live,
    session_id: Uuid,
    replan: Replan,
) -> Result<Outcome, TxError> {
    let session = change.lock_session(session_id, "input.sessionId").await?;
    require_not_cancelled(&session)?;
    if change.now >= session.starts_at {
        return Err(Refusal::new(
            UserErrorCode::SessionStarted,
            "the session has started; its time and place can no longer change",
        )
        .into());
    }
    let (update, topic, action) = match replan {
        Replan::Times { starts_at, ends_at } => {
            super::actors::check_actors_free_at(&change, session.id, starts_at, ends_at).await?;
            (
                session::ActiveModel {
                    starts_at: Set(starts_at),
                    ends_at: Set(ends_at),
                    ..Default::default()
                },
                "session.rescheduled",
                "rescheduleSession",
            )
        }
        Replan::Location(location) => {
            require_location(&change, location).await?;
            (
                session::ActiveModel {
                    location_id: Set(Some(location)),
                    ..Default::default()
                },
                "session.relocated",
                "relocateSession",
            )
        }
    };
    session::Entity::update(session::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(session.id),
        updated_at: Set(change.now),
        ..update
    })
    .exec(change.txn)
    .await?;
    for enrolment in active_enrolments(&change, session.id).await? {
        change
            .outbox(
                topic,
                enrolment.id,
                json!({
                    "enrolmentId": enrolment.id,
                    "sessionId": session.id,
                    "participantId": enrolment.participant_id,
                    "previousStartsAt": session.starts_at,
                    "previousLocationId": session.location_id,
                }),
            )
            .await?;
    }
    change
        .audit_change(action, "Session", &[session.id])
        .await?;
    // Subscribers to the session hear of the new time or place (its version rose with the lock).
    change.availability(&session).await?;
    change.finish(live, Outcome::for_record(session.id)).await
}

/// Cancels a session: every seat and waiting-list place with it, each with the reason, and
/// each recorded for notification.
pub async fn cancel_session(
    mut change: Change<'_>,
    live: &Live,
    session_id: Uuid,
    reason: &str,
) -> Result<Outcome, TxError> {
    let session = change.lock_session(session_id, "input.sessionId").await?;
    require_not_cancelled(&session)?;
    if change.now >= session.starts_at {
        return Err(Refusal::new(
            UserErrorCode::SessionStarted,
            "the session has started and can no longer be cancelled",
        )
        .into());
    }
    let session = update_session(&change, session.id, |update| {
        update.col_expr(
            session::Column::Status,
            Expr::value(entity::enums::SessionStatus::Cancelled),
        )
    })
    .await?;
    let cancelled = active_enrolments(&change, session.id).await?;
    for enrolment in &cancelled {
        change
            .set_status(
                enrolment,
                EnrolmentStatus::Cancelled,
                EnrolmentChangeKind::Cancelled,
                Some(reason),
            )
            .await?;
        change
            .outbox(
                "session.cancelled",
                enrolment.id,
                json!({
                    "enrolmentId": enrolment.id,
                    "sessionId": session.id,
                    "participantId": enrolment.participant_id,
                    "reason": reason,
                    "previousStatus": enrolment.status,
                }),
            )
            .await?;
    }
    change
        .audit_change("cancelSession", "Session", &[session.id])
        .await?;
    change.availability(&session).await?;
    change.finish(live, Outcome::for_record(session.id)).await
}

async fn active_enrolments(
    change: &Change<'_>,
    session_id: Uuid,
) -> Result<Vec<enrolment::Model>, DbErr> {
    enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.eq(session_id))
        .filter(
            enrolment::Column::Status
                .is_in([EnrolmentStatus::Confirmed, EnrolmentStatus::Waitlisted]),
        )
        .order_by_asc(enrolment::Column::CreatedAt)
        .all(change.txn)
        .await
}

async fn require_location(change: &Change<'_>, id: Uuid) -> Result<(), TxError> {
    let found = entity::location::Entity::find_by_id(id)
        .one(change.txn)
        .await?;
    if found.is_none() {
        return Err(Refusal::not_found("location", "input.locationId").into());
    }
    Ok(())
}
