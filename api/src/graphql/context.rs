//! What every request brings to its resolvers.

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::{
    auth::Viewer,
    db::loaders::{self, Loaders},
    error::{ApiError, ApiResult},
};

/// Per-request data: who calls, the pool, and DataLoaders whose cache lives as long as the request.
pub struct RequestData {
    pub viewer: Viewer,
    pub db: DatabaseConnection,
    pub loaders: Loaders,
}

impl RequestData {
    pub fn new(viewer: Viewer, db: DatabaseConnection) -> Self {
        let loaders = loaders::loaders(db.clone());
        Self {
            viewer,
            db,
            loaders,
        }
    }
}

pub fn viewer<'a>(ctx: &Context<'a>) -> ApiResult<&'a Viewer> {
    Ok(&request_data(ctx)?.viewer)
}

pub fn request_data<'a>(ctx: &Context<'a>) -> ApiResult<&'a RequestData> {
    ctx.data::<RequestData>().map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "request data missing from the GraphQL context"
        ))
    })
}

pub fn db<'a>(ctx: &Context<'a>) -> ApiResult<&'a DatabaseConnection> {
    Ok(&request_data(ctx)?.db)
}

pub fn loaders<'a>(ctx: &Context<'a>) -> ApiResult<&'a Loaders> {
    Ok(&request_data(ctx)?.loaders)
}
