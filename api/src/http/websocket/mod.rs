//! Subscriptions over WebSocket on `/graphql`, under the same rules as HTTP.
//!
//! The service speaks the protocols itself (`protocol`), so that each rule holds on the socket
//! too: a message is bounded in size (continuation frames included) and in nesting; every
//! operation counts against the caller's rate limit; a connection runs a bounded number of
//! subscriptions and a caller holds a bounded number of connections; a connection that does not
//! initialise in time is closed (4408); a token's connection ends when the token does (4403), an
//! API key's when it is revoked; what a subscriber follows ends when it is no longer theirs to
//! see. Credentials travel in the `connection_init` payload as `{"Authorization": "Bearer …"}`,
//! since browsers cannot set headers on a WebSocket; none means anonymous.

mod callers;
mod connection;
mod frames;
mod protocol;
mod shared;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};

pub use callers::Callers;
pub use shared::SharedOperations;

use super::{
    AppState,
    graphql::{ResponseType, rate_limited, refuse},
};
use crate::{auth::Viewer, error::code};
use protocol::Protocol;

pub async fn websocket(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let ip = state.trusted_proxies.client_of_request(&request);
    // Opening a connection is a request like any other.
    if let Err(wait) = state.rate_limits.check(&Viewer::Anonymous, ip) {
        return Ok(rate_limited(wait, ResponseType::Json));
    }
    let offered = request
        .headers()
        .get_all(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok());
    let Some(protocol) = Protocol::negotiate(offered) else {
        return Ok(refuse(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            "speak graphql-transport-ws (or graphql-ws) on this WebSocket",
            ResponseType::Json,
        ));
    };
    // A message may be as large as a request body, however many frames it comes in, and must
    // be whole within the body's deadline; so must the bytes of any one frame (`frames`).
    let buffered = frames::Buffered::new(state.max_body_bytes.saturating_add(64 * 1024));
    let counted: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>>>,
    > = Box::pin(frames::Counted::new(payload, buffered.clone()));
    let mut counted = actix_web::dev::Payload::Stream { payload: counted };
    let payload =
        <web::Payload as actix_web::FromRequest>::from_request(&request, &mut counted).await?;
    let (response, session, messages) =
        actix_ws::handle_with_protocols(&request, payload, &[protocol.name()])?;
    let messages =
        frames::Messages::new(messages, buffered, state.max_body_bytes, state.body_timeout);
    actix_web::rt::spawn(connection::serve(
        state.into_inner(),
        session,
        messages,
        protocol,
        ip,
    ));
    Ok(response)
}
