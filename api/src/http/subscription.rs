//! Subscriptions over WebSocket, with the `graphql-transport-ws` protocol of the `graphql-ws`
//! client (and the older `graphql-ws` one). The caller's credentials travel in the
//! `connection_init` payload as `{"Authorization": "Bearer …"}`, since browsers cannot set
//! headers on a WebSocket; none means anonymous, wrong ones close the connection.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::Data;
use async_graphql_actix_web::GraphQLSubscription;

use super::{
    AppState,
    graphql::{AuthFailure, ResponseType, authenticate_value, introspection_allowed, rate_limited},
};
use crate::{
    audit::AuditLog,
    auth::Viewer,
    graphql::{
        RequestData,
        limits::{IntrospectionRefused, SubscriptionsOnly},
    },
};

pub async fn websocket(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if let Err(wait) = state
        .rate_limits
        .check(&Viewer::Anonymous, request.peer_addr().map(|a| a.ip()))
    {
        return Ok(rate_limited(wait, ResponseType::Json));
    }
    let connection_state = state.clone();
    GraphQLSubscription::new(state.schema.clone())
        .on_connection_init(move |init| connection_data(init, connection_state))
        .start(&request, payload)
}

/// The data every operation on this connection runs with.
async fn connection_data(
    init: serde_json::Value,
    state: web::Data<AppState>,
) -> async_graphql::Result<Data> {
    let credential = ["Authorization", "authorization"]
        .iter()
        .find_map(|name| init.get(name).and_then(serde_json::Value::as_str));
    let viewer = match credential {
        None => Viewer::Anonymous,
        Some(value) => match authenticate_value(value, &state).await {
            Ok(viewer) => viewer,
            Err(AuthFailure::Refused(error)) => return Err(error.to_string().into()),
            Err(AuthFailure::Unavailable) => {
                return Err("credentials cannot be checked right now; try again later".into());
            }
        },
    };
    let introspection = introspection_allowed(state.introspection, &viewer);
    let mut data = Data::default();
    data.insert(RequestData::new(
        viewer,
        &state.services,
        Arc::new(AuditLog::default()),
    ));
    data.insert(SubscriptionsOnly);
    if !introspection {
        data.insert(IntrospectionRefused);
    }
    Ok(data)
}
