//! GraphQL over HTTP, following the GraphQL-over-HTTP specification.
//!
//! The service owns this layer rather than using the stock extractor, which labels every
//! answer the same way, runs mutations sent with GET or as `text/plain`, and takes 64 MiB bodies:
//! - the response is `application/graphql-response+json` or `application/json`, as `Accept`
//!   asks (406 when it asks for neither); with the former, a request that fails before
//!   execution (parse, validation, variables) answers 400;
//! - GET runs queries only: a mutation answers 405 with `Allow: POST`, unexecuted;
//! - POST takes `application/json` only (415 otherwise), so no HTML form or `text/plain`
//!   request from another site can write: those skip the CORS preflight, JSON does not;
//! - a body over the limit answers 413 before it is parsed.

use std::sync::Arc;

use actix_web::{
    HttpRequest, HttpResponse,
    http::{
        StatusCode,
        header::{self, Accept, Header},
    },
    web,
};
use async_graphql::{
    Variables,
    parser::{
        parse_query,
        types::{DocumentOperations, OperationType},
    },
};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use super::{
    AppState, persisted,
    response_cache::{self, Cached, Freshness, ResponseCache},
};
use crate::{
    audit::AuditLog,
    auth::{Viewer, api_key, jwt::TokenError},
    config::Introspection,
    db,
    error::code,
    graphql::{RequestData, limits::IntrospectionRefused, nesting},
};

/// The media type of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResponseType {
    GraphqlResponseJson,
    Json,
}

impl ResponseType {
    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }

    /// Picks from the `Accept` header, most preferred first; no header means `application/json`.
    fn negotiate(request: &HttpRequest) -> Option<Self> {
        if !request.headers().contains_key(header::ACCEPT) {
            return Some(Self::Json);
        }
        let accept = Accept::parse(request).ok()?;
        accept.ranked().into_iter().find_map(|mime| {
            match (
                mime.type_().as_str(),
                mime.subtype().as_str(),
                mime.suffix().map(|s| s.as_str()),
            ) {
                ("application", "graphql-response", Some("json")) => {
                    Some(Self::GraphqlResponseJson)
                }
                ("application", "json", None) | ("application" | "*", "*", None) => {
                    Some(Self::Json)
                }
                _ => None,
            }
        })
    }
}

/// A GraphQL request, from a JSON body or a query string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphqlParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Value>,
}

/// The same in a query string, where variables and extensions are JSON text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// An answer that is not a GraphQL execution result: the request was refused before running.
pub(super) fn refuse(
    status: StatusCode,
    code: &'static str,
    message: &str,
    response_type: ResponseType,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(response_type.content_type())
        .json(json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }))
}

/// JSON (a body, variables) nested deeper than any GraphQL request needs.
fn too_nested(response_type: ResponseType) -> HttpResponse {
    refuse(
        StatusCode::BAD_REQUEST,
        code::DOCUMENT_TOO_NESTED,
        &format!(
            "the request nests deeper than {} levels",
            nesting::MAX_NESTING
        ),
        response_type,
    )
}

fn database_gone(response_type: ResponseType) -> HttpResponse {
    unavailable(
        "the database cannot be reached right now; try again shortly",
        response_type,
    )
}

/// The database (or another service it needs) cannot be reached now: a retry later will do.
pub(super) fn unavailable(message: &str, response_type: ResponseType) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS))
        .content_type(response_type.content_type())
        .json(json!({ "errors": [{
            "message": message,
            "extensions": { "code": code::SERVICE_UNAVAILABLE, "retryable": true },
        }] }))
}

/// What a client is asked to wait before retrying during an outage.
const RETRY_AFTER_SECONDS: &str = "1";

fn bad_request(message: &str, response_type: ResponseType) -> HttpResponse {
    refuse(
        StatusCode::BAD_REQUEST,
        code::BAD_REQUEST,
        message,
        response_type,
    )
}

pub async fn post(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(response_type) = ResponseType::negotiate(&request) else {
        return not_acceptable();
    };
    let viewer = match admit(&request, &state, response_type).await {
        Ok(viewer) => viewer,
        Err(refused) => return refused,
    };
    if !is_json(&request) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::UNSUPPORTED_MEDIA_TYPE,
            "send the request as application/json",
            response_type,
        );
    }
    let reading = read_body(&request, payload, state.max_body_bytes);
    let body = match tokio::time::timeout(state.body_timeout, reading)
        .await
        .unwrap_or(Err(BodyError::TimedOut))
    {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            let message = format!(
                "the request body is larger than {} bytes",
                state.max_body_bytes
            );
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::PAYLOAD_TOO_LARGE,
                &message,
                response_type,
            );
        }
        Err(BodyError::Broken) => {
            return bad_request("the request body could not be read", response_type);
        }
        Err(BodyError::TimedOut) => {
            tracing::warn!("a request body did not arrive in time");
            let response = refuse(
                StatusCode::REQUEST_TIMEOUT,
                code::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
                response_type,
            );
            // The rest of the body may still trickle in: do not wait for it.
            return close_connection(response);
        }
    };
    if nesting::exceeds(&String::from_utf8_lossy(&body), nesting::MAX_NESTING) {
        return too_nested(response_type);
    }
    let mut params: GraphqlParams = match serde_json::from_slice(&body) {
        Ok(params) => params,
        Err(_) => {
            return bad_request(
                "the body must be a JSON object with `query` and optionally `variables` and `operationName`",
                response_type,
            );
        }
    };
    params.query = match state
        .persisted
        .document(params.query, params.extensions.as_ref(), &viewer)
    {
        Ok(query) => query,
        Err(refused) => return persisted_refused(refused, response_type),
    };
    execute(params, viewer, response_type, &state, None).await
}

/// A persisted operation that cannot be had: a request error like a document that does not
/// parse (400 under `application/graphql-response+json`, 200 under `application/json`, which
/// Apollo Client's persisted-queries link reads to send the document).
fn persisted_refused(refused: persisted::Refused, response_type: ResponseType) -> HttpResponse {
    let status = match response_type {
        ResponseType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        ResponseType::Json => StatusCode::OK,
    };
    refuse(status, refused.code, &refused.message, response_type)
}

pub async fn get(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(response_type) = ResponseType::negotiate(&request) else {
        return not_acceptable();
    };
    let viewer = match admit(&request, &state, response_type).await {
        Ok(viewer) => viewer,
        Err(refused) => return refused,
    };
    let Ok(web::Query(params)) = web::Query::<GetParams>::from_query(request.query_string()) else {
        return bad_request("the query string could not be read", response_type);
    };
    let too_deep = |text: &Option<String>| {
        text.as_deref()
            .is_some_and(|text| nesting::exceeds(text, nesting::MAX_NESTING))
    };
    if too_deep(&params.variables) || too_deep(&params.extensions) {
        return too_nested(response_type);
    }
    let json_param = |text: Option<String>| -> Result<Option<serde_json::Value>, ()> {
        text.filter(|t| !t.is_empty())
            .map(|t| match serde_json::from_str(&t) {
                Ok(serde_json::Value::Null) => Ok(None),
                Ok(value @ serde_json::Value::Object(_)) => Ok(Some(value)),
                _ => Err(()),
            })
            .transpose()
            .map(Option::flatten)
    };
    let (Ok(variables), Ok(extensions)) =
        (json_param(params.variables), json_param(params.extensions))
    else {
        return bad_request(
            "`variables` and `extensions` must be JSON objects",
            response_type,
        );
    };
    let mut params = GraphqlParams {
        query: params.query,
        operation_name: params.operation_name,
        variables,
        extensions,
    };
    // A hash alone names its document, which may be a mutation: resolve it before the check.
    params.query = match state
        .persisted
        .document(params.query, params.extensions.as_ref(), &viewer)
    {
        Ok(query) => query,
        Err(refused) => return persisted_refused(refused, response_type),
    };
    if let Some(query) = &params.query
        && is_mutation(query, params.operation_name.as_deref())
    {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .content_type(response_type.content_type())
            .json(json!({ "errors": [{
                "message": "mutations must be sent with POST",
                "extensions": { "code": code::METHOD_NOT_ALLOWED },
            }] }));
    }
    let if_none_match = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok());
    execute(params, viewer, response_type, &state, if_none_match).await
}

pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET, POST"))
        .json(json!({ "errors": [{
            "message": "use GET for queries or POST",
            "extensions": { "code": code::METHOD_NOT_ALLOWED },
        }] }))
}

fn not_acceptable() -> HttpResponse {
    refuse(
        StatusCode::NOT_ACCEPTABLE,
        code::NOT_ACCEPTABLE,
        "this endpoint answers in application/graphql-response+json or application/json",
        ResponseType::Json,
    )
}

/// Whether the operation a GET would run is a mutation. A document that does not parse is
/// left to the executor, which reports it as a GraphQL error.
fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    operation_type(query, operation_name) == Some(OperationType::Mutation)
}

/// Whether the operation a request ran is a query: only those answers are kept.
fn is_query(query: &str, operation_name: Option<&str>) -> bool {
    operation_type(query, operation_name) == Some(OperationType::Query)
}

/// The type of the operation a request names (or its only one); none for a document that does
/// not parse or names no operation of its own.
fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    // A document too deep to parse safely is refused by the executor before it parses.
    if nesting::exceeds(query, nesting::MAX_NESTING) {
        return None;
    }
    let document = parse_query(query).ok()?;
    match &document.operations {
        DocumentOperations::Single(operation) => Some(operation.node.ty),
        // The parser files a single *named* operation under `Multiple` too; without a name the
        // executor runs it, so it must be judged here as well.
        DocumentOperations::Multiple(operations) => match operation_name {
            Some(name) => operations
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, operation)| operation.node.ty),
            None if operations.len() == 1 => operations.values().next().map(|op| op.node.ty),
            None => None,
        },
    }
}

/// A kept (or just kept) answer, with its tag; 304 without a body when the caller has it.
fn cached_answer(
    answer: &Cached,
    response_type: ResponseType,
    if_none_match: Option<&str>,
) -> HttpResponse {
    let unchanged = if_none_match.is_some_and(|tags| response_cache::matches(tags, &answer.etag));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, answer.etag.clone()))
        // Public data, but every use asks again: the tag makes that cheap.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::VARY, "Authorization, Accept"));
    if unchanged {
        return response.finish();
    }
    response
        .content_type(response_type.content_type())
        .body(answer.body.clone())
}

/// Whether the body is declared as JSON in UTF-8, the only request type this endpoint takes.
fn is_json(request: &HttpRequest) -> bool {
    let Some(mime) = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
    else {
        return false;
    };
    let utf8 = mime
        .get_param(mime::CHARSET)
        .is_none_or(|charset| charset == mime::UTF_8);
    mime.essence_str() == mime::APPLICATION_JSON.essence_str() && utf8
}

enum BodyError {
    TooLarge,
    Broken,
    TimedOut,
}

fn close_connection(mut response: HttpResponse) -> HttpResponse {
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    response
}

async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why a request's credentials were not accepted.
pub(super) enum AuthFailure {
    Refused(TokenError),
    /// The API key could not be checked: the database did not answer.
    Unavailable,
}

/// Credentials that were accepted: who they speak for, and until when (a token's end, in
/// seconds since the epoch; API keys do not end by themselves).
pub(super) struct Authenticated {
    pub viewer: Viewer,
    pub valid_until: Option<i64>,
}

/// Who the request speaks for, if it may go on: its credentials are checked, failed ones are
/// counted per address, and the caller's rate limit is applied. Otherwise the answer to give.
pub(super) async fn admit(
    request: &HttpRequest,
    state: &AppState,
    response_type: ResponseType,
) -> Result<Viewer, HttpResponse> {
    let ip = state.trusted_proxies.client_of_request(request);
    let viewer = match request.headers().get(header::AUTHORIZATION) {
        None => Viewer::Anonymous,
        Some(value) => {
            let limits = &state.rate_limits;
            if let Err(wait) = limits.check_credentials_allowed(ip) {
                return Err(rate_limited(wait, response_type));
            }
            let checked = match value.to_str() {
                Ok(value) => authenticate_value(value, state).await,
                Err(_) => Err(AuthFailure::Refused(TokenError::Malformed)),
            };
            match checked {
                Ok(found) => found.viewer,
                Err(AuthFailure::Refused(error)) => {
                    return Err(match limits.note_failed_credentials(ip) {
                        Err(wait) => rate_limited(wait, response_type),
                        Ok(()) => unauthenticated(error, response_type),
                    });
                }
                Err(AuthFailure::Unavailable) => {
                    return Err(unavailable(
                        "credentials cannot be checked right now; try again shortly",
                        response_type,
                    ));
                }
            }
        }
    };
    state
        .rate_limits
        .check(&viewer, ip)
        .map_err(|wait| rate_limited(wait, response_type))?;
    Ok(viewer)
}

/// Who an `Authorization` value (`Bearer <token or API key>`) speaks for. A header that is there
/// but wrong never falls back to anonymous.
pub(super) async fn authenticate_value(
    value: &str,
    state: &AppState,
) -> Result<Authenticated, AuthFailure> {
    let refused = AuthFailure::Refused;
    let (scheme, credential) = value
        .split_once(' ')
        .ok_or(refused(TokenError::Malformed))?;
    let credential = credential.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || credential.is_empty() {
        return Err(refused(TokenError::Malformed));
    }
    if !api_key::is_api_key(credential) {
        let verified = state.jwt.verify(credential).map_err(refused)?;
        return Ok(Authenticated {
            viewer: verified.viewer,
            valid_until: Some(i64::try_from(verified.valid_until).unwrap_or(i64::MAX)),
        });
    }
    match db::api_key::use_api_key(&state.services.db, credential, chrono::Utc::now()).await {
        Ok(Some(key)) => Ok(Authenticated {
            viewer: Viewer::Machine {
                api_key_id: key.id,
                role: key.role.into(),
                source: key.source,
            },
            valid_until: None,
        }),
        Ok(None) => Err(refused(TokenError::UnknownApiKey)),
        Err(error) => {
            tracing::error!(error = %error, "could not check an API key");
            Err(AuthFailure::Unavailable)
        }
    }
}

/// Whether this caller may use introspection.
pub(super) fn introspection_allowed(policy: Introspection, viewer: &Viewer) -> bool {
    match policy {
        Introspection::Everyone => true,
        Introspection::Authenticated => *viewer != Viewer::Anonymous,
        Introspection::Nobody => false,
    }
}

pub(super) fn rate_limited(wait: std::time::Duration, response_type: ResponseType) -> HttpResponse {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, seconds.to_string()))
        .content_type(response_type.content_type())
        .json(json!({ "errors": [{
            "message": format!("too many requests; try again in {seconds} s"),
            "extensions": { "code": code::RATE_LIMITED, "retryAfterSeconds": seconds },
        }] }))
}

fn unauthenticated(error: TokenError, response_type: ResponseType) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#))
        .content_type(response_type.content_type())
        .json(json!({ "errors": [{ "message": error.to_string(), "extensions": { "code": code::UNAUTHENTICATED } }] }))
}

/// Runs a request; `if_none_match` is a GET's, which may be answered 304 from the cache.
async fn execute(
    params: GraphqlParams,
    viewer: Viewer,
    response_type: ResponseType,
    state: &AppState,
    if_none_match: Option<&str>,
) -> HttpResponse {
    let Some(query) = params.query.filter(|q| !q.trim().is_empty()) else {
        return bad_request("the request has no `query`", response_type);
    };
    if state.availability.is_down() {
        return database_gone(response_type);
    }
    // Anonymous callers read public data only: their answers may be kept (see response_cache).
    let cache = match &state.responses {
        Some(cache) if viewer == Viewer::Anonymous => {
            let key = ResponseCache::key(
                &query,
                params.operation_name.as_deref(),
                params.variables.as_ref(),
                response_type.content_type(),
            );
            if let Some(kept) = cache.get(&key) {
                match db::public_version::current(&state.services.db).await {
                    Ok(version) if kept.holds(version, chrono::Utc::now()) => {
                        state.metrics.response_cache_hits.inc();
                        return cached_answer(&kept, response_type, if_none_match);
                    }
                    Ok(_) => cache.forget(&key),
                    // Answered without the cache; the query itself will say what is wrong.
                    Err(error) => {
                        tracing::debug!(error = %error, "could not read the public version")
                    }
                }
            }
            state.metrics.response_cache_misses.inc();
            Some((cache, key, query.clone(), Arc::new(Freshness::default())))
        }
        _ => None,
    };
    let variables = match params.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(value @ serde_json::Value::Object(_)) => Variables::from_json(value),
        Some(_) => return bad_request("`variables` must be a JSON object", response_type),
    };
    let introspection = introspection_allowed(state.introspection, &viewer);
    let audit = Arc::new(AuditLog::default());
    let mut data = RequestData::new(viewer.clone(), &state.services, audit.clone());
    data.freshness = cache.as_ref().map(|(_, _, _, freshness)| freshness.clone());
    let mut request = async_graphql::Request::new(query)
        .variables(variables)
        .data(data);
    let operation_name = params.operation_name;
    if let Some(name) = &operation_name {
        request = request.operation_name(name);
    }
    if !introspection {
        request = request.disable_introspection().data(IntrospectionRefused);
    }
    if let Some(serde_json::Value::Object(extensions)) = params.extensions {
        request.extensions = async_graphql::Extensions(
            extensions
                .into_iter()
                .filter_map(|(k, v)| async_graphql::Value::from_json(v).ok().map(|v| (k, v)))
                .collect(),
        );
    }
    // A request waiting on a database that has just gone is answered as an outage at once: it
    // would wait out its acquire time-out for nothing. A change it started still runs to its end
    // (or failure) in a task of its own, and frees its idempotency key (see `mutation`).
    let executed = tokio::select! {
        biased;
        executed = tokio::time::timeout(state.request_timeout, state.schema.execute(request)) => executed,
        () = state.availability.went_down() => {
            return database_gone(response_type);
        }
    };
    let Ok(response) = executed else {
        if state.availability.is_down() {
            return database_gone(response_type);
        }
        tracing::warn!(
            timeout_ms = state.request_timeout.as_millis(),
            "a request ran out of time"
        );
        return refuse(
            StatusCode::GATEWAY_TIMEOUT,
            code::TIMEOUT,
            "the request took longer than allowed; ask for less",
            response_type,
        );
    };

    // Personal data leaves only once its reading is on the audit trail.
    if let Err(error) = audit
        .write(&state.services.db, &viewer, chrono::Utc::now())
        .await
    {
        tracing::error!(error = %error, "could not write the audit trail; the response is withheld");
        if db::transaction::is_unreachable(&error) {
            state.availability.mark_down();
        }
        return unavailable(
            "the request cannot be completed right now; try again shortly",
            response_type,
        );
    }

    // Nothing executed when there is no data and no error points into the result: the request
    // itself was wrong (it did not parse or validate, or its variables did not fit).
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let outage = response.errors.iter().any(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .is_some_and(|code| *code == async_graphql::Value::from(code::SERVICE_UNAVAILABLE))
    });
    if outage {
        state.availability.mark_down();
    }
    let status = if outage {
        StatusCode::SERVICE_UNAVAILABLE
    } else if request_error && response_type == ResponseType::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // An answer to a caller with credentials may hold personal data: no cache keeps it.
    let cache_control = if viewer == Viewer::Anonymous {
        "no-cache"
    } else {
        "no-store"
    };
    // A request refused before execution has no `data` entry at all (GraphQL spec, "Response").
    let body = serde_json::to_value(&response).map(|mut body| {
        if request_error && let Some(body) = body.as_object_mut() {
            body.remove("data");
        }
        body
    });
    match body.and_then(|body| serde_json::to_vec(&body)) {
        Ok(body) => match cache.and_then(|(cache, key, query, freshness)| {
            let version = freshness.version.get().copied()?;
            let keep = status == StatusCode::OK
                && response.errors.is_empty()
                && is_query(&query, operation_name.as_deref());
            keep.then_some((cache, key, version, freshness))
        }) {
            Some((cache, key, version, freshness)) => {
                let body = web::Bytes::from(body);
                let answer = Arc::new(Cached {
                    version,
                    fresh_until: freshness.until(),
                    etag: response_cache::etag_of(&body),
                    body,
                });
                cache.put(key, answer.clone());
                let bytes = i64::try_from(cache.bytes()).unwrap_or(i64::MAX);
                state.metrics.response_cache_bytes.set(bytes);
                cached_answer(&answer, response_type, if_none_match)
            }
            _ if outage => HttpResponse::build(status)
                .content_type(response_type.content_type())
                .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(body),
            _ => HttpResponse::build(status)
                .content_type(response_type.content_type())
                .insert_header((header::CACHE_CONTROL, cache_control))
                .insert_header((header::VARY, "Authorization, Accept"))
                .body(body),
        },
        Err(error) => {
            tracing::error!(error = %error, "could not serialise a GraphQL response");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL,
                "internal error",
                response_type,
            )
        }
    }
}
