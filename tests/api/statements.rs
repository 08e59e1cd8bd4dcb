//! The number of SQL statements a query runs does not grow with the number of items it returns.

use chrono::{Duration, Utc};
use entity::enums::{CourseStatus, EnrolmentStatus};
use serde_json::json;

use crate::helpers::*;

/// 60 sessions over two courses and three locations, some with enrolments.
async fn arrange(app: &TestApp) {
    let brochure = app.brochure_course().await;
    let other = insert_course(
        &app.db,
        brochure.provider_id,
        CourseStatus::Published,
        "Ander thema",
    )
    .await;
    let mut locations = Vec::new();
    for city in ["Den Haag", "Utrecht", "Zwolle"] {
        locations.push(insert_location(&app.db, city).await.id);
    }
    let participant = insert_participant(&app.db).await;
    for i in 0..60 {
        let course = if i % 2 == 0 { brochure.id } else { other.id };
        let start = Utc::now() + Duration::days(i + 1);
        let session =
            insert_session(&app.db, course, Some(locations[i as usize % 3]), start, 10).await;
        if i % 5 == 0 {
            insert_enrolment(
                &app.db,
                session.id,
                participant.id,
                EnrolmentStatus::Confirmed,
            )
            .await;
        }
    }
}

/// Anonymous answers would come from the response cache after the first run, at one statement:
/// these tests count what computing them costs.
async fn uncached_app() -> TestApp {
    spawn_app_with(|settings| settings.response_cache_max_bytes = 0).await
}

/// The fewest statements the query took in five runs. A DataLoader gathers keys for a
/// millisecond before it queries; on a starved CPU a batch can now and then split in two, which
/// costs one statement more and says nothing about N+1 (that would cost one per item).
async fn statements_for(app: &TestApp, query: &str, size: i64) -> (u64, serde_json::Value) {
    let mut fewest = u64::MAX;
    let mut data = serde_json::Value::Null;
    for _ in 0..5 {
        let before = app.statements().await;
        data = app.data(query, json!({ "n": size })).await;
        fewest = fewest.min(app.statements().await - before);
    }
    (fewest, data)
}

#[tokio::test]
async fn sessions_with_course_location_and_seats_cost_the_same_for_5_and_50() {
    let app = uncached_app().await;
    arrange(&app).await;
    let query = r#"query($n: Int!) { sessions(first: $n) { totalCount edges { node {
        id seatsTaken seatsLeft waitingListLength
        course { title provider { name } }
        location { name city }
    } } } }"#;

    let (small, five) = statements_for(&app, query, 5).await;
    let (large, fifty) = statements_for(&app, query, 50).await;

    assert_eq!(five["sessions"]["edges"].as_array().unwrap().len(), 5);
    assert_eq!(fifty["sessions"]["edges"].as_array().unwrap().len(), 50);
    assert!(small > 0, "the statement counter counts");
    assert_eq!(small, large, "statements for 5 sessions vs 50");
}

#[tokio::test]
async fn courses_with_their_programme_and_sessions_cost_the_same_for_5_and_50_sessions() {
    let app = uncached_app().await;
    arrange(&app).await;
    let query = r#"query($n: Int!) { courses(first: 10) { totalCount edges { node {
        title goals audienceRoles alumniCount testimonials { quote } provider { name } sponsor { name }
        modules { title topics children { title topics } }
        sessions(first: $n) { totalCount edges { node { id seatsLeft location { city } } } }
    } } } }"#;

    let (small, five) = statements_for(&app, query, 5).await;
    let (large, fifty) = statements_for(&app, query, 50).await;

    let sessions = |data: &serde_json::Value| -> usize {
        data["courses"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["node"]["sessions"]["edges"].as_array().unwrap().len())
            .sum()
    };
    assert_eq!(five["courses"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(sessions(&five), 10);
    assert_eq!(
        sessions(&fifty),
        63,
        "30 + 3 demo sessions of one course, 30 of the other"
    );
    assert_eq!(small, large, "statements for 5 sessions a course vs 50");
}

#[tokio::test]
async fn the_sessions_of_many_courses_cost_what_those_of_two_cost() {
    let app = uncached_app().await;
    arrange(&app).await;
    let provider = app.brochure_course().await.provider_id;
    for n in 0..8 {
        let course = insert_course(
            &app.db,
            provider,
            CourseStatus::Published,
            &format!("Thema {n}"),
        )
        .await;
        insert_session(
            &app.db,
            course.id,
            None,
            Utc::now() + Duration::days(n + 3),
            10,
        )
        .await;
    }
    let query = r#"query($n: Int!) { courses(first: $n) { edges { node {
        title sessions(first: 5) { totalCount edges { node { id seatsLeft } } }
    } } } }"#;

    let (two, _) = statements_for(&app, query, 2).await;
    let (ten, data) = statements_for(&app, query, 10).await;

    assert_eq!(data["courses"]["edges"].as_array().unwrap().len(), 10);
    assert_eq!(two, ten, "statements for the sessions of 2 courses vs 10");
}

/// The fewest statements a staff query took in five runs (its audit row included).
async fn staff_statements_for(app: &TestApp, query: &str, variables: serde_json::Value) -> u64 {
    let staff = app.token(api::auth::Role::Coordinator);
    let mut fewest = u64::MAX;
    for _ in 0..5 {
        let before = app.statements().await;
        app.data_as(&staff, query, variables.clone()).await;
        fewest = fewest.min(app.statements().await - before);
    }
    fewest
}

#[tokio::test]
async fn id_lookups_cost_the_same_for_one_id_and_for_many() {
    use api::domain::ids::{FeedbackId, SessionId};
    use entity::session;
    use sea_orm::EntityTrait;

    let app = uncached_app().await;
    arrange(&app).await;
    let sessions: Vec<String> = session::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| SessionId(s.id).to_global())
        .collect();
    let feedback = |n: usize| -> Vec<String> {
        (0..n)
            .map(|_| FeedbackId(uuid::Uuid::new_v4()).to_global())
            .collect()
    };
    let nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    let one = staff_statements_for(&app, nodes, json!({ "ids": [sessions[0]] })).await;
    let many = staff_statements_for(&app, nodes, json!({ "ids": sessions[..50] })).await;
    assert_eq!(one, many, "nodes: 1 session vs 50");
    let one = staff_statements_for(&app, nodes, json!({ "ids": feedback(1) })).await;
    let many = staff_statements_for(&app, nodes, json!({ "ids": feedback(80) })).await;
    assert_eq!(one, many, "nodes: 1 feedback id vs 80");

    let aliased = |n: usize| -> String {
        let fields: String = (0..n)
            .map(|i| format!("s{i}: session(id: \"{}\") {{ id }} ", sessions[i]))
            .collect();
        format!("{{ {fields} }}")
    };
    let one = staff_statements_for(&app, &aliased(1), json!({})).await;
    let many = staff_statements_for(&app, &aliased(10), json!({})).await;
    assert_eq!(one, many, "session(id:): 1 alias vs 10");
}
