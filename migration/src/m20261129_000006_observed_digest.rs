//! `cloud_accounts.observed_digest`: a SHA-256 of the row's observed fields (the ones whose
//! change is history), so that a collector run can tell an unchanged account from its digest
//! instead of reading its raw record, tags and hierarchy back (see `entity::write`). Null for
//! rows written before it: the next write compares those in full and fills it in.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CloudAccounts::Table)
                    .add_column(binary_null(CloudAccounts::ObservedDigest))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CloudAccounts::Table)
                    .drop_column(CloudAccounts::ObservedDigest)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum CloudAccounts {
    Table,
    ObservedDigest,
}
