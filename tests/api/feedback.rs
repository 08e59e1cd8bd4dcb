//! Feedback: from those who attended, once, within its period; published only with consent and
//! an administrator's approval, as "a participant" with at most the role.

use api::{auth::Role, domain::ids::SessionId};
use chrono::{Duration, Utc};
use entity::enums::{EnrolmentStatus, MachineRole};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::*;

const GIVE: &str = "mutation($input: GiveFeedbackInput!) { giveFeedback(input: $input) {
    userErrors { code field } feedback { id overallRating comment consentToPublish moderationStatus authorRole } } }";
const MODERATE: &str =
    "mutation($input: ModerateFeedbackInput!) { moderateFeedback(input: $input) {
    userErrors { code } feedback { moderationStatus } } }";
const WITHDRAW: &str = "mutation($input: WithdrawConsentInput!) { withdrawConsent(input: $input) {
    userErrors { code } feedback { consentToPublish } } }";
const TESTIMONIALS: &str =
    "query($slug: String!) { course(slug: $slug) { testimonials { quote attribution } } }";

fn errors(answer: &Value) -> Value {
    answer["giveFeedback"]["userErrors"].clone()
}

#[tokio::test]
async fn feedback_becomes_a_testimonial_only_with_consent_and_approval() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let session = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() - Duration::hours(8),
        10,
    )
    .await;
    let mayor = insert_participant(&app.db).await;
    insert_enrolment(&app.db, session.id, mayor.id, EnrolmentStatus::Attended).await;
    let token = app.participant_token(mayor.id);
    let quote = "Heel leerzaam, vooral de oefening met de acteur.";
    let input = |rating: i32| {
        json!({ "input": { "sessionId": SessionId(session.id).to_global(), "overallRating": rating,
                           "actorRating": 5, "comment": quote, "consentToPublish": true } })
    };
    let before =
        app.data(TESTIMONIALS, json!({ "slug": course.slug })).await["course"]["testimonials"]
            .as_array()
            .unwrap()
            .len();

    assert_eq!(
        errors(&app.data_as(&token, GIVE, input(6)).await),
        json!([{ "code": "RATING_OUT_OF_RANGE", "field": "input.overallRating" }])
    );
    let given = app.data_as(&token, GIVE, input(4)).await;
    assert_eq!(errors(&given), json!([]));
    let feedback = given["giveFeedback"]["feedback"].clone();
    assert_eq!(feedback["moderationStatus"], "PENDING");
    assert_eq!(feedback["authorRole"], "MAYOR");
    assert_eq!(
        errors(&app.data_as(&token, GIVE, input(4)).await)[0]["code"],
        "FEEDBACK_ALREADY_GIVEN"
    );

    // Not shown before an administrator approves it.
    let count = |data: Value| data["course"]["testimonials"].as_array().unwrap().len();
    assert_eq!(
        count(app.data(TESTIMONIALS, json!({ "slug": course.slug })).await),
        before
    );

    let admin = app.token(Role::Administrator);
    let waiting = app
        .data_as(
            &admin,
            "{ feedbackAwaitingModeration(first: 10) { pageInfo { hasNextPage } nodes { id comment } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        waiting["feedbackAwaitingModeration"]["nodes"],
        json!([{ "id": feedback["id"], "comment": quote }])
    );
    let approved = app
        .data_as(
            &admin,
            MODERATE,
            json!({ "input": { "feedbackId": feedback["id"], "decision": "APPROVE" } }),
        )
        .await;
    assert_eq!(
        approved["moderateFeedback"]["feedback"]["moderationStatus"],
        "APPROVED"
    );
    let published = app.data(TESTIMONIALS, json!({ "slug": course.slug })).await;
    let testimonials = published["course"]["testimonials"].as_array().unwrap();
    assert_eq!(testimonials.len(), before + 1);
    assert!(testimonials.contains(&json!({ "quote": quote, "attribution": "Een burgemeester" })));

    // Withdrawn consent: gone at once.
    let withdrawn = app
        .data_as(
            &token,
            WITHDRAW,
            json!({ "input": { "feedbackId": feedback["id"] } }),
        )
        .await;
    assert_eq!(
        withdrawn["withdrawConsent"]["feedback"]["consentToPublish"],
        false
    );
    assert_eq!(
        count(app.data(TESTIMONIALS, json!({ "slug": course.slug })).await),
        before
    );

    // What someone wrote is for its author and administrators only.
    let node = "query($id: ID!) { node(id: $id) { ... on Feedback { comment } } }";
    let coordinator = app
        .data_as(
            &app.token(Role::Coordinator),
            node,
            json!({ "id": feedback["id"] }),
        )
        .await;
    assert_eq!(coordinator["node"], Value::Null);
    let (_, sync) =
        api::db::api_key::create_api_key(&app.db, "Testkoppeling", MachineRole::SyncClient)
            .await
            .unwrap();
    assert_eq!(
        app.data_as(&sync, node, json!({ "id": feedback["id"] }))
            .await["node"],
        Value::Null
    );
    let own = app
        .data_as(&token, node, json!({ "id": feedback["id"] }))
        .await;
    assert_eq!(own["node"]["comment"], quote);
}

#[tokio::test]
async fn only_those_who_attended_give_feedback_and_only_in_its_period() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let recent = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() - Duration::hours(8),
        10,
    )
    .await;
    let long_ago = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() - Duration::days(45),
        10,
    )
    .await;
    let absent = insert_participant(&app.db).await;
    insert_enrolment(&app.db, recent.id, absent.id, EnrolmentStatus::NoShow).await;
    let late = insert_participant(&app.db).await;
    insert_enrolment(&app.db, long_ago.id, late.id, EnrolmentStatus::Attended).await;
    let input = |session: &entity::session::Model| json!({ "input": { "sessionId": SessionId(session.id).to_global(), "overallRating": 3 } });
    let not_attended = app
        .data_as(&app.participant_token(absent.id), GIVE, input(&recent))
        .await;
    assert_eq!(errors(&not_attended)[0]["code"], "NOT_ATTENDED");
    let closed = app
        .data_as(&app.participant_token(late.id), GIVE, input(&long_ago))
        .await;
    assert_eq!(errors(&closed)[0]["code"], "FEEDBACK_CLOSED");
    let staff = app
        .graphql_as(&app.token(Role::Coordinator), GIVE, input(&recent))
        .await;
    assert_eq!(error_code(&staff), "FORBIDDEN");
    assert!(
        entity::feedback::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .iter()
            .all(|f| f.session_id.is_none())
    );
}

#[tokio::test]
async fn feedback_awaiting_moderation_pages_oldest_first() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let session = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() - Duration::hours(8),
        10,
    )
    .await;
    let mut comments = Vec::new();
    for n in 0..3 {
        let person = insert_participant(&app.db).await;
        insert_enrolment(&app.db, session.id, person.id, EnrolmentStatus::Attended).await;
        let comment = format!("opmerking {n}");
        let given = app
            .data_as(
                &app.participant_token(person.id),
                GIVE,
                json!({ "input": { "sessionId": SessionId(session.id).to_global(), "overallRating": 4,
                                   "comment": comment, "consentToPublish": true } }),
            )
            .await;
        assert_eq!(errors(&given), json!([]));
        comments.push(comment);
    }
    let admin = app.token(Role::Administrator);
    let query = "query($after: String) { feedbackAwaitingModeration(first: 2, after: $after) {
        pageInfo { hasNextPage endCursor } nodes { comment } } }";
    let first = app.data_as(&admin, query, json!({})).await["feedbackAwaitingModeration"].clone();
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second = app
        .data_as(
            &admin,
            query,
            json!({ "after": first["pageInfo"]["endCursor"] }),
        )
        .await["feedbackAwaitingModeration"]
        .clone();
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    let seen: Vec<_> = first["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["nodes"].as_array().unwrap())
        .map(|n| n["comment"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, comments);
    let coordinator = app
        .graphql_as(&app.token(Role::Coordinator), query, json!({}))
        .await;
    assert_eq!(error_code(&coordinator), "FORBIDDEN");
}
