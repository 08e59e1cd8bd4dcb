//! Webhook endpoints and their delivery log, as administrators see them (never the secret).

use async_graphql::{Context, ID, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_endpoint};
use uuid::Uuid;

use crate::{
    domain::ids::WebhookEndpointId, error::FieldResult, graphql::context::db,
    sync::webhooks::endpoints,
};

/// Where a source system is told of changes.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct WebhookEndpoint {
    pub id: ID,
    pub url: String,
    /// The source whose scope it hears; null hears every change.
    pub source: Option<String>,
    pub topics: Vec<String>,
    pub active: bool,
    /// Why it was turned off (a 410, failing too long, an administrator).
    pub disabled_reason: Option<String>,
    /// Since when deliveries have failed without a success between.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when deliveries are signed with the secret before the last rotation as well.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
}

impl From<webhook_endpoint::Model> for WebhookEndpoint {
    fn from(model: webhook_endpoint::Model) -> Self {
        Self {
            id: ID(WebhookEndpointId(model.id).to_global()),
            url: model.url,
            source: model.source,
            topics: serde_json::from_str(&model.topics).unwrap_or_default(),
            active: model.active,
            disabled_reason: model.disabled_reason,
            failing_since: model.failing_since,
            previous_secret_until: model.previous_secret_until,
            created_at: model.created_at,
            uuid: model.id,
        }
    }
}

/// One attempt to deliver a change.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    /// The `webhook-id` of the delivery: the change's id, the same on every attempt.
    pub webhook_id: String,
    pub attempt: i32,
    /// The receiver's HTTP status; null when it was not reached.
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub attempted_at: DateTime<Utc>,
}

impl From<webhook_delivery::Model> for WebhookDelivery {
    fn from(model: webhook_delivery::Model) -> Self {
        Self {
            webhook_id: model.change_id.to_string(),
            attempt: model.attempt,
            status_code: model.status_code,
            latency_ms: model.latency_ms,
            error: model.error,
            attempted_at: model.attempted_at,
        }
    }
}

#[async_graphql::ComplexObject]
impl WebhookEndpoint {
    /// The latest attempts, newest first (kept 30 days).
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> FieldResult<Vec<WebhookDelivery>> {
        let limit = u64::try_from(first.clamp(0, 100)).unwrap_or(20);
        Ok(endpoints::deliveries(db(ctx)?, self.uuid, limit)
            .await?
            .into_iter()
            .map(WebhookDelivery::from)
            .collect())
    }
}
