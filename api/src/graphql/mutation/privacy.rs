//! Privacy operations: administrators erase a participant on request.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use serde::Serialize;

use super::{MutationOptions, MutationResult, parse_id, perform_checked, require_administrator};
use crate::{
    db::erasure::{self, Cause, Erasure},
    domain::{ids::ParticipantId, input as text},
    error::FieldResult,
    graphql::context::{request_data, viewer},
    privacy::log,
};

#[derive(Default)]
pub struct PrivacyMutation;

#[derive(InputObject, Serialize, Debug)]
pub struct EraseParticipantInput {
    pub participant_id: ID,
    /// Why (a request received on such a date, say); kept on the audit trail only. Write no
    /// personal data in it.
    pub reason: String,
    /// Keep a comment they consented to publish as a testimonial (it shows no name).
    #[graphql(default = false)]
    pub keep_consented_comment: bool,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
pub struct EraseParticipantPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    /// The erased participant's id.
    pub participant_id: Option<ID>,
}

#[Object]
impl PrivacyMutation {
    /// Administrators: erases a participant on their request. Their name becomes "Verwijderde
    /// deelnemer"; their e-mail, phone, external ids, municipality, calendar links, unsent
    /// messages and comments (unless kept, see the input) are gone, and their seats still to
    /// come are freed. Their role and their enrolments stay as anonymous records, so counts
    /// and reports do not change. The feed reports `ERASED` for each of their enrolments.
    /// Someone erased before: `ALREADY_ERASED`, and nothing changes.
    async fn erase_participant(
        &self,
        ctx: &Context<'_>,
        input: EraseParticipantInput,
    ) -> FieldResult<EraseParticipantPayload> {
        require_administrator(viewer(ctx)?)?;
        let checked = parse_id(
            ParticipantId::from_global(&input.participant_id, "input.participantId"),
            "input.participantId",
        )
        .and_then(|id| {
            let reason = text::required(&input.reason, "input.reason", 500, true)?;
            Ok(Erasure {
                participant_id: id.0,
                cause: Cause::Request,
                reason,
                keep_consented_comment: input.keep_consented_comment,
            })
        });
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "eraseParticipant",
            key,
            &input,
            checked,
            move |change, live, erasure| {
                Box::pin(async move { erasure::erase(change, &live, &erasure).await })
            },
        )
        .await?;
        let erased = performed.made().and_then(|o| o.record_id);
        if let Some(id) = erased.filter(|_| !performed.replayed) {
            let entry = log::Entry {
                participant_id: id,
                cause: Cause::Request,
                erased_at: Utc::now(),
            };
            // The erasure stands; a missing line only means a restore would not repeat it, so
            // it is said loudly, by id only.
            if let Err(error) = log::append(&request_data(ctx)?.erasure_log, &entry) {
                tracing::error!(participant = %id, error = %error, "could not log an erasure");
            }
        }
        let participant_id = erased.map(|id| ID(ParticipantId(id).to_global()));
        Ok(EraseParticipantPayload {
            result: performed.result(input.options.client_mutation_id),
            participant_id,
        })
    }
}
