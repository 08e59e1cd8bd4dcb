//! Persisted operations as Apollo Client's persisted-queries link speaks them: a hash alone is
//! found or answered `PersistedQueryNotFound`; the hash with its document stores and runs it; in
//! `registered` mode anonymous callers run only the manifest's operations.

use api::{
    auth::Role,
    http::persisted::{PersistedQueries, hash_of},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const QUERY: &str = "query Programme { courses { totalCount } }";

fn by_hash(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn get(app: &TestApp, query: Option<&str>, extensions: &Value) -> (StatusCode, Value) {
    let mut params = vec![("extensions", extensions.to_string())];
    if let Some(query) = query {
        params.push(("query", query.to_owned()));
    }
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&params)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_hash_is_not_found_until_its_document_was_sent_then_runs_alone() {
    let app = spawn_app().await;
    let hash = hash_of(QUERY);
    let (status, unknown) = get(&app, None, &by_hash(&hash)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(error_code(&unknown), "PERSISTED_QUERY_NOT_FOUND");

    let stored = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": QUERY, "extensions": by_hash(&hash) }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(stored["data"]["courses"]["totalCount"], 1, "{stored}");

    let (status, found) = get(&app, None, &by_hash(&hash)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["data"]["courses"]["totalCount"], 1, "{found}");
}

#[tokio::test]
async fn bad_hashes_and_mismatches_have_their_own_codes() {
    let app = spawn_app().await;
    for (query, hash, expected) in [
        (
            None,
            "not-a-hash".to_owned(),
            "PERSISTED_QUERY_INVALID_HASH",
        ),
        (None, "A".repeat(64), "PERSISTED_QUERY_INVALID_HASH"),
        (
            Some(QUERY),
            hash_of("{ other }"),
            "PERSISTED_QUERY_HASH_MISMATCH",
        ),
    ] {
        let (_, body) = get(&app, query, &by_hash(&hash)).await;
        assert_eq!(error_code(&body), expected, "{body}");
    }
    let (_, version) = get(
        &app,
        None,
        &json!({ "persistedQuery": { "version": 2, "sha256Hash": hash_of(QUERY) } }),
    )
    .await;
    assert_eq!(error_code(&version), "BAD_REQUEST");
}

#[tokio::test]
async fn a_mutation_sent_by_hash_over_get_is_refused_without_running() {
    let app = spawn_app().await;
    // Named, and not named in the request: the executor would run it all the same.
    let mutation = "mutation Named { __typename }";
    let hash = hash_of(mutation);
    let token = app.token(Role::Coordinator);
    // Stored by POST, then asked for by GET: still a mutation.
    app.client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": mutation, "extensions": by_hash(&hash) }))
        .send()
        .await
        .unwrap();
    let (status, body) = get(&app, None, &by_hash(&hash)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
}

#[tokio::test]
async fn off_refuses_hashes() {
    let app = spawn_app_with(|settings| settings.persisted_queries = PersistedQueries::Off).await;
    let (_, body) = get(&app, None, &by_hash(&hash_of(QUERY))).await;
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_SUPPORTED");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotSupported");
}

#[tokio::test]
async fn in_registered_mode_anonymous_callers_run_only_the_manifests_operations() {
    let folder = tempfile::tempdir().unwrap();
    let manifest = folder.path().join("manifest.json");
    std::fs::write(
        &manifest,
        json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [
            { "id": hash_of(QUERY), "name": "Programme", "type": "query", "body": QUERY }
        ] })
        .to_string(),
    )
    .unwrap();
    let app = spawn_app_with(|settings| {
        settings.persisted_queries = PersistedQueries::Registered;
        settings.persisted_query_manifest = Some(manifest.clone());
    })
    .await;

    let (_, registered) = get(&app, None, &by_hash(&hash_of(QUERY))).await;
    assert_eq!(
        registered["data"]["courses"]["totalCount"], 1,
        "{registered}"
    );

    let own = "{ sessions { totalCount } }";
    let refused = app.graphql(own, json!({})).await;
    assert_eq!(error_code(&refused), "PERSISTED_QUERY_NOT_REGISTERED");
    let (_, by_its_hash) = get(&app, Some(own), &by_hash(&hash_of(own))).await;
    assert_eq!(error_code(&by_its_hash), "PERSISTED_QUERY_NOT_REGISTERED");
    let (_, never_stored) = get(&app, None, &by_hash(&hash_of(own))).await;
    assert_eq!(error_code(&never_stored), "PERSISTED_QUERY_NOT_FOUND");

    // With credentials, a document of one's own runs.
    let staff = app
        .graphql_as(&app.token(Role::Coordinator), own, json!({}))
        .await;
    assert!(staff.get("errors").is_none(), "{staff}");
}

#[tokio::test]
async fn a_manifest_whose_ids_are_not_its_hashes_stops_the_start() {
    let folder = tempfile::tempdir().unwrap();
    let manifest = folder.path().join("manifest.json");
    std::fs::write(
        &manifest,
        json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [
            { "id": hash_of("{ other }"), "name": "Programme", "type": "query", "body": QUERY }
        ] })
        .to_string(),
    )
    .unwrap();
    let database = TestDatabase::create().await;
    let mut settings = api::Settings::for_database(database.url());
    settings.persisted_queries = PersistedQueries::Registered;
    settings.persisted_query_manifest = Some(manifest);
    assert!(api::Application::build(settings).await.is_err());
}
