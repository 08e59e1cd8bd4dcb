//! Webhooks to a source system, judged by the Standard Webhooks reference library for Python
//! (installed by the test into a virtual environment of its own, pinned).

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use api::{auth::Role, domain::ids::SessionId};
use serde_json::{Value, json};

use crate::{
    booking::bookable_session,
    helpers::*,
    sync::{SYNC_ENROLMENTS, SYNC_PARTICIPANTS, people, source_key, sync},
};

const STANDARD_WEBHOOKS: &str = "standardwebhooks==1.1.0";

/// A Python with the reference library: `STANDARD_WEBHOOKS_PYTHON`, or a virtual environment
/// made once under the temporary folder.
fn python() -> PathBuf {
    if let Ok(python) = std::env::var("STANDARD_WEBHOOKS_PYTHON") {
        return PathBuf::from(python);
    }
    static MADE: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut made = MADE.lock().unwrap();
    if let Some(python) = made.as_ref() {
        return python.clone();
    }
    let venv = std::env::temp_dir().join("training-platform-standardwebhooks-1.1.0");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import standardwebhooks"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let created = Command::new("python3")
            .args(["-m", "venv", venv.to_str().unwrap()])
            .status()
            .expect("python3 for the webhook receiver");
        assert!(created.success(), "could not make a virtual environment");
        let installed = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                STANDARD_WEBHOOKS,
            ])
            .status()
            .unwrap();
        assert!(installed.success(), "could not install {STANDARD_WEBHOOKS}");
    }
    *made = Some(python.clone());
    python
}

/// The receiver: its port, what it got, and the file its secret is read from.
pub(crate) struct Receiver {
    child: Child,
    port: u16,
    got: Arc<Mutex<Vec<Value>>>,
    pub(crate) secret_file: PathBuf,
    _folder: tempfile::TempDir,
}

impl Receiver {
    pub(crate) fn start(fail_first: u32, status: u16) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let secret_file = folder.path().join("secret");
        std::fs::write(&secret_file, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/fixtures/webhook_receiver.py"
        );
        let mut child = Command::new(python())
            .arg(script)
            .env("FAIL_FIRST", fail_first.to_string())
            .env("STATUS", status.to_string())
            .env("SECRET_FILE", &secret_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let port = u16::try_from(first["port"].as_u64().unwrap()).unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(value);
                }
            }
        });
        Self {
            child,
            port,
            got,
            secret_file,
            _folder: folder,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub(crate) fn got(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `test` holds for what it got (at most 30 s).
    pub(crate) async fn wait_for(&self, test: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let got = self.got();
            if test(&got) || started.elapsed() > Duration::from_secs(30) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) const CREATE: &str =
    "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
    userErrors { code field } secret endpoint { id active } } }";

async fn app_sending_webhooks() -> TestApp {
    spawn_app_with(|settings| {
        settings.messages.dispatch = true;
        settings.messages.poll_ms = 50;
        settings.webhooks.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        settings.webhooks.webhook_retry_base_ms = 100;
        settings.auth.data_dir =
            std::env::temp_dir().join(format!("webhooks-{}", uuid::Uuid::new_v4().simple()));
    })
    .await
}

/// A source with one participant and a session; returns the source's key and the session.
async fn source_with_participant(app: &TestApp) -> (String, String) {
    let key = source_key(app, "bzk").await;
    sync(
        app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("w", 2) }),
    )
    .await;
    let session = SessionId(bookable_session(app, 10).await.id).to_global();
    (key, session)
}

async fn enrol(app: &TestApp, key: &str, session: &str, n: usize, status: &str) {
    let answer = sync(
        app,
        key,
        SYNC_ENROLMENTS,
        json!({ "items": [{ "externalId": format!("we-{n}"), "participantExternalId": format!("w-{n}"),
                            "sessionId": session, "status": status }] }),
    )
    .await;
    assert_eq!(answer["results"][0]["error"], Value::Null, "{answer}");
}

#[tokio::test]
async fn a_receiver_that_fails_k_times_gets_the_change_signed_at_attempt_k_plus_one() {
    let app = app_sending_webhooks().await;
    let receiver = Receiver::start(2, 204);
    let admin = app.token(Role::Administrator);
    let created = app
        .data_as(
            &admin,
            CREATE,
            json!({ "input": { "url": receiver.url(), "source": "bzk" } }),
        )
        .await;
    let payload = &created["createWebhookEndpoint"];
    assert_eq!(payload["userErrors"], json!([]), "{created}");
    let secret = payload["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    std::fs::write(&receiver.secret_file, secret).unwrap();

    let (key, session) = source_with_participant(&app).await;
    enrol(&app, &key, &session, 0, "ACTIVE").await;
    let got = receiver
        .wait_for(|got| got.iter().any(|g| g["verified"] == true))
        .await;
    let attempts: Vec<i64> = got.iter().map(|g| g["attempt"].as_i64().unwrap()).collect();
    assert_eq!(attempts, [1, 2, 3], "{got:?}");
    let delivered = &got[2];
    assert_eq!(
        delivered["verified"], true,
        "the reference library accepts the signature"
    );
    assert!(
        got.iter().all(|g| g["id"] == delivered["id"]),
        "one webhook-id on every attempt"
    );
    let body: Value = serde_json::from_str(delivered["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "enrolment.changed");
    assert_eq!(body["change"], "BOOKED");
    assert_eq!(body["version"], 1);
    assert!(body["cursor"].is_string() && body["enrolmentId"].is_string());
    assert!(
        body.get("fullName").is_none()
            && !delivered["body"]
                .as_str()
                .unwrap()
                .contains("example.invalid"),
        "no names, no addresses"
    );

    // The delivery log shows the attempts.
    let log = app
        .data_as(
            &admin,
            "{ webhookEndpoints { deliveries { attempt statusCode } } }",
            json!({}),
        )
        .await;
    let statuses: Vec<Value> = log["webhookEndpoints"][0]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["statusCode"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!(204), json!(500), json!(500)],
        "newest first: {log}"
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_with_both_until_the_overlap_ends() {
    let app = app_sending_webhooks().await;
    let receiver = Receiver::start(0, 204);
    let admin = app.token(Role::Administrator);
    let created = app
        .data_as(
            &admin,
            CREATE,
            json!({ "input": { "url": receiver.url() } }),
        )
        .await;
    let old = created["createWebhookEndpoint"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = created["createWebhookEndpoint"]["endpoint"]["id"].clone();
    std::fs::write(&receiver.secret_file, &old).unwrap();
    let rotated = app
        .data_as(
            &admin,
            "mutation($id: ID!) { rotateWebhookSecret(input: { endpointId: $id, overlapHours: 1 }) { secret userErrors { code } } }",
            json!({ "id": id }),
        )
        .await;
    let new = rotated["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);

    // The receiver still knows only the old secret: the delivery verifies.
    let (key, session) = source_with_participant(&app).await;
    enrol(&app, &key, &session, 0, "ACTIVE").await;
    let got = receiver.wait_for(|got| !got.is_empty()).await;
    assert_eq!(got[0]["verified"], true, "{got:?}");
    // And with the new one.
    std::fs::write(&receiver.secret_file, &new).unwrap();
    enrol(&app, &key, &session, 1, "ACTIVE").await;
    let got = receiver.wait_for(|got| got.len() >= 2).await;
    assert_eq!(got[1]["verified"], true, "{got:?}");
}

#[tokio::test]
async fn a_410_turns_the_endpoint_off_and_only_the_sources_scope_is_delivered() {
    let app = app_sending_webhooks().await;
    let receiver = Receiver::start(0, 410);
    let admin = app.token(Role::Administrator);
    let created = app
        .data_as(
            &admin,
            CREATE,
            json!({ "input": { "url": receiver.url(), "source": "bzk" } }),
        )
        .await;
    std::fs::write(
        &receiver.secret_file,
        created["createWebhookEndpoint"]["secret"].as_str().unwrap(),
    )
    .unwrap();

    // Someone the source does not know: not delivered.
    let session = bookable_session(&app, 10).await;
    crate::booking::book_self(&app, &session, insert_participant(&app.db).await.id).await;
    let (key, session) = source_with_participant(&app).await;
    enrol(&app, &key, &session, 0, "ACTIVE").await;
    let got = receiver.wait_for(|got| !got.is_empty()).await;
    assert_eq!(
        got.len(),
        1,
        "one delivery, of the source's own participant: {got:?}"
    );
    let started = Instant::now();
    let state = loop {
        let state = app
            .data_as(
                &admin,
                "{ webhookEndpoints { active disabledReason } }",
                json!({}),
            )
            .await;
        if state["webhookEndpoints"][0]["active"] == false
            || started.elapsed() > Duration::from_secs(20)
        {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(state["webhookEndpoints"][0]["active"], false, "{state}");
    assert!(
        state["webhookEndpoints"][0]["disabledReason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
}

#[tokio::test]
async fn webhooks_go_only_where_the_allow_list_admits() {
    let app =
        spawn_app_with(|settings| settings.webhooks.webhook_allowed_hosts = vec!["*".into()]).await;
    let admin = app.token(Role::Administrator);
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest",
        "http://hooks.example.nl/plain",
        "ftp://hooks.example.nl/",
        "https://user:pass@hooks.example.nl/",
        "geen url",
    ] {
        let answer = app
            .data_as(&admin, CREATE, json!({ "input": { "url": url } }))
            .await;
        assert_eq!(
            answer["createWebhookEndpoint"]["userErrors"][0]["code"], "BAD_USER_INPUT",
            "{url}: {answer}"
        );
    }
    let fine = app
        .data_as(
            &admin,
            CREATE,
            json!({ "input": { "url": "https://hooks.example.nl/training" } }),
        )
        .await;
    assert_eq!(fine["createWebhookEndpoint"]["userErrors"], json!([]));
    let coordinator = app
        .graphql_as(
            &app.token(Role::Coordinator),
            CREATE,
            json!({ "input": { "url": "https://hooks.example.nl/x" } }),
        )
        .await;
    assert_eq!(error_code(&coordinator), "FORBIDDEN");
}
