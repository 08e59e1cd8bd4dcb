//! The programme of a course: a tree of modules, each with its ordered topics.

use entity::{module, module_topic};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

/// Where a module hangs: at the top of a course's programme, or under another module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleParent {
    Course(Uuid),
    Module(Uuid),
}

impl ModuleParent {
    pub fn of(module: &module::Model) -> Self {
        module
            .parent_id
            .map_or(Self::Course(module.course_id), Self::Module)
    }
}

/// The children of each parent, in order, in one statement.
pub async fn find_modules_by_parents(
    db: &impl ConnectionTrait,
    parents: &[ModuleParent],
) -> Result<Vec<module::Model>, DbErr> {
    let (courses, modules): (Vec<_>, Vec<_>) = parents
        .iter()
        .partition(|p| matches!(p, ModuleParent::Course(_)));
    let ids = |parents: Vec<&ModuleParent>| {
        parents
            .into_iter()
            .map(|p| match p {
                ModuleParent::Course(id) | ModuleParent::Module(id) => *id,
            })
            .collect::<Vec<_>>()
    };
    let condition = Condition::any()
        .add(
            Condition::all()
                .add(module::Column::ParentId.is_null())
                .add(module::Column::CourseId.is_in(ids(courses))),
        )
        .add(module::Column::ParentId.is_in(ids(modules)));
    module::Entity::find()
        .filter(condition)
        .order_by_asc(module::Column::Position)
        .all(db)
        .await
}

pub async fn find_modules_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<module::Model>, DbErr> {
    module::Entity::find()
        .filter(module::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn find_topics(
    db: &impl ConnectionTrait,
    module_ids: &[Uuid],
) -> Result<Vec<module_topic::Model>, DbErr> {
    module_topic::Entity::find()
        .filter(module_topic::Column::ModuleId.is_in(module_ids.iter().copied()))
        .order_by_asc(module_topic::Column::Position)
        .all(db)
        .await
}
