use sea_orm::entity::prelude::*;

/// Where a source system is told of changes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The source whose scope it hears; none hears every change.
    pub source: Option<String>,
    pub url: String,
    /// JSON list of topics, such as `["enrolment.changed"]`.
    pub topics: String,
    /// `whsec_…`: what deliveries are signed with.
    pub secret: String,
    /// The secret before the last rotation, still signed with until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    /// Since when deliveries have failed without a success between.
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
