use sea_orm::entity::prelude::*;

/// One attempt to deliver a change to a webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub change_id: Uuid,
    pub attempt: i32,
    /// The receiver's HTTP status; none when it was not reached.
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// What went wrong, in our words.
    pub error: Option<String>,
    pub attempted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
