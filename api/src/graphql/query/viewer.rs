use async_graphql::{Context, Object, SimpleObject};

use crate::{auth::Role, error::FieldResult, graphql::context::viewer};

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
}
