//! Calendar links: secret addresses of calendar feeds, shown to their owners and to staff.

use async_graphql::{Context, Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{calendar_link, enums};

use crate::{
    db::calendar::{self, Owner},
    domain::ids::CalendarLinkId,
    error::FieldResult,
    graphql::context::db,
};

/// Whose sessions a calendar link shows.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::CalendarOwner")]
pub enum CalendarOwner {
    Participant,
    Actor,
}

/// A calendar feed's secret link. The link itself is shown once, when it is made; whoever has
/// it can read the feed, so a link that leaked is revoked and a new one made.
#[derive(SimpleObject)]
pub struct CalendarLink {
    pub id: ID,
    pub owner: CalendarOwner,
    pub created_at: DateTime<Utc>,
    /// When a calendar program last read it (to the hour).
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<calendar_link::Model> for CalendarLink {
    fn from(link: calendar_link::Model) -> Self {
        Self {
            id: ID(CalendarLinkId(link.id).to_global()),
            owner: link.owner_type.into(),
            created_at: link.created_at,
            last_used_at: link.last_used_at,
            revoked_at: link.revoked_at,
        }
    }
}

/// The owner's link in use, if any.
pub async fn active_link(ctx: &Context<'_>, owner: Owner) -> FieldResult<Option<CalendarLink>> {
    Ok(calendar::active(db(ctx)?, owner)
        .await?
        .map(CalendarLink::from))
}
