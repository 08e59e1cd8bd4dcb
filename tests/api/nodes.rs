use serde_json::json;

use crate::helpers::*;

const ALL_IDS: &str = r#"{ courses(first: 1) { edges { node {
    id modules { id } provider { id }
    sessions(first: 1) { edges { node { id location { id } } } }
} } } }"#;

#[tokio::test]
async fn node_finds_every_kind_of_object_by_its_global_id() {
    let app = spawn_app().await;
    let data = app.data(ALL_IDS, json!({})).await;
    let course = &data["courses"]["edges"][0]["node"];
    let session = &course["sessions"]["edges"][0]["node"];
    let cases = [
        (&course["id"], "Course"),
        (&course["modules"][0]["id"], "Module"),
        (&course["provider"]["id"], "Organisation"),
        (&session["id"], "Session"),
        (&session["location"]["id"], "Location"),
    ];

    for (id, typename) in cases {
        let found = app
            .data(
                "query($id: ID!) { node(id: $id) { __typename id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(found["node"]["__typename"], typename);
        assert_eq!(&found["node"]["id"], id);
    }
}

#[tokio::test]
async fn nodes_keeps_the_order_and_gives_null_for_what_does_not_exist() {
    let app = spawn_app().await;
    let data = app.data(ALL_IDS, json!({})).await;
    let course = &data["courses"]["edges"][0]["node"];
    let unknown = api::domain::ids::SessionId(uuid::Uuid::new_v4()).to_global();
    let ids = json!([
        course["sessions"]["edges"][0]["node"]["id"],
        unknown,
        course["id"]
    ]);

    let found = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
            json!({ "ids": ids }),
        )
        .await;

    assert_eq!(found["nodes"][0]["__typename"], "Session");
    assert_eq!(found["nodes"][1], json!(null));
    assert_eq!(found["nodes"][2]["__typename"], "Course");
}

#[tokio::test]
async fn a_malformed_id_is_refused_with_a_code() {
    let app = spawn_app().await;

    for id in [
        "",
        "not-an-id",
        "Q291cnNlOm5vcGU",
        "🙂",
        &"A".repeat(10_000),
    ] {
        let body = app
            .graphql(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&body), "INVALID_ID", "{id}");
        let body = app
            .graphql(
                "query($id: ID!) { session(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&body), "INVALID_ID", "{id}");
    }
}

#[tokio::test]
async fn an_id_of_another_type_is_refused_where_a_type_is_expected() {
    let app = spawn_app().await;
    let course_id = app
        .data("{ courses { edges { node { id } } } }", json!({}))
        .await["courses"]["edges"][0]["node"]["id"]
        .clone();

    let body = app
        .graphql(
            "query($id: ID!) { session(id: $id) { id } }",
            json!({ "id": course_id }),
        )
        .await;

    assert_eq!(error_code(&body), "INVALID_ID");
}

#[tokio::test]
async fn nodes_takes_at_most_a_hundred_ids() {
    let app = spawn_app().await;
    let ids: Vec<_> = (0..101)
        .map(|_| api::domain::ids::CourseId(uuid::Uuid::new_v4()).to_global())
        .collect();

    let body = app
        .graphql(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;

    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}
