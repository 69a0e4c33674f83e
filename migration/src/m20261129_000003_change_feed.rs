//! The change feed's order. Each history row records the transaction that wrote it
//! (`tx_id`), so a reader can hand out cursors that a later commit can never fall behind.
//!
//! On PostgreSQL ids come from a sequence when a row is inserted, not when it commits: a
//! change with a smaller id can become visible after one with a larger id. The feed orders by
//! `(tx_id, id)` and only returns rows of transactions older than every transaction still in
//! progress (`pg_snapshot_xmin`); anything committed later has a larger `tx_id` than any
//! cursor already given out. SQLite runs one writer at a time, so ids are already in commit
//! order there and `tx_id` stays 0.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE asset_changes ADD COLUMN tx_id bigint NOT NULL \
                     DEFAULT (pg_current_xact_id()::text::bigint)",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "ALTER TABLE asset_changes ADD COLUMN tx_id bigint NOT NULL DEFAULT 0",
                )
                .await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_asset_changes_feed")
                    .table(AssetChanges::Table)
                    .col(AssetChanges::TxId)
                    .col(AssetChanges::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_asset_changes_feed")
                    .table(AssetChanges::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AssetChanges::Table)
                    .drop_column(AssetChanges::TxId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum AssetChanges {
    Table,
    Id,
    TxId,
}
