//! On PostgreSQL, `asset_changes_run` becomes a BRIN index instead of a B-tree.
//!
//! Nothing reads history by run: the index is there only so that deleting a run (which no
//! code path does, but an operator may) finds the changes its foreign key must set to null
//! without reading all of `asset_changes`. A B-tree pays for that on every history row
//! written, and a run's rows all carry the same id: a new write of 100,000 accounts adds
//! 100,000 entries of one key. History rows are appended in run order, so the page ranges a
//! BRIN index summarizes each hold a few runs' ids, and a run's deletion reads only those
//! ranges. Writing history rows is cheaper with it than with the B-tree, and the index the
//! history keeps for good is a few pages instead of an entry per row.
//! `autosummarize` has each filled range summarized as it fills rather than at the next
//! vacuum, so a deletion skips it.
//!
//! SQLite has no BRIN index; its B-tree stays. Building the index reads `asset_changes` once
//! and holds off writes to it meanwhile (seconds for millions of rows).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `asset_changes_run` rebuilt as `definition` (the access method, column and parameters).
fn rebuild_run_index(definition: &str) -> String {
    format!(
        "DROP INDEX asset_changes_run; CREATE INDEX asset_changes_run ON asset_changes {definition}"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&rebuild_run_index(
                "USING brin (run_id) WITH (autosummarize = on)",
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&rebuild_run_index("(run_id)"))
                .await?;
        }
        Ok(())
    }
}
