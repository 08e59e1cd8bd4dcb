//! Messages that come due with time: a reminder some days before a session, and a feedback
//! request once an attended session has ended. Every process may schedule them as often as it
//! likes; each has a dedupe key, and the database keeps one event per key.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use super::notice::{FEEDBACK_REQUEST, REMINDER};
use crate::db::{
    feedback::FEEDBACK_PERIOD_DAYS,
    outbox::{self, NewEvent},
    transaction::{self, TxError},
};
use entity::{
    enrolment,
    enums::{EnrolmentStatus, SessionStatus},
    outbox_event, session,
};

/// Writes the reminders and feedback requests that have come due and were not written yet;
/// returns how many it wrote.
pub async fn schedule_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    reminder_days: u32,
) -> Result<u64, TxError> {
    let mut due = reminders(db, now, Duration::days(i64::from(reminder_days))).await?;
    due.extend(feedback_requests(db, now).await?);
    if due.is_empty() {
        return Ok(0);
    }
    let keys: Vec<String> = due.iter().filter_map(|e| e.dedupe_key.clone()).collect();
    let mut written = HashSet::new();
    for chunk in keys.chunks(outbox::CHUNK) {
        written.extend(
            outbox_event::Entity::find()
                .select_only()
                .column(outbox_event::Column::DedupeKey)
                .filter(outbox_event::Column::DedupeKey.is_in(chunk.to_vec()))
                .into_tuple::<Option<String>>()
                .all(db)
                .await?
                .into_iter()
                .flatten(),
        );
    }
    due.retain(|event| {
        event
            .dedupe_key
            .as_ref()
            .is_some_and(|key| !written.contains(key))
    });
    if due.is_empty() {
        return Ok(0);
    }
    transaction::write(db, move |txn| {
        let due = due.clone();
        Box::pin(async move { Ok(outbox::add(txn, due, now).await?) })
    })
    .await
}

/// Confirmed seats in sessions that start within the reminder window, booked before the window
/// opened (who books later has just had the confirmation). The key holds the start, so a
/// session moved to a later date is reminded of again.
async fn reminders(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<Vec<NewEvent<'static>>, DbErr> {
    let sessions: HashMap<Uuid, session::Model> = session::Entity::find()
        .filter(session::Column::Status.eq(SessionStatus::Scheduled))
        .filter(session::Column::StartsAt.gt(now))
        .filter(session::Column::StartsAt.lte(now + window))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let seats = seats_in(db, sessions.keys().copied(), EnrolmentStatus::Confirmed).await?;
    Ok(seats
        .into_iter()
        .filter_map(|seat| {
            let session = sessions.get(&seat.session_id)?;
            (seat.created_at <= session.starts_at - window).then(|| NewEvent {
                topic: REMINDER,
                aggregate_type: "Enrolment",
                aggregate_id: seat.id,
                payload: json!({
                    "enrolmentId": seat.id,
                    "sessionId": session.id,
                    "participantId": seat.participant_id,
                    "startsAt": session.starts_at,
                }),
                deliver_at: now,
                dedupe_key: Some(format!(
                    "reminder:{}:{}",
                    seat.id,
                    session.starts_at.timestamp()
                )),
            })
        })
        .collect())
}

/// Who attended a session that ended while feedback is still open.
async fn feedback_requests(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Vec<NewEvent<'static>>, DbErr> {
    let sessions: Vec<Uuid> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::Status.ne(SessionStatus::Cancelled))
        .filter(session::Column::EndsAt.lte(now))
        .filter(session::Column::EndsAt.gt(now - Duration::days(FEEDBACK_PERIOD_DAYS)))
        .into_tuple()
        .all(db)
        .await?;
    let attended = seats_in(db, sessions, EnrolmentStatus::Attended).await?;
    Ok(attended
        .into_iter()
        .map(|seat| NewEvent {
            topic: FEEDBACK_REQUEST,
            aggregate_type: "Enrolment",
            aggregate_id: seat.id,
            payload: json!({
                "enrolmentId": seat.id,
                "sessionId": seat.session_id,
                "participantId": seat.participant_id,
            }),
            deliver_at: now,
            dedupe_key: Some(format!("feedback-request:{}", seat.id)),
        })
        .collect())
}

async fn seats_in(
    db: &DatabaseConnection,
    sessions: impl IntoIterator<Item = Uuid>,
    status: EnrolmentStatus,
) -> Result<Vec<enrolment::Model>, DbErr> {
    let sessions: Vec<Uuid> = sessions.into_iter().collect();
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.is_in(sessions))
        .filter(enrolment::Column::Status.eq(status))
        .all(db)
        .await
}
