use std::sync::atomic::{AtomicU32, Ordering};

use api::{
    Application, Settings,
    auth::{Role, jwt::JwtKeys},
};
use chrono::{DateTime, Utc};
use entity::{enums::*, *};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, FromQueryResult, JsonValue, Statement,
};
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

/// The demo course's slug, from `api/seed/brochure.toml`.
pub const BROCHURE_SLUG: &str = "omgaan-met-intimidatie-en-bedreiging-burgemeesters-wethouders";

pub struct TestApp {
    pub address: String,
    /// Where the service serves `/metrics`, apart from the API.
    pub metrics_address: String,
    /// The keys the service verifies tokens with, to issue tokens as a client would get them.
    pub jwt: JwtKeys,
    pub client: reqwest::Client,
    /// A connection of the test's own, to arrange what the API cannot create yet.
    pub db: DatabaseConnection,
    pub database: TestDatabase,
    /// The service's DATA_DIR, removed with the app.
    pub _data_dir: Option<TempDir>,
}

/// The database of one test, removed when the test ends.
pub enum TestDatabase {
    Sqlite {
        url: String,
        _folder: TempDir,
    },
    Postgres {
        url: String,
        admin_url: String,
        name: String,
    },
}

impl TestDatabase {
    pub async fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
        {
            Some(admin_url) => {
                let name = format!("test_{}", Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connecting to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("creating the test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(base, _)| base);
                Self::Postgres {
                    url: format!("{base}/{name}"),
                    admin_url,
                    name,
                }
            }
            None => {
                let folder = tempfile::tempdir().expect("creating a temporary folder");
                let url = format!("sqlite://{}/test.db?mode=rwc", folder.path().display());
                Self::Sqlite {
                    url,
                    _folder: folder,
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// A copy of this database as it is now, as a backup restored elsewhere would be: SQLite's
    /// online backup (`VACUUM INTO`), or `pg_dump` restored with `psql` into a new database.
    pub async fn backup(&self, db: &DatabaseConnection) -> TestDatabase {
        let copy = TestDatabase::create().await;
        match (self, &copy) {
            (Self::Sqlite { .. }, Self::Sqlite { _folder, .. }) => {
                let file = _folder.path().join("test.db");
                db.execute_unprepared(&format!("VACUUM INTO '{}'", file.display()))
                    .await
                    .expect("backing up the SQLite database");
            }
            (Self::Postgres { url, .. }, Self::Postgres { url: target, .. }) => {
                let dump = std::process::Command::new("pg_dump")
                    .args(["--no-owner", "--dbname", url])
                    .output()
                    .expect("pg_dump");
                assert!(dump.status.success(), "pg_dump: {dump:?}");
                let mut restore = std::process::Command::new("psql")
                    .args(["--quiet", "-v", "ON_ERROR_STOP=1", "--dbname", target])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .expect("psql");
                use std::io::Write;
                restore
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(&dump.stdout)
                    .unwrap();
                assert!(
                    restore.wait().unwrap().success(),
                    "psql could not restore the dump"
                );
            }
            _ => unreachable!("a copy is made on the same kind of database"),
        }
        copy
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
        {
            let (admin_url, database) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let admin = Database::connect(&admin_url)
                        .await
                        .map_err(std::io::Error::other)?;
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                        ))
                        .await
                        .map_err(std::io::Error::other)?;
                    admin.close().await.map_err(std::io::Error::other)
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop the test database {name}");
            }
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the service on a fresh database, with settings adjusted by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::create().await;
    let mut settings = Settings::for_database(database.url());
    // Files of its own (the erasure log, messages written as files) in a folder of its own.
    let data_dir = tempfile::tempdir().expect("a data folder for the test");
    settings.auth.data_dir = data_dir.path().to_owned();
    configure(&mut settings);
    let mut app = start(settings, database).await;
    app._data_dir = Some(data_dir);
    app
}

/// Starts (another) service on the database of `database`.
pub async fn start(settings: Settings, database: TestDatabase) -> TestApp {
    let jwt = JwtKeys::from_settings(&settings.auth).expect("the test's token keys");
    let application = Application::build(settings)
        .await
        .expect("building the application");
    let address = format!("http://127.0.0.1:{}", application.port());
    let metrics_address = format!(
        "http://127.0.0.1:{}",
        application.metrics_port().expect("tests serve metrics")
    );
    tokio::spawn(application.run_until_stopped());
    let db = Database::connect(database.url())
        .await
        .expect("connecting the test to its database");
    TestApp {
        address,
        metrics_address,
        jwt,
        client: reqwest::Client::new(),
        db,
        database,
        _data_dir: None,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Runs a query over POST and returns the whole response body.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("sending a GraphQL request");
        assert_eq!(
            response.status(),
            200,
            "a GraphQL request over POST answers 200"
        );
        response.json().await.expect("a JSON body")
    }

    /// Runs a query that must succeed and returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// A valid token for a person in this role.
    pub fn token(&self, role: Role) -> String {
        self.jwt.issue("test-subject", role, None, 600).unwrap()
    }

    /// A token for a participant, with a subject of their own, as the identity provider issues it.
    pub fn participant_token(&self, participant_id: Uuid) -> String {
        self.jwt
            .issue(
                &format!("participant-{participant_id}"),
                Role::Participant,
                Some(participant_id),
                600,
            )
            .unwrap()
    }

    /// Runs a query with a bearer token and returns the whole response body.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("sending a GraphQL request");
        assert_eq!(response.status(), 200, "a GraphQL request answers 200");
        response.json().await.expect("a JSON body")
    }

    /// Runs a query with a bearer token that must succeed and returns its `data`.
    pub async fn data_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.graphql_as(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs a query with a bearer token and returns the response.
    pub async fn post_with_token(&self, token: &str, query: &str) -> reqwest::Response {
        self.client
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("sending a GraphQL request")
    }

    /// The SQL statements the service has run so far, from `/metrics`.
    pub async fn statements(&self) -> u64 {
        self.metric("db_statements_total").await as u64
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.metrics_address))
            .send()
            .await
            .expect("reading /metrics")
            .text()
            .await
            .expect("a metrics body")
    }

    /// One metric without labels.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    }

    pub async fn brochure_course(&self) -> course::Model {
        use sea_orm::{ColumnTrait, QueryFilter};
        course::Entity::find()
            .filter(course::Column::Slug.eq(BROCHURE_SLUG))
            .one(&self.db)
            .await
            .unwrap()
            .expect("the demo course")
    }
}

/// The code of the first error of a response.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub async fn insert_location(db: &DatabaseConnection, city: &str) -> location::Model {
    let now = Utc::now();
    location::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(unique("Testlocatie")),
        street_address: Set(None),
        postal_code: Set(None),
        city: Set(city.into()),
        directions: Set(None),
        is_demo: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap()
}

/// A course of no public interest, for tests that need more than the demo course.
pub async fn insert_course(
    db: &DatabaseConnection,
    provider_id: Uuid,
    status: CourseStatus,
    theme: &str,
) -> course::Model {
    let now = Utc::now();
    let slug = unique("testcursus");
    course::ActiveModel {
        id: Set(Uuid::new_v4()),
        slug: Set(slug.clone()),
        title: Set(format!("Testcursus {slug}")),
        subtitle: Set(None),
        introduction: Set("Een cursus om mee te testen.".into()),
        method: Set("Oefenen.".into()),
        audience: Set("Gemeentesecretarissen".into()),
        theme: Set(Some(theme.into())),
        status: Set(status),
        max_participants: Set(12),
        duration_days: Set(1),
        daily_start_time: Set(chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap()),
        daily_end_time: Set(chrono::NaiveTime::from_hms_opt(15, 0, 0).unwrap()),
        alumni_count_before_platform: Set(0),
        allow_repeat_enrolment: Set(false),
        cancellation_deadline_hours: Set(48),
        provider_id: Set(provider_id),
        sponsor_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap()
}

pub async fn insert_session(
    db: &DatabaseConnection,
    course_id: Uuid,
    location_id: Option<Uuid>,
    starts_at: DateTime<Utc>,
    capacity: i32,
) -> session::Model {
    let now = Utc::now();
    session::ActiveModel {
        id: Set(Uuid::new_v4()),
        course_id: Set(course_id),
        location_id: Set(location_id),
        starts_at: Set(starts_at),
        ends_at: Set(starts_at + chrono::Duration::hours(7)),
        capacity: Set(capacity),
        status: Set(SessionStatus::Scheduled),
        booking_opens_at: Set(None),
        booking_closes_at: Set(None),
        is_demo: Set(false),
        booking_open: Set(true),
        availability_version: Set(0),
        actors_needed: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap()
}

/// A made-up participant: no real person's data in tests.
pub async fn insert_participant(db: &DatabaseConnection) -> participant::Model {
    let now = Utc::now();
    let name = unique("deelnemer");
    participant::ActiveModel {
        id: Set(Uuid::new_v4()),
        full_name: Set(format!("Test {name}")),
        email: Set(format!(
            "{name}-{}@example.invalid",
            Uuid::new_v4().simple()
        )),
        email_skeleton: Set(None),
        phone: Set(None),
        role: Set(ParticipantRole::Mayor),
        municipality_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        erased_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap()
}

pub async fn insert_enrolment(
    db: &DatabaseConnection,
    session_id: Uuid,
    participant_id: Uuid,
    status: EnrolmentStatus,
) -> enrolment::Model {
    let now = Utc::now();
    enrolment::ActiveModel {
        id: Set(Uuid::new_v4()),
        session_id: Set(session_id),
        participant_id: Set(participant_id),
        status: Set(status),
        waitlisted_at: Set((status == EnrolmentStatus::Waitlisted).then_some(now)),
        queue_number: Set((status == EnrolmentStatus::Waitlisted).then_some(now.timestamp_micros())),
        moved_from_id: Set(None),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap()
}

/// Claims as an identity provider would send them for this service, valid for ten minutes.
pub fn claims(role: Role) -> api::auth::jwt::Claims {
    let now = jsonwebtoken::get_current_timestamp();
    api::auth::jwt::Claims {
        sub: "test-subject".into(),
        role,
        participant_id: None,
        actor_id: None,
        iss: "training-platform".into(),
        aud: "training-api".into(),
        exp: now + 600,
        nbf: Some(now),
        iat: Some(now),
    }
}

/// Signs claims with an HS256 secret, as an identity provider would.
pub fn sign(claims: &api::auth::jwt::Claims, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &key,
    )
    .unwrap()
}

/// Every row of every table of the test's database, as text: what a dump would hold.
pub async fn dump_database(app: &TestApp) -> String {
    let backend = app.db.get_database_backend();
    let list = match backend {
        DbBackend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        _ => {
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
        }
    };
    let tables = JsonValue::find_by_statement(Statement::from_string(backend, list))
        .all(&app.db)
        .await
        .unwrap();
    assert!(tables.len() > 20, "{tables:?}");
    let mut text = String::new();
    for table in tables {
        let name = table["name"].as_str().unwrap();
        let rows = JsonValue::find_by_statement(Statement::from_string(
            backend,
            format!("SELECT * FROM \"{name}\""),
        ))
        .all(&app.db)
        .await
        .unwrap();
        text.push_str(&Value::Array(rows).to_string());
    }
    text
}

/// The text of every file in `dir` (stored messages, say).
pub fn stored_messages(dir: &std::path::Path) -> String {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}
