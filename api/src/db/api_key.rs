//! API keys of machines: created, listed and revoked by the CLI, checked on every request.

use chrono::{DateTime, Duration, Utc};
use entity::{api_key, enums::MachineRole};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::api_key::{self as keys, NewKey},
    sync::external_ids::Source,
};

/// Creates a key; the returned plain key is shown once and never stored.
pub async fn create_api_key(
    db: &impl ConnectionTrait,
    name: &str,
    role: MachineRole,
) -> anyhow::Result<(api_key::Model, String)> {
    create_api_key_for(db, name, role, None).await
}

/// Creates a key that speaks for a source system (sync clients): its external ids, its scope.
#[tracing::instrument(skip_all, fields(role = ?role))]
pub async fn create_api_key_for(
    db: &impl ConnectionTrait,
    name: &str,
    role: MachineRole,
    source: Option<&Source>,
) -> anyhow::Result<(api_key::Model, String)> {
    anyhow::ensure!(
        source.is_none() || role == MachineRole::SyncClient,
        "only sync clients belong to a source system"
    );
    let NewKey { key, prefix, hash } = keys::generate()?;
    let now = Utc::now();
    let model = api_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(name.to_owned()),
        prefix: Set(prefix),
        secret_hash: Set(hash),
        role: Set(role),
        source: Set(source.map(|s| s.as_str().to_owned())),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    tracing::info!(api_key.id = %model.id, "created an API key");
    Ok((model, key))
}

pub async fn list_api_keys(db: &impl ConnectionTrait) -> Result<Vec<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .order_by_asc(api_key::Column::CreatedAt)
        .all(db)
        .await
}

/// Revokes a key; false when there is no such key or it was revoked already.
#[tracing::instrument(skip_all, fields(api_key.id = %id))]
pub async fn revoke_api_key(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let now = Utc::now();
    let result = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(now))
        .col_expr(api_key::Column::UpdatedAt, Expr::value(now))
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The live key with this plain text, if any, and notes that it was used (at most once a minute,
/// so a busy client does not write on every request).
pub async fn use_api_key(
    db: &impl ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<api_key::Model>, DbErr> {
    let found = api_key::Entity::find()
        .filter(api_key::Column::SecretHash.eq(keys::hash(key)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    if let Some(found) = &found
        && found
            .last_used_at
            .is_none_or(|used| used < now - Duration::minutes(1))
    {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(found.id))
            .exec(db)
            .await?;
    }
    Ok(found)
}

/// Whether a key exists and has not been revoked (for connections that outlive a request).
pub async fn is_live(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let found = api_key::Entity::find_by_id(id)
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    Ok(found.is_some())
}
