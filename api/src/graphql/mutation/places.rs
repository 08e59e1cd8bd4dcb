//! Organisations (administrators) and locations (staff).

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::{
    MutationOptions, MutationResult, parse_id, perform_checked, require_administrator,
    require_staff,
};
use crate::{
    db::planning::{self, LocationDetails, OrganisationDetails},
    domain::{
        booking::Refusal,
        email::EmailAddress,
        ids::{LocationId, OrganisationId},
        input::{required, slug, text},
    },
    error::FieldResult,
    graphql::{
        context::{loaders, viewer},
        types::{Location, Organisation, enums::RegistrationMethod},
    },
};

#[derive(Default)]
pub struct PlacesMutation;

/// An organisation and how people register for its courses.
#[derive(InputObject, Serialize, Debug, Clone)]
pub struct OrganisationDetailsInput {
    /// Lower-case letters, digits and hyphens; unique.
    pub slug: String,
    pub name: String,
    /// The organisation it is part of (a ministry, say).
    pub parent_id: Option<ID>,
    /// The desk people contact, such as "Servicepunt".
    pub service_desk_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub street_address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub registration_method: RegistrationMethod,
    pub registration_instructions: Option<String>,
}

#[derive(InputObject, Serialize, Debug)]
pub struct SaveOrganisationInput {
    /// Leave out to create one.
    pub organisation_id: Option<ID>,
    pub details: OrganisationDetailsInput,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug, Clone)]
pub struct LocationDetailsInput {
    pub name: String,
    pub street_address: Option<String>,
    pub postal_code: Option<String>,
    pub city: String,
    /// How to get there and where to report.
    pub directions: Option<String>,
}

#[derive(InputObject, Serialize, Debug)]
pub struct SaveLocationInput {
    /// Leave out to create one.
    pub location_id: Option<ID>,
    pub details: LocationDetailsInput,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct OrganisationPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub id: Option<Uuid>,
}

#[ComplexObject]
impl OrganisationPayload {
    async fn organisation(&self, ctx: &Context<'_>) -> FieldResult<Option<Organisation>> {
        let Some(id) = self.id else { return Ok(None) };
        Ok(loaders(ctx)?
            .load_one(OrganisationId(id))
            .await?
            .map(Organisation))
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct LocationPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub id: Option<Uuid>,
}

#[ComplexObject]
impl LocationPayload {
    async fn location(&self, ctx: &Context<'_>) -> FieldResult<Option<Location>> {
        let Some(id) = self.id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(LocationId(id)).await?.map(Location))
    }
}

fn line(value: Option<&str>, field: &str, max: usize) -> Result<Option<String>, Refusal> {
    text(value, field, max, false)
}

fn organisation_details(input: &OrganisationDetailsInput) -> Result<OrganisationDetails, Refusal> {
    let field = |name: &str| format!("input.details.{name}");
    let slug = slug(&input.slug, &field("slug"))?;
    let website = line(input.website.as_deref(), &field("website"), 300)?;
    if website
        .as_deref()
        .is_some_and(|w| !w.starts_with("https://") && !w.starts_with("http://"))
    {
        return Err(Refusal::bad_input(
            &field("website"),
            "a web address starts with https://",
        ));
    }
    // It becomes the ORGANIZER of every calendar invite: an address, and nothing more.
    let email = line(input.email.as_deref(), &field("email"), 254)?
        .map(|email| EmailAddress::parse(&email, &field("email")).map(EmailAddress::into_string))
        .transpose()?;
    Ok(OrganisationDetails {
        slug,
        name: required(&input.name, &field("name"), 200, false)?,
        parent_id: input
            .parent_id
            .as_ref()
            .map(|id| {
                parse_id(
                    OrganisationId::from_global(id, "input.details.parentId"),
                    &field("parentId"),
                )
            })
            .transpose()?
            .map(|id| id.0),
        service_desk_name: line(
            input.service_desk_name.as_deref(),
            &field("serviceDeskName"),
            200,
        )?,
        email,
        phone: line(input.phone.as_deref(), &field("phone"), 40)?,
        website,
        street_address: line(
            input.street_address.as_deref(),
            &field("streetAddress"),
            200,
        )?,
        postal_code: line(input.postal_code.as_deref(), &field("postalCode"), 20)?,
        city: line(input.city.as_deref(), &field("city"), 100)?,
        registration_method: input.registration_method.into(),
        registration_instructions: text(
            input.registration_instructions.as_deref(),
            &field("registrationInstructions"),
            2000,
            true,
        )?,
    })
}

fn location_details(input: &LocationDetailsInput) -> Result<LocationDetails, Refusal> {
    let field = |name: &str| format!("input.details.{name}");
    Ok(LocationDetails {
        name: required(&input.name, &field("name"), 200, false)?,
        street_address: line(
            input.street_address.as_deref(),
            &field("streetAddress"),
            200,
        )?,
        postal_code: line(input.postal_code.as_deref(), &field("postalCode"), 20)?,
        city: required(&input.city, &field("city"), 100, false)?,
        directions: text(
            input.directions.as_deref(),
            &field("directions"),
            2000,
            true,
        )?,
    })
}

#[Object]
impl PlacesMutation {
    /// Administrators: creates an organisation (without `organisationId`) or replaces its
    /// details.
    async fn save_organisation(
        &self,
        ctx: &Context<'_>,
        input: SaveOrganisationInput,
    ) -> FieldResult<OrganisationPayload> {
        require_administrator(viewer(ctx)?)?;
        let parsed = input
            .organisation_id
            .as_ref()
            .map(|id| {
                parse_id(
                    OrganisationId::from_global(id, "input.organisationId"),
                    "input.organisationId",
                )
            })
            .transpose()
            .and_then(|id| Ok((id.map(|id| id.0), organisation_details(&input.details)?)));
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "saveOrganisation",
            key,
            &input,
            parsed,
            move |change, live, (existing, details)| {
                Box::pin(async move {
                    planning::save_organisation(change, &live, existing, &details).await
                })
            },
        )
        .await?;
        Ok(OrganisationPayload {
            result: performed.result(input.options.client_mutation_id.clone()),
            id: performed.made().and_then(|o| o.record_id),
        })
    }

    /// Staff: creates a location (without `locationId`) or replaces its details.
    async fn save_location(
        &self,
        ctx: &Context<'_>,
        input: SaveLocationInput,
    ) -> FieldResult<LocationPayload> {
        require_staff(viewer(ctx)?)?;
        let parsed = input
            .location_id
            .as_ref()
            .map(|id| {
                parse_id(
                    LocationId::from_global(id, "input.locationId"),
                    "input.locationId",
                )
            })
            .transpose()
            .and_then(|id| Ok((id.map(|id| id.0), location_details(&input.details)?)));
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "saveLocation",
            key,
            &input,
            parsed,
            move |change, live, (existing, details)| {
                Box::pin(
                    async move { planning::save_location(change, &live, existing, &details).await },
                )
            },
        )
        .await?;
        Ok(LocationPayload {
            result: performed.result(input.options.client_mutation_id.clone()),
            id: performed.made().and_then(|o| o.record_id),
        })
    }
}
