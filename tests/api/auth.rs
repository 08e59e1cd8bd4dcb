//! Identities: bearer tokens verified against configured keys; every broken credential is a 401
//! with UNAUTHENTICATED, never a 500 and never a silent fall back to anonymous.

use api::auth::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use serde_json::{Value, json};

use crate::helpers::*;

const VIEWER: &str = "{ viewer { authenticated role } }";

async fn refused(app: &TestApp, token: &str) -> Value {
    let response = app.post_with_token(token, VIEWER).await;
    assert_eq!(response.status(), 401, "{token}");
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(body.get("data").is_none(), "nothing ran: {body}");
    body
}

#[tokio::test]
async fn a_valid_token_speaks_for_its_role_and_no_token_is_anonymous() {
    let app = spawn_app().await;

    for (role, name) in [
        (Role::Participant, "PARTICIPANT"),
        (Role::Coordinator, "COORDINATOR"),
        (Role::Administrator, "ADMINISTRATOR"),
    ] {
        let response = app.post_with_token(&app.token(role), VIEWER).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["data"]["viewer"],
            json!({ "authenticated": true, "role": name })
        );
    }
    let anonymous = app.data(VIEWER, json!({})).await;
    assert_eq!(
        anonymous["viewer"],
        json!({ "authenticated": false, "role": null })
    );
}

#[tokio::test]
async fn broken_tokens_are_refused_with_unauthenticated() {
    let secret = "a-secret-for-this-test-only-0123456789";
    let app = spawn_app_with(|settings| settings.auth.jwt_secret = Some(secret.into())).await;
    let now = get_current_timestamp();
    let mut expired = claims(Role::Coordinator);
    (expired.exp, expired.nbf, expired.iat) = (now - 120, Some(now - 600), Some(now - 600));
    let mut early = claims(Role::Coordinator);
    early.nbf = Some(now + 600);
    let mut elsewhere = claims(Role::Coordinator);
    elsewhere.aud = "another-api".into();
    let mut stranger = claims(Role::Coordinator);
    stranger.iss = "someone-else".into();
    let wrong_key = sign(
        &claims(Role::Administrator),
        "another-secret-of-at-least-32-bytes!!",
    );
    let unsigned = {
        let valid = sign(&claims(Role::Administrator), secret);
        let parts: Vec<_> = valid.split('.').collect();
        format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1])
    };

    for token in [
        sign(&expired, secret),
        sign(&early, secret),
        sign(&elsewhere, secret),
        sign(&stranger, secret),
        wrong_key,
        unsigned,
        "not-a-token".into(),
        "a.b.c".into(),
        "x".repeat(10_000),
    ] {
        refused(&app, &token).await;
    }
}

#[tokio::test]
async fn a_token_just_past_its_expiry_is_accepted_within_the_clock_skew() {
    let secret = "a-secret-for-this-test-only-0123456789";
    let app = spawn_app_with(|settings| settings.auth.jwt_secret = Some(secret.into())).await;
    let mut late = claims(Role::Coordinator);
    late.exp = get_current_timestamp() - 5;

    let response = app.post_with_token(&sign(&late, secret), VIEWER).await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn other_authorization_schemes_are_refused() {
    let app = spawn_app().await;

    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("authorization", header)
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
        assert_eq!(
            error_code(&response.json::<Value>().await.unwrap()),
            "UNAUTHENTICATED"
        );
    }
}

#[tokio::test]
async fn tokens_signed_with_public_key_algorithms_verify_against_pem_and_jwks_files() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fixtures");
    let es256 = spawn_app_with(|settings| {
        settings.auth.jwt_secret = None;
        settings.auth.jwt_public_keys = Some(format!("{fixtures}/es256-public.pem").into());
    })
    .await;
    let rs256 = spawn_app_with(|settings| {
        settings.auth.jwt_secret = None;
        settings.auth.jwt_public_keys = Some(format!("{fixtures}/jwks.json").into());
    })
    .await;
    let ec_key =
        EncodingKey::from_ec_pem(&std::fs::read(format!("{fixtures}/es256-private.pem")).unwrap())
            .unwrap();
    let rsa_key =
        EncodingKey::from_rsa_pem(&std::fs::read(format!("{fixtures}/rs256-private.pem")).unwrap())
            .unwrap();
    let es_token = encode(
        &Header::new(Algorithm::ES256),
        &claims(Role::Administrator),
        &ec_key,
    )
    .unwrap();
    let mut rs_header = Header::new(Algorithm::RS256);
    rs_header.kid = Some("test-rsa".into());
    let rs_token = encode(&rs_header, &claims(Role::Participant), &rsa_key).unwrap();

    let es_body: Value = es256
        .post_with_token(&es_token, VIEWER)
        .await
        .json()
        .await
        .unwrap();
    let rs_body: Value = rs256
        .post_with_token(&rs_token, VIEWER)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(es_body["data"]["viewer"]["role"], "ADMINISTRATOR");
    assert_eq!(rs_body["data"]["viewer"]["role"], "PARTICIPANT");
    // Each service accepts only its own keys' algorithm.
    refused(&es256, &rs_token).await;
    refused(&rs256, &es_token).await;
}

#[tokio::test]
async fn production_refuses_to_start_without_keys() {
    let database = TestDatabase::create().await;
    let mut settings = api::Settings::for_database(database.url());
    settings.auth.environment = api::config::Environment::Production;
    settings.auth.jwt_secret = None;

    let built = api::Application::build(settings).await;

    assert!(built.is_err());
}

#[tokio::test]
async fn development_without_keys_makes_a_secret_of_its_own_once() {
    let folder = tempfile::tempdir().unwrap();
    let configure = |settings: &mut api::Settings| {
        settings.auth.jwt_secret = None;
        settings.auth.data_dir = folder.path().to_owned();
    };
    let first = spawn_app_with(configure).await;
    let secret_file = folder.path().join("dev-jwt-secret");
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    let second = spawn_app_with(configure).await;

    assert_eq!(
        std::fs::read_to_string(&secret_file).unwrap(),
        secret,
        "kept, not replaced"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&secret_file)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    // A token from the first instance is good at the second: they share the secret.
    let response = second
        .post_with_token(&first.token(Role::Coordinator), VIEWER)
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_audience_list_naming_this_service_is_accepted_and_an_empty_subject_is_not() {
    let secret = "a-secret-for-this-test-only-0123456789";
    let app = spawn_app_with(|settings| settings.auth.jwt_secret = Some(secret.into())).await;
    let mut listed = claims(Role::Coordinator);
    listed.aud = api::auth::jwt::Audience::Many(vec!["other-api".into(), "training-api".into()]);
    let response = app.post_with_token(&sign(&listed, secret), VIEWER).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["role"], "COORDINATOR");

    let mut elsewhere = claims(Role::Coordinator);
    elsewhere.aud = api::auth::jwt::Audience::Many(vec!["other-api".into()]);
    refused(&app, &sign(&elsewhere, secret)).await;

    for subject in ["", "   "] {
        let mut nobody = claims(Role::Coordinator);
        nobody.sub = subject.into();
        refused(&app, &sign(&nobody, secret)).await;
    }

    // `nbf` and `iat` are optional (RFC 7519 4.1.5, 4.1.6); some providers leave them out.
    let mut bare = claims(Role::Coordinator);
    (bare.nbf, bare.iat) = (None, None);
    let response = app.post_with_token(&sign(&bare, secret), VIEWER).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["role"], "COORDINATOR", "{body}");
}

/// `training token issue`, as a developer runs it: the token's `sub`.
fn issued_subject(subject: Option<&str>) -> Result<String, String> {
    use base64::Engine;

    let folder = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_training"));
    command
        .args(["token", "issue", "--role", "coordinator"])
        .env("JWT_SECRET", "a-secret-for-this-test-only-0123456789")
        .env("DATA_DIR", folder.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/t.db?mode=rwc", folder.path().display()),
        );
    if let Some(subject) = subject {
        command.args(["--subject", subject]);
    }
    let output = command.output().unwrap();
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let token = String::from_utf8(output.stdout).unwrap();
    let payload = token.trim().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    Ok(claims["sub"].as_str().unwrap().to_owned())
}

#[test]
fn each_issued_token_has_a_subject_of_its_own_unless_one_is_asked_for() {
    let first = issued_subject(None).unwrap();
    let second = issued_subject(None).unwrap();
    assert!(first.starts_with("dev-"), "{first}");
    assert_ne!(first, second, "two people, two subjects");
    assert_eq!(
        issued_subject(Some("servicepunt-1")).unwrap(),
        "servicepunt-1"
    );
    assert!(issued_subject(Some("")).is_err());
    assert!(issued_subject(Some("  ")).is_err());
}
