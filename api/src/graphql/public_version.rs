//! Reads the public version just before the resolvers of a request whose answer the response
//! cache may keep (`http::response_cache`): after parsing, validation and the limits, so a
//! refused request costs no statement, and before any data is read, so the answer is at least
//! as new as the version it is kept with.

use std::sync::Arc;

use async_graphql::{
    Response,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
};

use super::RequestData;

pub struct PublicVersion;

impl ExtensionFactory for PublicVersion {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PublicVersion)
    }
}

#[async_trait::async_trait]
impl Extension for PublicVersion {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(data) = ctx.data_opt::<RequestData>()
            && let Some(freshness) = &data.freshness
        {
            match crate::db::public_version::current(&data.db).await {
                Ok(version) => {
                    let _ = freshness.version.set(version);
                }
                // Not kept, then; the answer itself is unaffected.
                Err(error) => tracing::debug!(error = %error, "could not read the public version"),
            }
        }
        next.run(ctx, operation_name).await
    }
}
