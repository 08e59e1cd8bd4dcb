//! Who may see what: each role against each sensitive field, through direct fields, `node`,
//! `nodes` and nested paths. A refused record looks like one that does not exist.

use api::{
    auth::Role,
    domain::ids::{EnrolmentId, ParticipantId, SessionId},
};
use chrono::{Duration, Utc};
use entity::enums::{EnrolmentStatus, MachineRole};
use sea_orm::ActiveModelTrait;
use serde_json::{Value, json};

use crate::helpers::*;

struct World {
    app: TestApp,
    session: String,
    alice: String,
    alice_enrolment: String,
    bob_enrolment: String,
    /// Credentials by role name, None for anonymous.
    callers: Vec<(&'static str, Option<String>)>,
}

async fn world() -> World {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let session = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() + Duration::days(20),
        10,
    )
    .await;
    let alice = insert_participant(&app.db).await;
    let bob = insert_participant(&app.db).await;
    let outsider = insert_participant(&app.db).await;
    let alice_enrolment =
        insert_enrolment(&app.db, session.id, alice.id, EnrolmentStatus::Confirmed).await;
    let bob_enrolment =
        insert_enrolment(&app.db, session.id, bob.id, EnrolmentStatus::Waitlisted).await;
    let (_, sync) =
        api::db::api_key::create_api_key(&app.db, "Testkoppeling", MachineRole::SyncClient)
            .await
            .unwrap();
    let (_, report) =
        api::db::api_key::create_api_key(&app.db, "Testdashboard", MachineRole::ReportingClient)
            .await
            .unwrap();
    let callers = vec![
        ("anonymous", None),
        (
            "alice",
            Some(
                app.jwt
                    .issue("alice", Role::Participant, Some(alice.id), 600)
                    .unwrap(),
            ),
        ),
        (
            "outsider",
            Some(
                app.jwt
                    .issue("outsider", Role::Participant, Some(outsider.id), 600)
                    .unwrap(),
            ),
        ),
        ("coordinator", Some(app.token(Role::Coordinator))),
        ("administrator", Some(app.token(Role::Administrator))),
        ("sync", Some(sync)),
        ("reporting", Some(report)),
    ];
    World {
        session: SessionId(session.id).to_global(),
        alice: ParticipantId(alice.id).to_global(),
        alice_enrolment: EnrolmentId(alice_enrolment.id).to_global(),
        bob_enrolment: EnrolmentId(bob_enrolment.id).to_global(),
        callers,
        app,
    }
}

async fn ask(world: &World, credential: &Option<String>, query: &str, variables: Value) -> Value {
    let mut request = world
        .app
        .client
        .post(world.app.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(credential) = credential {
        request = request.bearer_auth(credential);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn who_attends_a_session_is_for_staff_and_sync_clients_only() {
    let world = world().await;
    let query = "query($id: ID!) { session(id: $id) { capacity enrolments { status participant { fullName } } } }";
    let expected = [
        ("anonymous", Some("UNAUTHENTICATED")),
        ("alice", Some("FORBIDDEN")),
        ("outsider", Some("FORBIDDEN")),
        ("coordinator", None),
        ("administrator", None),
        ("sync", None),
        ("reporting", Some("FORBIDDEN")),
    ];

    for ((name, credential), (role, refusal)) in world.callers.iter().zip(expected) {
        assert_eq!(*name, role);
        let body = ask(&world, credential, query, json!({ "id": world.session })).await;
        assert_eq!(
            body["data"]["session"]["capacity"], 10,
            "{name}: the public part is still there"
        );
        match refusal {
            Some(code) => {
                assert_eq!(error_code(&body), code, "{name}");
                let session = body["data"]["session"].as_object().unwrap();
                assert_eq!(
                    session.get("enrolments"),
                    Some(&Value::Null),
                    "{name}: present and null"
                );
                assert_eq!(
                    body["errors"][0]["path"],
                    json!(["session", "enrolments"]),
                    "{name}"
                );
            }
            None => {
                let enrolments = body["data"]["session"]["enrolments"].as_array().unwrap();
                assert_eq!(enrolments.len(), 2, "{name}");
                assert!(
                    enrolments[0]["participant"]["fullName"]
                        .as_str()
                        .unwrap()
                        .starts_with("Test"),
                    "{name}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_participant_is_seen_by_themselves_staff_and_sync_only_also_through_node() {
    let world = world().await;
    let query = "query($id: ID!) { node(id: $id) { ... on Participant { fullName email } } }";
    let visible = [
        ("anonymous", false),
        ("alice", true),
        ("outsider", false),
        ("coordinator", true),
        ("administrator", true),
        ("sync", true),
        ("reporting", false),
    ];

    for ((name, credential), (_, allowed)) in world.callers.iter().zip(visible) {
        let body = ask(&world, credential, query, json!({ "id": world.alice })).await;
        assert!(
            body.get("errors").is_none(),
            "{name}: a refusal looks like nothing there: {body}"
        );
        assert_eq!(body["data"]["node"].is_object(), allowed, "{name}: {body}");
        if !allowed {
            assert_eq!(body["data"]["node"], Value::Null, "{name}");
        }
    }
}

#[tokio::test]
async fn a_participant_sees_their_own_enrolment_and_not_anothers_through_nodes() {
    let world = world().await;
    let alice = &world.callers[1].1;
    let query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Enrolment { status } } }";

    let body = ask(
        &world,
        alice,
        query,
        json!({ "ids": [world.alice_enrolment, world.bob_enrolment] }),
    )
    .await;

    assert_eq!(
        body["data"]["nodes"],
        json!([{ "status": "CONFIRMED" }, null])
    );
}

#[tokio::test]
async fn me_is_the_callers_own_record_and_nesting_does_not_reach_other_attendees() {
    let world = world().await;
    let query = "{ me { fullName enrolments { status session { capacity enrolments { participant { fullName } } } } } }";

    for (name, credential) in &world.callers {
        let body = ask(&world, credential, query, json!({})).await;
        if *name == "alice" {
            let me = &body["data"]["me"];
            assert!(me["fullName"].as_str().unwrap().starts_with("Test"));
            assert_eq!(me["enrolments"][0]["status"], "CONFIRMED");
            assert_eq!(me["enrolments"][0]["session"]["capacity"], 10);
            assert_eq!(me["enrolments"][0]["session"]["enrolments"], Value::Null);
            assert_eq!(error_code(&body), "FORBIDDEN");
        } else if *name == "outsider" {
            assert_eq!(body["data"]["me"]["enrolments"], json!([]), "{name}");
        } else {
            assert_eq!(body["data"]["me"], Value::Null, "{name}");
        }
    }
}

const AUDIT: &str = "{ auditEvents(first: 50) { edges { node { actor actorRole action recordType recordIds outcome } } } }";

fn audit_events(body: &Value) -> Vec<Value> {
    body["data"]["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn staff_and_machine_reads_of_personal_data_are_on_the_audit_trail() {
    let world = world().await;
    let administrator = &world.callers[4].1;
    let enrolments =
        "query($id: ID!) { session(id: $id) { enrolments { participant { fullName } } } }";
    let coordinator = &world.callers[3].1;
    let reporting = &world.callers[6].1;
    let alice = &world.callers[1].1;
    ask(
        &world,
        coordinator,
        enrolments,
        json!({ "id": world.session }),
    )
    .await;
    ask(
        &world,
        reporting,
        enrolments,
        json!({ "id": world.session }),
    )
    .await;
    ask(
        &world,
        alice,
        "{ me { fullName enrolments { status } } }",
        json!({}),
    )
    .await;

    let trail = audit_events(&ask(&world, administrator, AUDIT, json!({})).await);

    let by = |role: &str, record_type: &str| -> Vec<&Value> {
        trail
            .iter()
            .filter(|e| e["actorRole"] == role && e["recordType"] == record_type)
            .collect()
    };
    let read = by("Coordinator", "Enrolment");
    assert_eq!(read.len(), 1, "{trail:?}");
    assert_eq!(read[0]["outcome"], "ALLOWED");
    assert_eq!(read[0]["recordIds"].as_array().unwrap().len(), 2);
    assert_eq!(read[0]["actor"], "test-subject");
    let participants = by("Coordinator", "Participant");
    assert_eq!(participants.len(), 1, "one row for the request's reads");
    assert_eq!(
        participants[0]["recordIds"].as_array().unwrap().len(),
        2,
        "each participant read is noted"
    );
    let refused = by("ReportingClient", "Session.enrolments");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["outcome"], "REFUSED");
    assert!(
        trail.iter().all(|e| e["actorRole"] != "Participant"),
        "a participant's own reads are not audited"
    );
    for event in &trail {
        let text = event.to_string();
        assert!(
            !text.contains("Test deelnemer"),
            "no names on the trail: {text}"
        );
    }
}

#[tokio::test]
async fn only_administrators_read_the_audit_trail() {
    let world = world().await;

    for (name, credential) in &world.callers {
        let body = ask(&world, credential, AUDIT, json!({})).await;
        match *name {
            "administrator" => assert!(body.get("errors").is_none(), "{body}"),
            "anonymous" => assert_eq!(error_code(&body), "UNAUTHENTICATED"),
            _ => assert_eq!(error_code(&body), "FORBIDDEN", "{name}"),
        }
    }
}

#[tokio::test]
async fn a_reporting_key_reads_aggregates_and_nothing_about_a_person() {
    let world = world().await;
    let reporting = &world.callers[6];
    assert_eq!(reporting.0, "reporting");
    let credential = &reporting.1;
    // Alice is known to a source system, so looking her up would find her.
    let alice = ParticipantId::from_global(&world.alice, "id").unwrap();
    entity::external_id::ActiveModel {
        id: sea_orm::ActiveValue::Set(uuid::Uuid::new_v4()),
        source: sea_orm::ActiveValue::Set("gemeente-test".into()),
        record_type: sea_orm::ActiveValue::Set("PARTICIPANT".into()),
        external_id: sea_orm::ActiveValue::Set("p-1".into()),
        record_id: sea_orm::ActiveValue::Set(alice.0),
        created_at: sea_orm::ActiveValue::Set(Utc::now()),
    }
    .insert(&world.app.db)
    .await
    .unwrap();
    let refused = [
        "{ actors { fullName } }",
        "{ auditEvents(first: 5) { edges { node { actor } } } }",
        "{ feedbackAwaitingModeration(first: 5) { edges { node { comment } } } }",
        "{ outboxEvents(first: 5) { edges { node { id } } } }",
        "{ enrolmentChanges(first: 5) { edges { node { enrolmentId } } } }",
        "{ enrolmentSnapshot(first: 5) { edges { node { id } } } }",
        r#"{ participant(externalId: "p-1", source: "gemeente-test") { fullName } }"#,
        "{ webhookEndpoints { url } }",
    ];
    for query in refused {
        let body = ask(&world, credential, query, json!({})).await;
        // Refused outright, or answered as if there were nothing (a refused record looks like
        // one that does not exist).
        let refused = body["errors"]
            .as_array()
            .and_then(|errors| errors.first())
            .is_some_and(|e| e["extensions"]["code"] == "FORBIDDEN");
        let nothing = body["data"]
            .as_object()
            .is_some_and(|data| data.values().all(Value::is_null));
        assert!(refused || nothing, "{query}: {body}");
        assert!(!body.to_string().contains("Test "), "no name: {body}");
    }
    // The lookup itself works: an administrator finds her.
    let administrator = &world.callers[4];
    let body = ask(
        &world,
        &administrator.1,
        r#"{ participant(externalId: "p-1", source: "gemeente-test") { fullName } }"#,
        json!({}),
    )
    .await;
    assert!(
        body["data"]["participant"]["fullName"].is_string(),
        "{body}"
    );
    // Nor through a record's global id.
    let ids = json!({ "ids": [world.alice, world.alice_enrolment] });
    let body = ask(
        &world,
        credential,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        ids,
    )
    .await;
    assert_eq!(body["data"]["nodes"], json!([null, null]), "{body}");
    // What it is for: aggregates.
    let body = ask(
        &world,
        credential,
        r#"{ report(input: { measure: ENROLMENTS, period: { unit: YEAR, from: "2026-01-01", to: "2027-12-31" } }) { cells { value status } } }"#,
        json!({}),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
}
