//! Reads the public version just before the resolvers of a request whose answer the response
//! cache may keep (`http::response_cache`): after parsing, validation and the limits, so a
//! refused request costs no statement, and before any data is read, so the answer is at least
//! as new as the version it is kept with.
//!
//! Called from the schema's one extension (`limits`), in its `execute` hook.

use async_graphql::extensions::ExtensionContext;

use super::RequestData;

/// Notes the public version for a request whose answer may be kept.
pub async fn note(ctx: &ExtensionContext<'_>) {
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
}
