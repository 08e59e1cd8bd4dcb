//! The stop on SIGTERM: the service takes no new connections, lets a request in progress finish
//! with its answer, closes WebSockets with 1001 and exits 0; a second SIGTERM stops it at once;
//! an e-mail still being sent when `SHUTDOWN_GRACE_SECONDS` end is handed back to the outbox for
//! another process, not left to its lease.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    time::Duration,
};

use api::auth::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{
    self, client::IntoClientRequest, protocol::frame::coding::CloseCode,
};

use crate::{
    booking::BOOK,
    helpers::{claims, sign},
};

const SECRET: &str = "a-test-secret-of-at-least-thirty-two-bytes";

/// The binary on a fresh SQLite database with `settings`; returns it and where it listens.
fn serve(data_dir: &std::path::Path, settings: &[(&str, &str)]) -> (std::process::Child, String) {
    let database = format!("sqlite://{}/t.db?mode=rwc", data_dir.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_training"))
        .env("DATABASE_URL", &database)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("METRICS_LISTEN_ADDR", "off")
        .env("DATA_DIR", data_dir)
        .env("DISPATCH_MESSAGES", "false")
        .env("JWT_SECRET", SECRET)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(settings.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let event: Value = serde_json::from_str(&line).ok()?;
            event["address"].as_str().map(str::to_owned)
        })
        .expect("the service says where it listens");
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

fn terminate(child: &std::process::Child) {
    let signalled = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
}

/// The exit status, once the process has ended (within a minute).
fn exit_code(child: &mut std::process::Child) -> Option<i32> {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the service did not stop");
}

/// A request whose body is still on its way: its first ten bytes are sent.
fn slow_request(address: &str) -> (TcpStream, &'static str) {
    let body = r#"{"query":"{ courses { totalCount } }"}"#;
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    (stream, &body[10..])
}

#[test]
fn sigterm_lets_a_request_in_progress_finish_and_exits_0() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut child, address) = serve(data_dir.path(), &[]);
    let (mut stream, rest) = slow_request(&address);
    std::thread::sleep(Duration::from_millis(300));
    terminate(&child);
    std::thread::sleep(Duration::from_millis(300));
    // New connections are no longer taken.
    let refused = TcpStream::connect_timeout(&address.parse().unwrap(), Duration::from_secs(1));
    assert!(refused.is_err(), "a new connection was taken after SIGTERM");

    stream.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("totalCount"), "{answer}");
    assert_eq!(exit_code(&mut child), Some(0), "the exit status");
}

#[tokio::test]
async fn websockets_close_with_1001_and_a_second_sigterm_stops_at_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut child, address) = serve(data_dir.path(), &[("SHUTDOWN_GRACE_SECONDS", "600")]);
    let mut request = format!("ws://{address}/graphql")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(tungstenite::Message::text(r#"{"type":"connection_init"}"#))
        .await
        .unwrap();
    let ack = socket.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    // Holds the stop open: its body never comes.
    let (_stream, _) = slow_request(&address);
    std::thread::sleep(Duration::from_millis(300));

    terminate(&child);
    let closed = loop {
        match socket.next().await {
            Some(Ok(tungstenite::Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(closed.map(|frame| frame.code), Some(CloseCode::Away));

    // The slow request would hold the stop for ten minutes; a second signal ends it now.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "stopped before the grace period"
    );
    terminate(&child);
    assert_eq!(
        exit_code(&mut child),
        Some(1),
        "the exit status of a forced stop"
    );
}

#[tokio::test]
async fn a_mail_still_being_sent_when_the_grace_ends_is_handed_back() {
    // A mail server that takes the connection and never greets: the send hangs.
    let tarpit = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_port = tarpit.local_addr().unwrap().port().to_string();
    let (taken, accepted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in tarpit.incoming().map_while(Result::ok) {
            held.push(stream);
            let _ = taken.send(());
        }
    });
    let data_dir = tempfile::tempdir().unwrap();
    let (mut child, address) = serve(
        data_dir.path(),
        &[
            ("DISPATCH_MESSAGES", "true"),
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", &smtp_port),
            ("SMTP_TLS", "none"),
            ("SMTP_TIMEOUT_SECONDS", "120"),
            ("OUTBOX_POLL_MS", "50"),
            ("SHUTDOWN_GRACE_SECONDS", "1"),
        ],
    );
    let ask = async |token: Option<&str>, body: Value| -> Value {
        let mut request = reqwest::Client::new()
            .post(format!("http://{address}/graphql"))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().json().await.unwrap()
    };
    let sessions = ask(
        None,
        json!({ "query": "{ sessions(first: 20, filter: { hasSeatsLeft: true }) { nodes { id acceptingBookings } } }" }),
    )
    .await;
    let session = sessions["data"]["sessions"]["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|node| node["acceptingBookings"] == true))
        .map(|node| node["id"].clone())
        .unwrap_or_else(|| panic!("no demo session takes bookings: {sessions}"));
    let token = sign(&claims(Role::Coordinator), SECRET);
    let input = json!({ "sessionId": session, "newParticipant": {
        "fullName": "Testpersoon Stop", "email": "stop@example.invalid", "role": "MAYOR" } });
    let booked = ask(
        Some(&token),
        json!({ "query": BOOK, "variables": { "input": input } }),
    )
    .await;
    assert_eq!(
        booked["data"]["bookSeat"]["status"], "CONFIRMED",
        "{booked}"
    );
    accepted
        .recv_timeout(Duration::from_secs(30))
        .expect("the dispatcher connects to the mail server");

    terminate(&child);
    assert_eq!(exit_code(&mut child), Some(0), "the exit status");
    let db = sea_orm::Database::connect(format!("sqlite://{}/t.db", data_dir.path().display()))
        .await
        .unwrap();
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let confirmation = entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::Topic.eq("enrolment.confirmed"))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(confirmation.status, entity::enums::OutboxStatus::Pending);
    assert_eq!(
        confirmation.claim_token, None,
        "still claimed: {confirmation:?}"
    );
    assert_eq!(confirmation.claimed_until, None);
    assert_eq!(
        confirmation.attempts, 0,
        "the cut-off send counted as an attempt"
    );
}
