//! The messages of the two subscription protocols, both spoken on `/graphql`:
//! `graphql-transport-ws` (the `graphql-ws` library, the current one) and the older `graphql-ws`
//! of subscriptions-transport-ws, which Apollo's legacy link still speaks. They differ in names
//! only: `subscribe`/`start`, `next`/`data`, `complete`/`stop`.

use serde::Deserialize;
use serde_json::{Value, json};

/// Close codes: RFC 6455's, and those `graphql-transport-ws` defines.
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const POLICY_VIOLATION: u16 = 1008;
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    pub const TOO_MANY_INIT: u16 = 4429;
    pub const INTERNAL: u16 = 4500;
}

/// Most bytes RFC 6455 allows for a close reason (a control frame holds 125, two are the code).
pub const MAX_CLOSE_REASON: usize = 123;

/// A close reason cut to what a close frame may carry, at a character boundary.
pub fn close_reason(reason: &str) -> String {
    if reason.len() <= MAX_CLOSE_REASON {
        return reason.to_owned();
    }
    let mut end = MAX_CLOSE_REASON;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// `graphql-ws` of subscriptions-transport-ws.
    Legacy,
}

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::TransportWs, Protocol::Legacy];

    pub fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::Legacy => "graphql-ws",
        }
    }

    /// The first protocol the client offers that we speak. A client that offers none gets the
    /// current protocol; one that offers only others gets `None`.
    pub fn negotiate<'a>(offered: impl Iterator<Item = &'a str>) -> Option<Self> {
        let mut any = false;
        for name in offered.flat_map(|value| value.split(',')).map(str::trim) {
            if name.is_empty() {
                continue;
            }
            any = true;
            if let Some(protocol) = Self::ALL.into_iter().find(|p| p.name() == name) {
                return Some(protocol);
            }
        }
        (!any).then_some(Self::TransportWs)
    }
}

/// What a client sent.
#[derive(Debug)]
pub enum ClientMessage {
    ConnectionInit(Value),
    Ping(Option<Value>),
    Pong,
    Subscribe {
        id: String,
        payload: Subscribe,
    },
    Complete {
        id: String,
    },
    /// The legacy protocol's goodbye.
    Terminate,
}

/// An operation to run.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscribe {
    pub query: String,
    #[serde(default)]
    pub variables: Option<Value>,
    #[serde(default)]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub extensions: Option<Value>,
}

/// Longest operation id a client may choose.
const MAX_ID_LENGTH: usize = 128;

/// Reads one text message; an invalid one is answered by closing with 4400 and the reason.
pub fn parse(protocol: Protocol, text: &str) -> Result<ClientMessage, &'static str> {
    let message: Value = serde_json::from_str(text).map_err(|_| "the message is not JSON")?;
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .ok_or("the message has no type")?;
    let id = || -> Result<String, &'static str> {
        let id = message
            .get("id")
            .and_then(Value::as_str)
            .ok_or("the message needs an id")?;
        if id.is_empty() || id.len() > MAX_ID_LENGTH {
            return Err("an id is 1 to 128 characters");
        }
        Ok(id.to_owned())
    };
    let payload = || message.get("payload").cloned().filter(|p| !p.is_null());
    let operation = || -> Result<Subscribe, &'static str> {
        let payload = payload().ok_or("the operation has no payload")?;
        let operation: Subscribe =
            serde_json::from_value(payload).map_err(|_| "the operation's payload is malformed")?;
        let object_or_null =
            |value: &Option<Value>| value.as_ref().is_none_or(|v| v.is_object() || v.is_null());
        if !object_or_null(&operation.variables) || !object_or_null(&operation.extensions) {
            return Err("variables and extensions must be objects");
        }
        Ok(operation)
    };
    match (protocol, kind) {
        (_, "connection_init") => {
            let payload = payload().unwrap_or_else(|| json!({}));
            if !payload.is_object() {
                return Err("the connection_init payload must be an object");
            }
            Ok(ClientMessage::ConnectionInit(payload))
        }
        // The protocol allows an object or nothing as a ping's or pong's payload.
        (Protocol::TransportWs, "ping" | "pong")
            if payload().is_some_and(|payload| !payload.is_object()) =>
        {
            Err("a ping or pong payload must be an object")
        }
        (Protocol::TransportWs, "ping") => Ok(ClientMessage::Ping(payload())),
        (Protocol::TransportWs, "pong") => Ok(ClientMessage::Pong),
        (Protocol::TransportWs, "subscribe") | (Protocol::Legacy, "start") => {
            Ok(ClientMessage::Subscribe {
                id: id()?,
                payload: operation()?,
            })
        }
        (Protocol::TransportWs, "complete") | (Protocol::Legacy, "stop") => {
            Ok(ClientMessage::Complete { id: id()? })
        }
        (Protocol::Legacy, "connection_terminate") => Ok(ClientMessage::Terminate),
        _ => Err("unexpected message type"),
    }
}

/// What the server sends, written for the connection's protocol.
pub enum ServerMessage<'a> {
    ConnectionAck,
    Pong(Option<Value>),
    /// The legacy protocol's keep-alive.
    KeepAlive,
    Next {
        id: &'a str,
        payload: Value,
    },
    Error {
        id: &'a str,
        errors: Value,
    },
    Complete {
        id: &'a str,
    },
}

impl ServerMessage<'_> {
    pub fn to_text(&self, protocol: Protocol) -> String {
        let legacy = protocol == Protocol::Legacy;
        let message = match self {
            Self::ConnectionAck => json!({ "type": "connection_ack" }),
            Self::Pong(Some(payload)) => json!({ "type": "pong", "payload": payload }),
            Self::Pong(None) => json!({ "type": "pong" }),
            Self::KeepAlive => json!({ "type": "ka" }),
            Self::Next { id, payload } => json!({
                "id": id, "type": if legacy { "data" } else { "next" }, "payload": payload,
            }),
            // The legacy protocol's `error` carries one error object; ours a list.
            Self::Error { id, errors } if legacy => json!({
                "id": id, "type": "error",
                "payload": errors.get(0).cloned().unwrap_or_else(|| json!({})),
            }),
            Self::Error { id, errors } => json!({ "id": id, "type": "error", "payload": errors }),
            Self::Complete { id } => json!({ "id": id, "type": "complete" }),
        };
        message.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_close_frame() {
        let long = "é".repeat(200);
        let cut = close_reason(&long);
        assert!(cut.len() <= MAX_CLOSE_REASON);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(close_reason("short"), "short");
    }

    #[test]
    fn protocols_are_negotiated_from_what_the_client_offers() {
        assert_eq!(
            Protocol::negotiate(["graphql-ws, graphql-transport-ws"].into_iter()),
            Some(Protocol::Legacy)
        );
        assert_eq!(
            Protocol::negotiate(["graphql-transport-ws"].into_iter()),
            Some(Protocol::TransportWs)
        );
        assert_eq!(
            Protocol::negotiate(std::iter::empty()),
            Some(Protocol::TransportWs)
        );
        assert_eq!(Protocol::negotiate(["mqtt"].into_iter()), None);
    }

    #[test]
    fn malformed_messages_are_refused() {
        let protocol = Protocol::TransportWs;
        for text in [
            "not json",
            "{}",
            r#"{"type":"subscribe"}"#,
            r#"{"type":"subscribe","id":"1"}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":1}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":[1]}}"#,
            r#"{"type":"start","id":"1","payload":{"query":"{a}"}}"#,
            r#"{"type":"connection_init","payload":3}"#,
            r#"{"type":"complete","id":""}"#,
            r#"{"type":"unknown"}"#,
            r#"{"type":"ping","payload":"hello"}"#,
            r#"{"type":"pong","payload":[1]}"#,
        ] {
            assert!(parse(protocol, text).is_err(), "{text}");
        }
        assert!(matches!(
            parse(
                protocol,
                r#"{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":null}}"#
            ),
            Ok(ClientMessage::Subscribe { .. })
        ));
        assert!(matches!(
            parse(protocol, r#"{"type":"ping","payload":{"at":1}}"#),
            Ok(ClientMessage::Ping(Some(_)))
        ));
        assert!(matches!(
            parse(protocol, r#"{"type":"pong","payload":null}"#),
            Ok(ClientMessage::Pong)
        ));
        assert!(matches!(
            parse(Protocol::Legacy, r#"{"type":"stop","id":"1"}"#),
            Ok(ClientMessage::Complete { .. })
        ));
    }
}
