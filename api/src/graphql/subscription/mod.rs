//! Subscriptions, served over WebSocket (`graphql-transport-ws`): a session's seats, and a
//! participant's own enrolment. Each first answers with how things stand, then again whenever
//! they change. Seats come with the change that committed them (counted under the session's
//! lock, with its version, so older news never follows newer); an enrolment's place in the queue
//! moves with changes elsewhere in its session, so the session's standings are read once per
//! change and shared by every subscriber of the process. When changes may have been missed
//! (`Resync`), both read again, retrying until the database answers. A subscription ends when
//! what it watches is no longer visible to its caller (its course was unpublished or archived).

use std::time::Duration;

use async_graphql::{Context, ID, MergedSubscription, SimpleObject, Subscription};
use futures_util::{Stream, stream};
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::{Receiver, error::RecvError};
use uuid::Uuid;

use crate::{
    auth::{Role, Viewer, policy},
    db::{booking::session_standings, people, session as sessions},
    domain::ids::{EnrolmentId, SessionId},
    error::{ApiError, FieldError, FieldResult},
    graphql::{
        context::request_data,
        types::{course_visible, enums::EnrolmentStatus},
    },
    live::{Heard, Live, LiveChange, Standings},
};

mod updates;

/// Every subscription: the current ones (`updates`, objects a normalised cache updates by id)
/// and the deprecated ones they replace.
#[derive(MergedSubscription, Default)]
pub struct Subscription(updates::UpdateSubscription, AvailabilitySubscription);

/// The first subscriptions, answering with types of their own; deprecated.
#[derive(Default)]
pub struct AvailabilitySubscription;

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

/// Where an enrolment stands, from its session's standings.
fn enrolment_update(id: Uuid, standings: &Standings) -> Option<EnrolmentUpdate> {
    standings.get(&id).map(|(status, place)| EnrolmentUpdate {
        enrolment_id: ID(EnrolmentId(id).to_global()),
        status: (*status).into(),
        waiting_list_place: *place,
    })
}

/// The standings of a session as read after change `heard`, shared with every subscriber of
/// this process that reacts to the same change.
async fn standings(
    db: &DatabaseConnection,
    live: &Live,
    session_id: Uuid,
    heard: u64,
) -> Result<Option<Standings>, ApiError> {
    let read = || async {
        session_standings(db, session_id)
            .await
            .map_err(ApiError::from)
    };
    live.standings
        .read(live, session_id, heard, read)
        .await
        .map(Some)
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
async fn next_change(receiver: &mut Receiver<Heard>, live: &Live) -> Option<Heard> {
    match receiver.recv().await {
        Ok(heard) => Some(heard),
        Err(RecvError::Lagged(_)) => Some(Heard {
            seq: live.latest(),
            change: LiveChange::Resync,
        }),
        Err(RecvError::Closed) => None,
    }
}

/// Whether the caller may still see a course, read afresh (its status may just have changed).
async fn still_visible(viewer: &Viewer, db: &DatabaseConnection, course_id: Uuid) -> bool {
    if policy::can_see_unpublished(viewer) {
        return true;
    }
    match crate::db::course::find_courses_by_ids(db, &[course_id]).await {
        Ok(found) => found
            .first()
            .is_some_and(|course| course.status == entity::enums::CourseStatus::Published),
        // A failed read ends nothing: the next change asks again.
        Err(_) => true,
    }
}

/// What a subscription's stream keeps between changes.
struct Watch<T> {
    receiver: Receiver<Heard>,
    db: DatabaseConnection,
    live: Live,
    /// What the subscriber was last shown.
    last: Option<T>,
    /// What to show next, or why the subscription ends.
    pending: Option<async_graphql::Result<T>>,
    ended: bool,
}

impl<T> Watch<T> {
    /// Watching from `first`, which the subscriber is shown at once.
    fn new(receiver: Receiver<Heard>, db: DatabaseConnection, live: Live, first: T) -> Self {
        Self {
            receiver,
            db,
            live,
            last: None,
            pending: Some(Ok(first)),
            ended: false,
        }
    }
}

/// The participant a subscriber of their own enrolment is.
fn participant_of(viewer: &Viewer) -> Result<Uuid, ApiError> {
    match viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::Person {
            role: Role::Participant,
            participant_id: Some(own),
            ..
        } => Ok(*own),
        _ => Err(ApiError::ForbiddenTo(
            "participants follow their own enrolments",
        )),
    }
}

fn gone(what: &'static str) -> async_graphql::Error {
    FieldError::from(ApiError::NotFound { what }).into()
}

#[Subscription]
impl AvailabilitySubscription {
    /// A session's seats left and waiting list: now, and whenever they change. Public, like the
    /// session itself.
    #[graphql(
        deprecation = "use `sessionUpdated`: it answers with the `Session`, which a normalised cache updates by its id"
    )]
    async fn session_availability(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> FieldResult<impl Stream<Item = async_graphql::Result<SessionAvailability>> + use<>> {
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
        let course_id = session.map(|s| s.course_id).unwrap_or_default();
        let viewer = data.viewer.clone();
        let live = data.live.clone();
        let state = Watch::new(receiver, db, live, first);
        Ok(stream::unfold(state, move |mut watch| {
            let viewer = viewer.clone();
            async move {
                if watch.ended {
                    return None;
                }
                loop {
                    match watch.pending.take() {
                        Some(Err(error)) => {
                            watch.ended = true;
                            return Some((Err(error), watch));
                        }
                        Some(Ok(next))
                            if watch.last.as_ref().is_none_or(|shown| {
                                next.version > shown.version
                                    || (next.version == shown.version && next != *shown)
                            }) =>
                        {
                            watch.last = Some(next.clone());
                            return Some((Ok(next), watch));
                        }
                        _ => {}
                    }
                    let heard = next_change(&mut watch.receiver, &watch.live).await?;
                    match heard.change {
                        LiveChange::Availability(change) if change.session_id == id => {
                            if watch
                                .last
                                .as_ref()
                                .is_some_and(|shown| change.version <= shown.version)
                            {
                                continue;
                            }
                            watch.pending = Some(Ok(SessionAvailability {
                                session_id: ID(SessionId(id).to_global()),
                                capacity: change.capacity,
                                seats_taken: change.taken,
                                seats_left: (i64::from(change.capacity) - change.taken).max(0),
                                waiting_list_length: change.waiting,
                                booking_open: change.booking_open,
                                version: change.version,
                            }));
                        }
                        // No longer visible: the subscription ends as if the session were gone.
                        LiveChange::Course {
                            id: changed,
                            published,
                        } if changed == course_id
                            && !published
                            && !policy::can_see_unpublished(&viewer) =>
                        {
                            watch.pending = Some(Err(gone("session")));
                        }
                        LiveChange::Resync => {
                            if !still_visible(&viewer, &watch.db, course_id).await {
                                watch.pending = Some(Err(gone("session")));
                            } else {
                                watch.pending =
                                    until_read(|| availability(&watch.db, id)).await.map(Ok);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }))
    }

    /// The caller's own enrolment: its status and waiting-list place now, and whenever they
    /// change. Participants only.
    #[graphql(
        deprecation = "use `myEnrolmentUpdated`: it answers with the `Enrolment`, which a normalised cache updates by its id"
    )]
    async fn my_enrolment(
        &self,
        ctx: &Context<'_>,
        enrolment_id: ID,
    ) -> FieldResult<impl Stream<Item = async_graphql::Result<EnrolmentUpdate>> + use<>> {
        let id = EnrolmentId::from_global(&enrolment_id, "enrolmentId")?.0;
        let data = request_data(ctx)?;
        let own = participant_of(&data.viewer)?;
        let db = data.db.clone();
        let receiver = data.live.subscribe();
        let not_found = ApiError::NotFound { what: "enrolment" };
        let Some(found) = people::find_enrolments_by_ids(&db, &[id]).await?.pop() else {
            return Err(not_found.into());
        };
        if found.participant_id != own {
            return Err(not_found.into());
        }
        let session_id = found.session_id;
        let live = data.live.clone();
        let Some(first) = standings(&db, &live, session_id, live.latest())
            .await?
            .and_then(|standings| enrolment_update(id, &standings))
        else {
            return Err(ApiError::NotFound { what: "enrolment" }.into());
        };
        let state = Watch::new(receiver, db, live, first);
        Ok(stream::unfold(state, move |mut watch| async move {
            loop {
                if let Some(Ok(next)) = watch.pending.take()
                    && watch.last.as_ref() != Some(&next)
                {
                    watch.last = Some(next.clone());
                    return Some((Ok(next), watch));
                }
                let heard = next_change(&mut watch.receiver, &watch.live).await?;
                // A place in the queue moves with every change to the session while waiting.
                let waiting = watch
                    .last
                    .as_ref()
                    .is_some_and(|shown| shown.status == EnrolmentStatus::Waitlisted);
                let concerns = match heard.change {
                    LiveChange::Enrolment { id: changed, .. } => changed == id,
                    LiveChange::Availability(change) => change.session_id == session_id && waiting,
                    LiveChange::Resync => true,
                    LiveChange::Course { .. } => false,
                };
                if concerns {
                    let (db, live) = (&watch.db, &watch.live);
                    watch.pending = until_read(|| standings(db, live, session_id, heard.seq))
                        .await
                        .and_then(|standings| enrolment_update(id, &standings))
                        .map(Ok);
                }
            }
        }))
    }
}

/// Whether a subscription follows public sessions only (`sessionUpdated`,
/// `sessionAvailability`): then what it shows does not depend on which participant asks
/// (`policy::public_view_class`). A document that does not parse, or selects anything else at its
/// root (fragments included), is not.
pub fn follows_public_sessions(query: &str) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};

    if crate::graphql::nesting::exceeds(query, crate::graphql::nesting::MAX_NESTING) {
        return false;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let DocumentOperations::Single(operation) = &document.operations else {
        return false;
    };
    operation.node.ty == OperationType::Subscription
        && operation.node.selection_set.node.items.iter().all(|item| {
            matches!(&item.node, Selection::Field(field)
                if matches!(field.node.name.node.as_str(),
                    "sessionUpdated" | "sessionAvailability" | "__typename"))
        })
}
