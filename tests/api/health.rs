use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn the_service_says_it_is_alive_and_ready() {
    let app = spawn_app().await;

    let alive = app.client.get(app.url("/healthz")).send().await.unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();

    assert_eq!(alive.status(), 200);
    assert_eq!(alive.json::<Value>().await.unwrap()["status"], "ok");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}
