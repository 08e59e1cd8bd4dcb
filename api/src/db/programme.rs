//! The programme of a course: nested modules with their topics. Every edit locks the course, so
//! edits of one programme happen one after the other; positions among siblings are renumbered
//! from zero after each, so there are never gaps or duplicates.

use entity::{course, module, module_topic};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    change::{Change, Outcome},
    transaction::TxError,
};
use crate::{
    domain::booking::{Refusal, UserErrorCode},
    live::Live,
};

/// A module's own content.
#[derive(Debug, Clone)]
pub struct ModuleContent {
    pub title: String,
    pub description: Option<String>,
    pub topics: Vec<String>,
}

/// Where a module goes: under a parent (or at the top of the course), at a position among its
/// siblings (at the end when not given).
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub parent_id: Option<Uuid>,
    pub position: Option<usize>,
}

async fn lock_course(change: &Change<'_>, course_id: Uuid, field: &str) -> Result<(), TxError> {
    let locked = course::Entity::update_many()
        .col_expr(course::Column::UpdatedAt, Expr::value(change.now))
        .filter(course::Column::Id.eq(course_id))
        .exec(change.txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(Refusal::not_found("course", field).into());
    }
    Ok(())
}

async fn find_module(change: &Change<'_>, id: Uuid, field: &str) -> Result<module::Model, TxError> {
    module::Entity::find_by_id(id)
        .one(change.txn)
        .await?
        .ok_or_else(|| Refusal::not_found("module", field).into())
}

fn siblings_of(course_id: Uuid, parent_id: Option<Uuid>) -> Condition {
    let condition = Condition::all().add(module::Column::CourseId.eq(course_id));
    match parent_id {
        Some(parent) => condition.add(module::Column::ParentId.eq(parent)),
        None => condition.add(module::Column::ParentId.is_null()),
    }
}

async fn siblings(
    change: &Change<'_>,
    course_id: Uuid,
    parent_id: Option<Uuid>,
) -> Result<Vec<Uuid>, DbErr> {
    Ok(module::Entity::find()
        .filter(siblings_of(course_id, parent_id))
        .order_by_asc(module::Column::Position)
        .all(change.txn)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect())
}

/// Positions above this are only ever held for a moment, while siblings are renumbered.
const OUT_OF_THE_WAY: i32 = 1_000_000;

/// Gives `ordered` the positions 0, 1, 2, …: first all out of the way (so the unique index never
/// sees two at one position), then each in its place.
async fn renumber(change: &Change<'_>, ordered: &[Uuid]) -> Result<(), DbErr> {
    if ordered.is_empty() {
        return Ok(());
    }
    module::Entity::update_many()
        .col_expr(
            module::Column::Position,
            Expr::col(module::Column::Position).add(OUT_OF_THE_WAY),
        )
        .filter(module::Column::Id.is_in(ordered.iter().copied()))
        .exec(change.txn)
        .await?;
    for (position, id) in (0i32..).zip(ordered) {
        module::Entity::update_many()
            .col_expr(module::Column::Position, Expr::value(position))
            .col_expr(module::Column::UpdatedAt, Expr::value(change.now))
            .filter(module::Column::Id.eq(*id))
            .exec(change.txn)
            .await?;
    }
    Ok(())
}

async fn replace_topics(
    change: &Change<'_>,
    module_id: Uuid,
    topics: &[String],
) -> Result<(), DbErr> {
    module_topic::Entity::delete_many()
        .filter(module_topic::Column::ModuleId.eq(module_id))
        .exec(change.txn)
        .await?;
    if topics.is_empty() {
        return Ok(());
    }
    module_topic::Entity::insert_many((0..).zip(topics).map(|(position, text)| {
        module_topic::ActiveModel {
            id: Set(Uuid::new_v4()),
            module_id: Set(module_id),
            position: Set(position),
            text: Set(text.clone()),
            created_at: Set(change.now),
            updated_at: Set(change.now),
        }
    }))
    .exec_without_returning(change.txn)
    .await?;
    Ok(())
}

/// The parent must be a module of the same course, and not the module itself or one below it.
async fn check_parent(
    change: &Change<'_>,
    course_id: Uuid,
    parent_id: Option<Uuid>,
    moving: Option<Uuid>,
) -> Result<(), TxError> {
    let mut next = parent_id;
    while let Some(id) = next {
        if Some(id) == moving {
            return Err(Refusal::bad_input(
                "input.parentId",
                "a module cannot be placed inside itself",
            )
            .into());
        }
        let parent = find_module(change, id, "input.parentId").await?;
        if parent.course_id != course_id {
            return Err(another_course("input.parentId"));
        }
        next = parent.parent_id;
    }
    Ok(())
}

fn another_course(field: &str) -> TxError {
    Refusal::new(
        UserErrorCode::ModuleOfAnotherCourse,
        "that module belongs to another course",
    )
    .at(field)
    .into()
}

/// Puts `id` among the siblings of `place` at its position, and renumbers them.
async fn insert_at(
    change: &Change<'_>,
    course_id: Uuid,
    id: Uuid,
    place: Place,
) -> Result<(), DbErr> {
    let mut order: Vec<Uuid> = siblings(change, course_id, place.parent_id)
        .await?
        .into_iter()
        .filter(|sibling| *sibling != id)
        .collect();
    let at = place.position.unwrap_or(order.len()).min(order.len());
    order.insert(at, id);
    renumber(change, &order).await
}

/// Adds a module with its topics.
pub async fn add_module(
    change: Change<'_>,
    live: &Live,
    course_id: Uuid,
    place: Place,
    content: &ModuleContent,
) -> Result<Outcome, TxError> {
    lock_course(&change, course_id, "input.courseId").await?;
    check_parent(&change, course_id, place.parent_id, None).await?;
    let id = Uuid::new_v4();
    // Inserted past the end (out of everyone's way), then put in its place.
    let end = i32::try_from(siblings(&change, course_id, place.parent_id).await?.len())
        .unwrap_or(i32::MAX);
    module::Entity::insert(module::ActiveModel {
        id: Set(id),
        course_id: Set(course_id),
        parent_id: Set(place.parent_id),
        position: Set(end),
        title: Set(content.title.clone()),
        description: Set(content.description.clone()),
        created_at: Set(change.now),
        updated_at: Set(change.now),
    })
    .exec_without_returning(change.txn)
    .await?;
    insert_at(&change, course_id, id, place).await?;
    replace_topics(&change, id, &content.topics).await?;
    change.audit_change("addModule", "Module", &[id]).await?;
    change.finish(live, Outcome::for_record(id)).await
}

/// Replaces a module's title, description and topics.
pub async fn edit_module(
    change: Change<'_>,
    live: &Live,
    id: Uuid,
    content: &ModuleContent,
) -> Result<Outcome, TxError> {
    let module = find_module(&change, id, "input.moduleId").await?;
    lock_course(&change, module.course_id, "input.moduleId").await?;
    module::Entity::update_many()
        .col_expr(module::Column::Title, Expr::value(content.title.clone()))
        .col_expr(
            module::Column::Description,
            Expr::value(content.description.clone()),
        )
        .col_expr(module::Column::UpdatedAt, Expr::value(change.now))
        .filter(module::Column::Id.eq(id))
        .exec(change.txn)
        .await?;
    replace_topics(&change, id, &content.topics).await?;
    change.audit_change("editModule", "Module", &[id]).await?;
    change.finish(live, Outcome::for_record(id)).await
}

/// Moves a module (with what is below it) to another parent or position in its course.
pub async fn move_module(
    change: Change<'_>,
    live: &Live,
    id: Uuid,
    place: Place,
) -> Result<Outcome, TxError> {
    let module = find_module(&change, id, "input.moduleId").await?;
    lock_course(&change, module.course_id, "input.moduleId").await?;
    check_parent(&change, module.course_id, place.parent_id, Some(id)).await?;
    let old: Vec<Uuid> = siblings(&change, module.course_id, module.parent_id)
        .await?
        .into_iter()
        .filter(|sibling| *sibling != id)
        .collect();
    if module.parent_id != place.parent_id {
        // Out of the way of both sibling lists, then under the new parent.
        module::Entity::update_many()
            .col_expr(module::Column::Position, Expr::value(OUT_OF_THE_WAY - 1))
            .col_expr(module::Column::ParentId, Expr::value(place.parent_id))
            .filter(module::Column::Id.eq(id))
            .exec(change.txn)
            .await?;
        renumber(&change, &old).await?;
    }
    insert_at(&change, module.course_id, id, place).await?;
    change.audit_change("moveModule", "Module", &[id]).await?;
    change.finish(live, Outcome::for_record(id)).await
}

/// Puts the modules under one parent (or at the top) in the order given; the list must name
/// each of them once, and nothing else.
pub async fn reorder_modules(
    change: Change<'_>,
    live: &Live,
    course_id: Uuid,
    parent_id: Option<Uuid>,
    order: &[Uuid],
) -> Result<Outcome, TxError> {
    lock_course(&change, course_id, "input.courseId").await?;
    check_parent(&change, course_id, parent_id, None).await?;
    let current = siblings(&change, course_id, parent_id).await?;
    for (index, id) in order.iter().enumerate() {
        if !current.contains(id) {
            let field = format!("input.moduleIds.{index}");
            let found = find_module(&change, *id, &field).await?;
            return Err(if found.course_id == course_id {
                Refusal::bad_input(&field, "that module has another parent").into()
            } else {
                another_course(&field)
            });
        }
    }
    let mut given = order.to_vec();
    given.sort();
    given.dedup();
    if given.len() != order.len() || given.len() != current.len() {
        return Err(Refusal::bad_input(
            "input.moduleIds",
            "name every module under this parent exactly once",
        )
        .into());
    }
    renumber(&change, order).await?;
    change
        .audit_change("reorderModules", "Module", order)
        .await?;
    change.finish(live, Outcome::for_record(course_id)).await
}

/// Removes a module, with the modules and topics below it.
pub async fn remove_module(change: Change<'_>, live: &Live, id: Uuid) -> Result<Outcome, TxError> {
    let module = find_module(&change, id, "input.moduleId").await?;
    lock_course(&change, module.course_id, "input.moduleId").await?;
    module::Entity::delete_by_id(id).exec(change.txn).await?;
    let rest = siblings(&change, module.course_id, module.parent_id).await?;
    renumber(&change, &rest).await?;
    change.audit_change("removeModule", "Module", &[id]).await?;
    change
        .finish(live, Outcome::for_record(module.course_id))
        .await
}
