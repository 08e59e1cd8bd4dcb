//! `GET /calendar/{secret}.ics`: the calendar feed a secret link opens, for calendar programs
//! to subscribe to. An unknown or revoked secret is a plain 404, the same for both, so the
//! answer says nothing about which secrets exist. The route's pattern, not the path with the
//! secret, is what the request log shows.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use chrono::Utc;

use super::{
    AppState,
    graphql::{ResponseType, rate_limited},
};
use crate::{
    auth::{Viewer, api_key},
    db::calendar::{self, Owner},
    messages::calendar::feed,
};

pub async fn feed_of(
    request: HttpRequest,
    secret: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let ip = state.trusted_proxies.client_of_request(&request);
    if let Err(wait) = state.rate_limits.check(&Viewer::Anonymous, ip) {
        return rate_limited(wait, ResponseType::Json);
    }
    let not_found = || {
        HttpResponse::NotFound()
            .content_type(mime::TEXT_PLAIN_UTF_8)
            .body("Deze agendalink bestaat niet (meer).\n")
    };
    let Some(secret) = secret.strip_suffix(".ics").filter(|s| s.len() == 64) else {
        return not_found();
    };
    let db = &state.services.db;
    let now = Utc::now();
    let link = match calendar::open(db, &api_key::hash(secret), now).await {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(error) => return unavailable(&error),
    };
    let Some(owner) = Owner::of(&link) else {
        return not_found();
    };
    match calendar::entries(db, owner, now).await {
        Ok((name, entries)) => HttpResponse::Ok()
            .content_type("text/calendar; charset=utf-8")
            // Personal: no cache keeps it, and no page it is linked from learns it.
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header(("X-Robots-Tag", "noindex"))
            .body(feed(&name, &entries)),
        Err(error) => unavailable(&error),
    }
}

fn unavailable(error: &sea_orm::DbErr) -> HttpResponse {
    tracing::warn!(error = %error, "could not read a calendar feed");
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "60"))
        .content_type(mime::TEXT_PLAIN_UTF_8)
        .body("Probeer het later opnieuw.\n")
}
