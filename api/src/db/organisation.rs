use entity::organisation;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

pub async fn find_organisations_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<organisation::Model>, DbErr> {
    organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}
