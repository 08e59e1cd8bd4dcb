use sea_orm::entity::prelude::*;

use crate::enums::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    pub subtitle: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub introduction: String,
    #[sea_orm(column_type = "Text")]
    pub method: String,
    pub audience: String,
    pub theme: Option<String>,
    pub status: CourseStatus,
    pub max_participants: i32,
    pub duration_days: i32,
    pub daily_start_time: ChronoTime,
    pub daily_end_time: ChronoTime,
    pub alumni_count_before_platform: i32,
    pub allow_repeat_enrolment: bool,
    pub cancellation_deadline_hours: i32,
    pub provider_id: Uuid,
    pub sponsor_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
