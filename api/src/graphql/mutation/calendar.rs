//! Calendar links: participants and actors make (and revoke) the secret link of their own
//! calendar feed; staff make one for an actor.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::{MutationOptions, MutationResult, Performed, parse_id, perform};
use crate::{
    auth::{Role, Viewer, api_key, policy},
    db::calendar::{self, Owner},
    domain::ids::{ActorId, CalendarLinkId},
    error::{ApiError, FieldResult},
    graphql::{
        context::{db, request_data, viewer},
        types::CalendarLink,
    },
};

#[derive(Default)]
pub struct CalendarMutation;

#[derive(InputObject, Serialize, Debug)]
pub struct CreateCalendarLinkInput {
    /// Staff (and the actor): the actor whose sessions the feed shows. Left out, the feed shows
    /// the caller's own sessions.
    pub actor_id: Option<ID>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct RevokeCalendarLinkInput {
    pub id: ID,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
pub struct CalendarLinkPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    pub calendar_link: Option<CalendarLink>,
    /// The feed's address, with its secret: shown this once (null on a replayed answer; make a
    /// new link if it was lost). Calendar programs subscribe to it ("add calendar from URL").
    pub url: Option<String>,
}

/// Whose feed the caller asks for, if they may have it.
fn owner(viewer: &Viewer, actor: Option<Uuid>) -> FieldResult<Owner> {
    match (viewer, actor) {
        (Viewer::Anonymous, _) => Err(ApiError::Unauthenticated.into()),
        (_, Some(actor)) if policy::can_read_actor(viewer, actor) => Ok(Owner::Actor(actor)),
        (
            Viewer::Person {
                role: Role::Participant,
                participant_id: Some(own),
                ..
            },
            None,
        ) => Ok(Owner::Participant(*own)),
        (
            Viewer::Person {
                role: Role::Actor,
                actor_id: Some(own),
                ..
            },
            None,
        ) => Ok(Owner::Actor(*own)),
        _ => Err(ApiError::ForbiddenTo(
            "calendar links are for participants and actors, and for staff on an actor's behalf",
        )
        .into()),
    }
}

/// Who may revoke a link: its owner, staff for actors' links, administrators for any.
fn may_revoke(viewer: &Viewer, owner: Owner) -> bool {
    if viewer.role() == Some(Role::Administrator) && matches!(viewer, Viewer::Person { .. }) {
        return true;
    }
    match owner {
        Owner::Participant(id) => matches!(
            viewer,
            Viewer::Person { role: Role::Participant, participant_id: Some(own), .. } if *own == id
        ),
        Owner::Actor(id) => policy::can_read_actor(viewer, id),
    }
}

async fn payload(
    ctx: &Context<'_>,
    performed: &Performed,
    client_mutation_id: Option<String>,
    url: Option<String>,
) -> FieldResult<CalendarLinkPayload> {
    let calendar_link = match performed.made().and_then(|o| o.record_id) {
        Some(id) => calendar::find(db(ctx)?, id).await?.map(CalendarLink::from),
        None => None,
    };
    Ok(CalendarLinkPayload {
        result: performed.result(client_mutation_id),
        url: url.filter(|_| calendar_link.is_some() && !performed.replayed),
        calendar_link,
    })
}

#[Object]
impl CalendarMutation {
    /// Makes the secret link of a calendar feed: a participant's own sessions, or an actor's.
    /// Any earlier link of the same feed stops working.
    async fn create_calendar_link(
        &self,
        ctx: &Context<'_>,
        input: CreateCalendarLinkInput,
    ) -> FieldResult<CalendarLinkPayload> {
        let viewer = viewer(ctx)?;
        let actor = match &input.actor_id {
            None => Ok(None),
            Some(id) => parse_id(ActorId::from_global(id, "input.actorId"), "input.actorId")
                .map(|actor| Some(actor.0)),
        };
        let (performed, url) = match actor {
            Err(refusal) => (Performed::refused(refusal), None),
            Ok(actor) => {
                let owner = owner(viewer, actor)?;
                // The secret is random, so a fast hash is as safe as a slow one (as for API keys).
                let secret = api_key::random_hex(32)?;
                let hash = api_key::hash(&secret);
                let key = input.options.idempotency_key.as_deref();
                let performed =
                    perform(ctx, "createCalendarLink", key, &input, move |change, _| {
                        let hash = hash.clone();
                        Box::pin(async move { calendar::issue(&change, owner, &hash).await })
                    })
                    .await?;
                let base = &request_data(ctx)?.public_url;
                (performed, Some(format!("{base}/calendar/{secret}.ics")))
            }
        };
        payload(ctx, &performed, input.options.client_mutation_id, url).await
    }

    /// Stops a calendar link from working.
    async fn revoke_calendar_link(
        &self,
        ctx: &Context<'_>,
        input: RevokeCalendarLinkInput,
    ) -> FieldResult<CalendarLinkPayload> {
        let viewer = viewer(ctx)?.clone();
        if viewer == Viewer::Anonymous {
            return Err(ApiError::Unauthenticated.into());
        }
        let performed = match parse_id(
            CalendarLinkId::from_global(&input.id, "input.id"),
            "input.id",
        ) {
            Err(refusal) => Performed::refused(refusal),
            Ok(CalendarLinkId(id)) => {
                let key = input.options.idempotency_key.as_deref();
                perform(ctx, "revokeCalendarLink", key, &input, move |change, _| {
                    let viewer = viewer.clone();
                    Box::pin(async move {
                        calendar::revoke(&change, id, move |owner| may_revoke(&viewer, owner)).await
                    })
                })
                .await?
            }
        };
        payload(ctx, &performed, input.options.client_mutation_id, None).await
    }
}
