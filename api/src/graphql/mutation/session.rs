//! Staff change a session's seats: its capacity, and whether it takes bookings.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::{MutationOptions, MutationResult, Performed, parse_id, perform, require_staff};
use crate::{
    db::booking,
    domain::{booking::Refusal, ids::SessionId},
    error::FieldResult,
    graphql::{
        context::{loaders, viewer},
        types::Session,
    },
};

#[derive(Default)]
pub struct SessionBookingMutation;

#[derive(InputObject, Serialize, Debug)]
pub struct ChangeSessionCapacityInput {
    pub session_id: ID,
    /// At least the seats already confirmed, at most the course's maximum.
    pub capacity: i32,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct SetSessionBookingOpenInput {
    pub session_id: ID,
    /// False closes booking; true reopens it within the booking window.
    pub open: bool,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

/// The answer of a change to a session's seats.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SessionSeatsPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub session_id: Option<Uuid>,
}

#[ComplexObject]
impl SessionSeatsPayload {
    /// The session as it is now.
    async fn session(&self, ctx: &Context<'_>) -> FieldResult<Option<Session>> {
        let Some(id) = self.session_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(SessionId(id)).await?.map(Session))
    }
}

fn session_id(id: &ID) -> Result<SessionId, Refusal> {
    parse_id(
        SessionId::from_global(id, "input.sessionId"),
        "input.sessionId",
    )
}

fn payload(performed: &Performed, client_mutation_id: Option<String>) -> SessionSeatsPayload {
    SessionSeatsPayload {
        result: performed.result(client_mutation_id),
        session_id: performed.made().and_then(|o| o.session_id),
    }
}

#[Object]
impl SessionBookingMutation {
    /// Staff: changes a session's capacity. Extra seats go to the waiting list at once.
    async fn change_session_capacity(
        &self,
        ctx: &Context<'_>,
        input: ChangeSessionCapacityInput,
    ) -> FieldResult<SessionSeatsPayload> {
        require_staff(viewer(ctx)?)?;
        let performed = match session_id(&input.session_id) {
            Err(refusal) => Performed::refused(refusal),
            Ok(session) => {
                let capacity = input.capacity;
                perform(
                    ctx,
                    "changeSessionCapacity",
                    input.options.idempotency_key.as_deref(),
                    &input,
                    move |change, live| {
                        Box::pin(async move {
                            booking::change_capacity(change, &live, session.0, capacity).await
                        })
                    },
                )
                .await?
            }
        };
        Ok(payload(&performed, input.options.client_mutation_id))
    }

    /// Staff: closes booking for a session, or reopens it. Reopening gives free seats to the
    /// waiting list.
    async fn set_session_booking_open(
        &self,
        ctx: &Context<'_>,
        input: SetSessionBookingOpenInput,
    ) -> FieldResult<SessionSeatsPayload> {
        require_staff(viewer(ctx)?)?;
        let performed = match session_id(&input.session_id) {
            Err(refusal) => Performed::refused(refusal),
            Ok(session) => {
                let open = input.open;
                perform(
                    ctx,
                    "setSessionBookingOpen",
                    input.options.idempotency_key.as_deref(),
                    &input,
                    move |change, live| {
                        Box::pin(async move {
                            booking::set_booking_open(change, &live, session.0, open).await
                        })
                    },
                )
                .await?
            }
        };
        Ok(payload(&performed, input.options.client_mutation_id))
    }
}
