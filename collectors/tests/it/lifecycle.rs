//! Stopping a run: a stop request (what SIGTERM raises in the binary) closes the run as
//! failed with the reason, keeps the pages already written and removes nothing; the real
//! binary does the same on a real SIGTERM, and every line it logs for the run carries the
//! trace id from `TRACEPARENT`. A run releases its scope's lock before it returns.

use collectors::runner::{RunOptions, run};
use collectors::source::{CollectError, Owns, Page, Source};
use entity::enums::{AccountStatus, Provider, RunStatus};
use entity::record::AccountRecord;
use entity::testing::TestDb;
use entity::{cloud_account, collector_run};
use sea_orm::EntityTrait;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;

pub fn account(native_id: &str, name: &str) -> AccountRecord {
    AccountRecord {
        provider: Provider::Aws,
        native_id: native_id.into(),
        name: name.into(),
        org_path: "o-stop/r-root".into(),
        ancestors: Vec::new(),
        parent: None,
        status: AccountStatus::Active,
        raw_status: Some("ACTIVE".into()),
        region_residency: None,
        tags: Some(BTreeMap::new()),
        raw: serde_json::json!({}),
        scope: String::new(),
        source: String::new(),
        provenance: serde_json::Value::Null,
    }
}

/// A source that hands out its pages, then (when `stall` is set) waits forever for the
/// next one, telling the test once every page has been written.
struct Scripted {
    pages: Vec<Vec<AccountRecord>>,
    stall: Option<Arc<Notify>>,
}

impl Source for Scripted {
    fn collector(&self) -> &'static str {
        "scripted"
    }

    fn owns(&self) -> Owns {
        Owns {
            accounts: true,
            endpoints: false,
        }
    }

    async fn open(&mut self) -> Result<String, CollectError> {
        Ok("o-stop".into())
    }

    async fn next_page(&mut self) -> Result<Option<Page>, CollectError> {
        if !self.pages.is_empty() {
            return Ok(Some(Page {
                accounts: self.pages.remove(0),
                ..Page::default()
            }));
        }
        match &self.stall {
            // The runner asks for the next page only after writing the previous one.
            Some(written) => {
                written.notify_one();
                std::future::pending().await
            }
            None => Ok(None),
        }
    }
}

async fn stopped_run_removes_nothing(db: &TestDb) {
    let options = RunOptions::default();
    let complete = Scripted {
        pages: vec![vec![
            account("111111111111", "payments"),
            account("222222222222", "search"),
        ]],
        stall: None,
    };
    let first = run(&db.conn, &mut { complete }, &options)
        .await
        .expect("run");
    assert_eq!(first.status, RunStatus::Succeeded);

    // The second read sees one account renamed and would drop the other, but is stopped
    // before it ends.
    let written = Arc::new(Notify::new());
    let mut stalled = Scripted {
        pages: vec![vec![account("111111111111", "payments-prod")]],
        stall: Some(Arc::clone(&written)),
    };
    let stop = options.stop.clone();
    let stopper = tokio::spawn(async move {
        written.notified().await;
        stop.stop("terminated (SIGTERM)");
    });
    let second = run(&db.conn, &mut stalled, &options).await.expect("run");
    // Checked before waiting for the stopper: a run that never read (skipped, say) never
    // wakes it.
    assert_eq!(second.status, RunStatus::Failed, "{second:?}");
    stopper.await.expect("stopper");

    let error = second.error.clone().unwrap_or_default();
    assert!(error.contains("terminated (SIGTERM)"), "{error}");
    assert!(error.contains("nothing was removed"), "{error}");
    assert_eq!((second.pages, second.updated, second.removed), (1, 1, 0));
    assert!(second.finished_at.is_some());

    let accounts = cloud_account::Entity::find()
        .all(&db.conn)
        .await
        .expect("read");
    let by_id: BTreeMap<_, _> = accounts.iter().map(|a| (a.native_id.as_str(), a)).collect();
    assert_eq!(
        by_id["111111111111"].name, "payments-prod",
        "the written page stays"
    );
    assert!(
        by_id["222222222222"].removed_at.is_none(),
        "an account not seen by a stopped run must not be removed"
    );

    // A process that was asked to stop starts no further run; one that is already stopping
    // when a run opens records that run as failed too.
    let third = run(
        &db.conn,
        &mut Scripted {
            pages: Vec::new(),
            stall: None,
        },
        &options,
    )
    .await
    .expect("run");
    assert_eq!(third.status, RunStatus::Failed);
    assert!(third.error.unwrap_or_default().contains("while connecting"));
    let runs = collector_run::Entity::find()
        .all(&db.conn)
        .await
        .expect("runs");
    assert_eq!(runs.len(), 3);
}

/// Runs of one scope one after another in one process: each finds the lock its predecessor
/// held already free (on PostgreSQL the lock is a transaction the run ends before it returns,
/// not one left for the pool to roll back some time later).
async fn back_to_back_runs_each_take_the_lock(db: &TestDb) {
    let options = RunOptions::default();
    for round in 0..40 {
        let mut source = Scripted {
            pages: vec![vec![account("111111111111", "payments")]],
            stall: None,
        };
        let finished = run(&db.conn, &mut source, &options).await.expect("run");
        assert_eq!(
            finished.status,
            RunStatus::Succeeded,
            "round {round}: {:?}",
            finished.error
        );
    }
}

/// A log line writer into a buffer the test reads.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// While a run waits on its source, its row shows the pages and assets so far and it logs a
/// progress line at every interval.
async fn a_running_run_shows_its_progress(db: &TestDb) {
    let log = Captured::default();
    let writer = log.clone();
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let options = RunOptions {
        progress_every: std::time::Duration::from_millis(50),
        ..RunOptions::default()
    };
    let written = Arc::new(Notify::new());
    let mut stalled = Scripted {
        pages: vec![vec![
            account("111111111111", "payments"),
            account("222222222222", "search"),
        ]],
        stall: Some(Arc::clone(&written)),
    };
    let stop = options.stop.clone();
    let conn = db.conn.clone();
    let watcher = tokio::spawn(async move {
        written.notified().await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let running = collector_run::Entity::find()
            .all(&conn)
            .await
            .expect("runs");
        stop.stop("terminated (SIGTERM)");
        running
    });
    let done = run(&db.conn, &mut stalled, &options).await.expect("run");
    let running = watcher.await.expect("watcher");
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].status, RunStatus::Running);
    assert_eq!(
        (running[0].pages, running[0].seen, running[0].created),
        (1, 2, 2)
    );
    assert_eq!(done.status, RunStatus::Failed);
    let log = String::from_utf8_lossy(&log.0.lock().expect("lock")).into_owned();
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("collector run progress"))
        .collect();
    assert!(lines.len() >= 2, "{log}");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("pages=1") && l.contains("seen=2")),
        "{log}"
    );
}

entity::on_both_backends!(
    a_running_run_shows_its_progress,
    stopped_run_removes_nothing,
    back_to_back_runs_each_take_the_lock
);

/// A port that accepts connections and never answers: a probe of it waits for its timeout.
async fn silent_port() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// The real binary and a real SIGTERM, mid-run: exit code 1, the run closed as failed with
/// the reason, and the trace id of `TRACEPARENT` on every line the run logged.
#[tokio::test]
async fn sigterm_closes_the_run_as_failed() {
    let (url, _silent) = silent_port().await;
    let dir = std::env::temp_dir().join(format!("collect-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("db.sqlite");
    std::fs::remove_file(&path).ok();
    let database = format!("sqlite://{}?mode=rwc", path.display());
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_inventory-collect"))
        .env_clear()
        .env("TRACEPARENT", format!("00-{trace}-b7ad6b7169203331-01"))
        .args([
            "--database-url",
            &database,
            "grafana",
            "--url",
            &url,
            "--allow-cidr",
            "127.0.0.0/8",
            "--timeout-seconds",
            "120",
        ])
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start inventory-collect");
    let pid = child.id().expect("pid");

    // Wait until the run is recorded as running, then stop it as Kubernetes would.
    let db = wait_for_database(&database).await;
    let mut running = false;
    for _ in 0..200 {
        let runs = collector_run::Entity::find()
            .all(&db)
            .await
            .unwrap_or_default();
        if runs.iter().any(|r| r.status == RunStatus::Running) {
            running = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(running, "the run never started");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());

    let output = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the collector stops promptly after SIGTERM")
        .expect("wait");
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{log}");

    let runs = collector_run::Entity::find().all(&db).await.expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert!(
        runs[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("terminated (SIGTERM)"),
        "{:?}",
        runs[0].error
    );

    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let in_run: Vec<_> = lines
        .iter()
        .filter(|line| line["collector"] == "grafana")
        .collect();
    assert!(
        in_run
            .iter()
            .any(|line| line["message"] == "collector run finished"),
        "{log}"
    );
    for line in &in_run {
        assert_eq!(line["trace_id"], trace, "{line}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

async fn wait_for_database(url: &str) -> sea_orm::DatabaseConnection {
    for _ in 0..100 {
        if let Ok(db) = entity::db::connect(&entity::db::DbOptions::new(url.to_owned())).await {
            use migration::MigratorTrait;
            if migration::Migrator::get_pending_migrations_read_only(&db)
                .await
                .is_ok_and(|pending| pending.is_empty())
            {
                return db;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the collector never created its database");
}
