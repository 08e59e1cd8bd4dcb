//! Reading for sync: the change feed, a snapshot to start from, and records by the id a source
//! system knows them by.

use async_graphql::{
    Context, Object,
    connection::{Connection, Edge, EmptyFields},
};
use entity::enrolment;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    audit::Outcome,
    auth::{Role, Viewer},
    domain::{
        ids::ParticipantId,
        pagination::{CursorKey, EnrolmentCursor, PageArgs, PageRequest},
    },
    error::{ApiError, FieldResult},
    graphql::{
        context::{audit_read, db, request_data, viewer},
        types::{
            Enrolment, Participant, load_participant,
            sync::{EnrolmentFeedEvent, SnapshotFields},
        },
    },
    sync::{
        external_ids::{self, RecordType, Source, scope_of, source_of},
        feed::{self, FeedCursor, FeedError},
    },
};

/// Changes one page of the feed may hold; the feed is read in bulk.
const MAX_FEED_PAGE: i32 = 500;

#[derive(Default)]
pub struct SyncQuery;

/// Administrators and sync clients read the feed and snapshots.
fn require_sync_reader(viewer: &Viewer) -> FieldResult<()> {
    match viewer.role() {
        None => Err(ApiError::Unauthenticated.into()),
        Some(Role::Administrator | Role::SyncClient) => Ok(()),
        Some(_) => {
            Err(ApiError::ForbiddenTo("only administrators and sync clients read the feed").into())
        }
    }
}

#[Object]
impl SyncQuery {
    /// Every change of every enrolment in the caller's scope, in the order they were written;
    /// it never skips a change that commits late. Page with `after` from the last edge's
    /// cursor, and poll again from it when `hasNextPage` is false. A cursor from before a
    /// restore, or older than the feed's retention, answers `MUST_RESYNC`: start again from
    /// `enrolmentSnapshot`. A page holds `first` changes: 100 unless asked, 500 at most.
    /// Administrators and sync clients; a key of a source reads that source's scope only.
    #[graphql(
        complexity = "crate::graphql::limits::page_cost(Some(first.unwrap_or(100)), None, child_complexity)"
    )]
    async fn enrolment_changes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<String, EnrolmentFeedEvent, EmptyFields, EmptyFields>> {
        let viewer = viewer(ctx)?;
        require_sync_reader(viewer)?;
        let first = first.unwrap_or(100);
        if !(0..=MAX_FEED_PAGE).contains(&first) {
            return Err(ApiError::InvalidPageSize {
                field: "first",
                max: MAX_FEED_PAGE as u64,
            }
            .into());
        }
        let after = after
            .map(|text| FeedCursor::decode(&text).ok_or(ApiError::InvalidCursor { field: "after" }))
            .transpose()?;
        let data = request_data(ctx)?;
        let now = chrono::Utc::now();
        let page = feed::read(
            &data.db,
            scope_of(viewer).as_ref(),
            after,
            u64::try_from(first).unwrap_or(0),
            data.feed_retention,
            now,
        )
        .await
        .map_err(|error| match error {
            FeedError::MustResync => ApiError::MustResync,
            FeedError::Db(error) => ApiError::Database(error),
        })?;
        // Who read how many changes of which enrolments: ids only.
        audit_read(
            ctx,
            "EnrolmentChange",
            page.changes.iter().map(|c| c.enrolment_id).collect(),
            Outcome::Allowed,
        )?;
        let mut connection = Connection::new(after.is_some(), page.has_next_page);
        let epoch = page.epoch;
        connection
            .edges
            .extend(page.changes.into_iter().map(|change| {
                Edge::new(
                    change.cursor(epoch).encode(),
                    EnrolmentFeedEvent::from(change),
                )
            }));
        Ok(connection)
    }

    /// The enrolments in the caller's scope as they stand, by id, with `feedCursor`: the feed
    /// from the first page's cursor plus these pages equals the live state. For a fresh start,
    /// or after `MUST_RESYNC`. Administrators and sync clients.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn enrolment_snapshot(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<String, Enrolment, SnapshotFields, EmptyFields>> {
        let viewer = viewer(ctx)?;
        require_sync_reader(viewer)?;
        let page = PageRequest::<EnrolmentCursor>::parse(PageArgs {
            first,
            after,
            last: None,
            before: None,
        })?;
        let scope = scope_of(viewer);
        let after_id = page.after.map(|cursor| cursor.id);
        let limit = page.fetch_limit();
        let (rows, cursor) = feed::in_one_snapshot(db(ctx)?, move |txn| {
            Box::pin(async move { snapshot_page(txn, scope.as_ref(), after_id, limit).await })
        })
        .await?;
        audit_read(
            ctx,
            "Enrolment",
            rows.iter().map(|e| e.id).collect(),
            Outcome::Allowed,
        )?;
        let page = page.into_page(rows);
        let mut connection = Connection::with_additional_fields(
            page.has_previous_page,
            page.has_next_page,
            SnapshotFields {
                feed_cursor: cursor.encode(),
            },
        );
        connection.edges.extend(
            page.items
                .into_iter()
                .map(|row| Edge::new(EnrolmentCursor { id: row.id }.encode(), Enrolment(row))),
        );
        Ok(connection)
    }

    /// A participant by the id a source system knows them by: a sync client's own source, or
    /// (staff) the source named; null when there is none the caller may see.
    async fn participant(
        &self,
        ctx: &Context<'_>,
        external_id: String,
        source: Option<String>,
    ) -> FieldResult<Option<Participant>> {
        let viewer = viewer(ctx)?;
        let source = match (source, viewer) {
            (None, viewer) => source_of(viewer),
            // A source's key speaks for its source only.
            (
                Some(_),
                Viewer::Machine {
                    source: Some(_), ..
                },
            ) => {
                return Err(ApiError::ForbiddenTo("a source's key looks up its own ids").into());
            }
            (Some(name), _) => Source::parse(&name).map_err(|message| ApiError::BadUserInput {
                field: "source",
                message,
            })?,
        };
        if external_id.is_empty() || external_id.len() > external_ids::MAX_EXTERNAL_ID {
            return Ok(None);
        }
        let found =
            external_ids::find_record(db(ctx)?, &source, RecordType::Participant, &external_id)
                .await?;
        match found {
            Some(id) => load_participant(ctx, ParticipantId(id)).await,
            None => Ok(None),
        }
    }
}

/// A page of the enrolments in a scope, by id.
async fn snapshot_page(
    txn: &sea_orm::DatabaseTransaction,
    scope: Option<&Source>,
    after: Option<uuid::Uuid>,
    limit: u64,
) -> Result<Vec<enrolment::Model>, sea_orm::DbErr> {
    let mut query = enrolment::Entity::find();
    if let Some(source) = scope {
        let known = sea_orm::sea_query::Query::select()
            .column(entity::external_id::Column::RecordId)
            .from(entity::external_id::Entity)
            .and_where(entity::external_id::Column::Source.eq(source.as_str()))
            .and_where(entity::external_id::Column::RecordType.eq(RecordType::Participant.as_str()))
            .to_owned();
        query = query.filter(enrolment::Column::ParticipantId.in_subquery(known));
    }
    if let Some(after) = after {
        query = query.filter(enrolment::Column::Id.gt(after));
    }
    query
        .order_by_asc(enrolment::Column::Id)
        .limit(limit)
        .all(txn)
        .await
}
