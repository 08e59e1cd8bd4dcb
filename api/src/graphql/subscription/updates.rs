//! Subscriptions that answer with the objects a page already shows, `Session` and `Enrolment`,
//! so that a normalised client cache (Relay, Apollo) updates them by their id.
//!
//! The seats of a session come from the change itself (counted under the session's lock, with
//! its version); the standing of an enrolment from its session's standings, read once per change
//! for every subscriber of the process. Any other field a subscriber selects is resolved afresh
//! for each change, for the subscriber's access class (subscribers of one class share one
//! execution, see `http::websocket::shared`), and audited like a query where it holds personal
//! data.

use async_graphql::{Context, ID, Subscription};
use entity::{enrolment, enums::EnrolmentStatus, session};
use futures_util::{Stream, stream};
use sea_orm::DatabaseConnection;

use super::{Watch, gone, next_change, participant_of, standings, still_visible, until_read};
use crate::{
    auth::policy,
    db::{
        loaders::{self, Loaders, SeatsOf, WaitingPlaceOf},
        people,
        session::{self as sessions, SeatCounts},
    },
    domain::ids::{EnrolmentId, SessionId},
    error::{ApiError, FieldResult},
    graphql::{
        context::request_data,
        types::{Enrolment, Session, course_visible},
    },
    live::{Availability, Live, LiveChange},
};

#[derive(Default)]
pub struct UpdateSubscription;

/// The session as the change left it: its row, with the seats and version of the change.
async fn as_changed(mut row: session::Model, change: &Availability, loaders: &Loaders) -> Session {
    row.capacity = change.capacity;
    row.booking_open = change.booking_open;
    row.availability_version = change.version;
    loaders::know_seats(
        loaders,
        SeatsOf(SessionId(row.id)),
        SeatCounts {
            taken: change.taken,
            waiting: change.waiting,
        },
    );
    Session(row)
}

#[Subscription]
impl UpdateSubscription {
    /// A session: now, and again whenever its seats, waiting list, booking, time or place
    /// change. `availabilityVersion` rises with each change; a client that gets a lower one than
    /// it shows ignores it. Public, like the session itself; ends with `NOT_FOUND` when the
    /// session is no longer visible to the caller.
    async fn session_updated(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> FieldResult<impl Stream<Item = async_graphql::Result<Session>> + use<>> {
        let id = SessionId::from_global(&session_id, "sessionId")?;
        let data = request_data(ctx)?;
        // Listen first, then read: a change in between is heard, never lost.
        let receiver = data.live.subscribe();
        let row = match sessions::find_session_by_id(&data.db, id).await? {
            Some(row) if course_visible(ctx, row.course_id).await? => row,
            _ => return Err(ApiError::NotFound { what: "session" }.into()),
        };
        let course_id = row.course_id;
        let viewer = data.viewer.clone();
        let loaders = data.loaders.clone();
        let watch = Watch::new(receiver, data.db.clone(), data.live.clone(), row);
        Ok(stream::unfold(
            (watch, loaders),
            move |(mut watch, loaders)| {
                let viewer = viewer.clone();
                async move {
                    if watch.ended {
                        return None;
                    }
                    loop {
                        match watch.pending.take() {
                            Some(Err(error)) => {
                                watch.ended = true;
                                return Some((Err(error), (watch, loaders)));
                            }
                            Some(Ok(next)) => {
                                watch.last = Some(next.clone());
                                return Some((Ok(Session(next)), (watch, loaders)));
                            }
                            None => {}
                        }
                        let heard = next_change(&mut watch.receiver, &watch.live).await?;
                        let shown = watch
                            .last
                            .as_ref()
                            .map_or(i64::MIN, |s| s.availability_version);
                        match heard.change {
                            LiveChange::Availability(change)
                                if change.session_id == id.0 && change.version > shown =>
                            {
                                // What this execution loaded before is older than the change.
                                loaders::forget_everything(&loaders);
                                let read = || async {
                                    sessions::find_session_by_id(&watch.db, id)
                                        .await
                                        .map_err(ApiError::from)
                                };
                                if let Some(row) = until_read(read).await {
                                    let session = as_changed(row, &change, &loaders).await;
                                    watch.pending = Some(Ok(session.0));
                                }
                            }
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
                                loaders::forget_everything(&loaders);
                                if !still_visible(&viewer, &watch.db, course_id).await {
                                    watch.pending = Some(Err(gone("session")));
                                } else {
                                    let read = || async {
                                        sessions::find_session_by_id(&watch.db, id)
                                            .await
                                            .map_err(ApiError::from)
                                    };
                                    watch.pending = until_read(read).await.map(Ok);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            },
        ))
    }

    /// The caller's own enrolment: now, and again whenever its status or place on the waiting
    /// list changes. Participants only; someone else's enrolment looks like none.
    async fn my_enrolment_updated(
        &self,
        ctx: &Context<'_>,
        enrolment_id: ID,
    ) -> FieldResult<impl Stream<Item = async_graphql::Result<Enrolment>> + use<>> {
        let id = EnrolmentId::from_global(&enrolment_id, "enrolmentId")?;
        let data = request_data(ctx)?;
        let own = participant_of(&data.viewer)?;
        let receiver = data.live.subscribe();
        let row = match people::find_enrolments_by_ids(&data.db, &[id.0])
            .await?
            .pop()
        {
            Some(row) if row.participant_id == own => row,
            _ => return Err(ApiError::NotFound { what: "enrolment" }.into()),
        };
        let session_id = row.session_id;
        let loaders = data.loaders.clone();
        let Some(first) =
            read_standing(&data.db, &data.live, row, data.live.latest(), &loaders).await?
        else {
            return Err(ApiError::NotFound { what: "enrolment" }.into());
        };
        let watch = Watch::new(receiver, data.db.clone(), data.live.clone(), first);
        Ok(stream::unfold(
            (watch, loaders),
            move |(mut watch, loaders)| async move {
                loop {
                    if let Some(Ok(next)) = watch.pending.take()
                        && watch.last.as_ref() != Some(&next)
                    {
                        watch.last = Some(next.clone());
                        return Some((Ok(Enrolment(next.row)), (watch, loaders)));
                    }
                    let heard = next_change(&mut watch.receiver, &watch.live).await?;
                    // A place in the queue moves with every change to the session while waiting.
                    let waiting = watch
                        .last
                        .as_ref()
                        .is_some_and(|shown| shown.row.status == EnrolmentStatus::Waitlisted);
                    let concerns = match heard.change {
                        LiveChange::Enrolment { id: changed, .. } => changed == id.0,
                        LiveChange::Availability(change) => {
                            change.session_id == session_id && waiting
                        }
                        LiveChange::Resync => true,
                        LiveChange::Course { .. } => false,
                    };
                    if let (true, Some(shown)) = (concerns, watch.last.as_ref()) {
                        let row = shown.row.clone();
                        let read = read_standing(&watch.db, &watch.live, row, heard.seq, &loaders);
                        watch.pending = read.await.ok().flatten().map(Ok);
                    }
                }
            },
        ))
    }
}

/// An enrolment and its place on the waiting list while waiting.
#[derive(Debug, Clone, PartialEq)]
struct Standing {
    row: enrolment::Model,
    place: Option<i64>,
}

/// Where the enrolment stands after change `seq`, from its session's standings (one read per
/// change for every subscriber of the process); what this execution loaded before is forgotten,
/// and the place is handed to the loader that `Enrolment.waitingListPlace` asks.
async fn read_standing(
    db: &DatabaseConnection,
    live: &Live,
    mut row: enrolment::Model,
    seq: u64,
    loaders: &Loaders,
) -> Result<Option<Standing>, ApiError> {
    let id = EnrolmentId(row.id);
    let Some(standings) = until_read(|| standings(db, live, row.session_id, seq)).await else {
        return Ok(None);
    };
    let Some((status, place)) = standings.get(&id.0).copied() else {
        return Ok(None);
    };
    loaders::forget_everything(loaders);
    row.status = status;
    if let Some(place) = place {
        loaders::know_place(loaders, WaitingPlaceOf(id), place);
    }
    Ok(Some(Standing { row, place }))
}
