use chrono::{Duration, Utc};
use entity::enums::{CourseStatus, EnrolmentStatus, SessionStatus};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde_json::{Value, json};

use crate::helpers::*;

const SESSIONS: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $filter: SessionFilter) {
    sessions(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id startsAt } }
    }
}"#;

fn ids(page: &Value) -> Vec<String> {
    page["sessions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Adds `n` sessions of the demo course; returns nothing: the tests read the order back.
async fn add_sessions(app: &TestApp, n: i64, same_start: bool) {
    let course = app.brochure_course().await;
    let start = Utc::now() + Duration::days(100);
    for i in 0..n {
        let starts_at = if same_start {
            start
        } else {
            start + Duration::days(i)
        };
        insert_session(&app.db, course.id, None, starts_at, 10).await;
    }
}

async fn walk_forward(app: &TestApp, size: i64) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    // Bounded, so a paging bug fails the test instead of hanging it.
    for _ in 0..100 {
        let page = app
            .data(SESSIONS, json!({ "first": size, "after": after }))
            .await;
        seen.extend(ids(&page));
        let info = &page["sessions"]["pageInfo"];
        if info["hasNextPage"] == false {
            return seen;
        }
        after = info["endCursor"].clone();
    }
    panic!("paging forward never ended: {seen:?}");
}

async fn walk_backward(app: &TestApp, size: i64) -> Vec<String> {
    let mut seen = Vec::new();
    let mut before = Value::Null;
    for _ in 0..100 {
        let page = app
            .data(SESSIONS, json!({ "last": size, "before": before }))
            .await;
        let mut batch = ids(&page);
        batch.append(&mut seen);
        seen = batch;
        let info = &page["sessions"]["pageInfo"];
        if info["hasPreviousPage"] == false {
            return seen;
        }
        before = info["startCursor"].clone();
    }
    panic!("paging backward never ended: {seen:?}");
}

#[tokio::test]
async fn sessions_page_forward_and_backward_in_the_same_order_without_gaps() {
    let app = spawn_app().await;
    add_sessions(&app, 22, false).await;
    let all = app.data(SESSIONS, json!({ "first": 100 })).await;
    let everything = ids(&all);
    assert_eq!(all["sessions"]["totalCount"], 25);
    assert_eq!(everything.len(), 25);
    let starts: Vec<_> = all["sessions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["startsAt"].clone())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort_by_key(|s| chrono::DateTime::parse_from_rfc3339(s.as_str().unwrap()).unwrap());
    assert_eq!(starts, sorted, "sessions are listed by start");

    assert_eq!(walk_forward(&app, 7).await, everything);
    assert_eq!(walk_backward(&app, 7).await, everything);
}

#[tokio::test]
async fn sessions_that_start_together_are_never_skipped_or_repeated() {
    let app = spawn_app().await;
    add_sessions(&app, 9, true).await;
    let everything = ids(&app.data(SESSIONS, json!({ "first": 100 })).await);

    let forward = walk_forward(&app, 2).await;

    assert_eq!(forward, everything);
    assert_eq!(walk_backward(&app, 4).await, everything);
}

#[tokio::test]
async fn a_page_has_twenty_items_unless_asked_otherwise() {
    let app = spawn_app().await;
    add_sessions(&app, 30, false).await;

    let page = app.data(SESSIONS, json!({})).await;

    assert_eq!(ids(&page).len(), 20);
    assert_eq!(page["sessions"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["sessions"]["pageInfo"]["hasPreviousPage"], false);
}

#[tokio::test]
async fn page_sizes_outside_zero_to_a_hundred_are_refused() {
    let app = spawn_app().await;

    for args in [
        json!({ "first": 101 }),
        json!({ "first": -1 }),
        json!({ "last": 101 }),
        json!({ "last": -3 }),
    ] {
        let body = app.graphql(SESSIONS, args.clone()).await;
        assert_eq!(error_code(&body), "INVALID_PAGE_SIZE", "{args}");
        let courses = app
            .graphql(
                "query($first: Int, $last: Int) { courses(first: $first, last: $last) { totalCount } }",
                args.clone(),
            )
            .await;
        assert_eq!(error_code(&courses), "INVALID_PAGE_SIZE", "{args}");
    }
    let empty = app.data(SESSIONS, json!({ "first": 0 })).await;
    assert_eq!(ids(&empty).len(), 0);
    let full = app.graphql(SESSIONS, json!({ "first": 100 })).await;
    assert!(full.get("errors").is_none());
}

#[tokio::test]
async fn a_bad_cursor_is_refused_with_a_code() {
    let app = spawn_app().await;
    let course_cursor = app
        .data("{ courses { edges { cursor } } }", json!({}))
        .await["courses"]["edges"][0]["cursor"]
        .clone();

    for cursor in [
        json!("garbage!"),
        json!(""),
        json!("c2Vzc2lvbjp4Onk"),
        course_cursor,
    ] {
        let body = app
            .graphql(SESSIONS, json!({ "first": 2, "after": cursor }))
            .await;
        assert_eq!(error_code(&body), "INVALID_CURSOR", "{cursor}");
        let body = app
            .graphql(SESSIONS, json!({ "last": 2, "before": cursor }))
            .await;
        assert_eq!(error_code(&body), "INVALID_CURSOR", "{cursor}");
    }
}

#[tokio::test]
async fn sessions_are_filtered_by_course_dates_status_and_free_seats() {
    let app = spawn_app().await;
    let brochure = app.brochure_course().await;
    let other = insert_course(
        &app.db,
        brochure.provider_id,
        CourseStatus::Published,
        "Ander thema",
    )
    .await;
    let start = Utc::now() + Duration::days(200);
    let full = insert_session(&app.db, other.id, None, start, 1).await;
    let open = insert_session(&app.db, other.id, None, start + Duration::days(10), 5).await;
    let cancelled = insert_session(&app.db, other.id, None, start + Duration::days(20), 5).await;
    let mut model = cancelled.clone().into_active_model();
    model.status = Set(SessionStatus::Cancelled);
    model.update(&app.db).await.unwrap();
    let participant = insert_participant(&app.db).await;
    insert_enrolment(&app.db, full.id, participant.id, EnrolmentStatus::Confirmed).await;
    let other_id = api::domain::ids::CourseId(other.id).to_global();
    let global = |id| api::domain::ids::SessionId(id).to_global();

    let of_course = app
        .data(SESSIONS, json!({ "filter": { "courseId": other_id } }))
        .await;
    let with_seats = app
        .data(
            SESSIONS,
            json!({ "filter": { "courseId": other_id, "hasSeatsLeft": true } }),
        )
        .await;
    let without_seats = app
        .data(
            SESSIONS,
            json!({ "filter": { "courseId": other_id, "hasSeatsLeft": false } }),
        )
        .await;
    let in_range = app
        .data(SESSIONS, json!({ "filter": { "startsFrom": start + Duration::days(5), "startsBefore": start + Duration::days(15) } }))
        .await;
    let cancelled_only = app
        .data(SESSIONS, json!({ "filter": { "status": ["CANCELLED"] } }))
        .await;
    let bad_course = app
        .graphql(SESSIONS, json!({ "filter": { "courseId": "nope" } }))
        .await;

    assert_eq!(
        ids(&of_course),
        [global(full.id), global(open.id), global(cancelled.id)]
    );
    assert_eq!(of_course["sessions"]["totalCount"], 3);
    assert_eq!(ids(&with_seats), [global(open.id), global(cancelled.id)]);
    assert_eq!(with_seats["sessions"]["totalCount"], 2);
    assert_eq!(ids(&without_seats), [global(full.id)]);
    assert_eq!(ids(&in_range), [global(open.id)]);
    assert_eq!(ids(&cancelled_only), [global(cancelled.id)]);
    assert_eq!(error_code(&bad_course), "INVALID_ID");
}

#[tokio::test]
async fn courses_are_filtered_by_status_theme_and_audience() {
    let app = spawn_app().await;
    let brochure = app.brochure_course().await;
    let draft = insert_course(
        &app.db,
        brochure.provider_id,
        CourseStatus::Draft,
        "Weerbaar Bestuur",
    )
    .await;
    let other = insert_course(
        &app.db,
        brochure.provider_id,
        CourseStatus::Published,
        "Ander thema",
    )
    .await;
    let query = r#"query($filter: CourseFilter) { courses(filter: $filter) { totalCount edges { node { slug } } } }"#;
    let slugs = |data: &Value| -> Vec<String> {
        data["courses"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["slug"].as_str().unwrap().to_owned())
            .collect()
    };

    let published = app.data(query, json!({})).await;
    // Drafts are for staff; to everyone else they do not exist.
    let drafts = app
        .data_as(
            &app.token(api::auth::Role::Coordinator),
            query,
            json!({ "filter": { "status": ["DRAFT"] } }),
        )
        .await;
    let hidden = app
        .data(
            query,
            json!({ "filter": { "status": ["DRAFT", "ARCHIVED"] } }),
        )
        .await;
    assert_eq!(hidden["courses"], json!({ "totalCount": 0, "edges": [] }));
    let theme = app
        .data(query, json!({ "filter": { "theme": "Weerbaar Bestuur" } }))
        .await;
    let for_mayors = app
        .data(query, json!({ "filter": { "audience": "MAYOR" } }))
        .await;

    let mut expected = vec![brochure.slug.clone(), other.slug.clone()];
    expected.sort();
    assert_eq!(slugs(&published), expected);
    assert_eq!(published["courses"]["totalCount"], 2);
    assert_eq!(slugs(&drafts), [draft.slug]);
    assert_eq!(slugs(&theme), std::slice::from_ref(&brochure.slug));
    assert_eq!(slugs(&for_mayors), [brochure.slug]);
}

#[tokio::test]
async fn a_course_lists_its_own_sessions_in_pages() {
    let app = spawn_app().await;
    add_sessions(&app, 4, false).await;
    let query = r#"query($after: String) { courses { edges { node {
        sessions(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
    } } } }"#;

    let first = app.data(query, json!({})).await;
    let sessions = &first["courses"]["edges"][0]["node"]["sessions"];
    let second = app
        .data(query, json!({ "after": sessions["pageInfo"]["endCursor"] }))
        .await;
    let rest = &second["courses"]["edges"][0]["node"]["sessions"];

    assert_eq!(sessions["totalCount"], 7);
    assert_eq!(sessions["edges"].as_array().unwrap().len(), 3);
    assert_eq!(sessions["pageInfo"]["hasNextPage"], true);
    assert_eq!(rest["edges"].as_array().unwrap().len(), 3);
    assert_ne!(sessions["edges"][0], rest["edges"][0]);
}
