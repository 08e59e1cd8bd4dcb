//! Administrators retry or cancel outbox events that did not go out.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::{MutationOptions, MutationResult, parse_id, perform_checked, require_administrator};
use crate::{
    db::outbox::{self, Intervention},
    domain::ids::OutboxEventId,
    error::FieldResult,
    graphql::{
        context::{db, viewer},
        query::OutboxEvent,
    },
};
use entity::outbox_event;
use sea_orm::EntityTrait;

#[derive(Default)]
pub struct OutboxMutation;

#[derive(InputObject, Serialize, Debug)]
pub struct OutboxEventInput {
    pub id: ID,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
pub struct OutboxEventPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    pub outbox_event: Option<OutboxEvent>,
}

async fn intervene(
    ctx: &Context<'_>,
    operation: &'static str,
    input: OutboxEventInput,
    intervention: Intervention,
) -> FieldResult<OutboxEventPayload> {
    require_administrator(viewer(ctx)?)?;
    let parsed = parse_id(
        OutboxEventId::from_global(&input.id, "input.id"),
        "input.id",
    );
    let key = input.options.idempotency_key.as_deref();
    let performed = perform_checked(ctx, operation, key, &input, parsed, move |change, _, id| {
        Box::pin(async move { outbox::intervene(&change, id.0, intervention).await })
    })
    .await?;
    let outbox_event = match performed.made().and_then(|o| o.record_id) {
        Some(id) => read(ctx, id).await?,
        None => None,
    };
    Ok(OutboxEventPayload {
        result: performed.result(input.options.client_mutation_id),
        outbox_event,
    })
}

async fn read(ctx: &Context<'_>, id: Uuid) -> FieldResult<Option<OutboxEvent>> {
    Ok(outbox_event::Entity::find_by_id(id)
        .one(db(ctx)?)
        .await?
        .map(OutboxEvent::from))
}

#[Object]
impl OutboxMutation {
    /// Administrators: delivers an event that has not gone out (a dead one, say) as soon as
    /// possible, with a fresh count of attempts.
    async fn retry_outbox_event(
        &self,
        ctx: &Context<'_>,
        input: OutboxEventInput,
    ) -> FieldResult<OutboxEventPayload> {
        intervene(ctx, "retryOutboxEvent", input, Intervention::Retry).await
    }

    /// Administrators: makes sure an event that has not gone out never does.
    async fn cancel_outbox_event(
        &self,
        ctx: &Context<'_>,
        input: OutboxEventInput,
    ) -> FieldResult<OutboxEventPayload> {
        intervene(ctx, "cancelOutboxEvent", input, Intervention::Cancel).await
    }
}
