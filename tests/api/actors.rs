//! Actors: profiles, availability, and assignments that never overlap.

use api::{auth::Role, domain::ids::ActorId};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::{
    booking::{bookable_session, global_session},
    helpers::*,
};

pub const SAVE_ACTOR: &str = "mutation($input: SaveActorInput!) { saveActor(input: $input) {
    userErrors { code field } actor { id fullName scenarios playableRoles active } } }";
pub const SET_AVAILABILITY: &str =
    "mutation($input: SetActorAvailabilityInput!) { setActorAvailability(input: $input) {
    userErrors { code field } actor { availability { startsAt endsAt } } } }";
pub const ASSIGN: &str = "mutation($input: AssignActorInput!) { assignActor(input: $input) {
    userErrors { code field message } session { needsActor actors { exerciseRole actor { fullName } } } } }";

/// An active actor, available for the next sixty days; returns their global id.
pub async fn available_actor(app: &TestApp, token: &str, name: &str) -> Value {
    let saved = app
        .data_as(
            token,
            SAVE_ACTOR,
            json!({ "input": { "details": { "fullName": name, "scenarios": ["boze burger"],
                                             "playableRoles": ["journalist"] } } }),
        )
        .await;
    let id = saved["saveActor"]["actor"]["id"].clone();
    let now = Utc::now();
    let set = app
        .data_as(
            token,
            SET_AVAILABILITY,
            json!({ "input": { "actorId": id, "periods": [
                { "startsAt": now.to_rfc3339(), "endsAt": (now + Duration::days(60)).to_rfc3339() } ] } }),
        )
        .await;
    assert_eq!(set["setActorAvailability"]["userErrors"], json!([]));
    id
}

fn code(answer: &Value) -> Value {
    answer["assignActor"]["userErrors"][0]["code"].clone()
}

#[tokio::test]
async fn an_actor_plays_in_one_session_at_a_time_and_only_when_available() {
    let app = spawn_app().await;
    let staff = app.token(Role::Coordinator);
    let actor = available_actor(&app, &staff, "Test Acteur").await;
    let first = bookable_session(&app, 10).await;
    let course = app.brochure_course().await;
    // Starts an hour after `first`: they overlap.
    let overlapping = insert_session(
        &app.db,
        course.id,
        None,
        first.starts_at + Duration::hours(1),
        10,
    )
    .await;
    let later = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() + Duration::days(20),
        10,
    )
    .await;
    let beyond = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() + Duration::days(90),
        10,
    )
    .await;
    let assign = |session: &entity::session::Model| {
        json!({ "input": { "sessionId": global_session(session), "actorId": actor,
                           "exerciseRole": "boze burger" } })
    };

    let needs = "query($id: ID!) { session(id: $id) { actorsNeeded needsActor actors { actor { fullName } } } }";
    let before = app
        .data_as(&staff, needs, json!({ "id": global_session(&first) }))
        .await;
    assert_eq!(before["session"]["needsActor"], true);

    let assigned = app.data_as(&staff, ASSIGN, assign(&first)).await;
    assert_eq!(assigned["assignActor"]["userErrors"], json!([]));
    assert_eq!(
        assigned["assignActor"]["session"],
        json!({ "needsActor": false, "actors": [{ "exerciseRole": "boze burger", "actor": { "fullName": "Test Acteur" } }] })
    );
    assert_eq!(
        code(&app.data_as(&staff, ASSIGN, assign(&first)).await),
        "CONFLICT"
    );
    assert_eq!(
        code(&app.data_as(&staff, ASSIGN, assign(&overlapping)).await),
        "CONFLICT"
    );
    assert_eq!(
        code(&app.data_as(&staff, ASSIGN, assign(&beyond)).await),
        "CONFLICT"
    );
    assert_eq!(
        app.data_as(&staff, ASSIGN, assign(&later)).await["assignActor"]["userErrors"],
        json!([])
    );

    // Who plays is for staff and the actors themselves.
    let public = app
        .data(needs, json!({ "id": global_session(&first) }))
        .await;
    assert_eq!(public["session"]["actors"], json!([]));
    assert_eq!(public["session"]["needsActor"], false);

    let uuid = api::domain::ids::GlobalId::decode(actor.as_str().unwrap(), "id")
        .unwrap()
        .uuid;
    let own = app
        .jwt
        .issue("acteur", Role::Actor, Some(uuid), 600)
        .unwrap();
    let schedule = app
        .data_as(
            &own,
            "query($after: String) { myActorProfile { fullName
                schedule(first: 1, after: $after, filter: { startsFrom: \"2000-01-01T00:00:00Z\" }) {
                    totalCount pageInfo { hasNextPage endCursor } edges { node { id actors { exerciseRole } } } } } }",
            json!({}),
        )
        .await;
    let page = &schedule["myActorProfile"]["schedule"];
    assert_eq!(page["totalCount"], 2);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        page["edges"][0]["node"]["id"],
        json!(global_session(&first))
    );
    assert_eq!(
        page["edges"][0]["node"]["actors"],
        json!([{ "exerciseRole": "boze burger" }])
    );
    let next = app
        .data_as(
            &own,
            "query($after: String) { myActorProfile { schedule(first: 1, after: $after) {
                pageInfo { hasNextPage } edges { node { id } } } } }",
            json!({ "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &next["myActorProfile"]["schedule"];
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(
        rest["edges"][0]["node"]["id"],
        json!(global_session(&later))
    );

    // An inactive actor is not assigned.
    let mut inactive = json!({ "fullName": "Test Acteur", "active": false });
    inactive["scenarios"] = json!([]);
    app.data_as(
        &staff,
        SAVE_ACTOR,
        json!({ "input": { "actorId": actor, "details": inactive } }),
    )
    .await;
    let other = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() + Duration::days(30),
        10,
    )
    .await;
    assert_eq!(
        code(&app.data_as(&staff, ASSIGN, assign(&other)).await),
        "CONFLICT"
    );

    let participant = insert_participant(&app.db).await;
    let refused = app
        .graphql_as(
            &app.participant_token(participant.id),
            ASSIGN,
            assign(&other),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let stranger = app
        .data_as(
            &app.participant_token(participant.id),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": actor }),
        )
        .await;
    assert_eq!(stranger["node"], Value::Null);
    let _ = ActorId(uuid);
}

#[tokio::test]
async fn two_simultaneous_assignments_of_one_actor_to_overlapping_sessions_one_wins() {
    let app = std::sync::Arc::new(spawn_app().await);
    let staff = app.token(Role::Coordinator);
    let actor = available_actor(&app, &staff, "Test Acteur").await;
    let first = bookable_session(&app, 10).await;
    let course = app.brochure_course().await;
    let second = insert_session(
        &app.db,
        course.id,
        None,
        first.starts_at + Duration::minutes(30),
        10,
    )
    .await;
    let tasks: Vec<_> = [first, second]
        .into_iter()
        .map(|session| {
            let (app, staff, actor) = (app.clone(), staff.clone(), actor.clone());
            tokio::spawn(async move {
                app.data_as(
                    &staff,
                    ASSIGN,
                    json!({ "input": { "sessionId": global_session(&session), "actorId": actor } }),
                )
                .await
            })
        })
        .collect();
    let mut codes = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        codes.push(code(&answer));
    }
    codes.sort_by_key(|c| c.to_string());
    assert_eq!(
        codes,
        vec![json!("CONFLICT"), Value::Null],
        "exactly one wins"
    );
}

#[tokio::test]
async fn staff_list_the_sessions_that_still_need_an_actor_with_their_fill_rate() {
    let app = spawn_app().await;
    let staff = app.token(Role::Coordinator);
    let actor = available_actor(&app, &staff, "Test Acteur").await;
    let covered = bookable_session(&app, 4).await;
    let course = app.brochure_course().await;
    let uncovered =
        insert_session(&app.db, course.id, None, Utc::now() + Duration::days(21), 4).await;
    let person = insert_participant(&app.db).await;
    crate::booking::book_self(&app, &uncovered, person.id).await;
    app.data_as(
        &staff,
        ASSIGN,
        json!({ "input": { "sessionId": global_session(&covered), "actorId": actor } }),
    )
    .await;
    let query = "query($needs: Boolean) { sessions(first: 100, filter: { needsActor: $needs, isDemo: null }) {
        edges { node { id fillRate waitingListLength } } } }";
    let query = query.replace(", isDemo: null", "");
    let ids = |data: &Value| -> Vec<Value> {
        data["sessions"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].clone())
            .collect()
    };
    let needing = app.data_as(&staff, &query, json!({ "needs": true })).await;
    assert!(ids(&needing).contains(&json!(global_session(&uncovered))));
    assert!(!ids(&needing).contains(&json!(global_session(&covered))));
    let node = needing["sessions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == json!(global_session(&uncovered)))
        .unwrap()["node"]
        .clone();
    assert_eq!(node["fillRate"], 0.25);
    let covered_list = app.data_as(&staff, &query, json!({ "needs": false })).await;
    assert_eq!(ids(&covered_list), vec![json!(global_session(&covered))]);

    let public = app.graphql(&query, json!({ "needs": true })).await;
    assert_eq!(error_code(&public), "FORBIDDEN");
}

#[tokio::test]
async fn a_session_does_not_move_onto_a_time_its_actor_cannot_play() {
    let app = spawn_app().await;
    let staff = app.token(Role::Coordinator);
    let actor = available_actor(&app, &staff, "Test Acteur").await;
    let course = app.brochure_course().await;
    let first = bookable_session(&app, 10).await;
    let second = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() + Duration::days(20),
        10,
    )
    .await;
    for session in [&first, &second] {
        let assigned = app
            .data_as(
                &staff,
                ASSIGN,
                json!({ "input": { "sessionId": global_session(session), "actorId": actor } }),
            )
            .await;
        assert_eq!(assigned["assignActor"]["userErrors"], json!([]));
    }
    let reschedule = |starts: chrono::DateTime<Utc>| {
        json!({ "input": { "sessionId": global_session(&second), "times": {
            "startsAt": starts.to_rfc3339(), "endsAt": (starts + Duration::hours(7)).to_rfc3339() } } })
    };
    let query = "mutation($input: RescheduleSessionInput!) { rescheduleSession(input: $input) { userErrors { code } } }";
    let onto_first = app
        .data_as(
            &staff,
            query,
            reschedule(first.starts_at + Duration::hours(2)),
        )
        .await;
    assert_eq!(
        onto_first["rescheduleSession"]["userErrors"][0]["code"],
        "CONFLICT"
    );
    let unavailable = app
        .data_as(&staff, query, reschedule(Utc::now() + Duration::days(90)))
        .await;
    assert_eq!(
        unavailable["rescheduleSession"]["userErrors"][0]["code"],
        "CONFLICT"
    );
    let fine = app
        .data_as(&staff, query, reschedule(Utc::now() + Duration::days(25)))
        .await;
    assert_eq!(fine["rescheduleSession"]["userErrors"], json!([]));
}

/// A new actor playing in two new sessions, `day` and `day + 1` days from now.
async fn actor_with_two_sessions(app: &TestApp, staff: &str, course: uuid::Uuid, day: i64) {
    let actor = available_actor(app, staff, "Test Acteur").await;
    for offset in [0, 1] {
        let starts = Utc::now() + Duration::days(day + offset);
        let session = insert_session(&app.db, course, None, starts, 10).await;
        let assigned = app
            .data_as(
                staff,
                ASSIGN,
                json!({ "input": { "sessionId": global_session(&session), "actorId": actor } }),
            )
            .await;
        assert_eq!(assigned["assignActor"]["userErrors"], json!([]));
    }
}

/// The fewest statements a staff query took in five runs (see `statements.rs` on why five).
async fn statements_as(app: &TestApp, token: &str, query: &str) -> u64 {
    let mut fewest = u64::MAX;
    for _ in 0..5 {
        let before = app.statements().await;
        app.data_as(token, query, json!({})).await;
        fewest = fewest.min(app.statements().await - before);
    }
    fewest
}

#[tokio::test]
async fn the_schedules_of_many_actors_cost_as_many_statements_as_one() {
    let app = spawn_app().await;
    let staff = app.token(Role::Coordinator);
    let course = app.brochure_course().await;
    let query = "{ actors { fullName schedule(first: 5) { edges { node { id seatsLeft } } } } }";
    actor_with_two_sessions(&app, &staff, course.id, 4).await;
    let one = statements_as(&app, &staff, query).await;
    for day in [8, 12, 16, 20] {
        actor_with_two_sessions(&app, &staff, course.id, day).await;
    }
    let five = statements_as(&app, &app.token(Role::Coordinator), query).await;
    let listed = app
        .data_as(&app.token(Role::Coordinator), query, json!({}))
        .await;
    assert_eq!(listed["actors"].as_array().unwrap().len(), 5);
    assert_eq!(one, five, "no statement per actor");
}

#[tokio::test]
async fn staff_reads_of_actors_are_on_the_audit_trail() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let app = spawn_app().await;
    let staff = app.token(Role::Coordinator);
    let actor = available_actor(&app, &staff, "Test Acteur").await;
    let before = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::RecordType.eq("Actor"))
        .filter(entity::audit_event::Column::Action.eq("read"))
        .all(&app.db)
        .await
        .unwrap()
        .len();
    app.data_as(&staff, "{ actors { fullName email } }", json!({}))
        .await;
    let node = "query($id: ID!) { node(id: $id) { id } }";
    app.data_as(&staff, node, json!({ "id": actor })).await;
    let reads = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::RecordType.eq("Actor"))
        .filter(entity::audit_event::Column::Action.eq("read"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(reads.len(), before + 2);
    assert!(
        reads
            .iter()
            .all(|r| r.actor_role == "Coordinator" && r.outcome == "ALLOWED")
    );
}

#[tokio::test]
async fn an_actors_address_is_an_address_and_nothing_more() {
    let app = spawn_app().await;
    let staff = app.token(Role::Coordinator);
    let save = |email: &str| {
        json!({ "input": { "details": { "fullName": "Test Acteur", "email": email,
                                         "scenarios": [], "playableRoles": [] } } })
    };
    for email in ["\"x\" <x@example.invalid>, y@example.invalid", "geen adres"] {
        let refused = app.data_as(&staff, SAVE_ACTOR, save(email)).await;
        assert_eq!(
            refused["saveActor"]["userErrors"][0]["field"], "input.details.email",
            "{email}: {refused}"
        );
    }
    let saved = app
        .data_as(&staff, SAVE_ACTOR, save(" Acteur@Example.INVALID "))
        .await;
    assert_eq!(saved["saveActor"]["userErrors"], json!([]), "{saved}");
}
