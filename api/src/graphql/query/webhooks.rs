use async_graphql::{Context, Object};

use crate::{
    error::FieldResult,
    graphql::{
        context::{db, viewer},
        mutation::require_administrator,
        types::webhooks::WebhookEndpoint,
    },
    sync::webhooks::endpoints,
};

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Every webhook endpoint, oldest first: administrators.
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> FieldResult<Vec<WebhookEndpoint>> {
        require_administrator(viewer(ctx)?)?;
        Ok(endpoints::list(db(ctx)?)
            .await?
            .into_iter()
            .map(WebhookEndpoint::from)
            .collect())
    }
}
