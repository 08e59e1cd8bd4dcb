use async_graphql::{Context, ID, Object};

use crate::{
    db::session::list_sessions,
    domain::{
        ids::SessionId,
        pagination::{PageArgs, PageRequest},
    },
    error::FieldResult,
    graphql::{
        context::{db, loaders, viewer},
        types::{Session, SessionConnection, SessionFilter, course_visible, session_connection},
    },
};

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// Sessions of all courses, by start time (then id).
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SessionFilter>,
    ) -> FieldResult<SessionConnection> {
        let page = PageRequest::parse(PageArgs {
            first,
            after,
            last,
            before,
        })?;
        let filter = filter.unwrap_or_default().into_db(viewer(ctx)?)?;
        let sessions = list_sessions(db(ctx)?, &filter, &page).await?;
        Ok(session_connection(
            sessions,
            crate::graphql::types::SessionTotal::All(filter),
        ))
    }

    /// One session; null when there is none.
    async fn session(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Session>> {
        // Through the loader: aliased lookups in one request share one statement.
        let session = loaders(ctx)?
            .load_one(SessionId::from_global(&id, "id")?)
            .await?;
        match session {
            Some(session) if course_visible(ctx, session.course_id).await? => {
                Ok(Some(Session(session)))
            }
            _ => Ok(None),
        }
    }
}
