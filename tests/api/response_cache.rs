//! The response cache for anonymous reads: a GET carries a tag and is answered 304 while
//! nothing it shows has changed; an answer that depends on the clock is not kept past the
//! instant it changes; the cache keeps within its bound of memory; answers for callers with
//! credentials are never kept. (Two processes: see `processes`.)

use api::auth::Role;
use chrono::{Duration, Utc};
use entity::enums::EnrolmentStatus;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde_json::json;

use crate::{
    booking::{bookable_session, global_session},
    helpers::*,
};

const SEATS: &str =
    "query($id: ID!) { node(id: $id) { ... on Session { seatsLeft acceptingBookings } } }";

async fn get(app: &TestApp, variables: &str, tag: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", SEATS), ("variables", variables)]);
    if let Some(tag) = tag {
        request = request.header("If-None-Match", tag);
    }
    request.send().await.unwrap()
}

fn tag_of(response: &reqwest::Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_get_is_answered_304_until_what_it_shows_changes() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let variables = json!({ "id": global_session(&session) }).to_string();

    let first = get(&app, &variables, None).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let tag = tag_of(&first);
    let again = get(&app, &variables, Some(&tag)).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.text().await.unwrap(), "");

    let person = insert_participant(&app.db).await;
    insert_enrolment(&app.db, session.id, person.id, EnrolmentStatus::Confirmed).await;
    let changed = get(&app, &variables, Some(&tag)).await;
    assert_eq!(changed.status(), 200, "a stale 304");
    assert_ne!(tag_of(&changed), tag);
    let body: serde_json::Value = changed.json().await.unwrap();
    assert_eq!(body["data"]["node"]["seatsLeft"], 9);

    // A caller with credentials gets neither a tag nor a kept answer.
    let staff = app
        .client
        .get(app.url("/graphql"))
        .bearer_auth(app.token(Role::Coordinator))
        .query(&[("query", SEATS), ("variables", variables.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(staff.headers()["cache-control"], "no-store");
    assert!(staff.headers().get("etag").is_none());
}

#[tokio::test]
async fn an_answer_that_depends_on_the_clock_is_not_kept_past_its_instant() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let closes = Utc::now() + Duration::milliseconds(1500);
    let mut closing = session.clone().into_active_model();
    closing.booking_closes_at = Set(Some(closes));
    closing.update(&app.db).await.unwrap();
    let variables = json!({ "id": global_session(&session) });

    let open = app.data(SEATS, variables.clone()).await;
    assert_eq!(open["node"]["acceptingBookings"], true);
    assert_eq!(app.data(SEATS, variables.clone()).await, open, "kept");
    let wait = (closes - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(50)).await;
    let closed = app.data(SEATS, variables).await;
    assert_eq!(
        closed["node"]["acceptingBookings"], false,
        "kept past closing"
    );
}

#[tokio::test]
async fn the_cache_keeps_within_its_memory_bound() {
    let bound = 16 * 1024;
    let app = spawn_app_with(|settings| settings.response_cache_max_bytes = bound).await;
    let page = "query($first: Int!) { sessions(first: $first) { edges { node { id startsAt seatsLeft } } } }";
    for first in 1..=60 {
        app.data(page, json!({ "first": first })).await;
        app.data(page, json!({ "first": first })).await;
        let kept = app.metric("response_cache_bytes").await;
        assert!(kept <= bound as f64, "{kept} bytes kept");
    }
    assert!(app.metric("response_cache_bytes").await > 0.0);
    assert!(
        app.metric("response_cache_hits_total").await >= 60.0,
        "each page was asked twice in a row"
    );
}
