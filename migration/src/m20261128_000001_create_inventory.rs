//! The four inventory tables: accounts, monitoring endpoints, collector runs and the change
//! history. Domain enums are text columns with CHECK constraints, so a bad value cannot land
//! even when written by hand, on either backend.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A text column restricted to `allowed`, the enum's values at the time of this migration.
fn enum_text<T: IntoIden + Clone + 'static>(col: T, allowed: &[&str]) -> ColumnDef {
    string(col.clone())
        .check(Expr::col(col).is_in(allowed.iter().copied()))
        .take()
}

const PROVIDERS: &[&str] = &["aws", "gcp", "azure"];
const ACCOUNT_STATUSES: &[&str] = &[
    "active",
    "suspended",
    "pending_deletion",
    "deleted",
    "unknown",
];
const ENDPOINT_KINDS: &[&str] = &["prometheus", "grafana"];
const AUTH_MODES: &[&str] = &["none", "token", "basic", "oauth"];
const ENDPOINT_STATUSES: &[&str] = &["up", "down", "unauthorized", "unknown"];
const ORIGINS: &[&str] = &["manual", "collector"];
const RUN_STATUSES: &[&str] = &["running", "succeeded", "partial", "failed", "skipped"];
const ASSET_TYPES: &[&str] = &["cloud_account", "monitoring_endpoint"];
const CHANGE_KINDS: &[&str] = &["created", "updated", "removed", "restored"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CollectorRuns::Table)
                    .col(big_pk_auto(CollectorRuns::Id))
                    .col(string(CollectorRuns::Collector))
                    .col(string(CollectorRuns::Version))
                    .col(string(CollectorRuns::Scope))
                    .col(timestamp_with_time_zone(CollectorRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(CollectorRuns::FinishedAt))
                    .col(enum_text(CollectorRuns::Status, RUN_STATUSES))
                    .col(big_integer(CollectorRuns::Seen).default(0))
                    .col(big_integer(CollectorRuns::Created).default(0))
                    .col(big_integer(CollectorRuns::Updated).default(0))
                    .col(big_integer(CollectorRuns::Unchanged).default(0))
                    .col(big_integer(CollectorRuns::Removed).default(0))
                    .col(big_integer(CollectorRuns::Pages).default(0))
                    .col(json_binary(CollectorRuns::RequestIds))
                    .col(text_null(CollectorRuns::Error))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("collector_runs_collector_scope_id")
                    .table(CollectorRuns::Table)
                    .col(CollectorRuns::Collector)
                    .col(CollectorRuns::Scope)
                    .col(CollectorRuns::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CloudAccounts::Table)
                    .col(string(CloudAccounts::Id).primary_key())
                    .col(enum_text(CloudAccounts::Provider, PROVIDERS))
                    .col(string(CloudAccounts::NativeId))
                    .col(string(CloudAccounts::Name))
                    .col(string(CloudAccounts::OrgPath))
                    .col(json_binary(CloudAccounts::Ancestors))
                    .col(string_null(CloudAccounts::Parent))
                    .col(enum_text(CloudAccounts::Status, ACCOUNT_STATUSES))
                    .col(string_null(CloudAccounts::RawStatus))
                    .col(string_null(CloudAccounts::RegionResidency))
                    .col(json_binary(CloudAccounts::Tags))
                    .col(json_binary(CloudAccounts::Raw))
                    .col(string(CloudAccounts::Scope))
                    .col(string(CloudAccounts::Source))
                    .col(timestamp_with_time_zone(CloudAccounts::FirstSeenAt))
                    .col(timestamp_with_time_zone(CloudAccounts::LastSeenAt))
                    .col(timestamp_with_time_zone_null(CloudAccounts::RemovedAt))
                    .col(big_integer_null(CloudAccounts::LastRunId))
                    .col(json_binary(CloudAccounts::Provenance))
                    .foreign_key(
                        ForeignKey::create()
                            .name("cloud_accounts_last_run_fk")
                            .from(CloudAccounts::Table, CloudAccounts::LastRunId)
                            .to(CollectorRuns::Table, CollectorRuns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "cloud_accounts_provider_native_id",
                vec![CloudAccounts::Provider, CloudAccounts::NativeId],
            ),
            (
                "cloud_accounts_scope_id",
                vec![CloudAccounts::Scope, CloudAccounts::Id],
            ),
            (
                "cloud_accounts_provider_id",
                vec![CloudAccounts::Provider, CloudAccounts::Id],
            ),
            ("cloud_accounts_last_run", vec![CloudAccounts::LastRunId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(CloudAccounts::Table);
            if name == "cloud_accounts_provider_native_id" {
                index.unique();
            }
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(MonitoringEndpoints::Table)
                    .col(string(MonitoringEndpoints::Id).primary_key())
                    .col(enum_text(MonitoringEndpoints::Kind, ENDPOINT_KINDS))
                    .col(string(MonitoringEndpoints::Url))
                    .col(enum_text(MonitoringEndpoints::AuthMode, AUTH_MODES))
                    .col(enum_text(MonitoringEndpoints::Status, ENDPOINT_STATUSES))
                    .col(string_null(MonitoringEndpoints::Version))
                    .col(json_binary(MonitoringEndpoints::Raw))
                    .col(enum_text(MonitoringEndpoints::Origin, ORIGINS))
                    .col(json_binary(MonitoringEndpoints::Labels))
                    .col(text_null(MonitoringEndpoints::Notes))
                    .col(string(MonitoringEndpoints::Scope))
                    .col(string_null(MonitoringEndpoints::CreatedBy))
                    .col(string_null(MonitoringEndpoints::UpdatedBy))
                    .col(timestamp_with_time_zone(MonitoringEndpoints::FirstSeenAt))
                    .col(timestamp_with_time_zone_null(
                        MonitoringEndpoints::LastCheckedAt,
                    ))
                    .col(text_null(MonitoringEndpoints::LastError))
                    .col(timestamp_with_time_zone_null(
                        MonitoringEndpoints::RemovedAt,
                    ))
                    .col(big_integer_null(MonitoringEndpoints::LastRunId))
                    .col(json_binary(MonitoringEndpoints::Provenance))
                    .foreign_key(
                        ForeignKey::create()
                            .name("monitoring_endpoints_last_run_fk")
                            .from(MonitoringEndpoints::Table, MonitoringEndpoints::LastRunId)
                            .to(CollectorRuns::Table, CollectorRuns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("monitoring_endpoints_scope_id")
                    .table(MonitoringEndpoints::Table)
                    .col(MonitoringEndpoints::Scope)
                    .col(MonitoringEndpoints::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AssetChanges::Table)
                    .col(big_pk_auto(AssetChanges::Id))
                    .col(enum_text(AssetChanges::AssetType, ASSET_TYPES))
                    .col(string(AssetChanges::AssetId))
                    .col(big_integer_null(AssetChanges::RunId))
                    .col(string_null(AssetChanges::Actor))
                    .col(timestamp_with_time_zone(AssetChanges::At))
                    .col(enum_text(AssetChanges::Kind, CHANGE_KINDS))
                    .col(json_binary(AssetChanges::Changes))
                    .foreign_key(
                        ForeignKey::create()
                            .name("asset_changes_run_fk")
                            .from(AssetChanges::Table, AssetChanges::RunId)
                            .to(CollectorRuns::Table, CollectorRuns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("asset_changes_asset")
                    .table(AssetChanges::Table)
                    .col(AssetChanges::AssetType)
                    .col(AssetChanges::AssetId)
                    .col(AssetChanges::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("asset_changes_run")
                    .table(AssetChanges::Table)
                    .col(AssetChanges::RunId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AssetChanges::Table.into_iden(),
            MonitoringEndpoints::Table.into_iden(),
            CloudAccounts::Table.into_iden(),
            CollectorRuns::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone)]
enum CollectorRuns {
    Table,
    Id,
    Collector,
    Version,
    Scope,
    StartedAt,
    FinishedAt,
    Status,
    Seen,
    Created,
    Updated,
    Unchanged,
    Removed,
    Pages,
    RequestIds,
    Error,
}

#[derive(DeriveIden, Clone)]
enum CloudAccounts {
    Table,
    Id,
    Provider,
    NativeId,
    Name,
    OrgPath,
    Ancestors,
    Parent,
    Status,
    RawStatus,
    RegionResidency,
    Tags,
    Raw,
    Scope,
    Source,
    FirstSeenAt,
    LastSeenAt,
    RemovedAt,
    LastRunId,
    Provenance,
}

#[derive(DeriveIden, Clone)]
enum MonitoringEndpoints {
    Table,
    Id,
    Kind,
    Url,
    AuthMode,
    Status,
    Version,
    Raw,
    Origin,
    Labels,
    Notes,
    Scope,
    CreatedBy,
    UpdatedBy,
    FirstSeenAt,
    LastCheckedAt,
    LastError,
    RemovedAt,
    LastRunId,
    Provenance,
}

#[derive(DeriveIden, Clone)]
enum AssetChanges {
    Table,
    Id,
    AssetType,
    AssetId,
    RunId,
    Actor,
    At,
    Kind,
    Changes,
}
