//! On PostgreSQL 14 and later, statistics on `lower(name)` of accounts and `lower(url)` of
//! endpoints: what `nameContains` and `urlContains` match against (`lower(…) LIKE
//! '%needle%'`).
//!
//! PostgreSQL keeps statistics on columns, not on expressions, unless told to: for
//! `lower(name)` it had none and guessed that a substring matches 0.5 % of the rows, whatever
//! the substring. With a tag as well it expected too few rows to find a page by walking the
//! key index, so it read and sorted the whole table. A prepared statement is planned with
//! its values five times before PostgreSQL may keep one generic plan, so the slow plans were
//! each pooled connection's first five of that query: a tail latency, not an average. With
//! these statistics the planner estimates the substring from a sample of the real names and
//! walks the key index from the first request; a substring that matches nothing is still
//! estimated as rare, and read with a full scan, which is what it needs.
//!
//! Extended statistics cost nothing on writes: `ANALYZE`, by hand or autovacuum, keeps them,
//! and the migration runs it once so that they hold from the start. It reads a sample of
//! each table (30,000 rows at the default statistics target) and holds off neither reads nor
//! writes. PostgreSQL 13 has no statistics on expressions; there this changes nothing and
//! says why in the server's log.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Creates the statistics and gathers them, where the server has statistics on expressions.
const CREATE: &str = "DO $$ BEGIN \
       IF current_setting('server_version_num')::int >= 140000 THEN \
         EXECUTE 'CREATE STATISTICS cloud_accounts_lower_name ON (lower(name)) FROM cloud_accounts'; \
         EXECUTE 'CREATE STATISTICS monitoring_endpoints_lower_url ON (lower(url)) FROM monitoring_endpoints'; \
         EXECUTE 'ANALYZE cloud_accounts, monitoring_endpoints'; \
       ELSE \
         RAISE NOTICE 'PostgreSQL before 14 keeps no statistics on expressions'; \
       END IF; \
     END $$";

const DROP: &str = "DROP STATISTICS IF EXISTS cloud_accounts_lower_name, \
     monitoring_endpoints_lower_url";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(CREATE).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(DROP).await?;
        }
        Ok(())
    }
}
