use async_graphql::{Context, ID, Object};
use entity::organisation;

use super::enums::RegistrationMethod;
use crate::{domain::ids::OrganisationId, error::FieldResult, graphql::context::loaders};

/// An organisation that provides or sponsors courses, with its service desk.
pub struct Organisation(pub organisation::Model);

#[Object]
impl Organisation {
    pub async fn id(&self) -> ID {
        ID(OrganisationId(self.0.id).to_global())
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The organisation this one is part of, such as a ministry's agency.
    async fn parent(&self, ctx: &Context<'_>) -> FieldResult<Option<Organisation>> {
        let Some(parent) = self.0.parent_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .load_one(OrganisationId(parent))
            .await?
            .map(Organisation))
    }

    /// The name of the service desk that answers questions, such as "Servicepunt".
    async fn service_desk_name(&self) -> Option<&str> {
        self.0.service_desk_name.as_deref()
    }

    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }

    async fn street_address(&self) -> Option<&str> {
        self.0.street_address.as_deref()
    }

    async fn postal_code(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }

    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }

    /// How people register for this organisation's courses.
    async fn registration_method(&self) -> RegistrationMethod {
        self.0.registration_method.into()
    }

    /// What to do to register, in the organisation's words.
    async fn registration_instructions(&self) -> Option<&str> {
        self.0.registration_instructions.as_deref()
    }
}
