use async_graphql::SimpleObject;
use entity::feedback;

use super::enums::ParticipantRole;

/// A participant's words, published with their consent. Never carries a name, a municipality or
/// a date that could identify its author: at most the role they hold.
#[derive(SimpleObject)]
pub struct Testimonial {
    pub quote: String,
    /// How the author is shown: "Een deelnemer" (a participant), or their role.
    pub attribution: String,
    pub author_role: Option<ParticipantRole>,
}

impl Testimonial {
    pub fn from_feedback(feedback: feedback::Model) -> Option<Self> {
        let role = feedback.author_role;
        let attribution = match role {
            Some(entity::enums::ParticipantRole::Mayor) => "Een burgemeester",
            Some(entity::enums::ParticipantRole::Alderman) => "Een wethouder",
            _ => "Een deelnemer",
        };
        Some(Self {
            quote: feedback.comment?,
            attribution: attribution.to_owned(),
            author_role: role.map(Into::into),
        })
    }
}
