use async_graphql::{Context, Object};

use crate::{
    audit::Outcome,
    auth::{Role, Viewer},
    db::feedback::{awaiting_moderation, feedback_of},
    error::{ApiError, FieldResult},
    graphql::{
        context::{audit_read, db, viewer},
        types::Feedback,
    },
};

#[derive(Default)]
pub struct FeedbackQuery;

#[Object]
impl FeedbackQuery {
    /// Administrators: comments whose authors consented to publication, waiting for a decision,
    /// oldest first.
    async fn feedback_awaiting_moderation(&self, ctx: &Context<'_>) -> FieldResult<Vec<Feedback>> {
        match viewer(ctx)? {
            Viewer::Anonymous => return Err(ApiError::Unauthenticated.into()),
            Viewer::Person {
                role: Role::Administrator,
                ..
            } => {}
            _ => return Err(ApiError::Forbidden.into()),
        }
        let found = awaiting_moderation(db(ctx)?).await?;
        audit_read(
            ctx,
            "Feedback",
            found.iter().map(|f| f.id).collect(),
            Outcome::Allowed,
        )?;
        Ok(found.into_iter().map(Feedback).collect())
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
