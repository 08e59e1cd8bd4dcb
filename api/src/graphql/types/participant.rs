//! Personal data. A `Participant` or `Enrolment` object is only ever made after `auth::policy`
//! allowed the viewer to see it, so its fields need no checks of their own.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{enrolment, enrolment_change, participant};

use super::{
    Session,
    enums::{EnrolmentChangeKind, EnrolmentStatus, ParticipantRole},
};
use crate::{
    audit::Outcome,
    auth::{Role, Viewer, policy},
    db::loaders::{ChangesOf, EnrolmentsOf, WaitingPlaceOf},
    domain::{
        booking,
        ids::{CourseId, EnrolmentId, MunicipalityId, ParticipantId, SessionId},
    },
    error::{ApiError, FieldResult},
    graphql::context::{audit_read, audit_unknown, in_scope, loaders, viewer},
    sync::external_ids::RecordType,
};

/// An official who takes courses.
pub struct Participant(pub participant::Model);

#[Object]
impl Participant {
    pub async fn id(&self) -> ID {
        ID(ParticipantId(self.0.id).to_global())
    }

    /// The id the caller's source system knows them by (staff: the default source's).
    async fn external_id(&self, ctx: &Context<'_>) -> FieldResult<Option<String>> {
        super::sync::external_id(ctx, RecordType::Participant, self.0.id).await
    }

    async fn full_name(&self) -> &str {
        &self.0.full_name
    }

    /// Null once they are erased.
    async fn email(&self) -> Option<&str> {
        self.0.erased_at.is_none().then_some(self.0.email.as_str())
    }

    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    async fn role(&self) -> ParticipantRole {
        self.0.role.into()
    }

    /// When they were erased (see `eraseParticipant`): their name is "Verwijderde deelnemer"
    /// and nothing else about them is kept but their role and anonymous enrolments.
    async fn erased_at(&self) -> Option<DateTime<Utc>> {
        self.0.erased_at
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

    /// The link of their calendar feed in use (see `createCalendarLink`): shown to the
    /// participant themselves and to administrators, null to anyone else.
    async fn calendar_link(&self, ctx: &Context<'_>) -> FieldResult<Option<super::CalendarLink>> {
        let viewer = viewer(ctx)?;
        let own =
            matches!(viewer, Viewer::Person { participant_id: Some(own), .. } if *own == self.0.id);
        if !own && viewer.role() != Some(Role::Administrator) {
            return Ok(None);
        }
        super::active_link(ctx, crate::db::calendar::Owner::Participant(self.0.id)).await
    }

    /// Their enrolments, oldest first; with `status`, only those in one of these states (such
    /// as CONFIRMED and WAITLISTED for the bookings that stand).
    async fn enrolments(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<EnrolmentStatus>>,
    ) -> FieldResult<Vec<Enrolment>> {
        let key = EnrolmentsOf::Participant(ParticipantId(self.0.id));
        let mut found = loaders(ctx)?.load_one(key).await?.unwrap_or_default();
        if let Some(wanted) = status {
            found.retain(|e| wanted.contains(&e.status.into()));
        }
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

    /// Rises by one with every change, from 1: the version of the feed's latest change of it.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The id the caller's source system knows it by (staff: the default source's).
    async fn external_id(&self, ctx: &Context<'_>) -> FieldResult<Option<String>> {
        super::sync::external_id(ctx, RecordType::Enrolment, self.0.id).await
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

    /// The place on the session's waiting list (1 is next) while WAITLISTED; otherwise null.
    async fn waiting_list_place(&self, ctx: &Context<'_>) -> FieldResult<Option<i64>> {
        if self.0.status != entity::enums::EnrolmentStatus::Waitlisted {
            return Ok(None);
        }
        Ok(loaders(ctx)?
            .load_one(WaitingPlaceOf(EnrolmentId(self.0.id)))
            .await?)
    }

    /// Until when the participant may cancel this enrolment themselves.
    async fn cancellable_until(&self, ctx: &Context<'_>) -> FieldResult<DateTime<Utc>> {
        let loaders = loaders(ctx)?;
        let session = loaders
            .load_one(SessionId(self.0.session_id))
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("enrolment without its session")))?;
        let course = loaders
            .load_one(CourseId(session.course_id))
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("session without its course")))?;
        Ok(booking::cancellable_until(
            &session,
            course.cancellation_deadline_hours,
        ))
    }

    /// Every change of status, oldest first: booked or waitlisted, promoted, moved, cancelled,
    /// attended.
    async fn history(&self, ctx: &Context<'_>) -> FieldResult<Vec<EnrolmentChange>> {
        let changes = loaders(ctx)?
            .load_one(ChangesOf(EnrolmentId(self.0.id)))
            .await?
            .unwrap_or_default();
        Ok(changes.into_iter().map(EnrolmentChange).collect())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One step in an enrolment's history.
pub struct EnrolmentChange(enrolment_change::Model);

#[Object]
impl EnrolmentChange {
    async fn change(&self) -> EnrolmentChangeKind {
        self.0.change.into()
    }

    async fn from_status(&self) -> Option<EnrolmentStatus> {
        self.0.from_status.map(Into::into)
    }

    async fn to_status(&self) -> EnrolmentStatus {
        self.0.to_status.into()
    }

    /// The role of whoever made the change (the participant, staff, a sync client); never who.
    async fn by_role(&self) -> &str {
        &self.0.actor_role
    }

    /// Staff's reason, where one was given.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}

/// A participant the viewer may see; `None` when there is none or the viewer may not see it.
pub async fn load_participant(
    ctx: &Context<'_>,
    id: ParticipantId,
) -> FieldResult<Option<Participant>> {
    let found = loaders(ctx)?.load_one(id).await?;
    let reachable = found.is_none() || in_scope(ctx, &[id.0]).await?.contains(&id.0);
    if !policy::can_read_participant(viewer(ctx)?, id.0) || !reachable {
        match found {
            Some(_) => audit_read(ctx, "Participant", vec![id.0], Outcome::Refused)?,
            None => audit_unknown(ctx, "Participant", 1, Outcome::Refused)?,
        }
        return Ok(None);
    }
    if found.is_some() {
        audit_read(ctx, "Participant", vec![id.0], Outcome::Allowed)?;
    }
    Ok(found.map(Participant))
}

/// An enrolment the viewer may see: their own, or any for staff and sync clients.
pub async fn load_enrolment(ctx: &Context<'_>, id: EnrolmentId) -> FieldResult<Option<Enrolment>> {
    let viewer = viewer(ctx)?;
    let Some(found) = loaders(ctx)?.load_one(id).await? else {
        // Asked for by someone who could not have read it anyway: counted on the trail.
        if !policy::can_list_enrolments(viewer) {
            audit_unknown(ctx, "Enrolment", 1, Outcome::Refused)?;
        }
        return Ok(None);
    };
    let allowed = (policy::can_list_enrolments(viewer)
        || policy::can_read_participant(viewer, found.participant_id))
        && in_scope(ctx, &[found.participant_id])
            .await?
            .contains(&found.participant_id);
    let outcome = if allowed {
        Outcome::Allowed
    } else {
        Outcome::Refused
    };
    audit_read(ctx, "Enrolment", vec![found.id], outcome)?;
    Ok(allowed.then_some(Enrolment(found)))
}
