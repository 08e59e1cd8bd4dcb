//! Typed ids for the `db/` boundary and the opaque global ids of the GraphQL `Node` interface.
//!
//! A global id is `base64url("<Type>:<uuid>")`: opaque to clients, self-describing to us, so
//! `node(id:)` knows which table to read without guessing.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The node types that have a global id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Course,
    Module,
    Session,
    Location,
    Organisation,
    Participant,
    Enrolment,
    Actor,
    Feedback,
    OutboxEvent,
    CalendarLink,
    WebhookEndpoint,
}

impl NodeType {
    fn name(self) -> &'static str {
        match self {
            Self::Course => "Course",
            Self::Module => "Module",
            Self::Session => "Session",
            Self::Location => "Location",
            Self::Organisation => "Organisation",
            Self::Participant => "Participant",
            Self::Enrolment => "Enrolment",
            Self::Actor => "Actor",
            Self::Feedback => "Feedback",
            Self::OutboxEvent => "OutboxEvent",
            Self::CalendarLink => "CalendarLink",
            Self::WebhookEndpoint => "WebhookEndpoint",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Course" => Self::Course,
            "Module" => Self::Module,
            "Session" => Self::Session,
            "Location" => Self::Location,
            "Organisation" => Self::Organisation,
            "Participant" => Self::Participant,
            "Enrolment" => Self::Enrolment,
            "Actor" => Self::Actor,
            "Feedback" => Self::Feedback,
            "OutboxEvent" => Self::OutboxEvent,
            "CalendarLink" => Self::CalendarLink,
            "WebhookEndpoint" => Self::WebhookEndpoint,
            _ => return None,
        })
    }
}

/// A decoded global id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalId {
    pub node_type: NodeType,
    pub uuid: Uuid,
}

impl GlobalId {
    pub fn encode(node_type: NodeType, uuid: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", node_type.name(), uuid.as_hyphenated()))
    }

    /// Decodes an id a client sent; `field` names the argument in the error.
    pub fn decode(id: &str, field: &'static str) -> ApiResult<Self> {
        let invalid = || ApiError::InvalidId { field };
        // Longest valid id: "Organisation:" + 36 characters, base64-encoded.
        if id.len() > 80 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| invalid())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
        let (name, uuid) = text.split_once(':').ok_or_else(invalid)?;
        let node_type = NodeType::from_name(name).ok_or_else(invalid)?;
        let uuid = Uuid::try_parse(uuid).map_err(|_| invalid())?;
        // One spelling per record: the UUID in lower-case hyphenated form and canonical
        // base64, as `encode` writes it; anything else would give a record several ids.
        if Self::encode(node_type, uuid) != id {
            return Err(invalid());
        }
        Ok(Self { node_type, uuid })
    }
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $node_type:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const NODE_TYPE: NodeType = $node_type;

            pub fn to_global(self) -> String {
                GlobalId::encode(Self::NODE_TYPE, self.0)
            }

            /// Parses a global id that must name this type.
            pub fn from_global(id: &str, field: &'static str) -> ApiResult<Self> {
                let global = GlobalId::decode(id, field)?;
                if global.node_type == Self::NODE_TYPE {
                    Ok(Self(global.uuid))
                } else {
                    Err(ApiError::InvalidId { field })
                }
            }
        }
    };
}

typed_id!(CourseId, NodeType::Course);
typed_id!(ModuleId, NodeType::Module);
typed_id!(SessionId, NodeType::Session);
typed_id!(LocationId, NodeType::Location);
typed_id!(OrganisationId, NodeType::Organisation);
typed_id!(ParticipantId, NodeType::Participant);
typed_id!(EnrolmentId, NodeType::Enrolment);
typed_id!(ActorId, NodeType::Actor);
typed_id!(FeedbackId, NodeType::Feedback);
typed_id!(OutboxEventId, NodeType::OutboxEvent);
typed_id!(CalendarLinkId, NodeType::CalendarLink);
typed_id!(WebhookEndpointId, NodeType::WebhookEndpoint);

/// Municipalities are not nodes: they are read through a participant only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MunicipalityId(pub Uuid);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_id_round_trips() {
        let id = CourseId(Uuid::new_v4());
        assert_eq!(CourseId::from_global(&id.to_global(), "id").ok(), Some(id));
    }

    #[test]
    fn every_node_type_round_trips() {
        use NodeType::*;
        for kind in [
            Course,
            Module,
            Session,
            Location,
            Organisation,
            Participant,
            Enrolment,
        ] {
            let uuid = Uuid::new_v4();
            let decoded = GlobalId::decode(&GlobalId::encode(kind, uuid), "id").ok();
            assert_eq!(
                decoded,
                Some(GlobalId {
                    node_type: kind,
                    uuid
                })
            );
        }
    }

    #[test]
    fn a_global_id_of_another_type_is_refused() {
        let id = SessionId(Uuid::new_v4()).to_global();
        assert!(matches!(
            CourseId::from_global(&id, "id"),
            Err(ApiError::InvalidId { .. })
        ));
    }

    #[test]
    fn a_record_has_one_spelling_of_its_id() {
        let uuid = Uuid::new_v4();
        for text in [
            uuid.simple().to_string(),
            uuid.hyphenated().to_string().to_uppercase(),
            uuid.braced().to_string(),
            uuid.urn().to_string(),
        ] {
            let id = URL_SAFE_NO_PAD.encode(format!("Course:{text}"));
            assert!(GlobalId::decode(&id, "id").is_err(), "{text}");
        }
        let padded = format!("{}=", GlobalId::encode(NodeType::Course, uuid));
        assert!(GlobalId::decode(&padded, "id").is_err());
    }

    #[test]
    fn garbage_is_an_invalid_id() {
        for id in [
            "",
            "!!",
            "Q291cnNl",
            &"A".repeat(500),
            &URL_SAFE_NO_PAD.encode("Course:nope"),
        ] {
            assert!(GlobalId::decode(id, "id").is_err(), "{id}");
        }
    }
}
