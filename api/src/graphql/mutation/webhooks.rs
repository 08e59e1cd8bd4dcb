//! Administrators manage webhook endpoints: register one for a source (its secret shown once),
//! rotate its secret with an overlap, turn it off and on, and replay a range of the feed to it.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use super::{MutationResult, UserError, require_administrator};
use crate::{
    audit,
    domain::{
        booking::{Refusal, UserErrorCode},
        ids::WebhookEndpointId,
    },
    error::{ApiError, FieldResult},
    graphql::{
        context::{request_data, viewer},
        types::webhooks::WebhookEndpoint,
    },
    sync::{
        external_ids::Source,
        feed::{FeedCursor, FeedError},
        webhooks::{ENROLMENT_CHANGED, addresses::AllowList, dispatcher, endpoints},
    },
};

/// What an endpoint can hear.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WebhookTopic {
    /// `enrolment.changed`: an enrolment in the endpoint's scope changed.
    EnrolmentChanged,
}

impl WebhookTopic {
    fn name(self) -> &'static str {
        match self {
            Self::EnrolmentChanged => ENROLMENT_CHANGED,
        }
    }
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Where deliveries go: `https`, or `http` to a host the allow-list names.
    pub url: String,
    /// The source whose scope it hears; left out, every change.
    pub source: Option<String>,
    #[graphql(default_with = "vec![WebhookTopic::EnrolmentChanged]")]
    pub topics: Vec<WebhookTopic>,
}

#[derive(SimpleObject)]
pub struct WebhookEndpointPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    pub endpoint: Option<WebhookEndpoint>,
    /// The signing secret (`whsec_…`), shown this once; it is not shown again.
    pub secret: Option<String>,
}

#[derive(InputObject)]
pub struct RotateWebhookSecretInput {
    pub endpoint_id: ID,
    /// Hours during which deliveries are signed with the old secret as well (0 to 168).
    #[graphql(default = 24)]
    pub overlap_hours: i32,
}

#[derive(InputObject)]
pub struct SetWebhookEndpointActiveInput {
    pub endpoint_id: ID,
    pub active: bool,
}

#[derive(InputObject)]
pub struct ReplayWebhookDeliveriesInput {
    pub endpoint_id: ID,
    /// A feed cursor: the changes after it are sent again; left out, from the start.
    pub after: Option<String>,
    /// A feed cursor: up to and including its change; left out, to the newest.
    pub until: Option<String>,
}

#[derive(SimpleObject)]
pub struct ReplayWebhookDeliveriesPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    /// How many deliveries were queued.
    pub queued: i32,
}

fn refused(refusal: Refusal) -> MutationResult {
    MutationResult {
        client_mutation_id: None,
        replayed: false,
        user_errors: vec![UserError {
            code: refusal.code,
            message: refusal.message,
            field: refusal.field,
        }],
    }
}

fn done() -> MutationResult {
    MutationResult {
        client_mutation_id: None,
        replayed: false,
        user_errors: Vec::new(),
    }
}

fn endpoint_id(id: &ID, field: &str) -> Result<Uuid, Refusal> {
    WebhookEndpointId::from_global(id, "endpointId")
        .map(|id| id.0)
        .map_err(|_| {
            Refusal::new(UserErrorCode::InvalidId, "not a webhook endpoint's id").at(field)
        })
}

/// Checks an endpoint's URL against the allow-list: refused before anything is stored.
fn check_url(url: &str, allow: &AllowList) -> Result<String, Refusal> {
    let field = "input.url";
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| {
        Refusal::bad_input(field, "not a URL such as https://hooks.example.nl/training")
    })?;
    let host = parsed.host_str().unwrap_or_default();
    if !matches!(parsed.scheme(), "https" | "http") || host.is_empty() || url.len() > 2000 {
        return Err(Refusal::bad_input(
            field,
            "an http(s) URL with a host, of at most 2,000 characters",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Refusal::bad_input(
            field,
            "no credentials in the URL: deliveries are signed",
        ));
    }
    if !allow.admits_host(host) {
        return Err(Refusal::bad_input(
            field,
            "the host is not one WEBHOOK_ALLOWED_HOSTS admits (private and loopback addresses must be listed)",
        ));
    }
    if parsed.scheme() == "http" && !allow.names(host) {
        return Err(Refusal::bad_input(
            field,
            "use https; plain http only to hosts the allow-list names",
        ));
    }
    Ok(parsed.to_string())
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers a webhook endpoint for a source system. Administrators.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> FieldResult<WebhookEndpointPayload> {
        require_administrator(viewer(ctx)?)?;
        let data = request_data(ctx)?;
        let url = match check_url(&input.url, &data.webhook_allow) {
            Ok(url) => url,
            Err(refusal) => {
                return Ok(WebhookEndpointPayload {
                    result: refused(refusal),
                    endpoint: None,
                    secret: None,
                });
            }
        };
        let source = match input.source.as_deref().map(Source::parse).transpose() {
            Ok(source) => source,
            Err(message) => {
                return Ok(WebhookEndpointPayload {
                    result: refused(Refusal::bad_input("input.source", message)),
                    endpoint: None,
                    secret: None,
                });
            }
        };
        let mut topics: Vec<String> = input.topics.iter().map(|t| t.name().to_owned()).collect();
        topics.dedup();
        let now = Utc::now();
        let (endpoint, secret) =
            endpoints::create(&data.db, &url, source.as_ref(), &topics, now).await?;
        let actor = data.viewer.actor().ok_or(ApiError::Unauthenticated)?;
        audit::record_change(
            &data.db,
            &actor,
            "createWebhookEndpoint",
            "WebhookEndpoint",
            &[endpoint.id],
            now,
        )
        .await?;
        Ok(WebhookEndpointPayload {
            result: done(),
            endpoint: Some(endpoint.into()),
            secret: Some(secret),
        })
    }

    /// Gives an endpoint a new secret (shown once); deliveries carry signatures with both
    /// secrets until the overlap ends, so the receiver can switch without losing any.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: RotateWebhookSecretInput,
    ) -> FieldResult<WebhookEndpointPayload> {
        require_administrator(viewer(ctx)?)?;
        let data = request_data(ctx)?;
        let id = match endpoint_id(&input.endpoint_id, "input.endpointId") {
            Ok(id) => id,
            Err(refusal) => {
                return Ok(WebhookEndpointPayload {
                    result: refused(refusal),
                    endpoint: None,
                    secret: None,
                });
            }
        };
        if !(0..=168).contains(&input.overlap_hours) {
            return Ok(WebhookEndpointPayload {
                result: refused(Refusal::bad_input("input.overlapHours", "0 to 168 hours")),
                endpoint: None,
                secret: None,
            });
        }
        let now = Utc::now();
        let overlap = chrono::Duration::hours(i64::from(input.overlap_hours));
        let Some(secret) = endpoints::rotate(&data.db, id, overlap, now).await? else {
            return Ok(WebhookEndpointPayload {
                result: refused(Refusal::not_found("webhook endpoint", "input.endpointId")),
                endpoint: None,
                secret: None,
            });
        };
        let actor = data.viewer.actor().ok_or(ApiError::Unauthenticated)?;
        audit::record_change(
            &data.db,
            &actor,
            "rotateWebhookSecret",
            "WebhookEndpoint",
            &[id],
            now,
        )
        .await?;
        Ok(WebhookEndpointPayload {
            result: done(),
            endpoint: endpoints::find(&data.db, id).await?.map(Into::into),
            secret: Some(secret),
        })
    }

    /// Turns an endpoint off, or on again (after a 410 or a long failure).
    async fn set_webhook_endpoint_active(
        &self,
        ctx: &Context<'_>,
        input: SetWebhookEndpointActiveInput,
    ) -> FieldResult<WebhookEndpointPayload> {
        require_administrator(viewer(ctx)?)?;
        let data = request_data(ctx)?;
        let id = match endpoint_id(&input.endpoint_id, "input.endpointId") {
            Ok(id) => id,
            Err(refusal) => {
                return Ok(WebhookEndpointPayload {
                    result: refused(refusal),
                    endpoint: None,
                    secret: None,
                });
            }
        };
        let now = Utc::now();
        if !endpoints::set_active(&data.db, id, input.active, None, now).await? {
            return Ok(WebhookEndpointPayload {
                result: refused(Refusal::not_found("webhook endpoint", "input.endpointId")),
                endpoint: None,
                secret: None,
            });
        }
        let actor = data.viewer.actor().ok_or(ApiError::Unauthenticated)?;
        audit::record_change(
            &data.db,
            &actor,
            "setWebhookEndpointActive",
            "WebhookEndpoint",
            &[id],
            now,
        )
        .await?;
        Ok(WebhookEndpointPayload {
            result: done(),
            endpoint: endpoints::find(&data.db, id).await?.map(Into::into),
            secret: None,
        })
    }

    /// Sends the changes of a range of the feed in the endpoint's scope again (a receiver that
    /// lost them). Administrators.
    async fn replay_webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        input: ReplayWebhookDeliveriesInput,
    ) -> FieldResult<ReplayWebhookDeliveriesPayload> {
        require_administrator(viewer(ctx)?)?;
        let data = request_data(ctx)?;
        let answer = |result, queued| Ok(ReplayWebhookDeliveriesPayload { result, queued });
        let id = match endpoint_id(&input.endpoint_id, "input.endpointId") {
            Ok(id) => id,
            Err(refusal) => return answer(refused(refusal), 0),
        };
        let cursor = |text: &Option<String>, field: &str| -> Result<Option<FeedCursor>, Refusal> {
            text.as_deref()
                .map(|t| {
                    FeedCursor::decode(t)
                        .ok_or_else(|| Refusal::bad_input(field, "not a feed cursor"))
                })
                .transpose()
        };
        let (after, until) = match (
            cursor(&input.after, "input.after"),
            cursor(&input.until, "input.until"),
        ) {
            (Ok(after), Ok(until)) => (after, until),
            (Err(refusal), _) | (_, Err(refusal)) => return answer(refused(refusal), 0),
        };
        let Some(endpoint) = endpoints::find(&data.db, id).await? else {
            return answer(
                refused(Refusal::not_found("webhook endpoint", "input.endpointId")),
                0,
            );
        };
        let now = Utc::now();
        let queued = match dispatcher::replay(&data.db, &endpoint, after, until, now).await {
            Ok(queued) => queued,
            Err(FeedError::MustResync) => {
                return answer(
                    refused(Refusal::bad_input(
                        "input.after",
                        "this cursor is of another epoch of the feed",
                    )),
                    0,
                );
            }
            Err(FeedError::Db(error)) => return Err(ApiError::Database(error).into()),
        };
        let actor = data.viewer.actor().ok_or(ApiError::Unauthenticated)?;
        audit::record_change(
            &data.db,
            &actor,
            "replayWebhookDeliveries",
            "WebhookEndpoint",
            &[id],
            now,
        )
        .await?;
        answer(done(), i32::try_from(queued).unwrap_or(i32::MAX))
    }
}
