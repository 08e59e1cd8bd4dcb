//! Who is calling. People bring a bearer JWT from the organisation's identity provider, verified
//! locally (`jwt`); what each role may see is enforced where the data is read.

pub mod jwt;

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
    },
}

impl Viewer {
    pub fn role(&self) -> Option<Role> {
        match self {
            Self::Anonymous => None,
            Self::Person { role, .. } => Some(*role),
        }
    }
}
