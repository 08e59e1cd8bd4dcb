//! Feedback as its author and the moderating administrators see it.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::feedback;

use super::{Session, enums::ParticipantRole};
use crate::{
    audit::Outcome,
    auth::policy,
    domain::ids::{FeedbackId, SessionId},
    error::FieldResult,
    graphql::context::{audit_read, audit_unknown, loaders, viewer},
};

/// What a participant said about a session.
pub struct Feedback(pub feedback::Model);

#[Object]
impl Feedback {
    pub async fn id(&self) -> ID {
        ID(FeedbackId(self.0.id).to_global())
    }

    async fn session(&self, ctx: &Context<'_>) -> FieldResult<Option<Session>> {
        let Some(id) = self.0.session_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(SessionId(id)).await?.map(Session))
    }

    /// 1 to 5.
    async fn overall_rating(&self) -> Option<i32> {
        self.0.overall_rating
    }

    /// How relevant it was to their work, 1 to 5.
    async fn relevance_rating(&self) -> Option<i32> {
        self.0.relevance_rating
    }

    /// The exercises with the actor, 1 to 5.
    async fn actor_rating(&self) -> Option<i32> {
        self.0.actor_rating
    }

    /// The trainers, 1 to 5.
    async fn trainer_rating(&self) -> Option<i32> {
        self.0.trainer_rating
    }

    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    /// Whether the author lets the comment be published, anonymously.
    async fn consent_to_publish(&self) -> bool {
        self.0.consent_to_publish
    }

    async fn moderation_status(&self) -> super::enums::ModerationStatus {
        self.0.moderation_status.into()
    }

    /// The only attribution a published comment carries.
    async fn author_role(&self) -> Option<ParticipantRole> {
        self.0.author_role.map(Into::into)
    }

    async fn submitted_at(&self) -> DateTime<Utc> {
        self.0.submitted_at
    }
}

/// Feedback the viewer may read (its author, administrators); `None` otherwise.
pub async fn load_feedback(ctx: &Context<'_>, id: FeedbackId) -> FieldResult<Option<Feedback>> {
    let Some(found) = loaders(ctx)?.load_one(id).await? else {
        // Asked for by someone who reads no one else's feedback: counted on the trail. (An
        // author's own feedback is no one else's; `None` is nobody's.)
        if !policy::can_read_feedback(viewer(ctx)?, None) {
            audit_unknown(ctx, "Feedback", 1, Outcome::Refused)?;
        }
        return Ok(None);
    };
    let allowed = policy::can_read_feedback(viewer(ctx)?, found.participant_id);
    let outcome = if allowed {
        Outcome::Allowed
    } else {
        Outcome::Refused
    };
    audit_read(ctx, "Feedback", vec![found.id], outcome)?;
    Ok(allowed.then_some(Feedback(found)))
}
