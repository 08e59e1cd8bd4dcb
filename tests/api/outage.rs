//! PostgreSQL stopped under a running service: requests answer 503 `SERVICE_UNAVAILABLE` with
//! `Retry-After`, under both media types, and `/readyz` says 503; once PostgreSQL is back, the
//! same service answers again by itself. The cluster is a throwaway of the test's own (initdb in a
//! temporary folder, on a free port), never the shared server.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use api::{Application, Settings, auth::Role};
use serde_json::{Value, json};

use crate::helpers::claims;

/// A PostgreSQL cluster in a temporary folder, run as the `postgres` user when the test runs as
/// root (PostgreSQL refuses root); stopped and removed when dropped.
struct Cluster {
    folder: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

fn as_server_user(program: &Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"));
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl Cluster {
    /// None when this machine has no PostgreSQL server programs.
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|version| version.path().join("bin"))
            .find(|bin| bin.join("initdb").exists())?;
        let folder = tempfile::tempdir().unwrap();
        let data = folder.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(folder.path())
            .status();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let made = as_server_user(&bin.join("initdb"))
            .args(["-U", "postgres", "--auth=trust", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(made.status.success(), "initdb: {made:?}");
        let cluster = Self { folder, port, bin };
        cluster.run();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.folder.path().join("data")
    }

    fn run(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.folder.path().display()
        );
        let started = as_server_user(&self.bin.join("pg_ctl"))
            .args(["-w", "-D"])
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.folder.path().join("log"))
            .arg("start")
            .output()
            .unwrap();
        assert!(started.status.success(), "pg_ctl start: {started:?}");
    }

    fn stop(&self) {
        let stopped = as_server_user(&self.bin.join("pg_ctl"))
            .args(["-w", "-m", "fast", "-D"])
            .arg(self.data())
            .arg("stop")
            .output()
            .unwrap();
        assert!(stopped.status.success(), "pg_ctl stop: {stopped:?}");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_server_user(&self.bin.join("pg_ctl"))
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop")
            .output();
    }
}

const QUERY: &str = "{ sessions(first: 3) { edges { node { id seatsLeft } } } }";

async fn ask(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    accept: &str,
) -> reqwest::Response {
    client
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .header("Accept", accept)
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_outage_is_answered_503_with_a_retryable_code_and_passes_by_itself() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        // A PostgreSQL outage; this runs in the PostgreSQL pass.
        return;
    }
    let Some(cluster) = Cluster::start() else {
        panic!("the PostgreSQL server programs (initdb, pg_ctl) are needed for this test");
    };
    let settings = Settings::for_database(cluster.url());
    let mut claims = claims(Role::Coordinator);
    claims.sub = "servicebalie".into();
    let secret = settings.auth.jwt_secret.clone().unwrap();
    let token = crate::helpers::sign(&claims, &secret);
    let application = Application::build(settings).await.unwrap();
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::new();

    let up = ask(&client, &address, &token, "application/json").await;
    assert_eq!(up.status(), 200);

    cluster.stop();
    for accept in ["application/graphql-response+json", "application/json"] {
        for _ in 0..3 {
            let down = ask(&client, &address, &token, accept).await;
            assert_eq!(down.status(), 503, "{accept}");
            assert_eq!(down.headers()["retry-after"], "1");
            let body: Value = down.json().await.unwrap();
            let error = &body["errors"][0];
            assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
            assert_eq!(error["extensions"]["retryable"], true, "{body}");
            assert!(
                !body.to_string().contains("INTERNAL_SERVER_ERROR"),
                "{body}"
            );
        }
    }
    let ready = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);

    cluster.run();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let again = ask(&client, &address, &token, "application/json").await;
        if again.status() == 200 {
            let body: Value = again.json().await.unwrap();
            assert!(body["errors"].is_null(), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}
