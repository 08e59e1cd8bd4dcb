//! Calendar feeds by secret link: a participant's own sessions, an actor's parts; a new link
//! replaces the old one, a revoked link answers nothing, and nobody reads another's feed.

use api::auth::Role;
use icalendar::{Calendar, Component};
use serde_json::{Value, json};

use crate::{
    actors::{ASSIGN, available_actor},
    booking::{book_self, bookable_session, global_session, uuid_of},
    helpers::*,
};

const CREATE: &str =
    "mutation($input: CreateCalendarLinkInput!) { createCalendarLink(input: $input) {
    userErrors { code field } url calendarLink { id owner createdAt revokedAt } } }";
const REVOKE: &str =
    "mutation($input: RevokeCalendarLinkInput!) { revokeCalendarLink(input: $input) {
    userErrors { code field } url calendarLink { id revokedAt } } }";

/// Reads a feed as a calendar program would: the status and, on 200, the parsed calendar.
async fn read_feed(app: &TestApp, url: &str) -> (u16, Option<(String, Calendar)>) {
    let response = app.client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    if status != 200 {
        return (status, None);
    }
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/calendar"), "{content_type}");
    let text = response.text().await.unwrap();
    let calendar: Calendar = text.parse().expect("a feed that parses");
    (status, Some((text.replace("\r\n ", ""), calendar)))
}

fn uids(calendar: &Calendar) -> Vec<String> {
    calendar
        .events()
        .map(|e| e.get_uid().unwrap_or_default().to_owned())
        .collect()
}

fn created(answer: &Value) -> (String, Value) {
    let payload = &answer["createCalendarLink"];
    assert_eq!(payload["userErrors"], json!([]), "{answer}");
    (
        payload["url"].as_str().unwrap().to_owned(),
        payload["calendarLink"]["id"].clone(),
    )
}

#[tokio::test]
async fn a_participant_subscribes_to_their_own_sessions_and_can_revoke_the_link() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let other_session = bookable_session(&app, 10).await;
    let mayor = insert_participant(&app.db).await;
    let alderman = insert_participant(&app.db).await;
    let seat = book_self(&app, &session, mayor.id).await;
    book_self(&app, &other_session, alderman.id).await;
    let token = app.participant_token(mayor.id);

    let (url, id) = created(&app.data_as(&token, CREATE, json!({ "input": {} })).await);
    assert!(
        url.starts_with(&app.address) && url.ends_with(".ics"),
        "{url}"
    );
    let (status, feed) = read_feed(&app, &url).await;
    assert_eq!(status, 200);
    let (text, calendar) = feed.unwrap();
    let enrolment = uuid_of(&seat["enrolment"]["id"]);
    assert_eq!(
        uids(&calendar),
        vec![format!(
            "enrolment-{enrolment}@opleidingen.training-platform"
        )],
        "only their own seat"
    );
    assert!(text.contains("DTSTART;TZID=Europe/Amsterdam:"), "{text}");
    // A leaked link tells as little as it can: no names or addresses of the participant.
    assert!(
        !text.contains(&mayor.email) && !text.contains(&mayor.full_name),
        "{text}"
    );

    let me = app
        .data_as(
            &token,
            "{ me { calendarLink { id owner revokedAt } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["calendarLink"]["id"], id);
    assert_eq!(me["me"]["calendarLink"]["owner"], "PARTICIPANT");

    // A new link replaces the old one.
    let (new_url, new_id) = created(&app.data_as(&token, CREATE, json!({ "input": {} })).await);
    assert_ne!(new_url, url);
    assert_eq!(
        read_feed(&app, &url).await.0,
        404,
        "the old link stopped working"
    );
    assert_eq!(read_feed(&app, &new_url).await.0, 200);

    // Someone else cannot revoke it; its owner can.
    let stranger = app.participant_token(alderman.id);
    let refused = app
        .data_as(&stranger, REVOKE, json!({ "input": { "id": new_id } }))
        .await;
    assert_eq!(
        refused["revokeCalendarLink"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    assert_eq!(read_feed(&app, &new_url).await.0, 200);
    let revoked = app
        .data_as(&token, REVOKE, json!({ "input": { "id": new_id } }))
        .await;
    assert_eq!(revoked["revokeCalendarLink"]["userErrors"], json!([]));
    assert!(revoked["revokeCalendarLink"]["calendarLink"]["revokedAt"].is_string());
    assert_eq!(read_feed(&app, &new_url).await.0, 404);
    let me = app
        .data_as(&token, "{ me { calendarLink { id } } }", json!({}))
        .await;
    assert_eq!(me["me"]["calendarLink"], Value::Null);

    // Made-up secrets find nothing.
    for path in [
        "/calendar/nonsense.ics",
        &format!("/calendar/{}.ics", "0".repeat(64)),
    ] {
        assert_eq!(read_feed(&app, &app.url(path)).await.0, 404, "{path}");
    }
}

#[tokio::test]
async fn staff_make_an_actors_feed_and_only_they_and_the_actor_may() {
    let app = spawn_app().await;
    let staff = app.token(Role::Coordinator);
    let actor = available_actor(&app, &staff, "Test Acteur").await;
    let session = bookable_session(&app, 10).await;
    let assigned = app
        .data_as(
            &staff,
            ASSIGN,
            json!({ "input": { "sessionId": global_session(&session), "actorId": actor,
                               "exerciseRole": "boze burger" } }),
        )
        .await;
    assert_eq!(assigned["assignActor"]["userErrors"], json!([]));

    let (url, _) = created(
        &app.data_as(&staff, CREATE, json!({ "input": { "actorId": actor } }))
            .await,
    );
    let (_, feed) = read_feed(&app, &url).await;
    let (text, calendar) = feed.unwrap();
    let actor_uuid = uuid_of(&actor);
    assert_eq!(
        uids(&calendar),
        vec![format!(
            "session-{}-actor-{actor_uuid}@opleidingen.training-platform",
            session.id
        )]
    );
    assert!(text.contains("acteur: boze burger"), "{text}");

    // The actor makes their own; it replaces the one staff made.
    let actor_token = app
        .jwt
        .issue("acteur", Role::Actor, Some(actor_uuid), 600)
        .unwrap();
    let own = app
        .data_as(&actor_token, CREATE, json!({ "input": {} }))
        .await;
    let (own_url, _) = created(&own);
    assert_eq!(read_feed(&app, &url).await.0, 404);
    assert_eq!(read_feed(&app, &own_url).await.0, 200);

    // A participant may not make an actor's feed; an anonymous caller nothing at all.
    let participant = insert_participant(&app.db).await;
    let denied = app
        .graphql_as(
            &app.participant_token(participant.id),
            CREATE,
            json!({ "input": { "actorId": actor } }),
        )
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");
    // Staff have no feed of their own: they name the actor.
    for role in [Role::Coordinator, Role::Administrator] {
        let denied = app
            .graphql_as(&app.token(role), CREATE, json!({ "input": {} }))
            .await;
        assert_eq!(error_code(&denied), "FORBIDDEN", "{role:?}");
    }
    let anonymous = app.graphql(CREATE, json!({ "input": {} })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn bad_ids_are_refused_and_nobody_else_sees_a_participants_link() {
    let app = spawn_app().await;
    let mayor = insert_participant(&app.db).await;
    let token = app.participant_token(mayor.id);
    created(&app.data_as(&token, CREATE, json!({ "input": {} })).await);
    let staff = app.token(Role::Coordinator);

    // Malformed ids, ids of another type, and an actor that does not exist.
    let session = global_session(&bookable_session(&app, 10).await);
    for id in [
        json!("nonsense"),
        json!(""),
        json!("x".repeat(5000)),
        json!(session),
    ] {
        let answer = app
            .data_as(&staff, CREATE, json!({ "input": { "actorId": id } }))
            .await;
        assert_eq!(
            answer["createCalendarLink"]["userErrors"][0]["code"], "INVALID_ID",
            "{id}"
        );
        assert_eq!(answer["createCalendarLink"]["url"], Value::Null);
        let answer = app
            .data_as(&token, REVOKE, json!({ "input": { "id": id } }))
            .await;
        assert_eq!(
            answer["revokeCalendarLink"]["userErrors"][0]["code"], "INVALID_ID",
            "{id}"
        );
    }
    let nobody = api::domain::ids::ActorId(uuid::Uuid::new_v4()).to_global();
    let answer = app
        .data_as(&staff, CREATE, json!({ "input": { "actorId": nobody } }))
        .await;
    assert_eq!(
        answer["createCalendarLink"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    assert_eq!(answer["createCalendarLink"]["url"], Value::Null);

    // Staff may read the participant, but not whether or when they made a calendar link.
    let participant = api::domain::ids::ParticipantId(mayor.id).to_global();
    let read =
        "query($id: ID!) { node(id: $id) { ... on Participant { fullName calendarLink { id } } } }";
    let seen = app
        .data_as(&staff, read, json!({ "id": participant }))
        .await;
    assert!(seen["node"]["fullName"].is_string(), "{seen}");
    assert_eq!(seen["node"]["calendarLink"], Value::Null);
    let own = app
        .data_as(&token, read, json!({ "id": participant }))
        .await;
    assert!(own["node"]["calendarLink"]["id"].is_string(), "{own}");
}
