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
    /// The enrolment's version after this change: 1, 2, 3, … without a gap.
    pub version: i32,
    /// The transaction that wrote it (PostgreSQL; 0 on SQLite), filled by the database.
    pub xact: i64,
    /// The order of writing, filled by the database.
    pub position: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
