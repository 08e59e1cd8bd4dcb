//! SIGTERM during a request in progress: the service takes no new connections, lets that request
//! finish with its answer, and exits 0 (actix-web's graceful stop, up to its 30 s default).

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;

#[test]
fn sigterm_lets_a_request_in_progress_finish_and_exits_0() {
    let data_dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/t.db?mode=rwc", data_dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_training"))
        .env("DATABASE_URL", &database)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("METRICS_LISTEN_ADDR", "off")
        .env("DATA_DIR", data_dir.path())
        .env("DISPATCH_MESSAGES", "false")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
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

    // A request whose body is still on its way when the signal comes.
    let body = r#"{"query":"{ courses { totalCount } }"}"#;
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    std::thread::sleep(Duration::from_millis(300));
    // New connections are no longer taken.
    let refused = TcpStream::connect_timeout(&address.parse().unwrap(), Duration::from_secs(1));
    assert!(refused.is_err(), "a new connection was taken after SIGTERM");

    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("totalCount"), "{answer}");

    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the exit status");
}
