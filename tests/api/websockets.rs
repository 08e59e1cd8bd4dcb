//! WebSockets under the same rules as HTTP: bounded subscriptions and connections, a deadline
//! for `connection_init`, the rate limit, callers re-checked while the socket lives, and the
//! protocol's close codes with reasons short enough for a close frame.

use std::time::Duration;

use api::auth::Role;
use entity::enums::MachineRole;
use serde_json::{Value, json};

use crate::{
    booking::{book_self, bookable_session, global_session},
    helpers::*,
    live::{AVAILABILITY, Subscriber},
};

fn closed_with(message: &Value, code: u16) {
    assert_eq!(message["type"], "closed", "{message}");
    assert_eq!(message["code"], code, "{message}");
    let reason = message["reason"].as_str().unwrap_or_default();
    assert!(
        reason.len() <= 123,
        "a close reason fits a close frame: {reason}"
    );
}

#[tokio::test]
async fn a_connection_runs_at_most_its_share_of_subscriptions() {
    let app = spawn_app_with(|settings| settings.limits.ws_max_subscriptions = 3).await;
    let session = bookable_session(&app, 5).await;
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    for id in ["1", "2", "3"] {
        subscriber
            .subscribe(id, AVAILABILITY, json!({ "id": global_session(&session) }))
            .await;
        let first = subscriber.next().await;
        assert_eq!(
            first["data"]["sessionAvailability"]["seatsLeft"], 5,
            "{first}"
        );
    }
    subscriber
        .subscribe("4", AVAILABILITY, json!({ "id": global_session(&session) }))
        .await;
    assert_eq!(
        error_code(&subscriber.next().await),
        "TOO_MANY_SUBSCRIPTIONS"
    );

    // A completed subscription gives its place back.
    subscriber
        .send(json!({ "id": "1", "type": "complete" }))
        .await;
    subscriber
        .subscribe("5", AVAILABILITY, json!({ "id": global_session(&session) }))
        .await;
    let fifth = subscriber.next().await;
    assert_eq!(
        fifth["data"]["sessionAvailability"]["seatsLeft"], 5,
        "{fifth}"
    );
}

#[tokio::test]
async fn a_caller_holds_a_bounded_number_of_connections() {
    let app = spawn_app_with(|settings| settings.limits.ws_max_connections_per_caller = 2).await;
    let token = app.token(Role::Coordinator);
    let first = Subscriber::connect(&app.address, Some(&token))
        .await
        .unwrap();
    let _second = Subscriber::connect(&app.address, Some(&token))
        .await
        .unwrap();
    let third = Subscriber::connect(&app.address, Some(&token)).await;
    closed_with(&third.err().expect("a third connection is refused"), 4429);

    // Anonymous callers are counted by their address, apart from the coordinator.
    let _anonymous = Subscriber::connect(&app.address, None).await.unwrap();

    drop(first);
    let mut again = None;
    for _ in 0..50 {
        if let Ok(subscriber) = Subscriber::connect(&app.address, Some(&token)).await {
            again = Some(subscriber);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "a closed connection gives its place back");
}

#[tokio::test]
async fn a_socket_that_never_initialises_is_closed_within_the_deadline() {
    let app = spawn_app_with(|settings| settings.limits.ws_init_timeout_ms = 300).await;
    let mut silent = Subscriber::open(&app.address, "graphql-transport-ws").await;
    let started = std::time::Instant::now();
    let closed = silent.receive().await;
    closed_with(&closed, 4408);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed at its deadline"
    );
}

#[tokio::test]
async fn subscriptions_count_against_the_callers_rate_limit() {
    let app = spawn_app_with(|settings| settings.limits.rate_limit_anonymous_per_minute = 4).await;
    let session = bookable_session(&app, 5).await;
    // The upgrade itself takes one request of the four.
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    let mut codes = Vec::new();
    for id in 0..6 {
        subscriber
            .subscribe(
                &id.to_string(),
                AVAILABILITY,
                json!({ "id": global_session(&session) }),
            )
            .await;
        let answer = subscriber.next().await;
        codes.push(
            answer["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("OK")
                .to_owned(),
        );
    }
    assert_eq!(codes[..3], ["OK", "OK", "OK"], "{codes:?}");
    assert!(codes[3..].iter().all(|c| c == "RATE_LIMITED"), "{codes:?}");
}

#[tokio::test]
async fn a_connection_ends_when_its_token_does() {
    let app = spawn_app_with(|settings| settings.auth.jwt_leeway_seconds = 0).await;
    let token = app
        .jwt
        .issue("coordinator-short", Role::Coordinator, None, 2)
        .unwrap();
    let mut subscriber = Subscriber::connect(&app.address, Some(&token))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let closed = subscriber.receive().await;
    closed_with(&closed, 4403);
    assert!(started.elapsed() < Duration::from_secs(6), "{closed}");
}

#[tokio::test]
async fn a_connection_ends_when_its_api_key_is_revoked() {
    let app = spawn_app_with(|settings| settings.limits.ws_api_key_check_seconds = 1).await;
    let (key, plain) =
        api::db::api_key::create_api_key(&app.db, "Testkoppeling", MachineRole::SyncClient)
            .await
            .unwrap();
    let mut subscriber = Subscriber::connect(&app.address, Some(&plain))
        .await
        .unwrap();
    api::db::api_key::revoke_api_key(&app.db, key.id)
        .await
        .unwrap();
    let closed = subscriber.receive().await;
    closed_with(&closed, 4403);
}

#[tokio::test]
async fn a_subscription_to_a_course_that_is_archived_ends_as_not_found() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 5).await;
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    subscriber
        .subscribe(
            "seats",
            AVAILABILITY,
            json!({ "id": global_session(&session) }),
        )
        .await;
    assert_eq!(
        subscriber.next().await["data"]["sessionAvailability"]["seatsLeft"],
        5
    );
    let course = api::domain::ids::CourseId(session.course_id).to_global();
    let archived = app
        .data_as(
            &app.token(Role::Administrator),
            "mutation($input: CourseStatusInput!) { archiveCourse(input: $input) { userErrors { code } } }",
            json!({ "input": { "courseId": course } }),
        )
        .await;
    assert_eq!(archived["archiveCourse"]["userErrors"], json!([]));
    assert_eq!(error_code(&subscriber.next().await), "NOT_FOUND");

    // Staff may still follow it.
    let mut staff = Subscriber::connect(&app.address, Some(&app.token(Role::Coordinator)))
        .await
        .unwrap();
    staff
        .subscribe(
            "seats",
            AVAILABILITY,
            json!({ "id": global_session(&session) }),
        )
        .await;
    assert_eq!(
        staff.next().await["data"]["sessionAvailability"]["seatsLeft"],
        5
    );
}

#[tokio::test]
async fn protocol_violations_close_the_socket_with_the_protocols_codes() {
    let app = spawn_app().await;

    let mut early = Subscriber::open(&app.address, "graphql-transport-ws").await;
    early
        .subscribe("1", AVAILABILITY, json!({ "id": "x" }))
        .await;
    closed_with(&early.receive().await, 4401);

    let mut garbled = Subscriber::connect(&app.address, None).await.unwrap();
    garbled
        .send_raw(tokio_tungstenite::tungstenite::Message::text(format!(
            "{{\"type\": \"subscribe\", \"id\": \"{}\"}}",
            "x".repeat(500)
        )))
        .await;
    closed_with(&garbled.receive().await, 4400);

    let mut unknown = Subscriber::connect(&app.address, None).await.unwrap();
    unknown.send(json!({ "type": "dance" })).await;
    closed_with(&unknown.receive().await, 4400);

    let mut twice = Subscriber::connect(&app.address, None).await.unwrap();
    twice
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    closed_with(&twice.receive().await, 4429);

    let session = bookable_session(&app, 5).await;
    let mut duplicate = Subscriber::connect(&app.address, None).await.unwrap();
    duplicate
        .subscribe(
            "same",
            AVAILABILITY,
            json!({ "id": global_session(&session) }),
        )
        .await;
    let first = duplicate.next().await;
    assert_eq!(
        first["data"]["sessionAvailability"]["seatsLeft"], 5,
        "{first}"
    );
    duplicate
        .subscribe(
            "same",
            AVAILABILITY,
            json!({ "id": global_session(&session) }),
        )
        .await;
    closed_with(&duplicate.next().await, 4409);

    let refused = Subscriber::connect(&app.address, Some("Bearer nonsense")).await;
    closed_with(&refused.err().expect("a bad token is refused"), 4403);
}

#[tokio::test]
async fn the_legacy_protocol_is_spoken_too() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 5).await;
    let mut legacy = Subscriber::open(&app.address, "graphql-ws").await;
    legacy
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(legacy.receive().await["type"], "connection_ack");
    legacy
        .send(json!({ "id": "1", "type": "start",
            "payload": { "query": AVAILABILITY, "variables": { "id": global_session(&session) } } }))
        .await;
    let mut data = legacy.receive().await;
    while data["type"] == "ka" {
        data = legacy.receive().await;
    }
    assert_eq!(data["type"], "data", "{data}");
    assert_eq!(
        data["payload"]["data"]["sessionAvailability"]["seatsLeft"],
        5
    );
}

/// One change to a session reaches every follower of its waiting list with one read, however
/// many follow it.
#[tokio::test]
async fn a_change_fans_out_to_many_subscribers_without_a_read_for_each() {
    const MY_ENROLMENT: &str = "subscription($id: ID!) { myEnrolment(enrolmentId: $id) {
        status waitingListPlace } }";
    let app = spawn_app_with(|settings| {
        settings.limits.ws_max_connections_per_caller = 100;
        settings.limits.rate_limit_anonymous_per_minute = 0;
        settings.limits.rate_limit_per_minute = 0;
    })
    .await;

    // The cost of a cancellation that promotes the first of a waiting list, with and without
    // followers.
    async fn cancellation_cost(app: &TestApp, followers: usize) -> u64 {
        let session = bookable_session(app, 1).await;
        let seated = insert_participant(&app.db).await;
        let seat = book_self(app, &session, seated.id).await;
        let mut subscribers = Vec::new();
        for _ in 0..followers.max(3) {
            let waiting = insert_participant(&app.db).await;
            let place = book_self(app, &session, waiting.id).await;
            if subscribers.len() < followers {
                let mut subscriber =
                    Subscriber::connect(&app.address, Some(&app.participant_token(waiting.id)))
                        .await
                        .unwrap();
                subscriber
                    .subscribe(
                        "mine",
                        MY_ENROLMENT,
                        json!({ "id": place["enrolment"]["id"] }),
                    )
                    .await;
                let first = subscriber.next().await;
                assert_eq!(first["data"]["myEnrolment"]["status"], "WAITLISTED");
                subscribers.push(subscriber);
            }
        }
        let before = app.statements().await;
        app.data_as(
            &app.token(Role::Coordinator),
            "mutation($id: ID!) { cancelEnrolment(input: { enrolmentId: $id, reason: \"verhinderd\" }) { userErrors { code } } }",
            json!({ "id": seat["enrolment"]["id"] }),
        )
        .await;
        for (at, subscriber) in subscribers.iter_mut().enumerate() {
            let update = subscriber.next().await;
            let expected = if at == 0 {
                json!({ "status": "CONFIRMED", "waitingListPlace": null })
            } else {
                json!({ "status": "WAITLISTED", "waitingListPlace": at })
            };
            assert_eq!(update["data"]["myEnrolment"], expected, "{update}");
        }
        // Wait for stragglers to settle, then count (the metrics read is not counted).
        tokio::time::sleep(Duration::from_millis(200)).await;
        app.statements().await - before
    }

    let alone = cancellation_cost(&app, 0).await;
    let followed = cancellation_cost(&app, 20).await;
    assert!(
        followed <= alone + 3,
        "twenty followers cost {} statements more than none",
        followed - alone
    );
}
