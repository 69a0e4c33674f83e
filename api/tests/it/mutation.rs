//! Seeding and retiring endpoints by hand: validation, idempotence, history with the actor,
//! and the line between what people describe and what collectors observe.

use crate::auth::{call, secured_app};
use crate::issuer::Issuer;
use axum::Router;
use chrono::Utc;
use entity::enums::{ChangeKind, EndpointStatus};
use entity::testing::TestDb;
use entity::write::{WriteContext, upsert_endpoints};
use entity::{asset_change, monitoring_endpoint};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

const UPSERT: &str = r#"mutation($input: UpsertMonitoringEndpointInput!) {
  upsertMonitoringEndpoint(input: $input) {
    outcome
    endpoint { key kind url authMode secretRef status version origin labels { key value } notes createdBy updatedBy removedAt }
  }
}"#;

const RETIRE: &str = r#"mutation($id: String!) {
  retireMonitoringEndpoint(id: $id) { retired endpoint { key removedAt } }
}"#;

async fn post(app: &Router, token: &str, query: &str, variables: Value) -> Value {
    let request = axum::http::Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::from(
            json!({ "query": query, "variables": variables }).to_string(),
        ))
        .expect("request");
    let (status, body, _) = crate::support::send(app, request).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    serde_json::from_slice(&body).expect("JSON")
}

fn input() -> Value {
    json!({
        "id": "prom-lab", "kind": "PROMETHEUS", "url": "https://prom.lab.example.com:9090",
        "authMode": "TOKEN", "secretRef": "env:PROM_LAB_TOKEN",
        "labels": [{ "key": "team", "value": "lab" }], "notes": "behind the lab VPN",
    })
}

async fn history(db: &TestDb, id: &str) -> Vec<asset_change::Model> {
    asset_change::Entity::find()
        .filter(asset_change::Column::AssetId.eq(id))
        .order_by_asc(asset_change::Column::Id)
        .all(&db.conn)
        .await
        .expect("history")
}

async fn upserts_are_idempotent_and_recorded_with_the_actor(db: &TestDb) {
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    let created = post(&app, &tokens.editor, UPSERT, json!({ "input": input() })).await;
    let payload = &created["data"]["upsertMonitoringEndpoint"];
    assert_eq!(payload["outcome"], "CREATED", "{created}");
    assert_eq!(
        payload["endpoint"],
        json!({
            "key": "prom-lab", "kind": "PROMETHEUS", "url": "https://prom.lab.example.com:9090/",
            "authMode": "TOKEN", "secretRef": "env:PROM_LAB_TOKEN", "status": "UNKNOWN",
            "version": null, "origin": "MANUAL", "labels": [{ "key": "team", "value": "lab" }],
            "notes": "behind the lab VPN", "createdBy": "token:alice", "updatedBy": "token:alice",
            "removedAt": null,
        })
    );

    let again = post(&app, &tokens.editor, UPSERT, json!({ "input": input() })).await;
    assert_eq!(
        again["data"]["upsertMonitoringEndpoint"]["outcome"],
        "UNCHANGED"
    );
    assert_eq!(
        history(db, "prom-lab").await.len(),
        1,
        "no history for an unchanged write"
    );

    let mut edited = input();
    edited["notes"] = json!("moved to the new VPN");
    let jwt = issuer.es256(&Issuer::claims("carol", &["inventory-editors"]));
    let updated = post(&app, &jwt, UPSERT, json!({ "input": edited })).await;
    assert_eq!(
        updated["data"]["upsertMonitoringEndpoint"]["outcome"],
        "UPDATED"
    );
    assert_eq!(
        updated["data"]["upsertMonitoringEndpoint"]["endpoint"]["createdBy"],
        "token:alice"
    );
    assert_eq!(
        updated["data"]["upsertMonitoringEndpoint"]["endpoint"]["updatedBy"],
        "oidc:carol"
    );
    let changes = history(db, "prom-lab").await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].kind, ChangeKind::Created);
    assert_eq!(changes[0].actor.as_deref(), Some("token:alice"));
    assert_eq!(changes[1].kind, ChangeKind::Updated);
    assert_eq!(changes[1].actor.as_deref(), Some("oidc:carol"));
    assert_eq!(changes[1].run_id, None);
    assert_eq!(
        changes[1].changes,
        json!({ "notes": { "old": "behind the lab VPN", "new": "moved to the new VPN" } })
    );
}

async fn retired_endpoints_keep_history_and_come_back(db: &TestDb) {
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    post(&app, &tokens.editor, UPSERT, json!({ "input": input() })).await;

    let retired = post(&app, &tokens.editor, RETIRE, json!({ "id": "prom-lab" })).await;
    assert_eq!(
        retired["data"]["retireMonitoringEndpoint"]["retired"], true,
        "{retired}"
    );
    assert!(retired["data"]["retireMonitoringEndpoint"]["endpoint"]["removedAt"].is_string());
    let listed = post(
        &app,
        &tokens.viewer,
        "{ monitoringEndpoints { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(listed["data"]["monitoringEndpoints"]["totalCount"], 0);

    let twice = post(&app, &tokens.editor, RETIRE, json!({ "id": "prom-lab" })).await;
    assert_eq!(twice["data"]["retireMonitoringEndpoint"]["retired"], false);
    let unknown = post(
        &app,
        &tokens.editor,
        RETIRE,
        json!({ "id": "no-such-endpoint" }),
    )
    .await;
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let viewer = post(&app, &tokens.viewer, RETIRE, json!({ "id": "prom-lab" })).await;
    assert_eq!(viewer["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let restored = post(&app, &tokens.editor, UPSERT, json!({ "input": input() })).await;
    assert_eq!(
        restored["data"]["upsertMonitoringEndpoint"]["outcome"],
        "RESTORED"
    );
    assert_eq!(
        restored["data"]["upsertMonitoringEndpoint"]["endpoint"]["removedAt"],
        Value::Null
    );
    let kinds: Vec<_> = history(db, "prom-lab")
        .await
        .into_iter()
        .map(|c| (c.kind, c.actor))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (ChangeKind::Created, Some("token:alice".to_owned())),
            (ChangeKind::Removed, Some("token:alice".to_owned())),
            (ChangeKind::Restored, Some("token:alice".to_owned())),
        ]
    );
}

async fn every_field_is_validated_by_name(db: &TestDb) {
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    let with = |field: &str, value: Value| {
        let mut input = input();
        input[field] = value;
        input
    };
    let cases = [
        (with("id", json!("Prom_Lab")), "input.id"),
        (with("id", json!("")), "input.id"),
        (with("id", json!("x".repeat(64))), "input.id"),
        (with("url", json!("ftp://prom.example.com")), "input.url"),
        (
            with("url", json!("https://admin:hunter2@prom.example.com")),
            "input.url",
        ),
        (
            with("url", json!("https://prom.example.com/?access_token=abc")),
            "input.url",
        ),
        (with("url", json!("not a url")), "input.url"),
        (
            with(
                "url",
                json!(format!("https://example.com/{}", "a".repeat(2100))),
            ),
            "input.url",
        ),
        (
            with(
                "labels",
                json!(
                    (0..33)
                        .map(|i| json!({ "key": format!("k{i}"), "value": "v" }))
                        .collect::<Vec<_>>()
                ),
            ),
            "input.labels",
        ),
        (
            with("labels", json!([{ "key": "bad key", "value": "v" }])),
            "input.labels",
        ),
        (
            with(
                "labels",
                json!([{ "key": "k", "value": "v" }, { "key": "k", "value": "w" }]),
            ),
            "input.labels",
        ),
        (
            with("labels", json!([{ "key": "k", "value": "x".repeat(257) }])),
            "input.labels",
        ),
        (with("notes", json!("n".repeat(2001))), "input.notes"),
        (
            with("secretRef", json!("glsa_0123456789abcdef")),
            "input.secretRef",
        ),
        (with("secretRef", Value::Null), "input.secretRef"),
        (with("authMode", json!("NONE")), "input.secretRef"),
        (
            with("notes", json!("clear the screen \u{1b}[2J")),
            "input.notes",
        ),
        (with("notes", json!("nul \u{0} inside")), "input.notes"),
        (
            with(
                "url",
                json!("https://s3.example.com/x?X-Amz-Signature=hunter2"),
            ),
            "input.url",
        ),
        (
            with(
                "url",
                json!("https://gitlab.example.com/?private_token=hunter2"),
            ),
            "input.url",
        ),
        // The collectors' own secrets are outside what the operator grants…
        (
            with("secretRef", json!("env:INVENTORY_DATABASE_URL")),
            "input.secretRef",
        ),
        (
            with("secretRef", json!("env:AWS_SECRET_ACCESS_KEY")),
            "input.secretRef",
        ),
        (
            with("secretRef", json!("file:/etc/shadow")),
            "input.secretRef",
        ),
        (
            with("secretRef", json!("file:/proc/self/environ")),
            "input.secretRef",
        ),
        // …and a granted reference goes only to the origins granted for it.
        (
            with("url", json!("https://attacker.example.com/collect")),
            "input.secretRef",
        ),
    ];
    for (input, field) in cases {
        let response = post(&app, &tokens.editor, UPSERT, json!({ "input": input })).await;
        let error = &response["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "BAD_USER_INPUT",
            "{input}: {response}"
        );
        assert_eq!(error["extensions"]["field"], field, "{input}: {response}");
        assert!(
            !error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("hunter2"),
            "the refusal echoes a credential: {response}"
        );
    }
    for (input, what) in [
        (with("kind", json!("LOKI")), "an unknown kind"),
        (with("authMode", json!("KERBEROS")), "an unknown auth mode"),
        (
            with("password", json!("hunter2")),
            "a field that does not exist",
        ),
    ] {
        let response = post(&app, &tokens.editor, UPSERT, json!({ "input": input })).await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{what}: {response}"
        );
    }
    let count = monitoring_endpoint::Entity::find()
        .all(&db.conn)
        .await
        .expect("read")
        .len();
    assert_eq!(count, 0, "nothing invalid was written");
}

async fn people_and_collectors_each_keep_their_fields(db: &TestDb) {
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    post(&app, &tokens.editor, UPSERT, json!({ "input": input() })).await;

    // A collector probes the endpoint and describes it its own way.
    let run = entity::run::start_run(&db.conn, "prometheus", "0", "probe", Utc::now())
        .await
        .expect("run")
        .id;
    let observed = entity::record::EndpointRecord {
        id: "prom-lab".into(),
        kind: entity::enums::EndpointKind::Prometheus,
        url: "http://10.0.0.9:9090".into(),
        auth_mode: entity::enums::AuthMode::None,
        status: EndpointStatus::Up,
        version: Some("2.53.1".into()),
        raw: json!({ "buildinfo": { "version": "2.53.1" } }),
        origin: entity::enums::Origin::Collector,
        labels: [("found-by".to_owned(), "grafana".to_owned())].into(),
        notes: None,
        secret_ref: None,
        scope: "grafana-central".into(),
        last_checked_at: Some(Utc::now()),
        last_error: None,
        provenance: json!({ "api": "/api/v1/status/buildinfo" }),
    };
    upsert_endpoints(
        &db.conn,
        &WriteContext::run(run, Utc::now()),
        vec![observed],
    )
    .await
    .expect("collector write");
    let read = r#"{ monitoringEndpoints { nodes { url authMode secretRef labels { key value } notes origin status version lastRun { collector } } } }"#;
    let seen = post(&app, &tokens.viewer, read, json!({})).await;
    assert_eq!(
        seen["data"]["monitoringEndpoints"]["nodes"][0],
        json!({
            "url": "https://prom.lab.example.com:9090/", "authMode": "TOKEN",
            "secretRef": "env:PROM_LAB_TOKEN", "labels": [{ "key": "team", "value": "lab" }],
            "notes": "behind the lab VPN", "origin": "MANUAL",
            "status": "UP", "version": "2.53.1", "lastRun": { "collector": "prometheus" },
        })
    );
    // The manual endpoint is not part of the collector's scope: a complete run of that scope
    // that no longer sees it does not remove it.
    let removed = entity::write::remove_unseen(
        &db.conn,
        run,
        Utc::now(),
        entity::enums::AssetType::MonitoringEndpoint,
        "grafana-central",
    )
    .await
    .expect("remove");
    assert_eq!(removed, 0);

    // A person edits the notes; the observation stays.
    let mut edited = input();
    edited["notes"] = json!("now monitored");
    let after = post(&app, &tokens.editor, UPSERT, json!({ "input": edited })).await;
    let endpoint = &after["data"]["upsertMonitoringEndpoint"]["endpoint"];
    assert_eq!(
        (endpoint["status"].as_str(), endpoint["version"].as_str()),
        (Some("UP"), Some("2.53.1"))
    );
    assert_eq!(endpoint["notes"], "now monitored");
}

entity::on_both_backends!(
    upserts_are_idempotent_and_recorded_with_the_actor,
    retired_endpoints_keep_history_and_come_back,
    every_field_is_validated_by_name,
    people_and_collectors_each_keep_their_fields,
);

#[tokio::test]
async fn anonymous_writes_are_refused_even_when_reads_are_open() {
    let db = TestDb::sqlite().await;
    let app = crate::support::app(&db.conn);
    let (status, body) = call(
        &app,
        "mutation { retireMonitoringEndpoint(id: \"x\") { retired } }",
        None,
    )
    .await;
    assert_eq!(status, axum::http::StatusCode::OK);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    db.finish().await;
}
