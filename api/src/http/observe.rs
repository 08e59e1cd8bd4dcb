//! One log line and one metric per request. The log carries the method, the route pattern, the
//! status and the time taken, never the query string or body: those can hold personal data.

use std::time::Instant;

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};

use super::AppState;
use crate::metrics::HttpLabels;

pub async fn observe_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(request).await?;
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(http.method = %method, http.route = %route, http.status = status, elapsed_ms, "request");
    if let Some(state) = state {
        state
            .metrics
            .http_requests
            .get_or_create(&HttpLabels {
                method,
                route,
                status,
            })
            .inc();
    }
    Ok(response)
}
