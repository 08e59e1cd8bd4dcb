//! Live availability and enrolment status over WebSocket (`graphql-transport-ws`).

use api::{auth::Role, domain::ids::EnrolmentId};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::{
    booking::{book_self, bookable_session, global_session},
    helpers::*,
};

pub const AVAILABILITY: &str = "subscription($id: ID!) { sessionAvailability(sessionId: $id) {
    sessionId capacity seatsTaken seatsLeft waitingListLength bookingOpen version } }";

const MY_ENROLMENT: &str = "subscription($id: ID!) { myEnrolment(enrolmentId: $id) {
    enrolmentId status waitingListPlace } }";

/// A `graphql-ws` client, as a browser would use it.
pub struct Subscriber {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Subscriber {
    /// Opens a WebSocket with this subprotocol and sends nothing yet.
    pub async fn open(address: &str, protocol: &'static str) -> Self {
        let url = format!("{}/graphql", address.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
        let (socket, _) = connect_async(request)
            .await
            .expect("a WebSocket connection");
        Self { socket }
    }

    /// Connects to a service at `http://host:port`; a token goes in the `connection_init` payload.
    pub async fn connect(address: &str, token: Option<&str>) -> Result<Self, Value> {
        let mut subscriber = Self::open(address, "graphql-transport-ws").await;
        let payload = token.map_or(
            json!({}),
            |t| json!({ "Authorization": format!("Bearer {t}") }),
        );
        subscriber
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = subscriber.receive().await;
        if ack["type"] == "connection_ack" {
            Ok(subscriber)
        } else {
            Err(ack)
        }
    }

    /// Sends a raw WebSocket message or frame.
    pub async fn send_raw(&mut self, message: Message) {
        self.socket
            .send(message)
            .await
            .expect("sending over the WebSocket");
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("sending over the WebSocket");
    }

    /// The next protocol message, answering pings on the way; a closed connection is
    /// `{"type": "closed", "code": …, "reason": …}`.
    pub async fn receive(&mut self) -> Value {
        loop {
            let message =
                tokio::time::timeout(std::time::Duration::from_secs(15), self.socket.next())
                    .await
                    .expect("a message within 15 s");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    // A subscription that failed is completed after its error.
                    if value["type"] == "complete" {
                        continue;
                    }
                    return value;
                }
                Some(Ok(Message::Close(frame))) => {
                    return json!({ "type": "closed",
                        "code": frame.as_ref().map(|f| u16::from(f.code)),
                        "reason": frame.as_ref().map(|f| f.reason.to_string()) });
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return json!({ "type": "closed" }),
            }
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe",
                          "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next result, as `{"data": …}` or `{"errors": […]}`: a `next` message's payload, or
    /// the errors of an `error` message; anything else whole.
    pub async fn next(&mut self) -> Value {
        let message = self.receive().await;
        match message["type"].as_str() {
            Some("next") => message["payload"].clone(),
            Some("error") => json!({ "errors": message["payload"] }),
            _ => message,
        }
    }
}

#[tokio::test]
async fn seats_left_are_pushed_when_someone_books_or_cancels() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 1).await;
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    subscriber
        .subscribe("1", AVAILABILITY, json!({ "id": global_session(&session) }))
        .await;
    let now = subscriber.next().await;
    let now = &now["data"]["sessionAvailability"];
    assert_eq!(
        (now["seatsLeft"].clone(), now["waitingListLength"].clone()),
        (json!(1), json!(0))
    );

    let first = insert_participant(&app.db).await;
    let seat = book_self(&app, &session, first.id).await;
    let after = subscriber.next().await;
    let after = &after["data"]["sessionAvailability"];
    assert_eq!(
        (
            after["seatsLeft"].clone(),
            after["seatsTaken"].clone(),
            after["waitingListLength"].clone()
        ),
        (json!(0), json!(1), json!(0))
    );
    assert!(after["version"].as_i64() > now["version"].as_i64());

    let second = insert_participant(&app.db).await;
    book_self(&app, &session, second.id).await;
    let queued = subscriber.next().await;
    assert_eq!(
        queued["data"]["sessionAvailability"]["waitingListLength"],
        1
    );

    // A cancellation frees the seat and promotes the waiting person in one change.
    app.data_as(
        &app.token(Role::Coordinator),
        "mutation($id: ID!) { cancelEnrolment(input: { enrolmentId: $id, reason: \"verhinderd\" }) { userErrors { code } } }",
        json!({ "id": seat["enrolment"]["id"] }),
    )
    .await;
    let promoted = subscriber.next().await;
    let promoted = &promoted["data"]["sessionAvailability"];
    assert_eq!(
        (
            promoted["seatsLeft"].clone(),
            promoted["waitingListLength"].clone()
        ),
        (json!(0), json!(0))
    );
}

#[tokio::test]
async fn a_participant_follows_their_own_enrolment_from_the_waiting_list_to_a_seat() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 1).await;
    let seated = insert_participant(&app.db).await;
    let waiting = insert_participant(&app.db).await;
    let seat = book_self(&app, &session, seated.id).await;
    let place = book_self(&app, &session, waiting.id).await;
    let enrolment = place["enrolment"]["id"].clone();

    let token = app.participant_token(waiting.id);
    let mut subscriber = Subscriber::connect(&app.address, Some(&token))
        .await
        .unwrap();
    subscriber
        .subscribe("mine", MY_ENROLMENT, json!({ "id": enrolment }))
        .await;
    assert_eq!(
        subscriber.next().await["data"]["myEnrolment"],
        json!({ "enrolmentId": enrolment, "status": "WAITLISTED", "waitingListPlace": 1 })
    );
    app.data_as(
        &app.participant_token(seated.id),
        "mutation($id: ID!) { cancelEnrolment(input: { enrolmentId: $id }) { userErrors { code } } }",
        json!({ "id": seat["enrolment"]["id"] }),
    )
    .await;
    assert_eq!(
        subscriber.next().await["data"]["myEnrolment"],
        json!({ "enrolmentId": enrolment, "status": "CONFIRMED", "waitingListPlace": null })
    );

    // Someone else's enrolment cannot be followed, and looks like none at all.
    let mut other = Subscriber::connect(&app.address, Some(&app.participant_token(seated.id)))
        .await
        .unwrap();
    other
        .subscribe("theirs", MY_ENROLMENT, json!({ "id": enrolment }))
        .await;
    assert_eq!(error_code(&other.next().await), "NOT_FOUND");
    let unknown = EnrolmentId(uuid::Uuid::new_v4()).to_global();
    other
        .subscribe("unknown", MY_ENROLMENT, json!({ "id": unknown }))
        .await;
    assert_eq!(error_code(&other.next().await), "NOT_FOUND");
}

#[tokio::test]
async fn the_websocket_carries_subscriptions_only_and_checks_credentials() {
    let app = spawn_app().await;
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    subscriber
        .subscribe("q", "{ courses { nodes { title } } }", json!({}))
        .await;
    assert_eq!(error_code(&subscriber.next().await), "SUBSCRIPTIONS_ONLY");

    let wrong = Subscriber::connect(&app.address, Some("not-a-token")).await;
    let closed = wrong
        .err()
        .expect("a connection with a bad token is refused");
    assert_eq!(closed["type"], "closed", "{closed}");

    // Following an enrolment needs a participant's token.
    let mut anonymous = Subscriber::connect(&app.address, None).await.unwrap();
    let id = EnrolmentId(uuid::Uuid::new_v4()).to_global();
    anonymous
        .subscribe("mine", MY_ENROLMENT, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&anonymous.next().await), "UNAUTHENTICATED");
}
