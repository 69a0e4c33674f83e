//! The annotations an entity carries that point back at assets: what `backstageEntity`
//! writes and what `lookup(annotation:)` reads. The AWS keys are the ones Backstage's
//! `AwsOrganizationCloudAccountProcessor` writes; GCP and Azure follow the same pattern
//! under their providers' domains; `asset-inventory/id` is ours and names any asset.

/// An annotation key that names assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Annotation {
    /// The asset's key: `aws:123456789012` for an account, the endpoint's key otherwise.
    InventoryId,
    AwsAccountId,
    /// The account's ARN, as AWS Organizations reports it.
    AwsArn,
    /// `o-…`: every account of the organization.
    AwsOrganizationId,
    GcpProjectId,
    /// The numeric project number.
    GcpProjectNumber,
    /// The numeric organization id: every project below it.
    GcpOrganizationId,
    AzureSubscriptionId,
    /// The tenant id: every subscription of the tenant.
    AzureTenantId,
}

impl Annotation {
    pub const ALL: [Self; 9] = [
        Self::InventoryId,
        Self::AwsAccountId,
        Self::AwsArn,
        Self::AwsOrganizationId,
        Self::GcpProjectId,
        Self::GcpProjectNumber,
        Self::GcpOrganizationId,
        Self::AzureSubscriptionId,
        Self::AzureTenantId,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::InventoryId => "asset-inventory/id",
            Self::AwsAccountId => "amazonaws.com/account-id",
            Self::AwsArn => "amazonaws.com/arn",
            Self::AwsOrganizationId => "amazonaws.com/organization-id",
            Self::GcpProjectId => "cloud.google.com/project-id",
            Self::GcpProjectNumber => "cloud.google.com/project-number",
            Self::GcpOrganizationId => "cloud.google.com/organization-id",
            Self::AzureSubscriptionId => "azure.com/subscription-id",
            Self::AzureTenantId => "azure.com/tenant-id",
        }
    }

    /// The annotation with this key, if it is one we read.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.key() == key)
    }
}
