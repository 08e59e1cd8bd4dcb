use sea_orm::entity::prelude::*;

use crate::enums::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub full_name: String,
    #[sea_orm(unique)]
    pub email: String,
    /// What a reader would take the address for (UTS #39 skeleton): look-alikes share it.
    pub email_skeleton: Option<String>,
    pub phone: Option<String>,
    pub role: ParticipantRole,
    pub municipality_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When they were erased: their name, addresses and links are gone, their role and their
    /// anonymous enrolments stay for the statistics.
    pub erased_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
