//! Role-play actors. An `Actor` object is only made after `auth::policy` allowed the viewer to
//! see it: staff, or the actor themselves.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{actor, session, session_actor};

use std::sync::Arc;

use super::{CourseSessionFilter, Session, SessionConnection, SessionTotal, session_connection};
use crate::{
    audit::Outcome,
    auth::policy,
    db::{
        self,
        loaders::{AssignmentsOf, AvailabilityOf, ScheduleOf},
    },
    domain::{
        ids::{ActorId, SessionId},
        pagination::{Page, PageArgs, PageRequest},
    },
    error::FieldResult,
    graphql::context::{audit_read, audit_unknown, loaders, viewer},
};

/// A professional actor who plays in the exercises.
pub struct Actor(pub actor::Model);

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

#[Object]
impl Actor {
    pub async fn id(&self) -> ID {
        ID(ActorId(self.0.id).to_global())
    }

    async fn full_name(&self) -> &str {
        &self.0.full_name
    }

    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    /// The link of their calendar feed in use (see `createCalendarLink`); null to whoever may
    /// not see it.
    async fn calendar_link(&self, ctx: &Context<'_>) -> FieldResult<Option<super::CalendarLink>> {
        if !policy::can_read_actor(viewer(ctx)?, self.0.id) {
            return Ok(None);
        }
        super::active_link(ctx, db::calendar::Owner::Actor(self.0.id)).await
    }

    /// Their experience, in their own words.
    async fn profile(&self) -> Option<&str> {
        self.0.profile.as_deref()
    }

    /// The scenarios they can play.
    async fn scenarios(&self) -> Vec<String> {
        list(&self.0.scenarios)
    }

    /// The roles they can play (an angry citizen, a journalist, …).
    async fn playable_roles(&self) -> Vec<String> {
        list(&self.0.playable_roles)
    }

    async fn active(&self) -> bool {
        self.0.is_active
    }

    /// When they can play, earliest first.
    async fn availability(&self, ctx: &Context<'_>) -> FieldResult<Vec<Availability>> {
        let periods = loaders(ctx)?
            .load_one(AvailabilityOf(ActorId(self.0.id)))
            .await?
            .unwrap_or_default();
        Ok(periods
            .into_iter()
            .map(|p| Availability {
                starts_at: p.starts_at,
                ends_at: p.ends_at,
            })
            .collect())
    }

    /// The sessions they play in, by start (then id), as a cursor connection; filter by start
    /// (`startsFrom` for the upcoming ones) and status.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn schedule(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CourseSessionFilter>,
    ) -> FieldResult<SessionConnection> {
        let page = Arc::new(PageRequest::parse(PageArgs {
            first,
            after,
            last,
            before,
        })?);
        // One filter for every actor, so their pages share a statement; the count is per actor.
        // An actor sees the sessions of courses they may see: unpublished ones do not exist
        // for them, even where they were cast.
        let sees_unpublished = policy::can_see_unpublished(viewer(ctx)?);
        let filter = Arc::new(db::session::SessionFilter {
            published_courses_only: !sees_unpublished,
            ..filter.unwrap_or_default().into_db(None)
        });
        let key = ScheduleOf {
            actor: ActorId(self.0.id),
            filter: filter.clone(),
            page,
        };
        let sessions = loaders(ctx)?
            .load_one(key)
            .await?
            .unwrap_or_else(Page::empty);
        Ok(session_connection(
            sessions,
            SessionTotal::All(db::session::SessionFilter {
                actor_id: Some(self.0.id),
                ..Arc::unwrap_or_clone(filter)
            }),
        ))
    }
}

/// A period in which an actor can play.
#[derive(SimpleObject)]
pub struct Availability {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// An actor playing in a session.
pub struct Assignment {
    row: session_actor::Model,
    session: session::Model,
}

impl From<(session_actor::Model, session::Model)> for Assignment {
    fn from((row, session): (session_actor::Model, session::Model)) -> Self {
        Self { row, session }
    }
}

#[Object]
impl Assignment {
    async fn session(&self) -> Session {
        Session(self.session.clone())
    }

    /// Null when the viewer may not see the actor.
    async fn actor(&self, ctx: &Context<'_>) -> FieldResult<Option<Actor>> {
        load_actor(ctx, ActorId(self.row.actor_id)).await
    }

    /// Their part in the exercise.
    async fn exercise_role(&self) -> Option<&str> {
        self.row.exercise_role.as_deref()
    }
}

/// An actor the viewer may see: staff, or the actor themselves.
pub async fn load_actor(ctx: &Context<'_>, id: ActorId) -> FieldResult<Option<Actor>> {
    let found = loaders(ctx)?.load_one(id).await?;
    if !policy::can_read_actor(viewer(ctx)?, id.0) {
        match found {
            Some(_) => audit_read(ctx, "Actor", vec![id.0], Outcome::Refused)?,
            None => audit_unknown(ctx, "Actor", 1, Outcome::Refused)?,
        }
        return Ok(None);
    }
    if found.is_some() {
        audit_read(ctx, "Actor", vec![id.0], Outcome::Allowed)?;
    }
    Ok(found.map(Actor))
}

/// The actors of a session, for staff and the actors in it.
pub async fn session_assignments(
    ctx: &Context<'_>,
    session: SessionId,
) -> FieldResult<Vec<Assignment>> {
    let rows = loaders(ctx)?
        .load_one(AssignmentsOf::Session(session))
        .await?
        .unwrap_or_default();
    let viewer = viewer(ctx)?;
    let visible = rows
        .iter()
        .any(|(row, _)| policy::can_read_actor(viewer, row.actor_id));
    if !visible {
        return Ok(Vec::new());
    }
    Ok(rows.into_iter().map(Assignment::from).collect())
}
