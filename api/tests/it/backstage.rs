//! `backstageEntity` and `lookup(annotation:)`: entities from hostile names (unicode, very
//! long, colliding once normalized) that Backstage's own catalog-model accepts, the
//! annotations Backstage's AWS organization processor writes and their GCP and Azure
//! counterparts, owner and system from tags, a Grafana's dependencies, removed assets
//! flagged; every annotation an entity carries leads back to its asset. The plugin's
//! operations in `backstage/operations` run against the served schema, which the
//! contract test holds equal to `schema.graphql`.
//!
//! With `INVENTORY_TEST_BACKSTAGE_TOOLS` naming `deploy/tools` (its npm packages installed,
//! as `.ci/run` does), every projected entity also goes through `@backstage/catalog-model`'s
//! policies and Resource validator.

use crate::support::{account, data, endpoint, error_code, t};
use entity::enums::{AssetType, EndpointKind, EndpointStatus, Provider};
use entity::record::{AccountRecord, Ancestor};
use entity::testing::TestDb;
use entity::write::WriteContext;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const ARN: &str = "arn:aws:organizations::999999999999:account/o-abc123/111111111111";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SUBSCRIPTION: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";

fn node(id: &str, name: &str, kind: &str) -> Ancestor {
    Ancestor {
        id: id.into(),
        name: name.into(),
        kind: kind.into(),
    }
}

fn aws(native_id: &str, name: &str) -> AccountRecord {
    let mut record = account(Provider::Aws, native_id, name, "o-abc123/r-root/Prod");
    record.ancestors = vec![
        node("o-abc123", "o-abc123", "organization"),
        node("r-root", "Root", "root"),
        node("ou-prod-12345678", "Prod", "organizational_unit"),
    ];
    record.raw = json!({
        "Id": native_id,
        "Arn": format!("arn:aws:organizations::999999999999:account/o-abc123/{native_id}"),
        "Name": name,
    });
    record
}

fn gcp(native_id: &str, name: &str, number: u64) -> AccountRecord {
    let mut record = account(Provider::Gcp, native_id, name, "Example Org/Payments");
    record.ancestors = vec![
        node("organizations/123456789", "Example Org", "organization"),
        node("folders/42", "Payments", "folder"),
    ];
    record.raw = json!({ "name": format!("projects/{number}"), "projectId": native_id });
    record
}

fn azure(native_id: &str, name: &str) -> AccountRecord {
    let mut record = account(Provider::Azure, native_id, name, "Tenant Root/Prod");
    record.ancestors = vec![
        node(TENANT, TENANT, "tenant"),
        node("mg-prod", "Prod", "management_group"),
    ];
    record.raw = json!({ "subscriptionId": native_id, "tenantId": TENANT });
    record
}

/// Two collector runs: the second misses `aws:333333333333`, which is removed. Endpoints: a
/// Grafana that revealed two Prometheus servers, and a retired one.
async fn seed(db: &TestDb) {
    let mut payments = aws("111111111111", "Payments — Prod ✨");
    for (key, value) in [
        ("owner", "group:default/payments"),
        ("system", "Billing Platform"),
        ("Cost Center", "Finance & Ops"),
        ("cost-center", "cc-42"),
        ("日本", "x"),
    ] {
        payments
            .tags
            .get_or_insert_default()
            .insert(key.into(), value.into());
    }
    // The same display name as `payments`: names come from ids, so they cannot collide.
    let mut twin = aws("222222222222", "Payments — Prod ✨");
    twin.tags
        .get_or_insert_default()
        .insert("Owner".into(), "Team Search".into());
    let accounts = vec![
        payments,
        twin,
        aws("333333333333", "leaving"),
        gcp("payments-prod-4821", "payments prod", 731_214_420),
        // Equal to the one above once lower-cased: Backstage compares names ignoring case.
        gcp("Payments-Prod-4821", "payments prod (legacy)", 731_214_421),
        azure(SUBSCRIPTION, "日本語のサブスクリプション"),
        azure(&"ünïcödé-".repeat(40), &"n".repeat(500)),
    ];
    for (minute, records) in [
        (0, accounts.clone()),
        (
            15,
            accounts
                .into_iter()
                .filter(|a| a.native_id != "333333333333")
                .collect(),
        ),
    ] {
        crate::support::complete_run(db, "test", t(minute), records).await;
    }

    let mut grafana = endpoint(
        "grafana-main",
        EndpointKind::Grafana,
        EndpointStatus::Up,
        "https://grafana.example.com",
    );
    grafana.raw = json!({ "datasources": {
        "total": 3, "prometheus": 2,
        "prometheus_endpoints": ["prom-b", "prometheus-prom-a-monitoring-9090"],
    } });
    grafana.labels.insert("owner".into(), "sre".into());
    let prom_a = endpoint(
        "prometheus-prom-a-monitoring-9090",
        EndpointKind::Prometheus,
        EndpointStatus::Up,
        "http://prom-a.monitoring:9090",
    );
    let prom_b = endpoint(
        "prom-b",
        EndpointKind::Prometheus,
        EndpointStatus::Down,
        "https://prom-b.example.com",
    );
    let old = endpoint(
        "prom-old",
        EndpointKind::Prometheus,
        EndpointStatus::Unknown,
        "https://prom-old.example.com",
    );
    crate::support::write_endpoints(db, vec![grafana, prom_a, prom_b, old]).await;
    entity::write::remove(
        &db.conn,
        &WriteContext::actor("token:alice", t(20)),
        AssetType::MonitoringEndpoint,
        &["prom-old".to_owned()],
    )
    .await
    .expect("retire");
}

const ENTITIES: &str = r#"{
  accounts(first: 50, filter: { includeRemoved: true }) { nodes { key backstageEntity } }
  monitoringEndpoints(first: 50, filter: { includeRemoved: true }) { nodes { key backstageEntity } }
}"#;

/// Every asset's entity, by asset key.
async fn entities(app: &axum::Router) -> Vec<(String, Value)> {
    let data = data(app, ENTITIES, Value::Null).await;
    ["accounts", "monitoringEndpoints"]
        .iter()
        .flat_map(|list| data[*list]["nodes"].as_array().expect("nodes").clone())
        .map(|n| {
            (
                n["key"].as_str().expect("key").to_owned(),
                n["backstageEntity"].clone(),
            )
        })
        .collect()
}

fn entity<'a>(all: &'a [(String, Value)], key: &str) -> &'a Value {
    &all.iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no entity for {key}"))
        .1
}

fn name(entity: &Value) -> &str {
    entity["metadata"]["name"].as_str().expect("name")
}

/// Backstage's object-name rule, as its catalog-model states it.
fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
}

async fn entities_follow_backstage_rules(db: &TestDb) {
    seed(db).await;
    let app = crate::support::app(&db.conn);
    let all = entities(&app).await;
    assert_eq!(all.len(), 11);

    // One account in full: Backstage's AWS annotations, labels from tags (the valid
    // `cost-center` wins over `Cost Center`; a key with nothing left is dropped), owner as
    // given (a ref), system made a name.
    assert_eq!(
        *entity(&all, "aws:111111111111"),
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {
                "name": "aws-111111111111",
                "namespace": "default",
                "title": "Payments — Prod ✨",
                "description": "AWS account 111111111111 in o-abc123/r-root/Prod",
                "annotations": {
                    "asset-inventory/id": "aws:111111111111",
                    "amazonaws.com/account-id": "111111111111",
                    "amazonaws.com/arn": ARN,
                    "amazonaws.com/organization-id": "o-abc123",
                    "asset-inventory/status": "active",
                    "asset-inventory/org-path": "o-abc123/r-root/Prod",
                },
                "labels": {
                    "cost-center": "cc-42",
                    "owner": "group-default-payments",
                    "system": "billing-platform",
                },
                "tags": ["aws"],
            },
            "spec": {
                "type": "cloud-account",
                "owner": "group:default/payments",
                "system": "billing-platform",
            },
        })
    );

    // Names: valid, and unique ignoring case (as Backstage compares them).
    let mut seen = BTreeSet::new();
    for (key, entity) in &all {
        let name = name(entity);
        assert!(valid_name(name), "{key}: {name:?}");
        assert!(
            seen.insert(name.to_lowercase()),
            "{key}: {name} given twice"
        );
        assert_eq!(entity["apiVersion"], "backstage.io/v1alpha1");
        assert_eq!(entity["kind"], "Resource");
    }

    // The same display name twice: two entities; an `Owner` tag counts for `owner`.
    let twin = entity(&all, "aws:222222222222");
    assert_eq!(name(twin), "aws-222222222222");
    assert_eq!(twin["metadata"]["title"], "Payments — Prod ✨");
    assert_eq!(twin["spec"]["owner"], "team-search");
    assert_eq!(twin["spec"].get("system"), None);

    // Project ids equal but for case: the unchanged one keeps its id, the other is
    // shortened with a hash.
    let plain = entity(&all, "gcp:payments-prod-4821");
    let upper = entity(&all, "gcp:Payments-Prod-4821");
    assert_eq!(name(plain), "gcp-payments-prod-4821");
    assert!(
        name(upper).starts_with("gcp-payments-prod-4821_"),
        "{upper}"
    );
    assert_eq!(
        plain["metadata"]["annotations"]["cloud.google.com/project-number"],
        "731214420"
    );
    assert_eq!(
        plain["metadata"]["annotations"]["cloud.google.com/organization-id"],
        "123456789"
    );
    assert_eq!(plain["spec"]["type"], "cloud-account");
    assert_eq!(plain["spec"]["owner"], "unknown");

    // Unicode and very long: the title keeps the name whole, the name fits the rules.
    let japanese = entity(&all, &format!("azure:{SUBSCRIPTION}"));
    assert_eq!(name(japanese), format!("azure-{SUBSCRIPTION}"));
    assert_eq!(japanese["metadata"]["title"], "日本語のサブスクリプション");
    assert_eq!(
        japanese["metadata"]["annotations"]["azure.com/tenant-id"],
        TENANT
    );
    assert_eq!(
        japanese["metadata"]["annotations"]["azure.com/subscription-id"],
        SUBSCRIPTION
    );
    let long = entity(&all, &format!("azure:{}", "ünïcödé-".repeat(40)));
    assert!(
        name(long).len() <= 63
            && name(long).starts_with("azure-n-c-d-")
            && name(long).contains('_'),
        "{}",
        name(long)
    );
    assert_eq!(long["metadata"]["title"].as_str().map(str::len), Some(500));

    // Removed assets stay, flagged, so a provider removes them on purpose.
    let gone = entity(&all, "aws:333333333333");
    assert_eq!(
        gone["metadata"]["annotations"]["asset-inventory/removed"],
        "true"
    );
    assert_eq!(
        gone["metadata"]["annotations"]["asset-inventory/removed-at"],
        "2026-11-01T12:15:00Z"
    );
    let retired = entity(&all, "prom-old");
    assert_eq!(
        retired["metadata"]["annotations"]["asset-inventory/removed"],
        "true"
    );
    assert_eq!(
        entity(&all, "aws:111111111111")["metadata"]["annotations"].get("asset-inventory/removed"),
        None
    );

    // The Grafana depends on the entities of the Prometheus servers it revealed.
    let grafana = entity(&all, "grafana-main");
    let expected: Vec<String> = ["prom-b", "prometheus-prom-a-monitoring-9090"]
        .iter()
        .map(|key| format!("resource:default/{}", name(entity(&all, key))))
        .collect();
    assert_eq!(grafana["spec"]["dependsOn"], json!(expected));
    assert_eq!(
        expected,
        [
            "resource:default/endpoint-prom-b",
            "resource:default/endpoint-prometheus-prom-a-monitoring-9090"
        ]
    );
    assert_eq!(grafana["spec"]["type"], "monitoring-endpoint");
    assert_eq!(grafana["spec"]["owner"], "sre");
    assert_eq!(grafana["metadata"]["tags"], json!(["grafana"]));
    assert_eq!(
        grafana["metadata"]["links"],
        json!([{ "url": "https://grafana.example.com", "title": "Grafana" }])
    );
    assert_eq!(entity(&all, "prom-b")["spec"].get("dependsOn"), None);

    validate_with_backstage(&all);
}

/// Runs Backstage's own validation over the entities when the npm tools are installed.
fn validate_with_backstage(all: &[(String, Value)]) {
    let Ok(tools) = std::env::var("INVENTORY_TEST_BACKSTAGE_TOOLS") else {
        eprintln!("note: INVENTORY_TEST_BACKSTAGE_TOOLS is not set; Backstage validation skipped");
        return;
    };
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let file = std::env::temp_dir().join(format!(
        "backstage-entities-{}-{}.yaml",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let documents: Vec<String> = all.iter().map(|(_, e)| e.to_string()).collect();
    std::fs::write(&file, documents.join("\n---\n")).expect("write entities");
    let output = std::process::Command::new("node")
        .arg(std::path::Path::new(&tools).join("validate-catalog.mjs"))
        .arg(&file)
        .output()
        .expect("INVENTORY_TEST_BACKSTAGE_TOOLS is set but node does not run");
    std::fs::remove_file(&file).ok();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    assert_eq!(
        report.lines().filter(|l| l.starts_with("ok ")).count(),
        all.len(),
        "{report}"
    );
}

/// Namespace, owner tag and default owner come from the options; refs follow the namespace.
async fn options_name_the_namespace_and_owner(db: &TestDb) {
    seed(db).await;
    let mut settings = crate::support::open_settings();
    settings.backstage = api::backstage::Options {
        namespace: "inventory".into(),
        owner_tag: "system".into(),
        system_tag: "owner".into(),
        default_owner: "group:platform/cloud".into(),
    };
    let app = api::http::router(db.conn.clone(), settings).expect("router");
    let all = entities(&app).await;
    let payments = entity(&all, "aws:111111111111");
    assert_eq!(payments["metadata"]["namespace"], "inventory");
    assert_eq!(payments["spec"]["owner"], "billing-platform");
    assert_eq!(payments["spec"]["system"], "group:default/payments");
    let plain = entity(&all, "gcp:payments-prod-4821");
    assert_eq!(plain["spec"]["owner"], "group:platform/cloud");
    assert_eq!(
        entity(&all, "grafana-main")["spec"]["dependsOn"][0],
        "resource:inventory/endpoint-prom-b"
    );
    validate_with_backstage(&all);
}

const LOOKUP: &str = r#"query($key: String!, $value: String!, $first: Int, $after: String,
    $includeRemoved: Boolean! = true) {
  lookup(annotation: { key: $key, value: $value }, first: $first, after: $after,
         includeRemoved: $includeRemoved) {
    pageInfo { hasNextPage endCursor }
    totalCount
    nodes { __typename ... on CloudAccount { key } ... on MonitoringEndpoint { key } }
  }
}"#;

async fn lookup(app: &axum::Router, key: &str, value: &str, extra: Value) -> Value {
    let mut variables = json!({ "key": key, "value": value });
    if let (Some(vars), Some(extra)) = (variables.as_object_mut(), extra.as_object()) {
        vars.extend(extra.clone());
    }
    data(app, LOOKUP, variables).await["lookup"].clone()
}

fn found(connection: &Value) -> Vec<&str> {
    connection["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["key"].as_str().expect("key"))
        .collect()
}

async fn annotations_lead_back_to_their_assets(db: &TestDb) {
    seed(db).await;
    let app = crate::support::app(&db.conn);

    // Every annotation of ours on every entity finds the entity's asset.
    let all = entities(&app).await;
    let mut checked = 0;
    for (asset, entity) in &all {
        let annotations = entity["metadata"]["annotations"]
            .as_object()
            .expect("annotations");
        for annotation in api::backstage::annotations::Annotation::ALL {
            let Some(value) = annotations.get(annotation.key()).and_then(Value::as_str) else {
                continue;
            };
            let result = lookup(&app, annotation.key(), value, json!({ "first": 100 })).await;
            assert!(
                found(&result).contains(&asset.as_str()),
                "{} = {value} does not find {asset}: {result}",
                annotation.key()
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked, 30,
        "every annotation of every entity was looked up"
    );

    // One asset for an id; the union says which type.
    let one = lookup(
        &app,
        "amazonaws.com/account-id",
        "111111111111",
        Value::Null,
    )
    .await;
    assert_eq!(
        one["nodes"],
        json!([{ "__typename": "CloudAccount", "key": "aws:111111111111" }])
    );
    let endpoint = lookup(&app, "asset-inventory/id", "prom-b", Value::Null).await;
    assert_eq!(
        endpoint["nodes"],
        json!([{ "__typename": "MonitoringEndpoint", "key": "prom-b" }])
    );
    assert_eq!(
        found(&lookup(&app, "asset-inventory/id", "aws:222222222222", Value::Null).await),
        ["aws:222222222222"]
    );
    // The ARN must be the account's own, not just end in its id.
    let forged = "arn:aws:organizations::000000000000:account/o-other/111111111111";
    assert!(found(&lookup(&app, "amazonaws.com/arn", forged, Value::Null).await).is_empty());
    assert_eq!(
        found(&lookup(&app, "amazonaws.com/arn", ARN, Value::Null).await),
        ["aws:111111111111"]
    );
    assert!(found(&lookup(&app, "asset-inventory/id", "nope", Value::Null).await).is_empty());

    // An organization names every account below it, removed ones unless asked otherwise,
    // page by page.
    let org = lookup(
        &app,
        "amazonaws.com/organization-id",
        "o-abc123",
        Value::Null,
    )
    .await;
    assert_eq!(
        found(&org),
        ["aws:111111111111", "aws:222222222222", "aws:333333333333"]
    );
    assert_eq!(org["totalCount"], 3);
    let present = lookup(
        &app,
        "amazonaws.com/organization-id",
        "o-abc123",
        json!({ "includeRemoved": false }),
    )
    .await;
    assert_eq!(found(&present), ["aws:111111111111", "aws:222222222222"]);
    let first = lookup(
        &app,
        "amazonaws.com/organization-id",
        "o-abc123",
        json!({ "first": 2 }),
    )
    .await;
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = lookup(
        &app,
        "amazonaws.com/organization-id",
        "o-abc123",
        json!({ "first": 2, "after": first["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(found(&rest), ["aws:333333333333"]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    for value in ["123456789", "organizations/123456789"] {
        assert_eq!(
            found(&lookup(&app, "cloud.google.com/organization-id", value, Value::Null).await),
            ["gcp:Payments-Prod-4821", "gcp:payments-prod-4821"]
        );
    }
    assert_eq!(
        found(
            &lookup(
                &app,
                "cloud.google.com/project-number",
                "731214421",
                Value::Null
            )
            .await
        ),
        ["gcp:Payments-Prod-4821"]
    );
    assert_eq!(
        found(&lookup(&app, "azure.com/tenant-id", TENANT, Value::Null).await).len(),
        2
    );
    // An organization id is not a tenant: the provider is part of the question.
    assert!(found(&lookup(&app, "azure.com/tenant-id", "o-abc123", Value::Null).await).is_empty());

    // Bad questions are bad input, named.
    for (key, value, field) in [
        ("backstage.io/techdocs-ref", "x", "annotation.key"),
        ("amazonaws.com/account-id", "  ", "annotation.value"),
        ("amazonaws.com/arn", "not-an-arn", "annotation.value"),
        (
            "asset-inventory/id",
            &"x".repeat(10_000),
            "annotation.value",
        ),
    ] {
        let (code, message) = error_code(&app, LOOKUP, json!({ "key": key, "value": value })).await;
        assert_eq!(code, "BAD_USER_INPUT", "{key}: {message}");
        assert!(message.contains(field), "{key}: {message}");
    }
    let (_, message) = error_code(
        &app,
        LOOKUP,
        json!({ "key": "backstage.io/techdocs-ref", "value": "x" }),
    )
    .await;
    assert!(message.contains("amazonaws.com/account-id"), "{message}");
}

entity::on_both_backends!(
    entities_follow_backstage_rules,
    options_name_the_namespace_and_owner,
    annotations_lead_back_to_their_assets,
    plugin_operations_run_against_the_schema
);

/// The plugin's operations, each with the variables it is run with here. A new file needs a
/// line here, or this test fails.
fn operation_variables(file: &str) -> Option<Value> {
    Some(match file {
        "account-entities.graphql" | "endpoint-entities.graphql" | "entity-changes.graphql" => {
            json!({ "first": 2 })
        }
        "assets-by-annotation.graphql" => {
            json!({ "key": "amazonaws.com/organization-id", "value": "o-abc123" })
        }
        "asset-history.graphql" => json!({ "key": "aws:333333333333" }),
        "changes-head.graphql" => Value::Null,
        "account-as-of.graphql" => json!({
            "provider": "AWS", "nativeId": "333333333333", "asOf": "2026-11-01T12:10:00Z"
        }),
        _ => return None,
    })
}

async fn plugin_operations_run_against_the_schema(db: &TestDb) {
    seed(db).await;
    let app = crate::support::app(&db.conn);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../backstage/operations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("backstage/operations")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 7, "{files:?}");
    for file in files {
        let query = std::fs::read_to_string(dir.join(&file)).expect("read operation");
        let variables = operation_variables(&file)
            .unwrap_or_else(|| panic!("{file}: give it variables in operation_variables"));
        let mut data = data(&app, &query, variables.clone()).await;
        // On PostgreSQL the feed shows a change once no older transaction on the server
        // is still open (other tests write concurrently): wait for it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while file == "entity-changes.graphql"
            && data["changes"]["nodes"].as_array().map(Vec::len) != Some(2)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the feed stays empty: {data}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            data = crate::support::data(&app, &query, variables.clone()).await;
        }
        match file.as_str() {
            "account-entities.graphql" => {
                let page = &data["accounts"];
                assert_eq!(page["nodes"].as_array().map(Vec::len), Some(2));
                assert_eq!(page["pageInfo"]["hasNextPage"], true);
                assert_eq!(page["nodes"][0]["backstageEntity"]["kind"], "Resource");
            }
            "endpoint-entities.graphql" => {
                assert_eq!(
                    data["monitoringEndpoints"]["nodes"][0]["backstageEntity"]["metadata"]["name"],
                    "endpoint-grafana-main"
                );
            }
            "entity-changes.graphql" => {
                let first = &data["changes"]["nodes"][0];
                assert_eq!(first["kind"], "CREATED");
                assert_eq!(first["asset"]["backstageEntity"]["kind"], "Resource");
            }
            "assets-by-annotation.graphql" => {
                assert_eq!(data["lookup"]["nodes"].as_array().map(Vec::len), Some(3));
                assert_eq!(
                    data["lookup"]["nodes"][0]["ancestors"][0]["type"],
                    "ORGANIZATION"
                );
            }
            "asset-history.graphql" => {
                let history = &data["lookup"]["nodes"][0]["history"]["nodes"];
                assert_eq!(history[0]["kind"], "REMOVED");
                assert_eq!(history[1]["kind"], "CREATED");
            }
            "changes-head.graphql" => {
                assert!(data["changesHead"].is_string(), "{data}");
            }
            "account-as-of.graphql" => {
                let then = &data["account"];
                assert_eq!(then["name"], "leaving");
                assert_eq!(then["removedAt"], Value::Null);
                assert_eq!(
                    then["backstageEntity"]["metadata"]["annotations"]
                        .get("asset-inventory/removed"),
                    None,
                    "as of then it was not removed"
                );
            }
            other => panic!("{other} has no assertions"),
        }
    }
}

/// Options that would make every entity invalid stop the API at start.
#[tokio::test]
async fn bad_backstage_options_stop_the_start() {
    for (flag, value, message) in [
        ("namespace", "Not A Label", "namespace"),
        ("default_owner", "group:Bad Ns/x", "default Backstage owner"),
        ("owner_tag", " ", "owner tag"),
    ] {
        let mut args = crate::support::serve_args("sqlite::memory:", None);
        match flag {
            "namespace" => args.backstage.backstage_namespace = value.into(),
            "default_owner" => args.backstage.backstage_default_owner = value.into(),
            _ => args.backstage.backstage_owner_tag = value.into(),
        }
        let Err(err) = api::app::Application::build(&args).await else {
            panic!("{flag} = {value:?} was accepted");
        };
        assert!(format!("{err:#}").contains(message), "{flag}: {err:#}");
    }
}
