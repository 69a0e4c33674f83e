//! `inventory_version`: one row whose `version` every transaction that changes what a query
//! can see advances before it commits. On SQLite it is how an API process learns that a
//! collector (another process on the same file) committed: its response cache compares the
//! row with the version its entries were made at. PostgreSQL tells API replicas with
//! `NOTIFY` instead, in the same transaction, and keeps the row at 0.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InventoryVersion::Table)
                    .col(integer(InventoryVersion::Id).primary_key())
                    .col(big_integer(InventoryVersion::Version).default(0))
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert();
        insert
            .into_table(InventoryVersion::Table)
            .columns([InventoryVersion::Id, InventoryVersion::Version])
            .values([1.into(), 0.into()])
            .map_err(|err| DbErr::Migration(err.to_string()))?;
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InventoryVersion::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum InventoryVersion {
    Table,
    Id,
    Version,
}
