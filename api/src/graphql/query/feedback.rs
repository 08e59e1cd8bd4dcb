use async_graphql::{
    Context, ID, Object,
    connection::{Connection, EmptyFields},
};

use crate::{
    audit::Outcome,
    auth::{Role, Viewer},
    db::feedback::{awaiting_moderation, feedback_of},
    domain::{
        ids::CourseId,
        pagination::{CursorKey, FeedbackCursor, PageArgs, PageRequest},
    },
    error::{ApiError, FieldResult},
    graphql::{
        context::{audit_read, db, viewer},
        types::{Feedback, connection},
    },
};

#[derive(Default)]
pub struct FeedbackQuery;

#[Object]
impl FeedbackQuery {
    /// Administrators: comments whose authors consented to publication, waiting for a decision,
    /// oldest first; of one course with `courseId`.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn feedback_awaiting_moderation(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        course_id: Option<ID>,
    ) -> FieldResult<Connection<String, Feedback>> {
        match viewer(ctx)? {
            Viewer::Anonymous => return Err(ApiError::Unauthenticated.into()),
            Viewer::Person {
                role: Role::Administrator,
                ..
            } => {}
            _ => return Err(ApiError::Forbidden.into()),
        }
        let page = PageRequest::<FeedbackCursor>::parse(PageArgs {
            first,
            after,
            last: None,
            before: None,
        })?;
        let course_id = course_id
            .map(|id| CourseId::from_global(&id, "courseId"))
            .transpose()?
            .map(|id| id.0);
        let found =
            awaiting_moderation(db(ctx)?, course_id, page.after, page.fetch_limit()).await?;
        audit_read(
            ctx,
            "Feedback",
            found.iter().map(|f| f.id).collect(),
            Outcome::Allowed,
        )?;
        let cursor = |f: &entity::feedback::Model| {
            FeedbackCursor {
                submitted_at: f.submitted_at,
                id: f.id,
            }
            .encode()
        };
        Ok(connection(
            page.into_page(found),
            EmptyFields,
            cursor,
            Feedback,
        ))
    }

    /// Participants: the feedback they gave, newest first.
    async fn my_feedback(&self, ctx: &Context<'_>) -> FieldResult<Vec<Feedback>> {
        let Viewer::Person {
            role: Role::Participant,
            participant_id: Some(own),
            ..
        } = viewer(ctx)?
        else {
            return Ok(Vec::new());
        };
        Ok(feedback_of(db(ctx)?, *own)
            .await?
            .into_iter()
            .map(Feedback)
            .collect())
    }
}
