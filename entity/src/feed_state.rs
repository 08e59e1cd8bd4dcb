use sea_orm::entity::prelude::*;

/// The change feed's epoch: cursors of another epoch must resync.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feed_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub epoch: Uuid,
    /// PostgreSQL's system identifier when the epoch began: a restore elsewhere changes it.
    pub system_identifier: Option<String>,
    pub started_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
