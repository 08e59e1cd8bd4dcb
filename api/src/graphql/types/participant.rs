//! Personal data. A `Participant` or `Enrolment` object is only ever made after `auth::policy`
//! allowed the viewer to see it, so its fields need no checks of their own.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{enrolment, participant};

use super::{
    Session,
    enums::{EnrolmentStatus, ParticipantRole},
};
use crate::{
    audit::Outcome,
    auth::policy,
    db::loaders::EnrolmentsOf,
    domain::ids::{EnrolmentId, MunicipalityId, ParticipantId, SessionId},
    error::{ApiError, FieldResult},
    graphql::context::{audit_read, loaders, viewer},
};

/// An official who takes courses.
pub struct Participant(pub participant::Model);

#[Object]
impl Participant {
    pub async fn id(&self) -> ID {
        ID(ParticipantId(self.0.id).to_global())
    }

    async fn full_name(&self) -> &str {
        &self.0.full_name
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    async fn role(&self) -> ParticipantRole {
        self.0.role.into()
    }

    async fn municipality(&self, ctx: &Context<'_>) -> FieldResult<Option<Municipality>> {
        let Some(id) = self.0.municipality_id else {
            return Ok(None);
        };
        let found = loaders(ctx)?.load_one(MunicipalityId(id)).await?;
        Ok(found.map(|m| Municipality {
            cbs_code: m.cbs_code,
            name: m.name,
        }))
    }

    /// Their enrolments, oldest first.
    async fn enrolments(&self, ctx: &Context<'_>) -> FieldResult<Vec<Enrolment>> {
        let key = EnrolmentsOf::Participant(ParticipantId(self.0.id));
        let found = loaders(ctx)?.load_one(key).await?.unwrap_or_default();
        audit_read(
            ctx,
            "Enrolment",
            found.iter().map(|e| e.id).collect(),
            Outcome::Allowed,
        )?;
        Ok(found.into_iter().map(Enrolment).collect())
    }
}

/// A Dutch municipality, with the code CBS gives it (such as GM0518).
#[derive(SimpleObject)]
pub struct Municipality {
    pub cbs_code: String,
    pub name: String,
}

/// A participant's seat, or place on the waiting list, in a session.
pub struct Enrolment(pub enrolment::Model);

#[Object]
impl Enrolment {
    pub async fn id(&self) -> ID {
        ID(EnrolmentId(self.0.id).to_global())
    }

    async fn status(&self) -> EnrolmentStatus {
        self.0.status.into()
    }

    async fn session(&self, ctx: &Context<'_>) -> FieldResult<Session> {
        let session = loaders(ctx)?.load_one(SessionId(self.0.session_id)).await?;
        session.map(Session).ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("enrolment without its session")).into()
        })
    }

    async fn participant(&self, ctx: &Context<'_>) -> FieldResult<Option<Participant>> {
        load_participant(ctx, ParticipantId(self.0.participant_id)).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A participant the viewer may see; `None` when there is none or the viewer may not see it.
pub async fn load_participant(
    ctx: &Context<'_>,
    id: ParticipantId,
) -> FieldResult<Option<Participant>> {
    if !policy::can_read_participant(viewer(ctx)?, id.0) {
        audit_read(ctx, "Participant", vec![id.0], Outcome::Refused)?;
        return Ok(None);
    }
    let found = loaders(ctx)?.load_one(id).await?;
    if found.is_some() {
        audit_read(ctx, "Participant", vec![id.0], Outcome::Allowed)?;
    }
    Ok(found.map(Participant))
}

/// An enrolment the viewer may see: their own, or any for staff and sync clients.
pub async fn load_enrolment(ctx: &Context<'_>, id: EnrolmentId) -> FieldResult<Option<Enrolment>> {
    let Some(found) = loaders(ctx)?.load_one(id).await? else {
        return Ok(None);
    };
    let viewer = viewer(ctx)?;
    let allowed = policy::can_list_enrolments(viewer)
        || policy::can_read_participant(viewer, found.participant_id);
    let outcome = if allowed {
        Outcome::Allowed
    } else {
        Outcome::Refused
    };
    audit_read(ctx, "Enrolment", vec![found.id], outcome)?;
    Ok(allowed.then_some(Enrolment(found)))
}
