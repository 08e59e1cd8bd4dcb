//! Introspection by its own rules: the standard introspection query that GraphiQL, code
//! generators and API tools send passes whatever `MAX_QUERY_DEPTH` is; hostile introspection is
//! still refused with a code.

use reqwest::header;
use serde_json::{Value, json};

use crate::helpers::*;

/// `getIntrospectionQuery()` of graphql-js 16.15 with every option on (descriptions,
/// specifiedByUrl, directiveIsRepeatable, schemaDescription, inputValueDeprecation, oneOf).
const STANDARD: &str = include_str!("fixtures/introspection-graphql-js-16.graphql");

#[tokio::test]
async fn the_standard_introspection_query_passes_whatever_the_depth_limit() {
    for max_depth in [12, 5] {
        let app = spawn_app_with(|settings| settings.limits.max_depth = max_depth).await;
        let body = app.graphql(STANDARD, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        let types = body["data"]["__schema"]["types"].as_array().unwrap();
        assert!(types.iter().any(|t| t["name"] == "Course"));
        // The depth limit still holds for everything else.
        let deep =
            "{ courses { edges { node { sessions { edges { node { course { title } } } } } } } }";
        if max_depth < 9 {
            let refused = app.graphql(deep, json!({})).await;
            assert_eq!(error_code(&refused), "QUERY_TOO_DEEP");
        }
    }
}

#[tokio::test]
async fn hostile_introspection_is_refused_with_a_code() {
    let app = spawn_app().await;
    let chain = "ofType { ".repeat(24) + "name" + &" }".repeat(24);
    let long_chain =
        format!("{{ __type(name: \"Course\") {{ fields {{ type {{ {chain} }} }} }} }}");
    assert_eq!(
        error_code(&app.graphql(&long_chain, json!({})).await),
        "QUERY_TOO_DEEP"
    );

    let lookups: String = (0..12)
        .map(|n| format!("t{n}: __type(name: \"Course\") {{ name }} "))
        .collect();
    let roomy = spawn_app_with(|settings| settings.limits.max_root_fields = 20).await;
    let many = roomy.graphql(&format!("{{ {lookups} }}"), json!({})).await;
    assert_eq!(error_code(&many), "QUERY_TOO_COSTLY", "{many}");

    let twice = app
        .graphql(
            "{ a: __schema { types { name } } b: __schema { types { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&twice), "QUERY_TOO_COSTLY", "{twice}");

    let aliases: String = (0..31)
        .map(|n| format!("k{n}: types {{ name }} "))
        .collect();
    let aliased = app
        .graphql(&format!("{{ __schema {{ {aliases} }} }}"), json!({}))
        .await;
    assert_eq!(error_code(&aliased), "TOO_MANY_ALIASES");

    // A fragment spread many times is measured once, and the depth holds through fragments.
    let bomb = format!(
        "{{ courses {{ ...A }} }} fragment A on CourseConnection {{ {} }}",
        (0..20)
            .map(|n| format!(
                "e{n}: edges {{ node {{ provider {{ {} }} }} }}",
                "parent { ".repeat(12) + "name" + &" }".repeat(12)
            ))
            .collect::<String>()
    );
    let body = app.graphql(&bomb, json!({})).await;
    assert!(
        ["QUERY_TOO_DEEP", "TOO_MANY_ALIASES"].contains(&error_code(&body)),
        "{body}"
    );
}

/// Fields in an answer, as the introspection budget counts them: each key once, however long
/// the lists it sits in.
fn fields_in(value: &Value) -> u64 {
    match value {
        Value::Object(map) => map.values().map(|v| 1 + fields_in(v)).sum(),
        Value::Array(items) => items.iter().map(fields_in).sum(),
        _ => 0,
    }
}

#[tokio::test]
async fn the_standard_introspection_stays_well_within_the_introspection_budget() {
    let app = spawn_app().await;
    let body = app.graphql(STANDARD, json!({})).await;
    let fields = fields_in(&body["data"]);
    // The budget is 100,000 values; a schema that grows past a quarter of it should raise it
    // knowingly rather than one day break every code generator.
    assert!(
        fields < 25_000,
        "the standard introspection answers {fields} values"
    );
    assert!(fields > 1_000, "{fields}");
}

#[tokio::test]
async fn introspection_that_multiplies_its_lists_is_refused_before_it_runs() {
    let app = spawn_app().await;
    let before = app.statements().await;
    // Each pair multiplies the answer by about nine; six pairs answered 20 MB before the budget.
    let pairs = 6;
    let inner = "possibleTypes { interfaces { ".repeat(pairs) + "name" + &" } }".repeat(pairs);
    let breadth = format!("{{ __type(name: \"Node\") {{ {inner} }} }}");
    let body = app.graphql(&breadth, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COSTLY", "{body}");
    assert!(body.get("data").is_none(), "{body}");

    // The whole schema twenty times over, by aliases of the standard query's own fragments.
    let fragments = &STANDARD[STANDARD.find("fragment ").unwrap()..];
    let copies: String = (0..20)
        .map(|n| format!("t{n}: types {{ ...FullType }} "))
        .collect();
    let body = app
        .graphql(
            &format!("{{ __schema {{ {copies} }} }} {fragments}"),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "QUERY_TOO_COSTLY", "{body}");

    // The same through a fragment and a variable naming the type.
    let through = "query($t: String!) { ...R } \
        fragment R on Query { __type(name: $t) { ...P } } \
        fragment P on __Type { possibleTypes { interfaces { possibleTypes { interfaces { \
        possibleTypes { interfaces { possibleTypes { interfaces { \
        possibleTypes { interfaces { possibleTypes { interfaces { name } } } } } } } } } } } } }";
    let body = app.graphql(through, json!({ "t": "Node" })).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COSTLY", "{body}");
    // And through the variable's default value, which the executor applies after parsing.
    let by_default = format!("query Q($t: String = \"Node\") {{ __type(name: $t) {{ {inner} }} }}");
    let body = app.graphql(&by_default, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COSTLY", "{body}");
    assert_eq!(app.statements().await, before, "nothing ran");

    // A small look at the same lists passes.
    let small = "{ __type(name: \"Node\") { possibleTypes { name interfaces { name } } } }";
    let body = app.graphql(small, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn a_request_refused_before_execution_has_no_data_entry() {
    let app = spawn_app().await;
    for query in ["{ courses {", "{ noSuchField }"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header(header::ACCEPT, "application/graphql-response+json")
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(body.get("data").is_none(), "{body}");
        assert!(body["errors"][0]["extensions"]["code"].is_string());
    }
}
