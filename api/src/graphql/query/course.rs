use async_graphql::{Context, ID, Object};

use crate::{
    auth::policy,
    db::course::{find_course_by_slug, list_courses},
    domain::{
        ids::CourseId,
        pagination::{PageArgs, PageRequest},
    },
    error::{ApiError, FieldResult},
    graphql::{
        context::{db, loaders, viewer},
        types::{Course, CourseConnection, CourseFilter, course_connection},
    },
};

#[derive(Default)]
pub struct CourseQuery;

#[Object]
impl CourseQuery {
    /// The courses on offer, by slug. Without a filter: the published ones.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn courses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CourseFilter>,
    ) -> FieldResult<CourseConnection> {
        let page = PageRequest::parse(PageArgs {
            first,
            after,
            last,
            before,
        })?;
        let filter = filter.unwrap_or_default().into_db(viewer(ctx)?);
        let courses = list_courses(db(ctx)?, &filter, &page).await?;
        Ok(course_connection(courses, filter))
    }

    /// One course, by its `id` or by its `slug` (give exactly one); null when there is none.
    async fn course(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> FieldResult<Option<Course>> {
        let course = match (id, slug) {
            // Through the loader: aliased lookups in one request share one statement.
            (Some(id), None) => {
                loaders(ctx)?
                    .load_one(CourseId::from_global(&id, "id")?)
                    .await?
            }
            (None, Some(slug)) => find_course_by_slug(db(ctx)?, &slug).await?,
            _ => {
                return Err(ApiError::BadUserInput {
                    field: "id",
                    message: "give either `id` or `slug`".into(),
                }
                .into());
            }
        };
        let visible = course.filter(|course| {
            course.status == entity::enums::CourseStatus::Published
                || viewer(ctx).is_ok_and(policy::can_see_unpublished)
        });
        Ok(visible.map(Course))
    }
}
