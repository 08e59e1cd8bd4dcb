//! Relay connections with a `totalCount` that is only counted when asked for.

use std::sync::Arc;

use async_graphql::{
    Context, Object,
    connection::{Connection, Edge, EmptyFields},
};
use entity::{course, session};

use super::{Course, Session};
use crate::error::FieldResult;
use crate::{
    db::{
        course::{CourseFilter, count_courses},
        loaders::SessionCountOf,
        session::{SessionFilter, count_sessions},
    },
    domain::{
        ids::CourseId,
        pagination::{CourseCursor, CursorKey, Page, SessionCursor},
    },
    graphql::context::{db, loaders},
};

pub type CourseConnection = Connection<String, Course, CourseTotal, EmptyFields>;
pub type SessionConnection = Connection<String, Session, SessionTotal, EmptyFields>;

pub(crate) fn connection<M, N, F>(
    page: Page<M>,
    fields: F,
    cursor: impl Fn(&M) -> String,
    node: impl Fn(M) -> N,
) -> Connection<String, N, F, EmptyFields>
where
    N: async_graphql::OutputType,
    F: async_graphql::ObjectType,
{
    let mut connection =
        Connection::with_additional_fields(page.has_previous_page, page.has_next_page, fields);
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(cursor(&item), node(item))),
    );
    connection
}

pub fn course_connection(page: Page<course::Model>, filter: CourseFilter) -> CourseConnection {
    connection(
        page,
        CourseTotal { filter },
        |c| {
            CourseCursor {
                slug: c.slug.clone(),
            }
            .encode()
        },
        Course,
    )
}

pub fn session_connection(page: Page<session::Model>, total: SessionTotal) -> SessionConnection {
    connection(
        page,
        total,
        |s| {
            SessionCursor {
                starts_at: s.starts_at,
                id: s.id,
            }
            .encode()
        },
        Session,
    )
}

pub struct CourseTotal {
    filter: CourseFilter,
}

#[Object]
impl CourseTotal {
    /// How many courses match the filter, on all pages together.
    async fn total_count(&self, ctx: &Context<'_>) -> FieldResult<u64> {
        Ok(count_courses(db(ctx)?, &self.filter).await?)
    }
}

pub enum SessionTotal {
    All(SessionFilter),
    /// The sessions of one course: counted together with those of the other courses in the response.
    OfCourse(CourseId, Arc<SessionFilter>),
}

#[Object]
impl SessionTotal {
    /// How many sessions match the filter, on all pages together.
    async fn total_count(&self, ctx: &Context<'_>) -> FieldResult<u64> {
        Ok(match self {
            Self::All(filter) => count_sessions(db(ctx)?, filter).await?,
            Self::OfCourse(course, filter) => loaders(ctx)?
                .load_one(SessionCountOf {
                    course: *course,
                    filter: filter.clone(),
                })
                .await?
                .unwrap_or(0),
        })
    }
}
