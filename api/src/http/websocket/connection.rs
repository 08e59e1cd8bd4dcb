//! One WebSocket connection: its caller, its running operations, and the deadlines it lives by.
//!
//! Everything the connection does happens in one task: messages from the client, results of its
//! operations (each runs in a task of its own and hands its results over a channel), the
//! `connection_init` deadline, the end of the caller's token, keep-alives and the check that an
//! API key still stands.

use std::{collections::HashMap, net::IpAddr, sync::Arc, time::Duration};

use actix_ws::{CloseCode, CloseReason, Session};
use async_graphql::Response;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::{
    sync::mpsc,
    task::AbortHandle,
    time::{Instant, sleep_until},
};

use super::{
    callers::Place,
    frames::{Broken, Messages, Whole},
    protocol::{self, ClientMessage, Protocol, ServerMessage, Subscribe, close},
    shared::{self, Event, Follower, Item, Publisher},
};
use crate::{
    audit::{self, AuditLog},
    auth::{Viewer, policy},
    db,
    error::code,
    graphql::{
        RequestData, error_codes,
        limits::{IntrospectionRefused, SubscriptionsOnly},
        nesting,
    },
    http::{
        AppState,
        graphql::{AuthFailure, authenticate_value, introspection_allowed},
        rate_limit::caller_key,
    },
};

/// How often the service shows it is there (a ping frame, or `ka` in the legacy protocol).
const KEEP_ALIVE: Duration = Duration::from_secs(20);
/// A client not heard from this long (not even a pong) is gone.
const SILENCE: Duration = Duration::from_secs(60);
/// Longest one write to the client may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Results waiting to be written before operations have to wait.
const BACKLOG: usize = 64;

/// Who the connection speaks for, once initialised.
struct Caller {
    viewer: Viewer,
    /// When its token ends (an API key's connection ends when the key is revoked).
    valid_until: Option<Instant>,
    _place: Place,
}

struct Running {
    generation: u64,
    task: AbortHandle,
}

/// A result of an operation, for the connection to write.
struct Outgoing {
    id: String,
    generation: u64,
    event: Event,
}

struct Connection {
    state: Arc<AppState>,
    session: Session,
    protocol: Protocol,
    ip: Option<IpAddr>,
    caller: Option<Caller>,
    operations: HashMap<String, Running>,
    generation: u64,
    results: mpsc::Sender<Outgoing>,
}

/// Why the connection ends: a close code and a short reason.
type Ending = (u16, String);

fn ending(code: u16, reason: impl Into<String>) -> Option<Ending> {
    Some((code, reason.into()))
}

pub async fn serve(
    state: Arc<AppState>,
    session: Session,
    mut messages: Messages,
    protocol: Protocol,
    ip: Option<IpAddr>,
) {
    let (results, mut outgoing) = mpsc::channel(BACKLOG);
    let init_deadline = Instant::now() + state.websocket.init_timeout;
    let mut connection = Connection {
        state,
        session,
        protocol,
        ip,
        caller: None,
        operations: HashMap::new(),
        generation: 0,
        results,
    };
    let mut keep_alive = tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    let check_every = connection.state.websocket.api_key_check;
    let mut key_check = tokio::time::interval_at(Instant::now() + check_every, check_every);
    let mut last_heard = Instant::now();
    let ended: Option<Ending> = loop {
        let initialised = connection.caller.is_some();
        let token_ends = connection.caller.as_ref().and_then(|c| c.valid_until);
        let is_machine = matches!(
            connection.caller.as_ref().map(|c| &c.viewer),
            Some(Viewer::Machine { .. })
        );
        tokio::select! {
            message = messages.recv() => {
                last_heard = Instant::now();
                let end = match message {
                    None => break None,
                    Some(Ok(Whole::Text(text))) => connection.receive(&text).await,
                    Some(Ok(Whole::Binary)) => {
                        ending(close::BAD_REQUEST, "binary messages are not part of the protocol")
                    }
                    Some(Ok(Whole::Ping(bytes))) => {
                        if within(connection.session.pong(&bytes)).await.is_err() {
                            break None;
                        }
                        None
                    }
                    Some(Ok(Whole::Pong)) => None,
                    Some(Ok(Whole::Close)) => ending(close::NORMAL, ""),
                    Some(Err(Broken::TooLarge)) => {
                        ending(close::MESSAGE_TOO_BIG, "the message is too large")
                    }
                    Some(Err(Broken::TooSlow)) => {
                        ending(close::POLICY_VIOLATION, "the message did not arrive in time")
                    }
                    Some(Err(Broken::Malformed)) => ending(close::PROTOCOL_ERROR, "malformed frame"),
                };
                if end.is_some() {
                    break end;
                }
            }
            Some(result) = outgoing.recv() => {
                if connection.deliver(result).await.is_err() {
                    break None;
                }
            }
            () = sleep_until(init_deadline), if !initialised => {
                break ending(close::INIT_TIMEOUT, "Connection initialisation timeout");
            }
            () = sleep_until(token_ends.unwrap_or(init_deadline)), if token_ends.is_some() => {
                break ending(close::FORBIDDEN, "Forbidden: the token has expired");
            }
            _ = keep_alive.tick() => {
                if last_heard.elapsed() > SILENCE {
                    break ending(close::GOING_AWAY, "no answer to keep-alives");
                }
                // A ping frame for every client (browsers answer it themselves), and the
                // legacy protocol's own keep-alive besides.
                let mut sent = within(connection.session.ping(b"")).await;
                if connection.protocol == Protocol::Legacy && initialised && sent.is_ok() {
                    let ka = ServerMessage::KeepAlive.to_text(Protocol::Legacy);
                    sent = within(connection.session.text(ka)).await;
                }
                if sent.is_err() {
                    break None;
                }
            }
            () = connection.state.shutdown.stopping() => {
                break ending(close::GOING_AWAY, "the server is stopping");
            }
            _ = key_check.tick(), if is_machine => {
                if !connection.key_still_stands().await {
                    break ending(close::FORBIDDEN, "Forbidden: the API key was revoked");
                }
            }
        }
    };
    for (_, running) in connection.operations.drain() {
        running.task.abort();
    }
    let reason = ended.map(|(code, reason)| CloseReason {
        code: CloseCode::from(code),
        description: Some(protocol::close_reason(&reason)).filter(|r| !r.is_empty()),
    });
    let _ = within(connection.session.close(reason)).await;
}

/// A write to the client, with a deadline: a client that stops reading fills its buffers, and
/// without one the connection (and its deadlines, its caps, its operations) would wait forever.
/// A write that does not finish in time counts as a closed connection.
async fn within<T>(
    write: impl Future<Output = Result<T, actix_ws::Closed>>,
) -> Result<T, actix_ws::Closed> {
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .unwrap_or(Err(actix_ws::Closed))
}

impl Connection {
    async fn send(&mut self, message: ServerMessage<'_>) -> Result<(), actix_ws::Closed> {
        within(self.session.text(message.to_text(self.protocol))).await
    }

    /// Handles one text message; says why the connection must end, if it must.
    async fn receive(&mut self, text: &str) -> Option<Ending> {
        // Variables and extensions nest no deeper than any document: past the bound a message is
        // refused with DOCUMENT_TOO_NESTED, for its operation while it can still be read (JSON
        // stops at 128 levels), else in the reason the connection is closed with.
        let too_deep = nesting::exceeds(text, nesting::MAX_NESTING);
        let message = match protocol::parse(self.protocol, text) {
            Ok(message) => message,
            Err(_) if too_deep => {
                return ending(
                    close::BAD_REQUEST,
                    format!(
                        "the message nests deeper than {} levels (DOCUMENT_TOO_NESTED)",
                        nesting::MAX_NESTING
                    ),
                );
            }
            Err(reason) => return ending(close::BAD_REQUEST, reason),
        };
        match message {
            ClientMessage::ConnectionInit(payload) => {
                if self.caller.is_some() {
                    return ending(close::TOO_MANY_INIT, "Too many initialisation requests");
                }
                self.initialise(&payload).await
            }
            ClientMessage::Ping(payload) => self
                .send(ServerMessage::Pong(payload))
                .await
                .err()
                .and(ending(close::NORMAL, "")),
            ClientMessage::Pong => None,
            ClientMessage::Subscribe { id, payload } => {
                if self.caller.is_none() {
                    return ending(close::UNAUTHORIZED, "Unauthorized");
                }
                if self.operations.contains_key(&id) {
                    if self.protocol == Protocol::TransportWs {
                        return ending(
                            close::SUBSCRIBER_EXISTS,
                            format!("Subscriber for {id} already exists"),
                        );
                    }
                    // The legacy protocol restarts an operation under a reused id.
                    self.stop(&id);
                }
                if too_deep {
                    let errors = json!([{
                        "message": format!(
                            "the variables nest deeper than {} levels",
                            nesting::MAX_NESTING
                        ),
                        "extensions": { "code": code::DOCUMENT_TOO_NESTED },
                    }]);
                    return self
                        .send(ServerMessage::Error { id: &id, errors })
                        .await
                        .err()
                        .and(ending(close::NORMAL, ""));
                }
                self.subscribe(id, payload).await
            }
            ClientMessage::Complete { id } => {
                self.stop(&id);
                None
            }
            ClientMessage::Terminate => ending(close::NORMAL, ""),
        }
    }

    /// `connection_init`: who the caller is, and whether they may open another connection.
    async fn initialise(&mut self, payload: &Value) -> Option<Ending> {
        // `{"Authorization": "Bearer …"}`, or inside `headers` as some clients send it.
        let credential = [payload, payload.get("headers").unwrap_or(&Value::Null)]
            .into_iter()
            .flat_map(|place| ["Authorization", "authorization"].map(|name| place.get(name)))
            .flatten()
            .next();
        let (viewer, valid_until) = match credential {
            None => (Viewer::Anonymous, None),
            Some(value) => {
                let Some(value) = value.as_str() else {
                    return ending(
                        close::FORBIDDEN,
                        "Forbidden: Authorization must be a string",
                    );
                };
                let limits = &self.state.rate_limits;
                if limits.check_credentials_allowed(self.ip).is_err() {
                    return ending(
                        close::TOO_MANY_INIT,
                        "too many refused credentials; try again later",
                    );
                }
                match authenticate_value(value, &self.state).await {
                    Ok(found) => (found.viewer, found.valid_until),
                    Err(AuthFailure::Refused(error)) => {
                        let _ = limits.note_failed_credentials(self.ip);
                        return ending(close::FORBIDDEN, format!("Forbidden: {error}"));
                    }
                    Err(AuthFailure::Unavailable) => {
                        return ending(
                            close::INTERNAL,
                            "credentials cannot be checked right now; try again later",
                        );
                    }
                }
            }
        };
        let max = self.state.websocket.max_connections_per_caller;
        let Some(place) = self
            .state
            .websocket
            .callers
            .admit(caller_key(&viewer, self.ip), max)
        else {
            return ending(close::TOO_MANY_INIT, "too many connections for this caller");
        };
        let valid_until = valid_until.map(|until| {
            let now = chrono::Utc::now().timestamp();
            let left = u64::try_from(until.saturating_sub(now)).unwrap_or(0);
            Instant::now() + Duration::from_secs(left)
        });
        self.caller = Some(Caller {
            viewer,
            valid_until,
            _place: place,
        });
        self.send(ServerMessage::ConnectionAck)
            .await
            .err()
            .and(ending(close::NORMAL, ""))
    }

    /// Starts an operation, unless a rule refuses it (answered as its `error`).
    async fn subscribe(&mut self, id: String, operation: Subscribe) -> Option<Ending> {
        let viewer = self.caller.as_ref()?.viewer.clone();
        let max = self.state.websocket.max_subscriptions;
        let refusal = if self.operations.len() >= max {
            Some(json!([{
                "message": format!("a connection runs at most {max} subscriptions at once"),
                "extensions": { "code": code::TOO_MANY_SUBSCRIPTIONS },
            }]))
        } else if let Err(wait) = self.state.rate_limits.check(&viewer, self.ip) {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Some(json!([{
                "message": format!("too many requests; try again in {seconds} s"),
                "extensions": { "code": code::RATE_LIMITED, "retryAfterSeconds": seconds },
            }]))
        } else {
            None
        };
        if let Some(errors) = refusal {
            return self
                .send(ServerMessage::Error { id: &id, errors })
                .await
                .err()
                .and(ending(close::NORMAL, ""));
        }
        self.generation += 1;
        let generation = self.generation;
        let introspection = introspection_allowed(self.state.introspection, &viewer);
        // Public sessions look alike to every participant: one execution serves them all.
        let class = if crate::graphql::follows_public_sessions(&operation.query) {
            policy::public_view_class(&viewer)
        } else {
            policy::access_class(&viewer)
        };
        let key = shared::key(
            &format!("{class}:{introspection}"),
            &operation.query,
            operation.variables.as_ref(),
            operation.operation_name.as_deref(),
            operation.extensions.as_ref(),
        );
        let state = self.state.clone();
        let executor = viewer.clone();
        let follower = self.state.websocket.shared.follow(key, move |publisher| {
            tokio::spawn(execute(state, executor, operation, publisher)).abort_handle()
        });
        let task = tokio::spawn(follow(
            self.state.clone(),
            viewer,
            follower,
            id.clone(),
            generation,
            self.results.clone(),
        ));
        self.operations.insert(
            id,
            Running {
                generation,
                task: task.abort_handle(),
            },
        );
        None
    }

    fn stop(&mut self, id: &str) {
        if let Some(running) = self.operations.remove(id) {
            running.task.abort();
        }
    }

    /// Writes an operation's result, unless the operation was stopped meanwhile.
    async fn deliver(&mut self, result: Outgoing) -> Result<(), actix_ws::Closed> {
        let current = self
            .operations
            .get(&result.id)
            .is_some_and(|running| running.generation == result.generation);
        if !current {
            return Ok(());
        }
        let id = result.id.as_str();
        let message = match result.event {
            Event::Next(payload) => ServerMessage::Next { id, payload },
            Event::Error(errors) => ServerMessage::Error { id, errors },
            Event::Complete => ServerMessage::Complete { id },
        };
        let over = !matches!(message, ServerMessage::Next { .. });
        let sent = within(self.session.text(message.to_text(self.protocol))).await;
        if over {
            self.operations.remove(&result.id);
        }
        sent
    }

    /// Whether the connection's API key has not been revoked meanwhile. A database that does
    /// not answer ends nothing: the next check asks again.
    async fn key_still_stands(&self) -> bool {
        let Some(Viewer::Machine { api_key_id, .. }) = self.caller.as_ref().map(|c| &c.viewer)
        else {
            return true;
        };
        db::api_key::is_live(&self.state.services.db, *api_key_id)
            .await
            .unwrap_or(true)
    }
}

/// Runs one operation to its end for every subscriber that shares it (see `shared`).
async fn execute(state: Arc<AppState>, viewer: Viewer, operation: Subscribe, publisher: Publisher) {
    let audit = Arc::new(AuditLog::default());
    let mut request = async_graphql::Request::new(operation.query)
        .data(RequestData::new(
            viewer.clone(),
            &state.services,
            audit.clone(),
        ))
        .data(SubscriptionsOnly);
    if let Some(variables @ Value::Object(_)) = operation.variables {
        request = request.variables(async_graphql::Variables::from_json(variables));
    }
    if let Some(name) = operation.operation_name {
        request = request.operation_name(name);
    }
    if let Some(Value::Object(extensions)) = operation.extensions {
        request.extensions = async_graphql::Extensions(
            extensions
                .into_iter()
                .filter_map(|(k, v)| async_graphql::Value::from_json(v).ok().map(|v| (k, v)))
                .collect(),
        );
    }
    if !introspection_allowed(state.introspection, &viewer) {
        request = request.disable_introspection().data(IntrospectionRefused);
    }
    let mut stream = state.schema.execute_stream(request);
    let mut delivered = false;
    while let Some(mut response) = stream.next().await {
        error_codes::complete_codes(&mut response.errors);
        let refused = !delivered && is_request_error(&response);
        delivered = true;
        let event = if refused {
            Event::Error(serde_json::to_value(&response.errors).unwrap_or_else(|_| json!([])))
        } else {
            match serde_json::to_value(&response) {
                Ok(payload) => Event::Next(payload),
                Err(error) => {
                    tracing::error!(error = %error, "could not serialise a subscription result");
                    Event::Error(unavailable())
                }
            }
        };
        let last = event.is_last();
        let item = Item {
            event,
            audit: audit.take().unwrap_or_default(),
        };
        if !publisher.publish(item) || last {
            return;
        }
    }
    publisher.publish(Item {
        event: Event::Complete,
        audit: Vec::new(),
    });
}

/// Hands a shared execution's results to one subscriber, each read of personal data on the
/// subscriber's own audit trail before it leaves.
async fn follow(
    state: Arc<AppState>,
    viewer: Viewer,
    mut follower: Follower,
    id: String,
    generation: u64,
    results: mpsc::Sender<Outgoing>,
) {
    while let Some(item) = follower.next().await {
        let written = audit::write_entries(
            &state.services.db,
            item.audit.clone(),
            &viewer,
            chrono::Utc::now(),
        )
        .await;
        let event = match written {
            Ok(()) => item.event.clone(),
            Err(error) => {
                tracing::error!(error = %error, "could not write the audit trail; a subscription result is withheld");
                Event::Error(unavailable())
            }
        };
        let last = event.is_last();
        let outgoing = Outgoing {
            id: id.clone(),
            generation,
            event,
        };
        if results.send(outgoing).await.is_err() || last {
            return;
        }
    }
}

fn unavailable() -> Value {
    json!([{
        "message": "the subscription cannot go on right now; subscribe again later",
        "extensions": { "code": code::INTERNAL },
    }])
}

/// An operation refused before it ran: it did not parse or validate, or a limit refused it.
fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}
