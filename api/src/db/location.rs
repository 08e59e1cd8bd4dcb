use entity::location;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

pub async fn find_locations_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<location::Model>, DbErr> {
    location::Entity::find()
        .filter(location::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}
