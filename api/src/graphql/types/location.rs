use async_graphql::{ID, Object};
use entity::location;

use crate::domain::ids::LocationId;

/// Where sessions take place.
pub struct Location(pub location::Model);

#[Object]
impl Location {
    pub async fn id(&self) -> ID {
        ID(LocationId(self.0.id).to_global())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn street_address(&self) -> Option<&str> {
        self.0.street_address.as_deref()
    }

    async fn postal_code(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }

    async fn city(&self) -> &str {
        &self.0.city
    }

    /// How to get there, and anything else a participant should know about the place.
    async fn directions(&self) -> Option<&str> {
        self.0.directions.as_deref()
    }

    /// True for the made-up location of the demo data.
    async fn is_demo(&self) -> bool {
        self.0.is_demo
    }
}
