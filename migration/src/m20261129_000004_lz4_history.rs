//! History and raw records compress with lz4 on PostgreSQL instead of the default pglz.
//!
//! A created account's history row carries the whole record and is over the 2 KB at which
//! PostgreSQL compresses a value in about half the rows: pglz was a large share of the
//! server's CPU in a big write, which lz4 makes faster; it also decompresses faster for
//! `asOf` and the change feed. Values already stored keep their compression.
//!
//! lz4 needs PostgreSQL 14 and a server built with it (Debian's and the official images
//! are); elsewhere this changes nothing and says why in the server's log.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Sets the large JSON columns to compress with `method`, where the server can.
fn set_compression(method: &str) -> String {
    format!(
        "DO $$ BEGIN \
           IF current_setting('server_version_num')::int >= 140000 THEN \
             EXECUTE 'ALTER TABLE asset_changes ALTER COLUMN changes SET COMPRESSION {method}'; \
             EXECUTE 'ALTER TABLE cloud_accounts ALTER COLUMN raw SET COMPRESSION {method}'; \
             EXECUTE 'ALTER TABLE monitoring_endpoints ALTER COLUMN raw SET COMPRESSION {method}'; \
           ELSE \
             RAISE NOTICE 'PostgreSQL before 14 compresses with pglz only'; \
           END IF; \
         EXCEPTION WHEN feature_not_supported THEN \
           RAISE NOTICE 'this server is built without lz4: values stay pglz-compressed'; \
         END $$"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&set_compression("lz4")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&set_compression("default")).await?;
        }
        Ok(())
    }
}
