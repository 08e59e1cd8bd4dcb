use sea_orm::entity::prelude::*;

use crate::enums::*;

/// One step in an enrolment's history.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolment_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub enrolment_id: Uuid,
    pub change: EnrolmentChangeKind,
    pub from_status: Option<EnrolmentStatus>,
    pub to_status: EnrolmentStatus,
    pub actor: String,
    pub actor_role: String,
    pub reason: Option<String>,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
