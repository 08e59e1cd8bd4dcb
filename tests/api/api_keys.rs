//! API keys for machines: shown once, stored as a hash, scoped to a machine role, revocable.

use api::auth::Role;
use entity::{api_key, enums::MachineRole};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::*;

const VIEWER: &str = "{ viewer { authenticated role } }";

#[tokio::test]
async fn a_machine_key_speaks_for_its_role_and_its_use_is_recorded() {
    let app = spawn_app().await;
    let (sync, sync_key) =
        api::db::api_key::create_api_key(&app.db, "Testkoppeling", MachineRole::SyncClient)
            .await
            .unwrap();
    let (_, report_key) =
        api::db::api_key::create_api_key(&app.db, "Testdashboard", MachineRole::ReportingClient)
            .await
            .unwrap();

    let as_sync: Value = app
        .post_with_token(&sync_key, VIEWER)
        .await
        .json()
        .await
        .unwrap();
    let as_report: Value = app
        .post_with_token(&report_key, VIEWER)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        as_sync["data"]["viewer"],
        json!({ "authenticated": true, "role": "SYNC_CLIENT" })
    );
    assert_eq!(
        as_report["data"]["viewer"],
        json!({ "authenticated": true, "role": "REPORTING_CLIENT" })
    );
    let stored = api_key::Entity::find_by_id(sync.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.last_used_at.is_some());
}

#[tokio::test]
async fn revoked_and_unknown_keys_are_refused() {
    let app = spawn_app().await;
    let (key, plain) =
        api::db::api_key::create_api_key(&app.db, "Testkoppeling", MachineRole::SyncClient)
            .await
            .unwrap();
    assert_eq!(app.post_with_token(&plain, VIEWER).await.status(), 200);

    assert!(
        api::db::api_key::revoke_api_key(&app.db, key.id)
            .await
            .unwrap()
    );
    let revoked = app.post_with_token(&plain, VIEWER).await;
    let unknown = app
        .post_with_token(&format!("tpk_{}", "0".repeat(48)), VIEWER)
        .await;

    for response in [revoked, unknown] {
        assert_eq!(response.status(), 401);
        assert_eq!(
            error_code(&response.json::<Value>().await.unwrap()),
            "UNAUTHENTICATED"
        );
    }
    assert!(
        !api::db::api_key::revoke_api_key(&app.db, key.id)
            .await
            .unwrap(),
        "revoked once only"
    );
}

#[tokio::test]
async fn only_a_hash_of_a_key_is_stored() {
    let app = spawn_app().await;
    let (_, plain) =
        api::db::api_key::create_api_key(&app.db, "Testkoppeling", MachineRole::SyncClient)
            .await
            .unwrap();

    let rows = api_key::Entity::find().all(&app.db).await.unwrap();

    let stored = format!("{rows:?}");
    assert!(!stored.contains(&plain));
    assert!(!stored.contains(&plain["tpk_".len()..]));
}

#[tokio::test]
async fn a_persons_token_cannot_carry_a_machine_role() {
    let secret = "a-secret-for-this-test-only-0123456789";
    let app = spawn_app_with(|settings| settings.auth.jwt_secret = Some(secret.into())).await;
    let token = sign(&claims(Role::SyncClient), secret);

    let response = app.post_with_token(&token, VIEWER).await;

    assert_eq!(response.status(), 401);
    assert!(
        app.jwt.issue("x", Role::ReportingClient, None, 60).is_err(),
        "the issuer refuses too"
    );
}

fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_training"))
        .args(args)
        .env("DATABASE_URL", app.database.url())
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_cli_creates_lists_and_revokes_keys() {
    let app = spawn_app().await;

    let created = cli(
        &app,
        &[
            "api-key",
            "create",
            "--name",
            "Testkoppeling",
            "--role",
            "sync-client",
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let key = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert_eq!(app.post_with_token(&key, VIEWER).await.status(), 200);
    let listed = String::from_utf8(cli(&app, &["api-key", "list"]).stdout).unwrap();
    assert!(
        listed.contains("Testkoppeling") && listed.contains(&key[..12]),
        "{listed}"
    );
    assert!(!listed.contains(&key), "the list never shows a whole key");
    let id = listed.split_whitespace().next().unwrap().to_owned();

    let revoked = cli(&app, &["api-key", "revoke", &id]);

    assert!(revoked.status.success());
    assert_eq!(app.post_with_token(&key, VIEWER).await.status(), 401);
    let again = cli(&app, &["api-key", "revoke", &id]);
    assert!(!again.status.success());
}

#[tokio::test]
async fn the_cli_refuses_a_token_lifetime_out_of_range_without_panicking() {
    let app = spawn_app().await;

    for minutes in ["0", "99999999999999999", "-5", "soon"] {
        let lifetime = format!("--valid-for-minutes={minutes}");
        let issued = cli(
            &app,
            &["token", "issue", "--role", "coordinator", &lifetime],
        );
        assert!(!issued.status.success(), "{minutes}");
        let stderr = String::from_utf8_lossy(&issued.stderr);
        assert!(
            stderr.contains("--valid-for-minutes") && !stderr.contains("panicked"),
            "{minutes}: {stderr}"
        );
    }
}
