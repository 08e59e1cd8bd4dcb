//! Every phase of a request has a deadline, one address holds a bounded number of connections,
//! forwarding headers are believed from trusted proxies only, guessed credentials are slowed
//! down, and metrics are not on the API's address.

use std::time::{Duration, Instant};

use api::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::*;

const QUERY: &str = r#"{"query":"{ courses { totalCount } }"}"#;

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads what the server answers until it closes the connection (or 10 s pass).
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_with_408() {
    let app = spawn_app_with(|settings| settings.limits.body_timeout_ms = 500).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        QUERY.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let trickle = async {
        for byte in QUERY.bytes() {
            if stream.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if started.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
    };
    trickle.await;
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Sends `head`, then a chunked body one byte a chunk every 200 ms for as long as the server
/// reads; answers what came back and how long the server took to close the connection.
async fn trickle_chunks(app: &TestApp, head: &str) -> (String, Duration) {
    let (mut reader, mut writer) = connect(app).await.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        while started.elapsed() < Duration::from_secs(30) {
            if writer.write_all(b"1\r\n \r\n").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut answer)).await;
    let closed_after = started.elapsed();
    trickle.abort();
    (String::from_utf8_lossy(&answer).into_owned(), closed_after)
}

#[tokio::test]
async fn a_chunked_body_that_trickles_in_is_cut_off_and_its_connection_closed() {
    let app = spawn_app_with(|settings| settings.limits.body_timeout_ms = 500).await;
    let (answer, closed_after) = trickle_chunks(
        &app,
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    // The body's deadline, then at most the two seconds a closing connection lingers.
    assert!(
        closed_after < Duration::from_secs(6),
        "closed after {closed_after:?}"
    );

    // An answer that never needed the body closes the connection as well.
    let (answer, closed_after) = trickle_chunks(
        &app,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        closed_after < Duration::from_secs(6),
        "closed after {closed_after:?}"
    );

    // A chunked body read to its end leaves the connection open for the next request.
    let mut stream = connect(&app).await;
    let body = QUERY;
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    for _ in 0..2 {
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buffer = vec![0; 4096];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        let answer = String::from_utf8_lossy(&buffer[..read]).into_owned();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

#[tokio::test]
async fn headers_that_trickle_in_are_cut_off() {
    let app = spawn_app_with(|settings| settings.limits.header_timeout_ms = 300).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_answer(&mut stream).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the connection was closed"
    );
}

#[tokio::test]
async fn one_address_holds_a_bounded_number_of_connections() {
    let app = spawn_app_with(|settings| settings.limits.max_connections_per_address = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&app).await);
    }
    // Let the server accept them before the next one arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let crowded = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(QUERY)
        .send()
        .await
        .unwrap();
    assert_eq!(crowded.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = crowded.json().await.unwrap();
    assert_eq!(error_code(&body), "TOO_MANY_CONNECTIONS");

    held.clear();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(QUERY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        served.status(),
        StatusCode::OK,
        "closed connections give their places back"
    );
}

async fn anonymous_from(app: &TestApp, forwarded_for: &str) -> StatusCode {
    app.client
        .post(app.url("/graphql"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "query": "{ courses { totalCount } }" }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let app = spawn_app_with(|settings| {
        settings.limits.rate_limit_anonymous_per_minute = 2;
        settings.limits.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let first = "198.51.100.1";
    assert_eq!(anonymous_from(&app, first).await, StatusCode::OK);
    assert_eq!(anonymous_from(&app, first).await, StatusCode::OK);
    assert_eq!(
        anonymous_from(&app, first).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy; a lie prepended by the client changes nothing.
    assert_eq!(anonymous_from(&app, "198.51.100.2").await, StatusCode::OK);
    assert_eq!(
        anonymous_from(&app, &format!("203.0.113.77, {first}")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn forwarding_headers_from_anyone_else_are_ignored() {
    let app = spawn_app_with(|settings| settings.limits.rate_limit_anonymous_per_minute = 2).await;
    assert_eq!(anonymous_from(&app, "198.51.100.1").await, StatusCode::OK);
    assert_eq!(anonymous_from(&app, "198.51.100.2").await, StatusCode::OK);
    assert_eq!(
        anonymous_from(&app, "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS,
        "every request counts against the peer's own address"
    );
}

#[tokio::test]
async fn guessed_credentials_are_slowed_down_with_429_right_or_wrong() {
    let app = spawn_app_with(|settings| settings.limits.failed_credentials_per_minute = 3).await;
    let mut statuses = Vec::new();
    for guess in 0..5 {
        let credential = if guess % 2 == 0 {
            format!("tpk_{:048x}", guess)
        } else {
            format!("eyJ.not.a-token-{guess}")
        };
        statuses.push(
            app.post_with_token(&credential, "{ viewer { role } }")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // While the address waits, a right credential tells it nothing either.
    let right = app
        .post_with_token(&app.token(Role::Coordinator), "{ viewer { role } }")
        .await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right.headers().contains_key("retry-after"));
    // Callers without credentials are not held up.
    assert_eq!(
        app.graphql("{ courses { totalCount } }", json!({})).await["data"]["courses"]["totalCount"],
        1
    );
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_only() {
    let app = spawn_app().await;
    let on_api = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(on_api.status(), StatusCode::NOT_FOUND);
    let on_metrics = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap();
    assert_eq!(on_metrics.status(), StatusCode::OK);
    assert!(
        on_metrics
            .text()
            .await
            .unwrap()
            .contains("db_statements_total")
    );
}

#[tokio::test]
async fn answers_to_callers_with_credentials_are_never_cached() {
    let app = spawn_app().await;
    let personal = app
        .post_with_token(&app.token(Role::Coordinator), "{ viewer { role } }")
        .await;
    assert_eq!(personal.headers()["cache-control"], "no-store");
    let public = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ courses { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_ne!(public.headers()["cache-control"], "no-store");
    assert!(
        public.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("Authorization")
    );
}
