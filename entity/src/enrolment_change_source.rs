use sea_orm::entity::prelude::*;

/// A source whose scope a change falls in, as it was when the change was written.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolment_change_sources")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub source: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub change_id: Uuid,
    /// The change's place in the feed, copied so a source's changes are read in feed order
    /// from an index of their own.
    pub xact: i64,
    pub position: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
