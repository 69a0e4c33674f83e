//! Small builders for records and runs.

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::enums::{AccountStatus, EndpointKind, Provider};
use entity::record::{AccountRecord, Ancestor, EndpointRecord};
use entity::run::start_run;
use entity::testing::TestDb;
use serde_json::json;

pub fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0)
        .single()
        .expect("valid time")
        + Duration::minutes(minutes)
}

pub fn account(native_id: &str, scope: &str) -> AccountRecord {
    AccountRecord {
        provider: Provider::Aws,
        native_id: native_id.to_owned(),
        name: format!("account {native_id}"),
        org_path: "o-test/r-root/Prod".into(),
        ancestors: vec![Ancestor {
            id: "ou-prod".into(),
            name: "Prod".into(),
            kind: "organizational_unit".into(),
        }],
        parent: Some("ou-prod".into()),
        status: AccountStatus::Active,
        raw_status: Some("ACTIVE".into()),
        region_residency: None,
        tags: Some([("team".to_owned(), "payments".to_owned())].into()),
        raw: json!({ "Id": native_id, "Status": "ACTIVE" }),
        scope: scope.to_owned(),
        source: "test/0".into(),
        provenance: json!({ "api": "organizations:ListAccounts" }),
    }
}

pub fn endpoint(id: &str) -> EndpointRecord {
    EndpointRecord {
        id: id.to_owned(),
        kind: EndpointKind::Prometheus,
        url: format!("https://{id}.example.com"),
        auth_mode: entity::enums::AuthMode::None,
        status: entity::enums::EndpointStatus::Unknown,
        version: None,
        raw: json!({}),
        origin: entity::enums::Origin::Manual,
        labels: [("env".to_owned(), "prod".to_owned())].into(),
        notes: Some("seeded".into()),
        secret_ref: None,
        scope: entity::record::MANUAL_SCOPE.into(),
        last_checked_at: None,
        last_error: None,
        provenance: json!({}),
    }
}

/// How many accounts are stored.
pub async fn account_count(db: &TestDb) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entity::cloud_account::Entity::find()
        .count(&db.conn)
        .await
        .expect("count accounts")
}

pub async fn run(db: &TestDb, scope: &str, at: DateTime<Utc>) -> i64 {
    start_run(&db.conn, "test", "0", scope, at)
        .await
        .expect("start a run")
        .id
}

/// The one row `sql` returns: the store tests read PostgreSQL's catalogs, plans and locks.
pub async fn query_one(db: &TestDb, sql: &str) -> sea_orm::QueryResult {
    use sea_orm::{ConnectionTrait, Statement};
    db.conn
        .query_one_raw(Statement::from_string(db.conn.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row")
}
