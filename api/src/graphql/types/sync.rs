//! What the sync API answers: changes of the feed, and the page of a snapshot.

use async_graphql::{ComplexObject, Context, ID, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Enrolment,
    enums::{EnrolmentChangeKind, EnrolmentStatus},
    load_enrolment,
};
use crate::{
    auth::Role,
    db::loaders::ExternalIdOf,
    domain::ids::EnrolmentId,
    error::FieldResult,
    graphql::context::{loaders, viewer},
    sync::{
        external_ids::{RecordType, source_of},
        feed::FeedChange,
    },
};

/// The id the caller's source system knows a record by (staff: the default source's).
pub(crate) async fn external_id(
    ctx: &Context<'_>,
    kind: RecordType,
    record: Uuid,
) -> FieldResult<Option<String>> {
    let source = source_of(viewer(ctx)?);
    Ok(loaders(ctx)?
        .load_one(ExternalIdOf {
            source: std::sync::Arc::from(source.as_str()),
            kind,
            record,
        })
        .await?)
}

/// The same for a public record (a session, a course): only for those who sync or plan, since
/// a source's ids say which systems the institute works with.
pub(crate) async fn public_external_id(
    ctx: &Context<'_>,
    kind: RecordType,
    record: Uuid,
) -> FieldResult<Option<String>> {
    match viewer(ctx)?.role() {
        Some(Role::SyncClient | Role::Administrator | Role::Coordinator) => {
            external_id(ctx, kind, record).await
        }
        _ => Ok(None),
    }
}

/// One change of an enrolment, as the feed gives it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct EnrolmentFeedEvent {
    /// The enrolment's global id, the same as `Enrolment.id`: there even when the enrolment is
    /// hidden from the caller or its participant was erased.
    pub enrolment_id: ID,
    pub change: EnrolmentChangeKind,
    /// The enrolment's status after the change.
    pub status: EnrolmentStatus,
    pub occurred_at: DateTime<Utc>,
    /// The enrolment's version after the change: 1 for its first, then one more with each, so
    /// a receiver can apply changes in any order and ignore what it has.
    pub version: i32,
    #[graphql(skip)]
    pub enrolment: Uuid,
}

#[ComplexObject]
impl EnrolmentFeedEvent {
    /// The enrolment as it is now; null where the caller may not see it.
    async fn enrolment(&self, ctx: &Context<'_>) -> FieldResult<Option<Enrolment>> {
        load_enrolment(ctx, EnrolmentId(self.enrolment)).await
    }
}

impl From<FeedChange> for EnrolmentFeedEvent {
    fn from(change: FeedChange) -> Self {
        Self {
            enrolment_id: ID(EnrolmentId(change.enrolment_id).to_global()),
            change: change.change.into(),
            status: change.to_status.into(),
            occurred_at: change.occurred_at,
            version: change.version,
            enrolment: change.enrolment_id,
        }
    }
}

/// What a snapshot page carries besides its enrolments.
#[derive(SimpleObject)]
pub struct SnapshotFields {
    /// Where to start the feed after this snapshot, read in the same database snapshot as the
    /// page: the feed from here brings every change the snapshot may not show (some it does
    /// show; their versions tell). Start from the first page's cursor.
    pub feed_cursor: String,
}
