//! `lookup(annotation:)`: from an annotation on a Backstage entity to the assets it names.
//! Each annotation names assets of one type, so a lookup is one keyset-paginated list of
//! that table, ordered by key like `accounts` and `monitoringEndpoints`.

use super::asset::Asset;
use super::page::{Order, PageArgs, connection, fetch, whole};
use super::query::text_key;
use crate::backstage::annotations::Annotation;
use crate::error::{ApiError, ApiResult};
use async_graphql::InputObject;
use entity::enums::Provider;
use entity::query::{has_ancestor, raw_text_equals};
use entity::record::account_id;
use entity::{cloud_account, monitoring_endpoint};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryResult,
};

connection!(Asset, AssetConnection, AssetEdge);

/// Longest annotation value looked up: above any id a provider hands out, and far below the
/// body limit.
const MAX_ANNOTATION_VALUE: usize = 1024;

/// An annotation as a Backstage entity carries it.
#[derive(InputObject, Debug)]
pub struct AnnotationInput {
    /// `asset-inventory/id`, `amazonaws.com/account-id`, `amazonaws.com/arn`,
    /// `amazonaws.com/organization-id`, `cloud.google.com/project-id`,
    /// `cloud.google.com/project-number`, `cloud.google.com/organization-id`,
    /// `azure.com/subscription-id` or `azure.com/tenant-id`.
    pub key: String,
    pub value: String,
}

/// The assets an annotation names: one table and a condition on it.
enum Selection {
    Accounts(Condition),
    Endpoints(Condition),
}

/// Reads one page of what `annotation` names; accounts with only `account_columns` (see
/// [`cloud_account::Model::from_columns`]).
pub async fn lookup(
    db: &DatabaseConnection,
    annotation: &AnnotationInput,
    include_removed: bool,
    args: &PageArgs,
    max_page_size: u64,
    account_columns: &[cloud_account::Column],
) -> ApiResult<AssetConnection> {
    match select(annotation, db.get_database_backend())? {
        Selection::Accounts(mut cond) => {
            if !include_removed {
                cond = cond.add(cloud_account::Column::RemovedAt.is_null());
            }
            let order = Order {
                key: cloud_account::Column::Id,
                ascending: true,
                parse: text_key,
            };
            let select = super::account::select_columns(account_columns).filter(cond);
            let decode = |row: &QueryResult| {
                cloud_account::Model::from_columns(row, account_columns).map(Asset::from)
            };
            let page = fetch(db, select, &order, decode, args, max_page_size).await?;
            Ok(AssetConnection::from_page(page))
        }
        Selection::Endpoints(mut cond) => {
            if !include_removed {
                cond = cond.add(monitoring_endpoint::Column::RemovedAt.is_null());
            }
            let order = Order {
                key: monitoring_endpoint::Column::Id,
                ascending: true,
                parse: text_key,
            };
            let select = monitoring_endpoint::Entity::find().filter(cond);
            let decode = whole::<monitoring_endpoint::Entity, Asset>;
            let page = fetch(db, select, &order, decode, args, max_page_size).await?;
            Ok(AssetConnection::from_page(page))
        }
    }
}

fn select(annotation: &AnnotationInput, backend: DbBackend) -> ApiResult<Selection> {
    use cloud_account::Column as A;
    let Some(known) = Annotation::parse(&annotation.key) else {
        let keys: Vec<&str> = Annotation::ALL.iter().map(|a| a.key()).collect();
        return Err(ApiError::bad_input(
            "annotation.key",
            format!("annotation.key must be one of {}", keys.join(", ")),
        ));
    };
    let value = annotation.value.trim();
    if value.is_empty() || value.chars().count() > MAX_ANNOTATION_VALUE {
        return Err(ApiError::bad_input(
            "annotation.value",
            format!("annotation.value must be 1-{MAX_ANNOTATION_VALUE} characters"),
        ));
    }
    let account = |provider: Provider| {
        Selection::Accounts(Condition::all().add(A::Id.eq(account_id(provider, value))))
    };
    let below = |provider: Provider, node: &str| {
        Selection::Accounts(
            Condition::all()
                .add(A::Provider.eq(provider))
                .add(has_ancestor(backend, node)),
        )
    };
    Ok(match known {
        // Account keys are `<provider>:<id>`; endpoint keys never hold a `:`.
        Annotation::InventoryId if value.contains(':') => {
            Selection::Accounts(Condition::all().add(A::Id.eq(value)))
        }
        Annotation::InventoryId => {
            Selection::Endpoints(Condition::all().add(monitoring_endpoint::Column::Id.eq(value)))
        }
        Annotation::AwsAccountId => account(Provider::Aws),
        Annotation::AwsArn => {
            // arn:aws:organizations::<management>:account/o-<org>/<account id>
            let account_part = value
                .strip_prefix("arn:")
                .and_then(|rest| rest.rsplit_once('/'))
                .map(|(_, id)| id)
                .filter(|id| !id.is_empty());
            let Some(id) = account_part else {
                return Err(ApiError::bad_input(
                    "annotation.value",
                    "annotation.value must be an account ARN (arn:aws:organizations::…:account/o-…/<account id>)",
                ));
            };
            Selection::Accounts(
                Condition::all()
                    .add(A::Id.eq(account_id(Provider::Aws, id)))
                    .add(raw_text_equals(backend, "Arn", value)),
            )
        }
        Annotation::AwsOrganizationId => below(Provider::Aws, value),
        Annotation::GcpProjectId => account(Provider::Gcp),
        Annotation::GcpProjectNumber => {
            Selection::Accounts(Condition::all().add(A::Provider.eq(Provider::Gcp)).add(
                raw_text_equals(backend, "name", &format!("projects/{value}")),
            ))
        }
        Annotation::GcpOrganizationId => {
            let node = if value.starts_with("organizations/") {
                value.to_owned()
            } else {
                format!("organizations/{value}")
            };
            below(Provider::Gcp, &node)
        }
        Annotation::AzureSubscriptionId => account(Provider::Azure),
        Annotation::AzureTenantId => below(Provider::Azure, value),
    })
}
