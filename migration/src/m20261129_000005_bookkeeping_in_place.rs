//! Every collector run rewrites every row it sees (`last_seen_at`, `last_run_id`,
//! provenance) even when nothing observed changed, so this makes that rewrite cheap.
//!
//! It drops `cloud_accounts_last_run`, an index no query uses (assets are read by id, scope
//! and provider; `remove_unseen` goes through `(scope, id)`; runs are never deleted, so the
//! foreign key needs no index behind it), and which changed on every such rewrite. With no
//! indexed column changing, PostgreSQL can rewrite a row in place (a heap-only tuple: no
//! index entry at all) when its page has room, and fill factor 50 keeps that room: a
//! 1.5 KB account's page holds its rows and their next versions, and pruning frees the
//! versions before (measured in the issue notes; a lower fill factor made fewer updates
//! heap-only and was no faster). The table is no larger after
//! the first rewrite than it was before, where each rewrite left a dead copy on another page.
//!
//! Fill factor applies to pages written from now on; existing pages keep their fill until
//! the table is rewritten (`VACUUM FULL`). SQLite has no fill factor; the index goes there too.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const LAST_RUN_INDEX: &str = "cloud_accounts_last_run";

#[derive(DeriveIden)]
enum CloudAccounts {
    Table,
    LastRunId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(LAST_RUN_INDEX)
                    .table(CloudAccounts::Table)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE cloud_accounts SET (fillfactor = 50); \
                 ALTER TABLE monitoring_endpoints SET (fillfactor = 50)",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE cloud_accounts RESET (fillfactor); \
                 ALTER TABLE monitoring_endpoints RESET (fillfactor)",
            )
            .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(LAST_RUN_INDEX)
                    .table(CloudAccounts::Table)
                    .col(CloudAccounts::LastRunId)
                    .to_owned(),
            )
            .await
    }
}
