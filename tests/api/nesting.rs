//! Documents nested deeper than anything parses safely are refused before parsing, on every
//! path: POST, GET and the WebSocket. Without the bound one such request aborts the process.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{
    Message,
    protocol::frame::{
        Frame,
        coding::{Data, OpCode},
    },
};

use crate::{helpers::*, live::Subscriber};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn list(levels: usize) -> String {
    format!(
        "{{ nodes(ids: {}\"a\"{}) {{ id }} }}",
        "[".repeat(levels),
        "]".repeat(levels)
    )
}

fn object(levels: usize) -> String {
    format!(
        "{{ courses(filter: {}{}) {{ totalCount }} }}",
        "{ a: ".repeat(levels),
        "}".repeat(levels)
    )
}

fn selection(levels: usize) -> String {
    format!("{}{}", "{ a ".repeat(levels), "}".repeat(levels))
}

async fn post(app: &TestApp, query: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(header::ACCEPT, GRAPHQL_RESPONSE)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn still_alive(app: &TestApp) {
    let health = app.client.get(app.url("/healthz")).send().await;
    assert_eq!(
        health.map(|r| r.status()).ok(),
        Some(StatusCode::OK),
        "the service is still up"
    );
}

#[tokio::test]
async fn a_document_nested_100000_levels_deep_is_refused_over_post_and_the_service_lives() {
    let app = spawn_app().await;
    // 2,000 levels overflow the parser's stack; 100,000 it refuses itself at a shallower depth.
    for query in [
        list(2_000),
        object(2_000),
        list(100_000),
        object(100_000),
        selection(100_000),
    ] {
        let (status, body) = post(&app, &query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&body), "DOCUMENT_TOO_NESTED", "{body}");
        still_alive(&app).await;
    }
}

#[tokio::test]
async fn nesting_within_the_bound_is_left_to_the_parser_and_the_validator() {
    let app = spawn_app().await;
    let (status, body) = post(&app, &list(90)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    still_alive(&app).await;
}

#[tokio::test]
async fn the_deepest_document_that_fits_in_a_url_is_refused_over_get() {
    let app = spawn_app().await;
    // About 20,000 levels of brackets fill the longest URL an HTTP client sends (64 KiB).
    let compact_selection = format!("{}{}", "{a".repeat(10_000), "}".repeat(10_000));
    let compact_object = format!(
        "{{ courses(filter: {}1{}) {{ totalCount }} }}",
        "{a:".repeat(15_000),
        "}".repeat(15_000)
    );
    for query in [list(20_000), compact_object, compact_selection] {
        let query = query.replace(' ', "%20").replace('"', "%22");
        let response = app
            .client
            .get(format!("{}?query={query}", app.url("/graphql")))
            .header(header::ACCEPT, GRAPHQL_RESPONSE)
            .send()
            .await
            .expect("a URL of this length can be sent");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "DOCUMENT_TOO_NESTED", "{body}");
        still_alive(&app).await;
    }
}

#[tokio::test]
async fn variables_nested_too_deep_are_refused_with_the_same_code() {
    let app = spawn_app().await;
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let body =
        format!(r#"{{"query":"{{ courses {{ totalCount }} }}","variables":{{"a":{deep}}}}}"#);
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "DOCUMENT_TOO_NESTED", "{body}");

    let shallower = format!("{}1{}", "[".repeat(20_000), "]".repeat(20_000));
    let response = app
        .client
        .get(format!(
            "{}?query=%7Bcourses%7BtotalCount%7D%7D&variables={shallower}",
            app.url("/graphql")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "DOCUMENT_TOO_NESTED", "{body}");
    still_alive(&app).await;
}

#[tokio::test]
async fn a_deep_subscription_sent_in_continuation_frames_is_refused_and_the_service_lives() {
    let app = spawn_app().await;
    for query in [list(100_000), object(100_000), selection(100_000)] {
        let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
        let query = format!("subscription {query}");
        send_in_frames(&mut subscriber, &query, json!({})).await;
        let answer = subscriber.next().await;
        assert_eq!(error_code(&answer), "DOCUMENT_TOO_NESTED", "{answer}");
        still_alive(&app).await;
    }
}

/// A subscribe message sent in continuation frames of 16 KiB.
async fn send_in_frames(subscriber: &mut Subscriber, query: &str, variables: Value) {
    let message = json!({ "id": "deep", "type": "subscribe",
        "payload": { "query": query, "variables": variables } })
    .to_string()
    .into_bytes();
    let chunks: Vec<&[u8]> = message.chunks(16 * 1024).collect();
    let last = chunks.len() - 1;
    for (at, chunk) in chunks.into_iter().enumerate() {
        let opcode = if at == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        subscriber
            .send_raw(Message::Frame(Frame::message(
                chunk.to_vec(),
                opcode,
                at == last,
            )))
            .await;
    }
}

#[tokio::test]
async fn variables_nested_too_deep_over_a_websocket_are_refused_with_the_code() {
    let app = spawn_app().await;
    let query = "subscription($id: ID!) { sessionUpdated(sessionId: $id) { id } }";
    // Deeper than the bound, but still JSON that can be read: the operation is refused.
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    let deep: Value =
        serde_json::from_str(&format!("{}1{}", "[".repeat(110), "]".repeat(110))).unwrap();
    send_in_frames(&mut subscriber, query, json!({ "id": deep })).await;
    let answer = subscriber.receive().await;
    assert_eq!(answer["id"], "deep", "{answer}");
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"], "DOCUMENT_TOO_NESTED",
        "{answer}"
    );
    // Far deeper: the message cannot be read at all, and the connection says why it ends.
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    let text = format!(
        "{{\"id\":\"deep\",\"type\":\"subscribe\",\"payload\":{{\"query\":\"{{ a }}\",\"variables\":{{\"v\":{}1{}}}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    subscriber.send_raw(Message::Text(text.into())).await;
    let closed = subscriber.receive().await;
    assert_eq!(closed["code"], 4400, "{closed}");
    assert!(
        closed["reason"]
            .as_str()
            .unwrap()
            .contains("DOCUMENT_TOO_NESTED"),
        "{closed}"
    );
    still_alive(&app).await;
}

#[tokio::test]
async fn a_websocket_message_larger_than_a_request_body_closes_the_connection() {
    let app = spawn_app_with(|settings| settings.max_body_bytes = 64 * 1024).await;
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    // Many small frames that add up to more than the limit.
    let filler = vec![b' '; 8 * 1024];
    subscriber
        .send_raw(Message::Frame(Frame::message(
            b"{".to_vec(),
            OpCode::Data(Data::Text),
            false,
        )))
        .await;
    for _ in 0..16 {
        subscriber
            .send_raw(Message::Frame(Frame::message(
                filler.clone(),
                OpCode::Data(Data::Continue),
                false,
            )))
            .await;
    }
    let closed = subscriber.receive().await;
    assert_eq!(closed["type"], "closed", "{closed}");
    assert_eq!(closed["code"], 1009, "{closed}");
    still_alive(&app).await;
}

#[tokio::test]
async fn a_websocket_message_that_trickles_in_is_cut_off() {
    let app = spawn_app_with(|settings| settings.limits.body_timeout_ms = 500).await;
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    let started = std::time::Instant::now();
    subscriber
        .send_raw(Message::Frame(Frame::message(
            b"{\"type\":\"subscribe\",".to_vec(),
            OpCode::Data(Data::Text),
            false,
        )))
        .await;
    let closed = loop {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still open after 10 s"
        );
        subscriber
            .send_raw(Message::Frame(Frame::message(
                b" ".to_vec(),
                OpCode::Data(Data::Continue),
                false,
            )))
            .await;
        if let Ok(message) =
            tokio::time::timeout(std::time::Duration::from_millis(200), subscriber.receive()).await
        {
            break message;
        }
    };
    assert_eq!(closed["type"], "closed", "{closed}");
    assert_eq!(closed["code"], 1008, "{closed}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    still_alive(&app).await;
}

#[tokio::test]
async fn fragments_spread_twice_over_are_refused_before_validation_walks_them() {
    let app = spawn_app().await;
    // 1 KB of text; 2^30 fields once inlined (a chain of 25 held a worker for over a minute).
    let depth = 30;
    let fragments: String = (0..depth)
        .map(|n| {
            format!(
                "fragment F{n} on Query {{ ...F{next} ...F{next} }} ",
                next = n + 1
            )
        })
        .collect();
    let query = format!("{{ ...F0 }} {fragments} fragment F{depth} on Query {{ __typename }}");
    let started = std::time::Instant::now();
    let (status, body) = post(&app, &query).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "QUERY_TOO_COSTLY", "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    still_alive(&app).await;

    // A fragment spread many times over a few levels is fine.
    let small = "{ ...A } fragment A on Query { ...B ...B } fragment B on Query { __typename }";
    let (status, body) = post(&app, small).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A WebSocket opened by hand, for frames no client library would send.
async fn raw_websocket(app: &TestApp) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(
            b"GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0; 1];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// Writes `frame`, then `filler` bytes in pieces every `pause` until the server closes; answers
/// the close code it sent (if any), how long it took and how much was written.
async fn feed_until_closed(
    mut stream: tokio::net::TcpStream,
    frame: &[u8],
    piece: usize,
    pause: std::time::Duration,
) -> (Option<u16>, std::time::Duration, usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let started = std::time::Instant::now();
    stream.write_all(frame).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let mut written = 0;
        let zeros = vec![0_u8; piece];
        while started.elapsed() < std::time::Duration::from_secs(20) {
            if writer.write_all(&zeros).await.is_err() {
                break;
            }
            written += piece;
            tokio::time::sleep(pause).await;
        }
        written
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        reader.read_to_end(&mut answer),
    )
    .await;
    let took = started.elapsed();
    writing.abort();
    let written = writing.await.unwrap_or(0);
    // A close frame from the server: 0x88, its length, then the code.
    let code = answer
        .windows(4)
        .find(|w| w[0] == 0x88 && w[1] >= 2)
        .map(|w| u16::from_be_bytes([w[2], w[3]]));
    (code, took, written)
}

#[tokio::test]
async fn a_single_frame_is_bounded_in_size_and_time_as_it_arrives() {
    let app = spawn_app_with(|settings| {
        settings.max_body_bytes = 64 * 1024;
        settings.limits.body_timeout_ms = 500;
    })
    .await;
    // A masked text frame that says it holds 4 GB, and bytes as fast as they go.
    let mut huge = vec![0x81, 0xFF];
    huge.extend_from_slice(&4_000_000_000_u64.to_be_bytes());
    huge.extend_from_slice(&[1, 2, 3, 4]);
    let (code, took, written) = feed_until_closed(
        raw_websocket(&app).await,
        &huge,
        256 * 1024,
        std::time::Duration::from_millis(1),
    )
    .await;
    assert_eq!(code, Some(1009), "after {took:?} and {written} bytes");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");

    // A small frame whose bytes trickle in: cut off at the body's deadline.
    let mut small = vec![0x81, 0xFE];
    small.extend_from_slice(&1000_u16.to_be_bytes());
    small.extend_from_slice(&[1, 2, 3, 4]);
    let (code, took, _) = feed_until_closed(
        raw_websocket(&app).await,
        &small,
        1,
        std::time::Duration::from_millis(100),
    )
    .await;
    assert_eq!(code, Some(1008), "after {took:?}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    still_alive(&app).await;
}

#[tokio::test]
async fn a_long_chain_of_fragments_is_refused_and_the_service_lives() {
    let app = spawn_app().await;
    // Each fragment spreads the next: one level of text, a long way for anything that follows.
    let chain: String = (0..20_000)
        .map(|n| format!("fragment f{n} on Query {{ ...f{} }} ", n + 1))
        .collect();
    let query = format!("{{ ...f0 }} {chain} fragment f20000 on Query {{ __typename }}");
    let (status, body) = post(&app, &query).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The parser's own bound on recursion through fragments (32) may speak first.
    assert!(
        ["DOCUMENT_TOO_NESTED", "GRAPHQL_PARSE_FAILED"].contains(&error_code(&body)),
        "{body}"
    );
    // And fragments that nest, each a little deeper, through the chain.
    let nested: String = (0..200)
        .map(|n| {
            format!(
                "fragment g{n} on Course {{ provider {{ courses: __typename }} ...g{} }} ",
                n + 1
            )
        })
        .collect();
    let query = format!(
        "{{ courses {{ edges {{ node {{ ...g0 }} }} }} }} {nested} fragment g200 on Course {{ id }}"
    );
    let (status, body) = post(&app, &query).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        ["DOCUMENT_TOO_NESTED", "GRAPHQL_PARSE_FAILED"].contains(&error_code(&body)),
        "{body}"
    );
    still_alive(&app).await;
}
