//! What every request brings to its resolvers.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::{
    audit::{AuditLog, Outcome},
    auth::Viewer,
    db::loaders::{self, Loaders},
    error::{ApiError, ApiResult, FieldError, FieldResult},
    live::Live,
};

/// What resolvers work with, shared by every request; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: DatabaseConnection,
    pub live: Live,
    /// Bookings of a session that arrive together are made together.
    pub bookings: crate::db::booking_queue::BookingQueue,
    pub idempotency: IdempotencySettings,
    /// Where clients reach the service, for links it hands out (calendar feeds).
    pub public_url: Arc<str>,
    /// How far back a feed cursor may point before it must resync.
    pub feed_retention: chrono::Duration,
    /// Where webhooks may go.
    pub webhook_allow: Arc<crate::sync::webhooks::addresses::AllowList>,
    pub reporting: ReportingSettings,
    /// Where each erasure is logged once it has committed.
    pub erasure_log: Arc<std::path::Path>,
}

/// Where reports are counted and what they may publish.
#[derive(Clone)]
pub struct ReportingSettings {
    /// The main database or a read-only replica of it.
    pub db: DatabaseConnection,
    /// k: no published count below it.
    pub threshold: u64,
    /// Protected tables kept for the counts they were computed for.
    pub protections: Arc<crate::reporting::ProtectionCache>,
}

/// How long idempotency keys are kept, and how long a claimed key waits for its first request.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencySettings {
    pub kept_for: chrono::Duration,
    pub lease: chrono::Duration,
}

/// Per-request data: who calls, the services, DataLoaders whose cache lives as long as the
/// request, and the notes for the audit trail.
pub struct RequestData {
    pub viewer: Viewer,
    pub db: DatabaseConnection,
    pub live: Live,
    pub bookings: crate::db::booking_queue::BookingQueue,
    pub idempotency: IdempotencySettings,
    pub public_url: Arc<str>,
    pub feed_retention: chrono::Duration,
    pub webhook_allow: Arc<crate::sync::webhooks::addresses::AllowList>,
    pub reporting: ReportingSettings,
    pub erasure_log: Arc<std::path::Path>,
    /// Shared with a subscription's stream, which forgets what they hold at each change.
    pub loaders: Arc<Loaders>,
    pub audit: Arc<AuditLog>,
    /// For an answer the response cache may keep: what it depends on.
    pub freshness: Option<Arc<crate::http::response_cache::Freshness>>,
}

impl RequestData {
    pub fn new(viewer: Viewer, services: &Services, audit: Arc<AuditLog>) -> Self {
        Self {
            viewer,
            db: services.db.clone(),
            live: services.live.clone(),
            bookings: services.bookings.clone(),
            idempotency: services.idempotency,
            public_url: services.public_url.clone(),
            feed_retention: services.feed_retention,
            webhook_allow: services.webhook_allow.clone(),
            reporting: services.reporting.clone(),
            erasure_log: services.erasure_log.clone(),
            loaders: Arc::new(loaders::loaders(services.db.clone())),
            audit,
            freshness: None,
        }
    }
}

/// Notes a read of personal data for the audit trail (only staff and machines are audited).
pub fn audit_read(
    ctx: &Context<'_>,
    record_type: &'static str,
    ids: Vec<uuid::Uuid>,
    outcome: Outcome,
) -> ApiResult<()> {
    let data = request_data(ctx)?;
    data.audit
        .note(&data.viewer, "read", record_type, ids, outcome);
    Ok(())
}

/// Notes that a read named `count` records that do not exist (counted, not listed).
pub fn audit_unknown(
    ctx: &Context<'_>,
    record_type: &'static str,
    count: usize,
    outcome: Outcome,
) -> ApiResult<()> {
    let data = request_data(ctx)?;
    data.audit
        .note_unknown(&data.viewer, "read", record_type, count, outcome);
    Ok(())
}

/// Which of these participants the caller may reach: all of them, unless the caller is a sync
/// client of a source system, whose scope is the participants that source knows.
pub async fn in_scope(
    ctx: &Context<'_>,
    participants: &[uuid::Uuid],
) -> ApiResult<std::collections::HashSet<uuid::Uuid>> {
    let Some(source) = crate::sync::external_ids::scope_of(viewer(ctx)?) else {
        return Ok(participants.iter().copied().collect());
    };
    let source: Arc<str> = Arc::from(source.as_str());
    let keys = participants.iter().map(|record| loaders::ExternalIdOf {
        source: source.clone(),
        kind: crate::sync::external_ids::RecordType::Participant,
        record: *record,
    });
    let found = loaders(ctx)?.load_many(keys).await?;
    Ok(found.into_keys().map(|key| key.record).collect())
}

pub fn request_data<'a>(ctx: &Context<'a>) -> ApiResult<&'a RequestData> {
    ctx.data::<RequestData>().map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "request data missing from the GraphQL context"
        ))
    })
}

pub fn db<'a>(ctx: &Context<'a>) -> ApiResult<&'a DatabaseConnection> {
    Ok(&request_data(ctx)?.db)
}

pub fn loaders<'a>(ctx: &Context<'a>) -> ApiResult<&'a Loaders> {
    Ok(&request_data(ctx)?.loaders)
}

pub fn viewer<'a>(ctx: &Context<'a>) -> ApiResult<&'a Viewer> {
    Ok(&request_data(ctx)?.viewer)
}

/// Answers a nullable field with `null` and reports `error` beside it, with the field's path.
/// async-graphql drops the key of a nullable field whose resolver returns `Err`; the spec wants
/// the key present and null.
pub fn null_with_error<T>(ctx: &Context<'_>, error: ApiError) -> FieldResult<Option<T>> {
    let error = async_graphql::Error::from(FieldError::from(error));
    ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
    Ok(None)
}
