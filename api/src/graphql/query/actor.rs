use async_graphql::{Context, Object};

use crate::{
    audit::Outcome,
    auth::{Viewer, policy},
    db::actors::list_actors,
    domain::ids::ActorId,
    error::{ApiError, FieldResult},
    graphql::{
        context::{audit_read, db, viewer},
        types::{Actor, load_actor},
    },
};

#[derive(Default)]
pub struct ActorQuery;

#[Object]
impl ActorQuery {
    /// Staff: every actor, by name; with `active`, only the (in)active ones.
    async fn actors(&self, ctx: &Context<'_>, active: Option<bool>) -> FieldResult<Vec<Actor>> {
        let viewer = viewer(ctx)?;
        if !policy::can_manage_bookings(viewer) {
            return Err(if *viewer == Viewer::Anonymous {
                ApiError::Unauthenticated
            } else {
                ApiError::Forbidden
            }
            .into());
        }
        let found = list_actors(db(ctx)?, active).await?;
        audit_read(
            ctx,
            "Actor",
            found.iter().map(|a| a.id).collect(),
            Outcome::Allowed,
        )?;
        Ok(found.into_iter().map(Actor).collect())
    }

    /// An actor's own profile, availability and schedule; null for anyone but an actor.
    async fn my_actor_profile(&self, ctx: &Context<'_>) -> FieldResult<Option<Actor>> {
        match viewer(ctx)? {
            Viewer::Person {
                actor_id: Some(id), ..
            } => load_actor(ctx, ActorId(*id)).await,
            _ => Ok(None),
        }
    }
}
