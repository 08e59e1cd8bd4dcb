use sea_orm::entity::prelude::*;

use crate::enums::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub course_id: Uuid,
    pub session_id: Option<Uuid>,
    pub participant_id: Option<Uuid>,
    pub overall_rating: Option<i32>,
    pub relevance_rating: Option<i32>,
    pub actor_rating: Option<i32>,
    pub trainer_rating: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
    pub consent_to_publish: bool,
    pub moderation_status: ModerationStatus,
    pub author_role: Option<ParticipantRole>,
    pub submitted_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
