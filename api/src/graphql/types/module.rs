use async_graphql::{Context, ID, Object};
use entity::module;

use crate::{
    db::{loaders::TopicsOf, module::ModuleParent},
    domain::ids::ModuleId,
    error::FieldResult,
    graphql::context::loaders,
};

/// A part of a course's programme; parts can have sub-parts, and each has its topics.
pub struct Module(pub module::Model);

#[Object]
impl Module {
    pub async fn id(&self) -> ID {
        ID(ModuleId(self.0.id).to_global())
    }

    /// Place among its siblings, from 1.
    async fn number(&self) -> i32 {
        self.0.position + 1
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// What is covered ("Aan bod komt"), in order.
    async fn topics(&self, ctx: &Context<'_>) -> FieldResult<Vec<String>> {
        Ok(loaders(ctx)?
            .load_one(TopicsOf(ModuleId(self.0.id)))
            .await?
            .unwrap_or_default())
    }

    /// The sub-parts, in order.
    async fn children(&self, ctx: &Context<'_>) -> FieldResult<Vec<Module>> {
        let children = loaders(ctx)?
            .load_one(ModuleParent::Module(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(children.into_iter().map(Module).collect())
    }
}
