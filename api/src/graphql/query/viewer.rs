use async_graphql::{Context, Object, SimpleObject};

use crate::{
    auth::{Role, Viewer},
    domain::ids::ParticipantId,
    error::FieldResult,
    graphql::{
        context::viewer,
        types::{Participant, load_participant},
    },
};

#[derive(Default)]
pub struct ViewerQuery;

/// Who the service takes the caller to be.
#[derive(SimpleObject)]
pub struct ViewerInfo {
    /// False without a bearer token.
    pub authenticated: bool,
    /// The role the token grants; empty for anonymous callers.
    pub role: Option<Role>,
}

#[Object]
impl ViewerQuery {
    /// The caller, as their credentials say.
    async fn viewer(&self, ctx: &Context<'_>) -> FieldResult<ViewerInfo> {
        let role = viewer(ctx)?.role();
        Ok(ViewerInfo {
            authenticated: role.is_some(),
            role,
        })
    }

    /// The caller's own participant record: null unless they sign in as a participant.
    async fn me(&self, ctx: &Context<'_>) -> FieldResult<Option<Participant>> {
        match viewer(ctx)? {
            Viewer::Person {
                participant_id: Some(id),
                ..
            } => {
                // A token that outlived its participant's erasure names no one.
                let found = load_participant(ctx, ParticipantId(*id)).await?;
                Ok(found.filter(|p| p.0.erased_at.is_none()))
            }
            _ => Ok(None),
        }
    }
}
