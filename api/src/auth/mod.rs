//! Who is calling. People bring a bearer JWT from the organisation's identity provider, verified
//! locally (`jwt`); what each role may see is enforced where the data is read.

pub mod api_key;
pub mod jwt;
pub mod policy;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a caller is, as far as access goes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    async_graphql::Enum,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An official who takes courses: sees the public programme and their own data.
    Participant,
    /// Service-desk staff: participants and enrolments of sessions, booking on someone's behalf.
    Coordinator,
    /// Everything, including API keys and the audit trail.
    Administrator,
    /// A role-play actor: their own profile and schedule.
    Actor,
    /// A ministry system with an API key: enrolment data for sync, no feedback text.
    SyncClient,
    /// A dashboard with an API key: aggregates only, never a person's data.
    ReportingClient,
}

impl Role {
    /// Roles a person's token may carry; the others belong to API keys.
    pub fn is_person(self) -> bool {
        matches!(
            self,
            Self::Participant | Self::Coordinator | Self::Administrator | Self::Actor
        )
    }
}

impl From<entity::enums::MachineRole> for Role {
    fn from(role: entity::enums::MachineRole) -> Self {
        match role {
            entity::enums::MachineRole::SyncClient => Self::SyncClient,
            entity::enums::MachineRole::ReportingClient => Self::ReportingClient,
        }
    }
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    /// A person with a verified token.
    Person {
        /// The token's subject, as the identity provider knows them.
        subject: String,
        role: Role,
        /// For participants: their Participant record.
        participant_id: Option<Uuid>,
        /// For actors: their Actor record.
        actor_id: Option<Uuid>,
    },
    /// A machine with a valid API key.
    Machine {
        api_key_id: Uuid,
        role: Role,
        /// The source system a sync client speaks for; none keeps the reach of every source.
        source: Option<String>,
    },
}

impl Viewer {
    pub fn role(&self) -> Option<Role> {
        match self {
            Self::Anonymous => None,
            Self::Person { role, .. } | Self::Machine { role, .. } => Some(*role),
        }
    }

    /// How the audit trail and enrolment histories name this caller; anonymous callers change
    /// nothing and read nothing that is audited.
    pub fn actor(&self) -> Option<Actor> {
        match self {
            Self::Anonymous => None,
            Self::Person { subject, role, .. } => Some(Actor {
                id: subject.clone(),
                role: *role,
            }),
            Self::Machine {
                api_key_id, role, ..
            } => Some(Actor {
                id: format!("api-key:{api_key_id}"),
                role: *role,
            }),
        }
    }
}

/// Who read or changed something: a token's subject or an API key's id, never a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub role: Role,
}

impl Actor {
    /// The role as the audit trail and histories store it.
    pub fn role_name(&self) -> String {
        format!("{:?}", self.role)
    }
}
