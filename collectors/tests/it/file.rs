//! The file source: a document's accounts and endpoints in their own scope, removal when they
//! leave the file, and a malformed document refused whole with its line and field.

use collectors::file::FileSource;
use collectors::runner::run;
use entity::enums::{Origin, RunStatus};
use entity::testing::TestDb;
use entity::{cloud_account, collector_run, monitoring_endpoint};
use sea_orm::{EntityTrait, PaginatorTrait};
use std::path::PathBuf;

fn temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "inventory-file-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const TWO_ACCOUNTS: &str = r#"
accounts:
  - provider: aws
    native_id: "999999999999"
    name: legacy-billing
    org_path: standalone
    status: active
    tags: { owner: finance }
  - provider: azure
    native_id: 6f1c2d3e-0000-4a5b-9c8d-000000000009
    name: partner-sandbox
    status: suspended
endpoints:
  - id: prom-factory
    kind: prometheus
    url: http://10.1.2.3:9090
    labels: { site: factory }
"#;

async fn a_document_is_its_own_scope(db: &TestDb) {
    let path = temp("inventory.yaml", TWO_ACCOUNTS);
    let first = run(
        &db.conn,
        &mut FileSource::new(path.clone(), None),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
    assert_eq!(first.scope, "file:inventory.yaml");
    assert_eq!((first.seen, first.created), (3, 3));
    let billing = cloud_account::Entity::find_by_id("aws:999999999999")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(billing.scope, "file:inventory.yaml");
    assert_eq!(
        billing.source,
        format!("file/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        serde_json::json!(billing.tags),
        serde_json::json!({ "owner": "finance" })
    );
    let endpoint = monitoring_endpoint::Entity::find_by_id("prom-factory")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        (endpoint.origin, endpoint.scope.as_str()),
        (Origin::Collector, "file:inventory.yaml")
    );

    // The Azure account leaves the file: the next complete import removes it, nothing else.
    let shorter = TWO_ACCOUNTS.replace(
        "  - provider: azure\n    native_id: 6f1c2d3e-0000-4a5b-9c8d-000000000009\n    name: partner-sandbox\n    status: suspended\n",
        "",
    );
    std::fs::write(&path, shorter).expect("rewrite");
    let second = run(
        &db.conn,
        &mut FileSource::new(path.clone(), None),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(
        (second.status, second.removed, second.unchanged),
        (RunStatus::Succeeded, 1, 2)
    );
    let azure = cloud_account::Entity::find_by_id("azure:6f1c2d3e-0000-4a5b-9c8d-000000000009")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("kept as history");
    assert!(azure.removed_at.is_some());
}

async fn a_malformed_document_writes_nothing_and_says_where(db: &TestDb) {
    for (name, text, expected) in [
        (
            "bad.yaml",
            "accounts:\n  - provider: aws\n    native_id: \"1\"\n    name: x\n    status: sleeping\n",
            "line 5",
        ),
        (
            "bad.yaml",
            "accounts:\n  - provider: aws\n    native_id: \"1\"\n    name: x\n    status: active\n    colour: blue\n",
            "colour",
        ),
        (
            "bad.json",
            "{ \"accounts\": [ { \"provider\": \"aws\", \"name\": \"x\", \"status\": \"active\" } ] }",
            "native_id",
        ),
        ("bad.json", "{ \"accounts\": [ ", "line 1"),
    ] {
        let path = temp(name, text);
        let failed = run(
            &db.conn,
            &mut FileSource::new(path, None),
            &crate::aws::options(),
        )
        .await
        .expect("run");
        assert_eq!(failed.status, RunStatus::Failed, "{text}");
        // Recorded in the scope it would have read, so its next success clears the failure.
        assert_eq!(failed.scope, format!("file:{name}"));
        let error = failed.error.unwrap_or_default();
        assert!(
            error.contains(expected) && error.contains(name),
            "{text}: {error}"
        );
    }
    assert_eq!(
        cloud_account::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        collector_run::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        4
    );
    let missing = run(
        &db.conn,
        &mut FileSource::new(PathBuf::from("/nonexistent/inventory.yaml"), None),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(missing.status, RunStatus::Failed);
}

/// Documents that parse but must not be imported: an empty file (which would otherwise be
/// a complete, empty inventory and remove its scope's assets), a record given twice, and
/// records the mutation would refuse. Each is refused whole, naming what is wrong, and the
/// assets the last good import stored stay as they were.
async fn a_refused_document_removes_and_overwrites_nothing(db: &TestDb) {
    let path = temp("inventory.yaml", TWO_ACCOUNTS);
    let good = run(
        &db.conn,
        &mut FileSource::new(path.clone(), None),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(good.status, RunStatus::Succeeded, "{:?}", good.error);
    let before = snapshot(db).await;
    for (text, expected) in [
        ("", "the document is empty"),
        ("# nothing but a comment\n", "the document is empty"),
        ("---\n", "the document is empty"),
        ("{}\n", "neither accounts nor endpoints"),
        ("endpoints:\n", "neither accounts nor endpoints"),
        (
            "accounts:\n  - { provider: aws, native_id: \"999999999999\", name: a, status: active }\n  - { provider: aws, native_id: \"999999999999\", name: b, status: active }\n",
            "appears more than once",
        ),
        (
            "endpoints:\n  - { id: prom-factory, kind: prometheus, url: \"http://10.1.2.3:9090\" }\n  - { id: prom-factory, kind: prometheus, url: \"http://10.1.2.4:9090\" }\n",
            "appears more than once",
        ),
        (
            "endpoints:\n  - { id: \"Bad Id!\", kind: prometheus, url: \"http://10.1.2.3:9090\" }\n",
            "id must be 1-63 lowercase letters",
        ),
        (
            "endpoints:\n  - { id: prom-factory, kind: prometheus, url: \"https://admin:hunter2@prom.example.com/\" }\n",
            "url must not carry credentials",
        ),
        (
            "endpoints:\n  - { id: prom-factory, kind: prometheus, url: \"https://prom.example.com/?token=hunter2\" }\n",
            "url must not carry credentials in its query",
        ),
        (
            "endpoints:\n  - { id: prom-factory, kind: prometheus, url: \"https://prom.example.com/\", notes: \"\\e[2J\" }\n",
            "notes must not contain control characters",
        ),
    ] {
        std::fs::write(&path, text).expect("rewrite");
        let refused = run(
            &db.conn,
            &mut FileSource::new(path.clone(), None),
            &crate::aws::options(),
        )
        .await
        .expect("run");
        let error = refused.error.clone().unwrap_or_default();
        assert_eq!(refused.status, RunStatus::Failed, "{text:?}: {error}");
        assert_eq!(refused.scope, "file:inventory.yaml");
        assert!(error.contains(expected), "{text:?}: {error}");
        assert!(
            !error.contains("hunter2"),
            "the refusal echoes a credential: {error}"
        );
        assert_eq!(snapshot(db).await, before, "{text:?} changed the inventory");
    }
}

/// Every stored account and endpoint with what a refused import must not change.
async fn snapshot(db: &TestDb) -> Vec<String> {
    let accounts = cloud_account::Entity::find()
        .all(&db.conn)
        .await
        .expect("read");
    let endpoints = monitoring_endpoint::Entity::find()
        .all(&db.conn)
        .await
        .expect("read");
    let mut rows: Vec<String> = accounts
        .into_iter()
        .map(|a| format!("{} {} {:?} {:?}", a.id, a.name, a.removed_at, a.last_run_id))
        .chain(
            endpoints
                .into_iter()
                .map(|e| format!("{} {} {:?} {:?}", e.id, e.url, e.removed_at, e.last_run_id)),
        )
        .collect();
    rows.sort();
    rows
}

entity::on_both_backends!(
    a_document_is_its_own_scope,
    a_malformed_document_writes_nothing_and_says_where,
    a_refused_document_removes_and_overwrites_nothing,
);

/// The binary exits 0 after a good import and non-zero after a refused one, and logs its
/// summary line as JSON.
#[test]
fn the_binary_exit_code_follows_the_run() {
    let good = temp("good.yaml", TWO_ACCOUNTS);
    let bad = temp("bad.yaml", "accounts: [ { provider: oracle } ]\n");
    let database = temp("unused", "");
    let url = format!("sqlite://{}.db?mode=rwc", database.display());
    let collect = |path: &PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_inventory-collect"))
            .args(["--database-url", &url, "file"])
            .arg(path)
            .output()
            .expect("run inventory-collect")
    };
    let ok = collect(&good);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let log = String::from_utf8_lossy(&ok.stderr).into_owned();
    let summary = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "collector run finished")
        .unwrap_or_else(|| panic!("no summary line in {log}"));
    assert_eq!(
        (summary["status"].as_str(), summary["created"].as_i64()),
        (Some("succeeded"), Some(3))
    );
    let refused = collect(&bad);
    assert_eq!(refused.status.code(), Some(1));
}
