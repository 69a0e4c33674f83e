//! Endpoints name where their credential lives (`env:NAME` or `file:/path`), never the
//! credential itself.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MonitoringEndpoints::Table)
                    .add_column(string_null(MonitoringEndpoints::SecretRef))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MonitoringEndpoints::Table)
                    .drop_column(MonitoringEndpoints::SecretRef)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum MonitoringEndpoints {
    Table,
    SecretRef,
}
