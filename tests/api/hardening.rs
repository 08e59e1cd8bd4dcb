//! What an attacker tries with the public endpoint and a key or token of their own: flooding the
//! audit trail, asking for much at no cost, smuggling characters, borrowing someone's
//! idempotency key, telling hidden records from missing ones, and reading the service's files.

use api::{
    auth::Role,
    domain::ids::{ParticipantId, SessionId},
};
use entity::{audit_event, enums::MachineRole};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    booking::{BOOK, bookable_session, global_session},
    helpers::*,
};

async fn audit_rows(app: &TestApp, actor: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Actor.eq(actor))
        .all(&app.db)
        .await
        .unwrap()
}

fn aliased_nodes(ids: &[String], aliases: usize) -> String {
    let list = serde_json::to_string(ids).unwrap();
    (0..aliases)
        .map(|n| format!("a{n}: nodes(ids: {list}) {{ __typename }}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn made_up_ids_are_counted_on_the_audit_trail_not_listed() {
    let app = spawn_app().await;
    let (key, plain) =
        api::db::api_key::create_api_key(&app.db, "Testdashboard", MachineRole::ReportingClient)
            .await
            .unwrap();
    let ids: Vec<String> = (0..100)
        .map(|_| ParticipantId(Uuid::new_v4()).to_global())
        .collect();
    let query = format!("{{ {} }}", aliased_nodes(&ids, 10));
    let body = app.graphql_as(&plain, &query, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");

    let rows = audit_rows(&app, &format!("api-key:{}", key.id)).await;
    assert_eq!(
        rows.len(),
        1,
        "one row for a thousand refused reads: {rows:?}"
    );
    assert_eq!(rows[0].outcome, "REFUSED");
    assert_eq!(rows[0].record_ids, "[]", "made-up ids are not listed");
    let details: Value = serde_json::from_str(rows[0].details.as_deref().unwrap()).unwrap();
    assert_eq!(details["unknownIds"], 1000);

    // Administrators see the count.
    let trail = app
        .data_as(
            &app.token(Role::Administrator),
            "{ auditEvents(first: 5, filter: { recordType: \"Participant\" }) { edges { node { details recordIds } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        trail["auditEvents"]["edges"][0]["node"]["details"]["unknownIds"],
        1000
    );

    // Made-up enrolments and feedback are counted the same way.
    let others: Vec<String> = (0..40)
        .map(|n| match n % 2 {
            0 => api::domain::ids::EnrolmentId(Uuid::new_v4()).to_global(),
            _ => api::domain::ids::FeedbackId(Uuid::new_v4()).to_global(),
        })
        .collect();
    let query = format!("{{ {} }}", aliased_nodes(&others, 1));
    let body = app.graphql_as(&plain, &query, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let rows = audit_rows(&app, &format!("api-key:{}", key.id)).await;
    for record_type in ["Enrolment", "Feedback"] {
        let row = rows
            .iter()
            .find(|row| row.record_type == record_type)
            .unwrap_or_else(|| panic!("no row for {record_type}: {rows:?}"));
        assert_eq!(row.record_ids, "[]");
        let details: Value = serde_json::from_str(row.details.as_deref().unwrap()).unwrap();
        assert_eq!(details["unknownIds"], 20, "{record_type}");
    }
}

#[tokio::test]
async fn a_large_staff_read_is_audited_in_few_rows_and_answered() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids.push(ParticipantId(insert_participant(&app.db).await.id).to_global());
    }
    let query = format!(
        "{{ {} }}",
        aliased_nodes(&ids, 10).replace("__typename", "__typename ... on Participant { email }")
    );
    let coordinator = app
        .jwt
        .issue("coordinator-big-read", Role::Coordinator, None, 600)
        .unwrap();
    let body = app.graphql_as(&coordinator, &query, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["a9"].as_array().unwrap().len(), 100);
    let rows = audit_rows(&app, "coordinator-big-read").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let listed: Vec<Uuid> = serde_json::from_str(&rows[0].record_ids).unwrap();
    assert_eq!(listed.len(), 100, "each record once");
}

#[tokio::test]
async fn every_id_asked_for_costs_at_least_one() {
    let app = spawn_app().await;
    let ids: Vec<String> = (0..100)
        .map(|_| SessionId(Uuid::new_v4()).to_global())
        .collect();
    let body = app
        .graphql(&format!("{{ {} }}", aliased_nodes(&ids, 1)), json!({}))
        .await;
    assert!(
        body["extensions"]["cost"]["requested"].as_u64().unwrap() >= 100,
        "{}",
        body["extensions"]
    );
    let costly = app
        .graphql(&format!("{{ {} }}", aliased_nodes(&ids, 10)), json!({}))
        .await;
    assert!(
        costly["extensions"]["cost"]["requested"].as_u64().unwrap() >= 1000,
        "{}",
        costly["extensions"]
    );
}

fn new_participant(name: &str, email: &str) -> Value {
    json!({ "fullName": name, "email": email, "role": "MAYOR" })
}

async fn book_new(app: &TestApp, token: &str, session: &str, person: Value, extra: Value) -> Value {
    let mut input = json!({ "sessionId": session, "newParticipant": person });
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    let body = app.graphql_as(token, BOOK, json!({ "input": input })).await;
    body["data"]["bookSeat"].clone()
}

#[tokio::test]
async fn names_and_addresses_refuse_invisible_and_direction_characters() {
    let app = spawn_app().await;
    let session = global_session(&bookable_session(&app, 10).await);
    let staff = app.token(Role::Coordinator);
    for (name, email) in [
        ("Jan\u{202E}seirV", "jan.a@example.nl"),
        ("Jan\u{200B}de Vries", "jan.b@example.nl"),
        ("Jan de Vries", "jan\u{200D}.c@example.nl"),
        ("Jan de Vries", "jan.d@exam\u{2066}ple.nl"),
    ] {
        let answer = book_new(
            &app,
            &staff,
            &session,
            new_participant(name, email),
            json!({}),
        )
        .await;
        assert_eq!(
            answer["userErrors"][0]["code"], "BAD_USER_INPUT",
            "{name:?} {email:?}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_look_alike_of_an_existing_address_is_refused_unless_staff_accept_it() {
    let app = spawn_app().await;
    let session = global_session(&bookable_session(&app, 10).await);
    let staff = app.token(Role::Coordinator);
    let first = book_new(
        &app,
        &staff,
        &session,
        new_participant("Eerste Deelnemer", "jan.de.vries@example.nl"),
        json!({}),
    )
    .await;
    assert_eq!(first["userErrors"], json!([]), "{first}");

    // The same address in another spelling is the same address.
    let again = book_new(
        &app,
        &staff,
        &session,
        new_participant("Tweede Deelnemer", "JAN.DE.VRIES@EXAMPLE.NL"),
        json!({}),
    )
    .await;
    assert_eq!(
        again["userErrors"][0]["code"], "PARTICIPANT_EXISTS",
        "{again}"
    );

    // A Cyrillic "а" looks the same and is another address.
    let look_alike = new_participant("Tweede Deelnemer", "j\u{0430}n.de.vries@example.nl");
    let refused = book_new(&app, &staff, &session, look_alike.clone(), json!({})).await;
    assert_eq!(
        refused["userErrors"][0]["code"], "EMAIL_CONFUSABLE",
        "{refused}"
    );
    assert_eq!(
        refused["userErrors"][0]["field"],
        "input.newParticipant.email"
    );

    let (_, sync_key) =
        api::db::api_key::create_api_key(&app.db, "Testkoppeling", MachineRole::SyncClient)
            .await
            .unwrap();
    let mut allowed = look_alike.clone();
    allowed["allowConfusable"] = json!(true);
    let machine = app
        .graphql_as(
            &sync_key,
            BOOK,
            json!({ "input": { "sessionId": session, "newParticipant": allowed.clone(), "reason": "klopt" } }),
        )
        .await;
    assert_eq!(
        error_code(&machine),
        "FORBIDDEN",
        "only staff accept a look-alike"
    );

    let without_reason = book_new(&app, &staff, &session, allowed.clone(), json!({})).await;
    assert_eq!(without_reason["userErrors"][0]["code"], "REASON_REQUIRED");
    let accepted = book_new(
        &app,
        &staff,
        &session,
        allowed,
        json!({ "reason": "andere persoon, adres nagevraagd" }),
    )
    .await;
    assert_eq!(accepted["userErrors"], json!([]), "{accepted}");
    assert_eq!(accepted["status"], "CONFIRMED");
}

#[tokio::test]
async fn an_idempotency_key_belongs_to_one_caller_and_one_operation() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let first = insert_participant(&app.db).await;
    let second = insert_participant(&app.db).await;
    // Two participants whose identity provider gave them one subject.
    let token = |id: Uuid| {
        app.jwt
            .issue("dev-user", Role::Participant, Some(id), 600)
            .unwrap()
    };
    let book = |id: Uuid| {
        let token = token(id);
        let app = &app;
        let session = global_session(&session);
        async move {
            app.data_as(
                &token,
                BOOK,
                json!({ "input": { "sessionId": session, "idempotencyKey": "sleutel-1" } }),
            )
            .await["bookSeat"]
                .clone()
        }
    };
    let theirs = book(first.id).await;
    let mine = book(second.id).await;
    assert_eq!(theirs["status"], "CONFIRMED");
    assert_eq!(mine["status"], "CONFIRMED");
    assert_eq!(
        mine["replayed"], false,
        "a seat of its own, not another's answer"
    );
    assert_ne!(mine["enrolment"]["id"], theirs["enrolment"]["id"]);

    // The same key for another operation is another key.
    let cancelled = app
        .data_as(
            &token(first.id),
            "mutation($id: ID!) { cancelEnrolment(input: { enrolmentId: $id, idempotencyKey: \"sleutel-1\" }) { replayed userErrors { code } } }",
            json!({ "id": theirs["enrolment"]["id"] }),
        )
        .await;
    assert_eq!(
        cancelled["cancelEnrolment"],
        json!({ "replayed": false, "userErrors": [] })
    );
}

#[tokio::test]
async fn feedback_on_a_hidden_session_answers_as_for_an_unknown_one() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let draft = insert_course(
        &app.db,
        course.provider_id,
        entity::enums::CourseStatus::Draft,
        "Test",
    )
    .await;
    let hidden = insert_session(&app.db, draft.id, None, chrono::Utc::now(), 5).await;
    let participant = insert_participant(&app.db).await;
    let give = |session: String| {
        let app = &app;
        let token = app.participant_token(participant.id);
        async move {
            app.data_as(
                &token,
                "mutation($input: GiveFeedbackInput!) { giveFeedback(input: $input) { userErrors { code message field } } }",
                json!({ "input": { "sessionId": session, "overallRating": 5 } }),
            )
            .await["giveFeedback"]["userErrors"]
                .clone()
        }
    };
    let for_hidden = give(SessionId(hidden.id).to_global()).await;
    let for_unknown = give(SessionId(Uuid::new_v4()).to_global()).await;
    assert_eq!(for_hidden[0]["code"], "NOT_FOUND", "{for_hidden}");
    assert_eq!(for_hidden, for_unknown);
}

#[tokio::test]
async fn a_record_has_one_spelling_of_its_id() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 5).await;
    let canonical = SessionId(session.id).to_global();
    let found = app
        .data(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": canonical }),
        )
        .await;
    assert_eq!(found["node"]["id"], canonical);
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for spelling in [
        session.id.simple().to_string(),
        session.id.hyphenated().to_string().to_uppercase(),
        session.id.braced().to_string(),
    ] {
        let id = engine.encode(format!("Session:{spelling}"));
        let body = app
            .graphql(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&body), "INVALID_ID", "{spelling}");
    }
}

#[tokio::test]
async fn every_error_carries_a_code() {
    let app = spawn_app().await;
    let two_operations = app
        .graphql(
            "query A { courses { totalCount } } query B { sessions { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&two_operations),
        "BAD_REQUEST",
        "{two_operations}"
    );
    let unknown_operation = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "query A { courses { totalCount } }", "operationName": "B" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        error_code(&unknown_operation),
        "BAD_REQUEST",
        "{unknown_operation}"
    );
    let bad_scalar = app
        .graphql(
            "query($from: DateTime!) { sessions(filter: { startsFrom: $from }) { totalCount } }",
            json!({ "from": "gisteren" }),
        )
        .await;
    assert!(
        bad_scalar["errors"][0]["extensions"]["code"].is_string(),
        "{bad_scalar}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_folder_are_the_services_alone() {
    use std::os::unix::fs::PermissionsExt;

    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("nieuw");
    let url = format!("sqlite://{}/training.db?mode=rwc", data.display());
    let database = TestDatabase::Sqlite {
        url: url.clone(),
        _folder: tempfile::tempdir().unwrap(),
    };
    let mut settings = api::Settings::for_database(&url);
    settings.auth.data_dir = data.join("eigen");
    settings.auth.jwt_secret = None;
    let app = start(settings, database).await;
    app.data("{ courses { totalCount } }", json!({})).await;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap()
    };
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("training.db")), 0o600);
    assert_eq!(mode(&data.join("eigen")), 0o700);
    assert_eq!(mode(&data.join("eigen").join("dev-jwt-secret")), 0o600);
}

#[tokio::test]
async fn a_nul_character_is_refused_on_either_database() {
    let app = spawn_app().await;
    let admin = app.token(Role::Administrator);
    // PostgreSQL cannot compare text holding NUL; the lookup must not become an internal error.
    for (query, variables, field) in [
        (r#"{ course(slug: "a\u0000b") { id } }"#, json!({}), "slug"),
        (
            "query($id: String!) { participant(externalId: $id, source: null) { id } }",
            json!({ "id": "x\u{0}" }),
            "id",
        ),
    ] {
        let body = app.graphql_as(&admin, query, variables).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
        assert!(body["data"].is_null(), "{body}");
    }
}
