//! Webhook endpoints and their delivery log: the only place that reads and writes them.

use chrono::{DateTime, Duration, Utc};
use entity::{webhook_delivery, webhook_endpoint};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::signing;
use crate::sync::external_ids::Source;

/// Whether an endpoint hears a topic; `topics` is its JSON list.
pub fn hears(topics: &str, topic: &str) -> bool {
    serde_json::from_str::<Vec<String>>(topics).is_ok_and(|list| list.iter().any(|t| t == topic))
}

/// Registers an endpoint; returns it with its secret, which is shown this once.
pub async fn create(
    db: &impl ConnectionTrait,
    url: &str,
    source: Option<&Source>,
    topics: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<(webhook_endpoint::Model, String)> {
    let secret = signing::new_secret()?;
    let id = Uuid::new_v4();
    webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel {
        id: Set(id),
        source: Set(source.map(|s| s.as_str().to_owned())),
        url: Set(url.to_owned()),
        topics: Set(serde_json::to_string(topics)?),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        active: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    let endpoint = find(db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a new webhook endpoint"))?;
    Ok((endpoint, secret))
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find_by_id(id).one(db).await
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find()
        .order_by_asc(webhook_endpoint::Column::CreatedAt)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await
}

/// Gives an endpoint a new secret; deliveries are signed with the old one as well until
/// `overlap` has passed. Returns the new secret, shown this once.
pub async fn rotate(
    db: &impl ConnectionTrait,
    id: Uuid,
    overlap: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let Some(current) = find(db, id).await? else {
        return Ok(None);
    };
    let secret = signing::new_secret()?;
    webhook_endpoint::Entity::update(webhook_endpoint::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id),
        secret: Set(secret.clone()),
        previous_secret: Set(Some(current.secret)),
        previous_secret_until: Set(Some(now + overlap)),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(Some(secret))
}

/// The secrets deliveries are signed with now: the current one, and the one before while its
/// overlap lasts.
pub fn secrets_in_use(endpoint: &webhook_endpoint::Model, now: DateTime<Utc>) -> Vec<&str> {
    let mut secrets = vec![endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) =
        (&endpoint.previous_secret, endpoint.previous_secret_until)
        && now < until
    {
        secrets.push(previous);
    }
    secrets
}

/// Turns an endpoint on again, or off with the reason.
pub async fn set_active(
    db: &impl ConnectionTrait,
    id: Uuid,
    active: bool,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Active, Expr::value(active))
        .col_expr(
            webhook_endpoint::Column::DisabledReason,
            Expr::value((!active).then(|| {
                reason
                    .unwrap_or("turned off by an administrator")
                    .to_owned()
            })),
        )
        .col_expr(
            webhook_endpoint::Column::FailingSince,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_endpoint::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Notes a failed delivery; returns since when the endpoint has been failing.
pub async fn note_failure(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::FailingSince, Expr::value(now))
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(webhook_endpoint::Column::FailingSince.is_null())
        .exec(db)
        .await?;
    Ok(find(db, id).await?.and_then(|e| e.failing_since))
}

/// Notes a delivery that went through: the endpoint is well again.
pub async fn note_success(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    webhook_endpoint::Entity::update_many()
        .col_expr(
            webhook_endpoint::Column::FailingSince,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(webhook_endpoint::Column::FailingSince.is_not_null())
        .exec(db)
        .await?;
    Ok(())
}

/// One attempt, for the delivery log.
pub struct Attempt<'a> {
    pub endpoint_id: Uuid,
    pub change_id: Uuid,
    pub attempt: i32,
    pub status_code: Option<u16>,
    pub latency_ms: u128,
    pub error: Option<&'a str>,
    pub at: DateTime<Utc>,
}

pub async fn log(db: &impl ConnectionTrait, attempt: Attempt<'_>) -> Result<(), DbErr> {
    webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
        id: Set(Uuid::new_v4()),
        endpoint_id: Set(attempt.endpoint_id),
        change_id: Set(attempt.change_id),
        attempt: Set(attempt.attempt),
        status_code: Set(attempt.status_code.map(i32::from)),
        latency_ms: Set(i32::try_from(attempt.latency_ms).unwrap_or(i32::MAX)),
        error: Set(attempt.error.map(str::to_owned)),
        attempted_at: Set(attempt.at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The latest attempts of an endpoint, newest first.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    endpoint: Uuid,
    limit: u64,
) -> Result<Vec<webhook_delivery::Model>, DbErr> {
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .order_by_desc(webhook_delivery::Column::AttemptedAt)
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Forgets attempts older than `before` (the log is kept 30 days).
pub async fn purge_log(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::AttemptedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
