//! Staff keep actor profiles and assign actors to sessions; actors keep their own availability.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{MutationOptions, MutationResult, parse_id, perform_checked, require_staff};
use crate::{
    auth::{Viewer, policy},
    db::actors::{self, ActorDetails, Period},
    domain::{
        booking::{Refusal, UserErrorCode},
        email::EmailAddress,
        ids::{ActorId, SessionId},
        input::{required, text},
    },
    error::{ApiError, FieldResult},
    graphql::{
        context::{loaders, viewer},
        types::{Actor, Session, load_actor},
    },
};

#[derive(Default)]
pub struct ActorMutation;

#[derive(InputObject, Serialize, Debug, Clone)]
pub struct ActorDetailsInput {
    pub full_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub profile: Option<String>,
    #[graphql(default)]
    pub scenarios: Vec<String>,
    #[graphql(default)]
    pub playable_roles: Vec<String>,
    #[graphql(default = true)]
    pub active: bool,
}

#[derive(InputObject, Serialize, Debug)]
pub struct SaveActorInput {
    /// Leave out to add an actor.
    pub actor_id: Option<ID>,
    pub details: ActorDetailsInput,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug, Clone, Copy)]
pub struct PeriodInput {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(InputObject, Serialize, Debug)]
pub struct SetActorAvailabilityInput {
    pub actor_id: ID,
    /// All periods in which the actor can play; they replace the ones before.
    pub periods: Vec<PeriodInput>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct AssignActorInput {
    pub session_id: ID,
    pub actor_id: ID,
    /// Their part in the exercise.
    pub exercise_role: Option<String>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct UnassignActorInput {
    pub session_id: ID,
    pub actor_id: ID,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ActorPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub actor_id: Option<Uuid>,
}

#[ComplexObject]
impl ActorPayload {
    async fn actor(&self, ctx: &Context<'_>) -> FieldResult<Option<Actor>> {
        let Some(id) = self.actor_id else {
            return Ok(None);
        };
        load_actor(ctx, ActorId(id)).await
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AssignmentPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub session_id: Option<Uuid>,
}

#[ComplexObject]
impl AssignmentPayload {
    /// The session, with its actors as they are now.
    async fn session(&self, ctx: &Context<'_>) -> FieldResult<Option<Session>> {
        let Some(id) = self.session_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(SessionId(id)).await?.map(Session))
    }
}

fn actor_id(id: &ID) -> Result<Uuid, Refusal> {
    Ok(parse_id(ActorId::from_global(id, "input.actorId"), "input.actorId")?.0)
}

fn items(values: &[String], field: &str) -> Result<Vec<String>, Refusal> {
    if values.len() > 50 {
        return Err(Refusal::bad_input(field, "at most 50"));
    }
    values
        .iter()
        .enumerate()
        .map(|(index, value)| required(value, &format!("{field}.{index}"), 200, false))
        .collect()
}

fn details(input: &ActorDetailsInput) -> Result<ActorDetails, Refusal> {
    let field = |name: &str| format!("input.details.{name}");
    Ok(ActorDetails {
        full_name: required(&input.full_name, &field("fullName"), 200, false)?,
        email: text(input.email.as_deref(), &field("email"), 254, false)?
            .map(|email| {
                EmailAddress::parse(&email, &field("email")).map(EmailAddress::into_string)
            })
            .transpose()?,
        phone: text(input.phone.as_deref(), &field("phone"), 40, false)?,
        profile: text(input.profile.as_deref(), &field("profile"), 5000, true)?,
        scenarios: items(&input.scenarios, &field("scenarios"))?,
        playable_roles: items(&input.playable_roles, &field("playableRoles"))?,
        active: input.active,
    })
}

fn periods(input: &[PeriodInput]) -> Result<Vec<Period>, Refusal> {
    if input.len() > 500 {
        return Err(Refusal::bad_input("input.periods", "at most 500 periods"));
    }
    input
        .iter()
        .enumerate()
        .map(|(index, period)| {
            if period.ends_at <= period.starts_at {
                Err(Refusal::new(
                    UserErrorCode::EndBeforeStart,
                    "a period ends after it starts",
                )
                .at(format!("input.periods.{index}")))
            } else {
                Ok(Period {
                    starts_at: period.starts_at,
                    ends_at: period.ends_at,
                })
            }
        })
        .collect()
}

#[Object]
impl ActorMutation {
    /// Staff: adds an actor (without `actorId`) or replaces their details.
    async fn save_actor(
        &self,
        ctx: &Context<'_>,
        input: SaveActorInput,
    ) -> FieldResult<ActorPayload> {
        require_staff(viewer(ctx)?)?;
        let parsed = input
            .actor_id
            .as_ref()
            .map(actor_id)
            .transpose()
            .and_then(|existing| Ok((existing, details(&input.details)?)));
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "saveActor",
            key,
            &input,
            parsed,
            move |change, live, (existing, details)| {
                Box::pin(async move { actors::save_actor(change, &live, existing, &details).await })
            },
        )
        .await?;
        Ok(ActorPayload {
            result: performed.result(input.options.client_mutation_id.clone()),
            actor_id: performed.made().and_then(|o| o.record_id),
        })
    }

    /// Staff, or the actor themselves: replaces an actor's availability.
    async fn set_actor_availability(
        &self,
        ctx: &Context<'_>,
        input: SetActorAvailabilityInput,
    ) -> FieldResult<ActorPayload> {
        let viewer = viewer(ctx)?;
        if *viewer == Viewer::Anonymous {
            return Err(ApiError::Unauthenticated.into());
        }
        let parsed = actor_id(&input.actor_id).and_then(|id| Ok((id, periods(&input.periods)?)));
        if let Ok((id, _)) = &parsed
            && !policy::can_read_actor(viewer, *id)
        {
            return Err(ApiError::ForbiddenTo("staff, or the actor themselves").into());
        }
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "setActorAvailability",
            key,
            &input,
            parsed,
            move |change, live, (id, periods)| {
                Box::pin(async move { actors::set_availability(change, &live, id, &periods).await })
            },
        )
        .await?;
        Ok(ActorPayload {
            result: performed.result(input.options.client_mutation_id.clone()),
            actor_id: performed.made().and_then(|o| o.record_id),
        })
    }

    /// Staff: assigns an actor to a session. An overlap with another of their sessions, a time
    /// outside their availability or an inactive actor is refused with CONFLICT.
    async fn assign_actor(
        &self,
        ctx: &Context<'_>,
        input: AssignActorInput,
    ) -> FieldResult<AssignmentPayload> {
        require_staff(viewer(ctx)?)?;
        let parsed = (|| {
            let session = parse_id(
                SessionId::from_global(&input.session_id, "input.sessionId"),
                "input.sessionId",
            )?;
            let actor = actor_id(&input.actor_id)?;
            let role = text(
                input.exercise_role.as_deref(),
                "input.exerciseRole",
                200,
                false,
            )?;
            Ok((session.0, actor, role))
        })();
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "assignActor",
            key,
            &input,
            parsed,
            move |change, live, (session, actor, role)| {
                Box::pin(async move {
                    actors::assign_actor(change, &live, session, actor, role.as_deref()).await
                })
            },
        )
        .await?;
        Ok(AssignmentPayload {
            result: performed.result(input.options.client_mutation_id.clone()),
            session_id: performed.made().and_then(|o| o.record_id),
        })
    }

    /// Staff: takes an actor off a session.
    async fn unassign_actor(
        &self,
        ctx: &Context<'_>,
        input: UnassignActorInput,
    ) -> FieldResult<AssignmentPayload> {
        require_staff(viewer(ctx)?)?;
        let parsed = parse_id(
            SessionId::from_global(&input.session_id, "input.sessionId"),
            "input.sessionId",
        )
        .and_then(|session| Ok((session.0, actor_id(&input.actor_id)?)));
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "unassignActor",
            key,
            &input,
            parsed,
            move |change, live, (session, actor)| {
                Box::pin(async move { actors::unassign_actor(change, &live, session, actor).await })
            },
        )
        .await?;
        Ok(AssignmentPayload {
            result: performed.result(input.options.client_mutation_id.clone()),
            session_id: performed.made().and_then(|o| o.record_id),
        })
    }
}
