//! Subscriptions, served over WebSocket (`graphql-transport-ws`): a session's seats, and a
//! participant's own enrolment. Each first answers with how things stand, then again whenever
//! they change. Seats come with the change that committed them (counted under the session's
//! lock, with its version, so older news never follows newer); an enrolment is read anew, since
//! a change elsewhere in its session moves its place in the queue. When changes may have been
//! missed (`Resync`), both read again, retrying until the database answers.

use std::time::Duration;

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures_util::{Stream, stream};
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::{Receiver, error::RecvError};
use uuid::Uuid;

use crate::{
    auth::{Role, Viewer},
    db::{booking::waiting_places, people, session as sessions},
    domain::ids::{EnrolmentId, SessionId},
    error::{ApiError, FieldResult},
    graphql::{
        context::request_data,
        types::{course_visible, enums::EnrolmentStatus},
    },
    live::LiveChange,
};

#[derive(Default)]
pub struct Subscription;

/// A session's seats at one moment.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct SessionAvailability {
    pub session_id: ID,
    pub capacity: i32,
    pub seats_taken: i64,
    /// Never below zero.
    pub seats_left: i64,
    pub waiting_list_length: i64,
    /// False when the service desk closed booking by hand.
    pub booking_open: bool,
    /// Rises with every change: a client that sees a lower version than before ignores it.
    pub version: i64,
}

/// Where the subscriber's enrolment stands.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentUpdate {
    pub enrolment_id: ID,
    pub status: EnrolmentStatus,
    /// The place on the waiting list (1 is next) while waiting.
    pub waiting_list_place: Option<i64>,
}

async fn availability(
    db: &DatabaseConnection,
    id: Uuid,
) -> Result<Option<SessionAvailability>, ApiError> {
    let Some(session) = sessions::find_session_by_id(db, SessionId(id)).await? else {
        return Ok(None);
    };
    let seats = sessions::count_seats(db, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(Some(SessionAvailability {
        session_id: ID(SessionId(id).to_global()),
        capacity: session.capacity,
        seats_taken: seats.taken,
        seats_left: (i64::from(session.capacity) - seats.taken).max(0),
        waiting_list_length: seats.waiting,
        booking_open: session.booking_open,
        version: session.availability_version,
    }))
}

async fn enrolment_update(
    db: &DatabaseConnection,
    id: Uuid,
) -> Result<Option<(Uuid, EnrolmentUpdate)>, ApiError> {
    let Some(found) = people::find_enrolments_by_ids(db, &[id]).await?.pop() else {
        return Ok(None);
    };
    let place = waiting_places(db, &[id])
        .await?
        .first()
        .map(|(_, place)| *place);
    Ok(Some((
        found.session_id,
        EnrolmentUpdate {
            enrolment_id: ID(EnrolmentId(id).to_global()),
            status: found.status.into(),
            waiting_list_place: place,
        },
    )))
}

/// Reads until the database answers, pausing longer each time (up to 10 s); a subscriber that
/// goes meanwhile ends the stream, and with it the reading.
async fn until_read<T, F, Fut>(mut read: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ApiError>>,
{
    let mut pause = Duration::from_millis(250);
    loop {
        match read().await {
            Ok(found) => return found,
            Err(_) => {
                tracing::warn!("live: could not read the current state, retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// The next change that may concern a subscriber, or `None` when the hub has closed. A
/// subscriber that fell behind hears `Resync`.
async fn next_change(receiver: &mut Receiver<LiveChange>) -> Option<LiveChange> {
    match receiver.recv().await {
        Ok(change) => Some(change),
        Err(RecvError::Lagged(_)) => Some(LiveChange::Resync),
        Err(RecvError::Closed) => None,
    }
}

#[Subscription]
impl Subscription {
    /// A session's seats left and waiting list: now, and whenever they change. Public, like the
    /// session itself.
    async fn session_availability(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> FieldResult<impl Stream<Item = SessionAvailability> + use<>> {
        let id = SessionId::from_global(&session_id, "sessionId")?.0;
        let data = request_data(ctx)?;
        let db = data.db.clone();
        // Listen first, then read: a change in between is heard, never lost.
        let receiver = data.live.subscribe();
        let session = sessions::find_session_by_id(&db, SessionId(id)).await?;
        let visible = match &session {
            Some(session) => course_visible(ctx, session.course_id).await?,
            None => false,
        };
        let first = match availability(&db, id).await? {
            Some(first) if visible => first,
            _ => return Err(ApiError::NotFound { what: "session" }.into()),
        };
        let state = (receiver, db, None::<SessionAvailability>, Some(first));
        Ok(stream::unfold(
            state,
            move |(mut receiver, db, mut last, mut pending)| async move {
                loop {
                    if let Some(next) = pending.take()
                        && last.as_ref().is_none_or(|shown| {
                            next.version > shown.version
                                || (next.version == shown.version && next != *shown)
                        })
                    {
                        last = Some(next.clone());
                        return Some((next, (receiver, db, last, None)));
                    }
                    match next_change(&mut receiver).await? {
                        LiveChange::Availability(change) if change.session_id == id => {
                            if last
                                .as_ref()
                                .is_some_and(|shown| change.version <= shown.version)
                            {
                                continue;
                            }
                            pending = Some(SessionAvailability {
                                session_id: ID(SessionId(id).to_global()),
                                capacity: change.capacity,
                                seats_taken: change.taken,
                                seats_left: (i64::from(change.capacity) - change.taken).max(0),
                                waiting_list_length: change.waiting,
                                booking_open: change.booking_open,
                                version: change.version,
                            });
                        }
                        LiveChange::Resync => {
                            pending = until_read(|| availability(&db, id)).await;
                        }
                        _ => {}
                    }
                }
            },
        ))
    }

    /// The caller's own enrolment: its status and waiting-list place now, and whenever they
    /// change. Participants only.
    async fn my_enrolment(
        &self,
        ctx: &Context<'_>,
        enrolment_id: ID,
    ) -> FieldResult<impl Stream<Item = EnrolmentUpdate> + use<>> {
        let id = EnrolmentId::from_global(&enrolment_id, "enrolmentId")?.0;
        let data = request_data(ctx)?;
        let own = match &data.viewer {
            Viewer::Anonymous => return Err(ApiError::Unauthenticated.into()),
            Viewer::Person {
                role: Role::Participant,
                participant_id: Some(own),
                ..
            } => *own,
            _ => {
                return Err(
                    ApiError::ForbiddenTo("participants follow their own enrolments").into(),
                );
            }
        };
        let db = data.db.clone();
        let receiver = data.live.subscribe();
        let not_found = ApiError::NotFound { what: "enrolment" };
        let Some(found) = people::find_enrolments_by_ids(&db, &[id]).await?.pop() else {
            return Err(not_found.into());
        };
        if found.participant_id != own {
            return Err(not_found.into());
        }
        let Some((session_id, first)) = enrolment_update(&db, id).await? else {
            return Err(ApiError::NotFound { what: "enrolment" }.into());
        };
        let state = (receiver, db, None::<EnrolmentUpdate>, Some(first));
        Ok(stream::unfold(
            state,
            move |(mut receiver, db, mut last, mut pending)| async move {
                loop {
                    if let Some(next) = pending.take()
                        && last.as_ref() != Some(&next)
                    {
                        last = Some(next.clone());
                        return Some((next, (receiver, db, last, None)));
                    }
                    // Its own changes, and its session's, which move its place in the queue.
                    let concerns = match next_change(&mut receiver).await? {
                        LiveChange::Enrolment { id: changed, .. } => changed == id,
                        LiveChange::Availability(change) => change.session_id == session_id,
                        LiveChange::Resync => true,
                    };
                    if concerns {
                        pending = until_read(|| enrolment_update(&db, id))
                            .await
                            .map(|(_, update)| update);
                    }
                }
            },
        ))
    }
}
