//! Administrators shape a course's programme: modules, nested, with their topics.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::{
    MutationOptions, MutationResult, Performed, parse_id, perform_checked, require_administrator,
};
use crate::{
    db::programme::{self, ModuleContent, Place},
    domain::{
        booking::Refusal,
        ids::{CourseId, ModuleId},
        input::{required, text},
    },
    error::FieldResult,
    graphql::{
        context::{loaders, viewer},
        types::{Course, Module},
    },
};

#[derive(Default)]
pub struct ProgrammeMutation;

/// What a module says.
#[derive(InputObject, Serialize, Debug, Clone)]
pub struct ModuleContentInput {
    pub title: String,
    pub description: Option<String>,
    /// Its topics, in order.
    #[graphql(default)]
    pub topics: Vec<String>,
}

#[derive(InputObject, Serialize, Debug)]
pub struct AddModuleInput {
    pub course_id: ID,
    /// The module it goes under; at the top of the course when left out.
    pub parent_id: Option<ID>,
    /// Its place among its siblings, from 0; at the end when left out.
    pub position: Option<i32>,
    pub content: ModuleContentInput,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct EditModuleInput {
    pub module_id: ID,
    pub content: ModuleContentInput,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct MoveModuleInput {
    pub module_id: ID,
    /// The new parent; the top of the course when left out.
    pub parent_id: Option<ID>,
    pub position: Option<i32>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct ReorderModulesInput {
    pub course_id: ID,
    /// Whose children to reorder; the top-level modules when left out.
    pub parent_id: Option<ID>,
    /// Every module under that parent, once, in the new order.
    pub module_ids: Vec<ID>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct RemoveModuleInput {
    pub module_id: ID,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ModulePayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub module_id: Option<Uuid>,
}

#[ComplexObject]
impl ModulePayload {
    async fn module(&self, ctx: &Context<'_>) -> FieldResult<Option<Module>> {
        let Some(id) = self.module_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(ModuleId(id)).await?.map(Module))
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProgrammePayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub course_id: Option<Uuid>,
}

#[ComplexObject]
impl ProgrammePayload {
    /// The course, with its programme as it is now.
    async fn course(&self, ctx: &Context<'_>) -> FieldResult<Option<Course>> {
        let Some(id) = self.course_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(CourseId(id)).await?.map(Course))
    }
}

fn content(input: &ModuleContentInput) -> Result<ModuleContent, Refusal> {
    let field = |name: &str| format!("input.content.{name}");
    if input.topics.len() > 50 {
        return Err(Refusal::bad_input(&field("topics"), "at most 50 topics"));
    }
    Ok(ModuleContent {
        title: required(&input.title, &field("title"), 200, false)?,
        description: text(
            input.description.as_deref(),
            &field("description"),
            5000,
            true,
        )?,
        topics: input
            .topics
            .iter()
            .enumerate()
            .map(|(index, topic)| required(topic, &field(&format!("topics.{index}")), 1000, true))
            .collect::<Result<_, _>>()?,
    })
}

fn place(parent: Option<&ID>, position: Option<i32>) -> Result<Place, Refusal> {
    let parent_id = parent
        .map(|id| {
            parse_id(
                ModuleId::from_global(id, "input.parentId"),
                "input.parentId",
            )
        })
        .transpose()?
        .map(|id| id.0);
    let position = position
        .map(|p| {
            usize::try_from(p)
                .map_err(|_| Refusal::bad_input("input.position", "a position is 0 or more"))
        })
        .transpose()?;
    Ok(Place {
        parent_id,
        position,
    })
}

fn module_id(id: &ID) -> Result<Uuid, Refusal> {
    Ok(parse_id(
        ModuleId::from_global(id, "input.moduleId"),
        "input.moduleId",
    )?
    .0)
}

fn module_payload(performed: &Performed, client_mutation_id: Option<String>) -> ModulePayload {
    ModulePayload {
        result: performed.result(client_mutation_id),
        module_id: performed.made().and_then(|o| o.record_id),
    }
}

#[Object]
impl ProgrammeMutation {
    /// Administrators: adds a module, with its topics, at the top of a course or under another
    /// module.
    async fn add_module(
        &self,
        ctx: &Context<'_>,
        input: AddModuleInput,
    ) -> FieldResult<ModulePayload> {
        require_administrator(viewer(ctx)?)?;
        let parsed = (|| {
            let course = parse_id(
                CourseId::from_global(&input.course_id, "input.courseId"),
                "input.courseId",
            )?;
            Ok((
                course.0,
                place(input.parent_id.as_ref(), input.position)?,
                content(&input.content)?,
            ))
        })();
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "addModule",
            key,
            &input,
            parsed,
            move |change, live, (course, place, content)| {
                Box::pin(async move {
                    programme::add_module(change, &live, course, place, &content).await
                })
            },
        )
        .await?;
        Ok(module_payload(&performed, input.options.client_mutation_id))
    }

    /// Administrators: replaces a module's title, description and topics.
    async fn edit_module(
        &self,
        ctx: &Context<'_>,
        input: EditModuleInput,
    ) -> FieldResult<ModulePayload> {
        require_administrator(viewer(ctx)?)?;
        let parsed = module_id(&input.module_id).and_then(|id| Ok((id, content(&input.content)?)));
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "editModule",
            key,
            &input,
            parsed,
            move |change, live, (id, content)| {
                Box::pin(async move { programme::edit_module(change, &live, id, &content).await })
            },
        )
        .await?;
        Ok(module_payload(&performed, input.options.client_mutation_id))
    }

    /// Administrators: moves a module, with everything below it, to another parent or place.
    async fn move_module(
        &self,
        ctx: &Context<'_>,
        input: MoveModuleInput,
    ) -> FieldResult<ModulePayload> {
        require_administrator(viewer(ctx)?)?;
        let parsed = module_id(&input.module_id)
            .and_then(|id| Ok((id, place(input.parent_id.as_ref(), input.position)?)));
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "moveModule",
            key,
            &input,
            parsed,
            move |change, live, (id, place)| {
                Box::pin(async move { programme::move_module(change, &live, id, place).await })
            },
        )
        .await?;
        Ok(module_payload(&performed, input.options.client_mutation_id))
    }

    /// Administrators: puts the modules under one parent in a new order, atomically.
    async fn reorder_modules(
        &self,
        ctx: &Context<'_>,
        input: ReorderModulesInput,
    ) -> FieldResult<ProgrammePayload> {
        require_administrator(viewer(ctx)?)?;
        let parsed = (|| {
            let course = parse_id(
                CourseId::from_global(&input.course_id, "input.courseId"),
                "input.courseId",
            )?;
            let parent = place(input.parent_id.as_ref(), None)?.parent_id;
            let order = input
                .module_ids
                .iter()
                .enumerate()
                .map(|(index, id)| {
                    let field = format!("input.moduleIds.{index}");
                    parse_id(ModuleId::from_global(id, "input.moduleIds"), &field).map(|id| id.0)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((course.0, parent, order))
        })();
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "reorderModules",
            key,
            &input,
            parsed,
            move |change, live, (course, parent, order)| {
                Box::pin(async move {
                    programme::reorder_modules(change, &live, course, parent, &order).await
                })
            },
        )
        .await?;
        Ok(ProgrammePayload {
            result: performed.result(input.options.client_mutation_id),
            course_id: performed.made().and_then(|o| o.record_id),
        })
    }

    /// Administrators: removes a module with the modules and topics below it.
    async fn remove_module(
        &self,
        ctx: &Context<'_>,
        input: RemoveModuleInput,
    ) -> FieldResult<ProgrammePayload> {
        require_administrator(viewer(ctx)?)?;
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "removeModule",
            key,
            &input,
            module_id(&input.module_id),
            move |change, live, id| {
                Box::pin(async move { programme::remove_module(change, &live, id).await })
            },
        )
        .await?;
        Ok(ProgrammePayload {
            result: performed.result(input.options.client_mutation_id),
            course_id: performed.made().and_then(|o| o.record_id),
        })
    }
}
