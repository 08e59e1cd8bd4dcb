//! Participants give feedback and may withdraw consent; administrators moderate.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::{
    MutationOptions, MutationResult, Performed, parse_id, perform_checked, require_administrator,
};
use crate::{
    auth::{Role, Viewer},
    db::feedback::{self, NewFeedback},
    domain::{
        booking::{Refusal, UserErrorCode},
        ids::{CourseId, FeedbackId, SessionId},
        input::{required, text},
    },
    error::{ApiError, FieldResult},
    graphql::{
        context::viewer,
        types::{Feedback, enums::ParticipantRole, load_feedback},
    },
};

#[derive(Default)]
pub struct FeedbackMutation;

#[derive(InputObject, Serialize, Debug)]
pub struct GiveFeedbackInput {
    pub session_id: ID,
    /// 1 (poor) to 5 (excellent).
    pub overall_rating: i32,
    /// How relevant it was to your work, 1 to 5.
    pub relevance_rating: Option<i32>,
    /// The exercises with the actor, 1 to 5.
    pub actor_rating: Option<i32>,
    /// The trainers, 1 to 5.
    pub trainer_rating: Option<i32>,
    pub comment: Option<String>,
    /// May the comment be published as an anonymous testimonial ("a participant", with at most
    /// your role)? It can be withdrawn later.
    #[graphql(default)]
    pub consent_to_publish: bool,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(Enum, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationDecision {
    Approve,
    Reject,
}

#[derive(InputObject, Serialize, Debug)]
pub struct ModerateFeedbackInput {
    pub feedback_id: ID,
    pub decision: ModerationDecision,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct WithdrawConsentInput {
    pub feedback_id: ID,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct RecordTestimonialInput {
    pub course_id: ID,
    pub quote: String,
    /// At most the author's role; "Een deelnemer" when left out.
    pub author_role: Option<ParticipantRole>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct FeedbackPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub feedback_id: Option<Uuid>,
}

#[ComplexObject]
impl FeedbackPayload {
    async fn feedback(&self, ctx: &Context<'_>) -> FieldResult<Option<Feedback>> {
        let Some(id) = self.feedback_id else {
            return Ok(None);
        };
        load_feedback(ctx, FeedbackId(id)).await
    }
}

fn payload(performed: &Performed, client_mutation_id: Option<String>) -> FeedbackPayload {
    FeedbackPayload {
        result: performed.result(client_mutation_id),
        feedback_id: performed.made().and_then(|o| o.record_id),
    }
}

fn rating(value: Option<i32>, field: &str) -> Result<Option<i32>, Refusal> {
    match value {
        Some(value) if !(1..=5).contains(&value) => {
            Err(Refusal::new(UserErrorCode::RatingOutOfRange, "a rating is 1 to 5").at(field))
        }
        other => Ok(other),
    }
}

/// The participant calling; anyone else may not give or withdraw feedback.
fn participant(viewer: &Viewer) -> FieldResult<Uuid> {
    match viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated.into()),
        Viewer::Person {
            role: Role::Participant,
            participant_id: Some(own),
            ..
        } => Ok(*own),
        _ => Err(ApiError::ForbiddenTo("feedback comes from participants").into()),
    }
}

fn feedback_id(id: &ID) -> Result<Uuid, Refusal> {
    Ok(parse_id(
        FeedbackId::from_global(id, "input.feedbackId"),
        "input.feedbackId",
    )?
    .0)
}

#[Object]
impl FeedbackMutation {
    /// Participants: feedback on a session they attended, once, from its start until some days
    /// after it (see README).
    async fn give_feedback(
        &self,
        ctx: &Context<'_>,
        input: GiveFeedbackInput,
    ) -> FieldResult<FeedbackPayload> {
        let own = participant(viewer(ctx)?)?;
        let parsed = (|| {
            let session = parse_id(
                SessionId::from_global(&input.session_id, "input.sessionId"),
                "input.sessionId",
            )?;
            Ok(NewFeedback {
                session_id: session.0,
                overall_rating: rating(Some(input.overall_rating), "input.overallRating")?
                    .unwrap_or_default(),
                relevance_rating: rating(input.relevance_rating, "input.relevanceRating")?,
                actor_rating: rating(input.actor_rating, "input.actorRating")?,
                trainer_rating: rating(input.trainer_rating, "input.trainerRating")?,
                comment: text(input.comment.as_deref(), "input.comment", 5000, true)?,
                consent_to_publish: input.consent_to_publish,
            })
        })();
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "giveFeedback",
            key,
            &input,
            parsed,
            move |change, live, new| {
                Box::pin(async move { feedback::give_feedback(change, &live, own, &new).await })
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }

    /// Participants: withdraws consent to publish their comment; a testimonial disappears at once.
    async fn withdraw_consent(
        &self,
        ctx: &Context<'_>,
        input: WithdrawConsentInput,
    ) -> FieldResult<FeedbackPayload> {
        let own = participant(viewer(ctx)?)?;
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "withdrawConsent",
            key,
            &input,
            feedback_id(&input.feedback_id),
            move |change, live, id| {
                Box::pin(async move { feedback::withdraw_consent(change, &live, own, id).await })
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }

    /// Administrators: records a testimonial given before the platform kept records (such as
    /// the leaflet's), published at once.
    async fn record_testimonial(
        &self,
        ctx: &Context<'_>,
        input: RecordTestimonialInput,
    ) -> FieldResult<FeedbackPayload> {
        require_administrator(viewer(ctx)?)?;
        let parsed = parse_id(
            CourseId::from_global(&input.course_id, "input.courseId"),
            "input.courseId",
        )
        .and_then(|course| Ok((course.0, required(&input.quote, "input.quote", 5000, true)?)));
        let role = input.author_role.map(Into::into);
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "recordTestimonial",
            key,
            &input,
            parsed,
            move |change, live, (course, quote)| {
                Box::pin(async move {
                    feedback::record_testimonial(change, &live, course, &quote, role).await
                })
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }

    /// Administrators: approves a comment for publication (only with its author's consent is it
    /// shown) or rejects it.
    async fn moderate_feedback(
        &self,
        ctx: &Context<'_>,
        input: ModerateFeedbackInput,
    ) -> FieldResult<FeedbackPayload> {
        require_administrator(viewer(ctx)?)?;
        let decision = match input.decision {
            ModerationDecision::Approve => entity::enums::ModerationStatus::Approved,
            ModerationDecision::Reject => entity::enums::ModerationStatus::Rejected,
        };
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "moderateFeedback",
            key,
            &input,
            feedback_id(&input.feedback_id),
            move |change, live, id| {
                Box::pin(async move { feedback::moderate(change, &live, id, decision).await })
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }
}
