//! `cloud_accounts.tags_read_at`: when the account's tags were last read. A source that reads
//! tags apart from its listing (AWS `ListTagsForResource`, one call per account) reads them
//! within a budget, stalest first, over several runs: this is what orders them, and it tells
//! a reader how fresh the tags are. Null until they are first read; rows written before it
//! were written with their tags, so they take their `last_seen_at`.

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
                    .add_column(timestamp_with_time_zone_null(CloudAccounts::TagsReadAt))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(CloudAccounts::Table)
                    .value(
                        CloudAccounts::TagsReadAt,
                        Expr::col(CloudAccounts::LastSeenAt),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CloudAccounts::Table)
                    .drop_column(CloudAccounts::TagsReadAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum CloudAccounts {
    Table,
    TagsReadAt,
    LastSeenAt,
}
