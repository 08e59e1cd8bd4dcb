use sea_orm::entity::prelude::*;

/// One erasure, by ids only: what `training privacy reapply-erasures` applies again after a
/// restore from a backup older than it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "erasures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub participant_id: Uuid,
    /// `REQUEST` (on the person's request) or `RETENTION` (their time was up).
    pub cause: String,
    pub erased_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
