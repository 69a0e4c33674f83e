//! The Prometheus source against a real Prometheus (Debian's `prometheus`, started here on
//! loopback with a temporary data directory), once open and once behind basic auth through
//! `--web.config.file`; plus a dead port, a port that never answers, and a refused address.
//! Runs when `INVENTORY_TEST_PROMETHEUS` names the binary (`.ci/run` installs and sets it).

use chrono::Utc;
use collectors::guard::AddressPolicy;
use collectors::probe::{ProbeOptions, Target};
use collectors::prometheus::{PrometheusSource, id_for};
use collectors::runner::run;
use entity::enums::{AuthMode, EndpointKind, EndpointStatus, Origin, RunStatus};
use entity::monitoring_endpoint;
use entity::record::EndpointRecord;
use entity::testing::TestDb;
use entity::write::{WriteContext, upsert_endpoints};
use sea_orm::EntityTrait;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const USER: &str = "inventory";
const PASSWORD: &str = "fake-prom-password-for-tests";

struct Prometheus {
    child: Child,
    url: url::Url,
    dir: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn start(basic_auth: bool) -> Option<Prometheus> {
    let Ok(binary) = std::env::var("INVENTORY_TEST_PROMETHEUS") else {
        let _ = writeln!(
            std::io::stderr(),
            "note: INVENTORY_TEST_PROMETHEUS is not set; the Prometheus tests were skipped"
        );
        return None;
    };
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("inventory-prom-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let auth = if basic_auth {
        format!("\n    basic_auth: {{ username: {USER}, password: {PASSWORD} }}")
    } else {
        String::new()
    };
    std::fs::write(
        dir.join("prometheus.yml"),
        format!("global: {{ scrape_interval: 1s }}\nscrape_configs:\n  - job_name: self{auth}\n    static_configs: [{{ targets: ['127.0.0.1:{port}'] }}]\n"),
    )
    .expect("config");
    let mut command = Command::new(binary);
    command
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if basic_auth {
        let hash = bcrypt::hash(PASSWORD, 4).expect("bcrypt");
        std::fs::write(
            dir.join("web.yml"),
            format!("basic_auth_users:\n  {USER}: {hash}\n"),
        )
        .expect("web config");
        command.arg(format!(
            "--web.config.file={}",
            dir.join("web.yml").display()
        ));
    }
    let child = command
        .spawn()
        .expect("INVENTORY_TEST_PROMETHEUS is set but does not start");
    let prometheus = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}/").parse().expect("url"),
        dir,
    };
    let client = reqwest::Client::new();
    for _ in 0..150 {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/-/ready"))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Some(prometheus);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prometheus did not become ready on port {port}");
}

fn options(targets: Vec<Target>) -> ProbeOptions {
    ProbeOptions {
        targets,
        policy: AddressPolicy {
            allowed: vec!["127.0.0.0/8".parse().expect("net")],
        },
        timeout: Duration::from_secs(2),
        concurrency: 4,
        ca_pem: None,
        // The servers' secret files live in their temporary directories.
        grants: std::sync::Arc::new(entity::secret_ref::SecretGrants::new(vec![
            format!("file:{}/=*", std::env::temp_dir().display())
                .parse()
                .expect("a grant"),
        ])),
    }
}

fn target(id: &str, url: &str) -> Target {
    Target {
        id: id.into(),
        url: url.parse().expect("url"),
        auth_mode: AuthMode::None,
        secret_ref: None,
    }
}

async fn stored(db: &TestDb, id: &str) -> monitoring_endpoint::Model {
    monitoring_endpoint::Entity::find_by_id(id.to_owned())
        .one(&db.conn)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{id} stored"))
}

async fn real_prometheus_open_and_behind_basic_auth(db: &TestDb) {
    let Some(open) = start(false).await else {
        return;
    };
    let Some(locked) = start(true).await else {
        return;
    };
    let secret = locked.dir.join("secret");
    std::fs::write(&secret, format!("{USER}:{PASSWORD}\n")).expect("secret file");
    let wrong = locked.dir.join("wrong");
    std::fs::write(&wrong, format!("{USER}:not-the-password")).expect("secret file");

    // A person seeded the locked one, naming where its secret lives.
    let seeded = EndpointRecord {
        id: "prom-locked".into(),
        kind: EndpointKind::Prometheus,
        url: locked.url.to_string(),
        auth_mode: AuthMode::Basic,
        status: EndpointStatus::Unknown,
        version: None,
        raw: json!({}),
        origin: Origin::Manual,
        labels: [("team".to_owned(), "lab".to_owned())].into(),
        notes: Some("behind basic auth".into()),
        secret_ref: Some(format!("file:{}", secret.display())),
        scope: entity::record::MANUAL_SCOPE.into(),
        last_checked_at: None,
        last_error: None,
        provenance: json!({}),
    };
    upsert_endpoints(
        &db.conn,
        &WriteContext::actor("token:alice", Utc::now()),
        vec![seeded],
    )
    .await
    .expect("seed");

    // A port nothing listens on, and one that accepts but never answers.
    let dead = format!("http://127.0.0.1:{}/", free_port());
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let slow = format!("http://{}/", silent.local_addr().expect("address"));
    let open_id = id_for(&open.url);
    let targets = vec![
        target(&open_id, open.url.as_str()),
        Target {
            id: "prom-locked".into(),
            url: locked.url.clone(),
            auth_mode: AuthMode::Basic,
            secret_ref: Some(format!("file:{}", secret.display())),
        },
        Target {
            id: "prom-locked-wrong".into(),
            url: locked.url.clone(),
            auth_mode: AuthMode::Basic,
            secret_ref: Some(format!("file:{}", wrong.display())),
        },
        target("prom-dead", &dead),
        target("prom-slow", &slow),
        target("prom-metadata", "http://169.254.169.254/"),
    ];
    let done = run(
        &db.conn,
        &mut PrometheusSource::new(options(targets)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.seen, 6);

    let up = stored(db, &open_id).await;
    assert_eq!(up.status, EndpointStatus::Up, "{:?}", up.last_error);
    assert!(
        up.version.as_deref().is_some_and(|v| v.starts_with("2.")),
        "{:?}",
        up.version
    );
    assert_eq!(up.raw["ready"], true);
    assert!(
        up.raw["runtimeinfo"]["storageRetention"].is_string(),
        "{}",
        up.raw
    );
    assert!(up.raw["targets"]["active"].as_u64().is_some(), "{}", up.raw);
    assert_eq!(
        (up.origin, up.scope.as_str()),
        (Origin::Collector, "prometheus")
    );

    let locked_row = stored(db, "prom-locked").await;
    assert_eq!(
        locked_row.status,
        EndpointStatus::Up,
        "{:?}",
        locked_row.last_error
    );
    assert!(locked_row.version.is_some());
    assert_eq!(locked_row.auth_mode, AuthMode::Basic);
    // The person's description is untouched by the probe.
    assert_eq!(
        (locked_row.origin, locked_row.scope.as_str()),
        (Origin::Manual, "manual")
    );
    assert_eq!(json!(locked_row.labels), json!({ "team": "lab" }));
    assert_eq!(locked_row.notes.as_deref(), Some("behind basic auth"));
    assert_eq!(locked_row.created_by.as_deref(), Some("token:alice"));

    assert_eq!(
        stored(db, "prom-locked-wrong").await.status,
        EndpointStatus::Unauthorized
    );
    let dead_row = stored(db, "prom-dead").await;
    assert_eq!(dead_row.status, EndpointStatus::Down);
    assert!(
        dead_row
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("connection failed"),
        "{:?}",
        dead_row.last_error
    );
    let slow_row = stored(db, "prom-slow").await;
    assert_eq!(slow_row.status, EndpointStatus::Down);
    assert!(
        slow_row
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("timed out"),
        "{:?}",
        slow_row.last_error
    );
    let refused = stored(db, "prom-metadata").await;
    assert_eq!(refused.status, EndpointStatus::Unknown);
    assert!(
        refused
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("link-local"),
        "{:?}",
        refused.last_error
    );

    // No secret reached a row.
    for row in monitoring_endpoint::Entity::find()
        .all(&db.conn)
        .await
        .expect("read")
    {
        let text = format!("{row:?}");
        assert!(!text.contains(PASSWORD), "a secret was stored: {text}");
    }

    // The next run no longer names the dead endpoint: it is removed; the seeded one never is.
    let fewer = vec![target(&open_id, open.url.as_str())];
    let next = run(
        &db.conn,
        &mut PrometheusSource::new(options(fewer)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(
        next.removed,
        5 - 1,
        "every collector-owned endpoint not probed again, not the manual one"
    );
    assert!(stored(db, "prom-dead").await.removed_at.is_some());
    assert!(stored(db, "prom-locked").await.removed_at.is_none());

    // Probing again records no history unless status or version changed (the snapshot in
    // `raw` is refreshed, not versioned).
    let again = run(
        &db.conn,
        &mut PrometheusSource::new(options(vec![target(&open_id, open.url.as_str())])),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!((again.unchanged, again.updated), (1, 0));
    drop(silent);
}

entity::on_both_backends!(real_prometheus_open_and_behind_basic_auth);

/// Without `--allow-cidr`, loopback is refused too, by the resolver for names.
#[tokio::test]
async fn loopback_names_are_refused_unless_allowed() {
    let db = TestDb::sqlite().await;
    let mut closed = options(vec![target("prom-localhost", "http://localhost:9/")]);
    closed.policy = AddressPolicy::default();
    let done = run(
        &db.conn,
        &mut PrometheusSource::new(closed),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded);
    let row = stored(&db, "prom-localhost").await;
    assert_eq!(row.status, EndpointStatus::Unknown, "{:?}", row.last_error);
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("loopback"),
        "{:?}",
        row.last_error
    );
    db.finish().await;
}
