//! GraphiQL works on a network that reaches no CDN: the page and all it loads come from the service.

use crate::helpers::*;

/// Every `src="…"` and `href="…"` in a page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            let end = rest.find('"').unwrap();
            found.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    found
}

#[tokio::test]
async fn graphiql_and_everything_it_loads_come_from_the_service() {
    let app = spawn_app().await;

    let page = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("default-src 'self'"), "{policy}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    let references = references(&html);
    assert_eq!(references.len(), 5, "{references:?}");

    for reference in &references {
        assert!(
            reference.starts_with('/') && !reference.starts_with("//"),
            "{reference} is not on this service"
        );
        let asset = app.client.get(app.url(reference)).send().await.unwrap();
        assert_eq!(asset.status(), 200, "{reference}");
        let content_type = asset.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = if reference.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(
            content_type.starts_with(expected),
            "{reference}: {content_type}"
        );
        let text = asset.text().await.unwrap();
        assert!(text.len() > 100, "{reference} is empty");
        for cdn in ["unpkg.com", "cdn.jsdelivr", "cdnjs", "fonts.googleapis"] {
            assert!(!text.contains(cdn), "{reference} loads from {cdn}");
        }
    }
    let init = app
        .client
        .get(app.url("/graphiql/init.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        init.contains(r#"url: "/graphql""#),
        "GraphiQL talks to this service"
    );
    let missing = app
        .client
        .get(app.url("/graphiql/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
