//! GraphQL over HTTP: media types, status codes, methods and limits.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::*;

const QUERY: &str = "{ courses { totalCount } }";

async fn post(
    app: &TestApp,
    content_type: &str,
    accept: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, content_type)
        .body(body);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    request.send().await.unwrap()
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_answer_has_the_media_type_the_client_accepts() {
    let app = spawn_app().await;
    let body = json!({ "query": QUERY }).to_string();
    let cases = [
        (
            Some("application/graphql-response+json"),
            "application/graphql-response+json",
        ),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            "application/graphql-response+json",
        ),
        (Some("application/json"), "application/json"),
        (
            Some("application/json, application/graphql-response+json;q=0.5"),
            "application/json",
        ),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
    ];

    for (accept, expected) in cases {
        let response = post(&app, "application/json", accept, body.clone()).await;
        assert_eq!(response.status(), 200, "{accept:?}");
        assert!(
            content_type(&response).starts_with(expected),
            "{accept:?} gave {}",
            content_type(&response)
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["courses"]["totalCount"], 1);
    }
    let refused = post(&app, "application/json", Some("text/html"), body).await;
    assert_eq!(refused.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn a_query_that_does_not_validate_is_a_400_in_graphql_response_json_and_a_200_in_json() {
    let app = spawn_app().await;
    let invalid = json!({ "query": "{ courses { nope } }" }).to_string();
    let unparsable = json!({ "query": "{ courses {" }).to_string();

    let strict = post(
        &app,
        "application/json",
        Some("application/graphql-response+json"),
        invalid.clone(),
    )
    .await;
    let legacy = post(&app, "application/json", Some("application/json"), invalid).await;
    let broken = post(
        &app,
        "application/json",
        Some("application/graphql-response+json"),
        unparsable,
    )
    .await;

    assert_eq!(strict.status(), 400);
    assert_eq!(legacy.status(), 200);
    let strict: Value = strict.json().await.unwrap();
    let legacy: Value = legacy.json().await.unwrap();
    assert_eq!(error_code(&strict), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(error_code(&legacy), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(broken.status(), 400);
    assert_eq!(
        error_code(&broken.json::<Value>().await.unwrap()),
        "GRAPHQL_PARSE_FAILED"
    );
}

#[tokio::test]
async fn an_error_in_a_field_still_answers_200_with_the_other_fields() {
    let app = spawn_app().await;
    let body =
        json!({ "query": r#"{ courses { totalCount } node(id: "broken") { id } }"# }).to_string();

    let response = post(
        &app,
        "application/json",
        Some("application/graphql-response+json"),
        body,
    )
    .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["courses"]["totalCount"], 1);
    assert_eq!(body["data"]["node"], Value::Null);
    assert_eq!(error_code(&body), "INVALID_ID");
}

#[tokio::test]
async fn queries_run_over_get() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            (
                "query",
                "query Programme($first: Int) { courses(first: $first) { totalCount } }",
            ),
            ("variables", r#"{"first": 1}"#),
            ("operationName", "Programme"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["courses"]["totalCount"], 1);
}

#[tokio::test]
async fn a_mutation_over_get_answers_405_and_is_not_run() {
    let app = spawn_app().await;
    let before = app.statements().await;

    for (query, operation) in [
        ("mutation { __typename }", None),
        // The only operation of a document, named but not named in the request.
        ("mutation B { __typename }", None),
        ("# first\nmutation B { __typename }", None),
        (
            "query A { __typename } mutation B { __typename }",
            Some("B"),
        ),
    ] {
        let mut params = vec![("query", query)];
        if let Some(operation) = operation {
            params.push(("operationName", operation));
        }
        let response = app
            .client
            .get(app.url("/graphql"))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{query}");
        assert_eq!(response.headers()[header::ALLOW], "POST");
        assert_eq!(
            error_code(&response.json::<Value>().await.unwrap()),
            "METHOD_NOT_ALLOWED"
        );
    }
    assert_eq!(
        app.statements().await,
        before,
        "nothing reached the database"
    );
}

#[tokio::test]
async fn a_post_that_is_not_json_is_refused_before_anything_runs() {
    let app = spawn_app().await;
    let body = json!({ "query": QUERY }).to_string();
    let before = app.statements().await;

    for content_type in [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin1",
        "application/graphql",
    ] {
        let response = post(&app, content_type, None, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert_eq!(
            error_code(&response.json::<Value>().await.unwrap()),
            "UNSUPPORTED_MEDIA_TYPE"
        );
    }
    let missing = app
        .client
        .post(app.url("/graphql"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        app.statements().await,
        before,
        "nothing reached the database"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_answers_413() {
    let app = spawn_app().await;
    let padding = " ".repeat(1024 * 1024);
    let body = format!(r#"{{"query": "{{ courses {{ totalCount }} }}{padding}"}}"#);

    let response = post(&app, "application/json", None, body).await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        error_code(&response.json::<Value>().await.unwrap()),
        "PAYLOAD_TOO_LARGE"
    );
}

#[tokio::test]
async fn the_body_limit_is_a_setting() {
    let app = spawn_app_with(|settings| settings.max_body_bytes = 100).await;
    let small = json!({ "query": "{ courses { totalCount } }" }).to_string();
    let large = json!({ "query": format!("{{ courses {{ totalCount }} }} #{}", "x".repeat(100)) })
        .to_string();

    assert_eq!(
        post(&app, "application/json", None, small).await.status(),
        200
    );
    assert_eq!(
        post(&app, "application/json", None, large).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn a_request_that_is_not_a_graphql_request_is_a_400() {
    let app = spawn_app().await;

    for body in [
        "not json",
        "[]",
        r#"[{"query": "{ __typename }"}]"#,
        "{}",
        r#"{"query": ""}"#,
        r#"{"query": 3}"#,
        r#"{"query": "{ __typename }", "variables": [1]}"#,
    ] {
        let response = post(&app, "application/json", None, body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            error_code(&response.json::<Value>().await.unwrap()),
            "BAD_REQUEST",
            "{body}"
        );
    }
    let bad_variables = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }"), ("variables", "{")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_variables.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn other_methods_answer_405() {
    let app = spawn_app().await;

    let response = app
        .client
        .put(app.url("/graphql"))
        .body("{}")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, POST");
}

#[tokio::test]
async fn a_wrong_variable_is_a_request_error_with_no_data() {
    let app = spawn_app().await;
    let body = json!({ "query": "query($n: Int!) { courses(first: $n) { totalCount } }", "variables": { "n": "ten" } }).to_string();

    let response = post(
        &app,
        "application/json",
        Some("application/graphql-response+json"),
        body,
    )
    .await;

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["data"].is_null());
    assert!(!body["errors"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn variables_that_cannot_be_coerced_fail_the_request_before_it_runs() {
    let app = spawn_app().await;
    let before = app.statements().await;
    for (query, variables, field) in [
        // Left out, or null, for a required variable.
        (
            "query($id: ID!) { session(id: $id) { id } }",
            json!({}),
            "$id",
        ),
        (
            "query($n: Int!) { courses(first: $n) { totalCount } }",
            json!({ "n": null }),
            "$n",
        ),
        // The schema's own scalars, which the executor parses only where a field uses them.
        (
            "query($f: SessionFilter) { sessions(filter: $f) { totalCount } }",
            json!({ "f": { "startsFrom": "next tuesday" } }),
            "$f",
        ),
        (
            "query($t: DateTime) { sessions(filter: { startsFrom: $t }) { totalCount } }",
            json!({ "t": [1, 2] }),
            "$t",
        ),
        // Named, as every client names its operations (the parser files these apart).
        (
            "query Q($d: DateTime!) { sessions(filter: { startsFrom: $d }) { totalCount } }",
            json!({ "d": null }),
            "$d",
        ),
        (
            "query Q($d: DateTime!) { sessions(filter: { startsFrom: $d }) { totalCount } }",
            json!({ "d": "garbage" }),
            "$d",
        ),
    ] {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let response = post(
            &app,
            "application/json",
            Some("application/graphql-response+json"),
            body,
        )
        .await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    assert_eq!(app.statements().await, before, "nothing ran");

    // A default stands in for a variable left out, and an optional one may be null.
    let fine = app
        .graphql(
            "query($n: Int! = 3, $f: SessionFilter) { courses(first: $n) { totalCount } \
             sessions(filter: $f) { totalCount } }",
            json!({ "f": null }),
        )
        .await;
    assert!(fine.get("errors").is_none(), "{fine}");
}

#[tokio::test]
async fn a_database_failure_shows_no_sql_and_spoils_only_its_own_field() {
    let app = spawn_app().await;
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("DROP TABLE module_topics")
        .await
        .unwrap();

    let body = app
        .graphql(
            &format!(r#"{{ courses {{ totalCount }} course(slug: "{BROCHURE_SLUG}") {{ modules {{ topics }} }} }}"#),
            json!({}),
        )
        .await;

    assert_eq!(error_code(&body), "INTERNAL_SERVER_ERROR");
    assert_eq!(body["errors"][0]["message"], "internal error");
    let text = body.to_string().to_lowercase();
    for leak in [
        "select",
        "module_topics",
        "sqlite",
        "postgres",
        "relation",
        "no such table",
    ] {
        assert!(!text.contains(leak), "the response shows `{leak}`: {body}");
    }
    assert_eq!(
        body["data"]["courses"]["totalCount"], 1,
        "the rest of the response is still there"
    );
}

#[tokio::test]
async fn a_named_booking_over_get_is_refused_and_books_nothing() {
    use entity::enrolment;
    use sea_orm::{EntityTrait, PaginatorTrait};

    use crate::booking::{bookable_session, global_session};

    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let participant = insert_participant(&app.db).await;
    let token = app.participant_token(participant.id);
    let variables = json!({ "input": { "sessionId": global_session(&session) } }).to_string();
    let response = app
        .client
        .get(app.url("/graphql"))
        .bearer_auth(&token)
        .query(&[
            (
                "query",
                "mutation Book($input: BookSeatInput!) { bookSeat(input: $input) { status } }",
            ),
            ("variables", variables.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        enrolment::Entity::find().count(&app.db).await.unwrap(),
        0,
        "the booking was not made"
    );
}

#[tokio::test]
async fn get_parameters_that_are_not_json_objects_are_refused() {
    let app = spawn_app().await;
    for (name, value) in [
        ("variables", "[]"),
        ("extensions", "[]"),
        ("extensions", "1"),
    ] {
        let response = app
            .client
            .get(app.url("/graphql"))
            .query(&[("query", QUERY), (name, value)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}={value}");
        assert_eq!(
            error_code(&response.json::<Value>().await.unwrap()),
            "BAD_REQUEST"
        );
    }
}
