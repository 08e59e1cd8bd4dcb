//! A person's own data, on their request (or an administrator's, for a request by post).

use async_graphql::{Context, ID, Json, Object};
use chrono::Utc;

use crate::{
    audit,
    auth::{Role, Viewer},
    domain::ids::ParticipantId,
    error::{ApiError, FieldResult},
    graphql::context::request_data,
    privacy::export::export,
};

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// Everything held about one participant: their record, external ids, enrolments with their
    /// history, feedback, calendar links, the messages about them and the audit events about
    /// their records (who acted by role, never by identity). A participant leaves the argument
    /// out and gets their own; an administrator names the participant. Audited.
    async fn participant_data_export(
        &self,
        ctx: &Context<'_>,
        participant_id: Option<ID>,
    ) -> FieldResult<Json<serde_json::Value>> {
        let data = request_data(ctx)?;
        let viewer = &data.viewer;
        let asked = participant_id
            .map(|id| ParticipantId::from_global(&id, "participantId"))
            .transpose()?
            .map(|id| id.0);
        let id = match (viewer, asked) {
            (Viewer::Anonymous, _) => return Err(ApiError::Unauthenticated.into()),
            (
                Viewer::Person {
                    role: Role::Participant,
                    participant_id: Some(own),
                    ..
                },
                asked,
            ) => match asked {
                Some(other) if other != *own => {
                    return Err(ApiError::ForbiddenTo(
                        "a participant may export their own data only",
                    )
                    .into());
                }
                _ => *own,
            },
            (Viewer::Person { .. }, Some(id)) if viewer.role() == Some(Role::Administrator) => id,
            (Viewer::Person { .. }, None) if viewer.role() == Some(Role::Administrator) => {
                return Err(ApiError::BadUserInput {
                    field: "participantId",
                    message: "name the participant whose data to export".into(),
                }
                .into());
            }
            _ => {
                return Err(ApiError::ForbiddenTo(
                    "data exports are for the participant themselves and administrators",
                )
                .into());
            }
        };
        let now = Utc::now();
        let found = export(&data.db, id, now).await?;
        // A token that outlived its participant's erasure names no one.
        let erased = found
            .as_ref()
            .is_some_and(|e| !e["participant"]["erasedAt"].is_null());
        let own = viewer.role() == Some(Role::Participant);
        let export = found
            .filter(|_| !(own && erased))
            .ok_or(ApiError::NotFound {
                what: "participant",
            })?;
        if let Some(actor) = viewer.actor() {
            audit::record_event(
                &data.db,
                &actor,
                "participantDataExport",
                "Participant",
                &[id],
                None,
                now,
            )
            .await?;
        }
        Ok(Json(export))
    }
}
