//! Domain enums. Stored as lowercase text (the migration adds CHECK constraints with the
//! same values), so the database stays readable with plain SQL and adding a value is a new
//! migration plus a new variant, never a renumbering.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            EnumIter, DeriveActiveEnum, Serialize, Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(
                #[sea_orm(string_value = $text)]
                $variant,
            )+
        }

        impl $name {
            /// The stored text of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// The cloud an account, project or subscription belongs to.
    Provider { Aws = "aws", Gcp = "gcp", Azure = "azure" }
);

text_enum!(
    /// Account lifecycle, normalized across providers; the provider's own word is kept in
    /// `raw_status`.
    AccountStatus {
        Active = "active",
        Suspended = "suspended",
        PendingDeletion = "pending_deletion",
        Deleted = "deleted",
        Unknown = "unknown",
    }
);

text_enum!(
    /// What kind of monitoring server an endpoint is.
    EndpointKind { Prometheus = "prometheus", Grafana = "grafana" }
);

text_enum!(
    /// How a collector authenticates to an endpoint. The secret itself is never stored.
    AuthMode { None = "none", Token = "token", Basic = "basic", Oauth = "oauth" }
);

text_enum!(
    /// The health of a monitoring endpoint at its last check.
    EndpointStatus {
        Up = "up",
        Down = "down",
        Unauthorized = "unauthorized",
        Unknown = "unknown",
    }
);

text_enum!(
    /// Who owns an endpoint row: a person through the API, or a collector that discovered it.
    Origin { Manual = "manual", Collector = "collector" }
);

text_enum!(
    /// The outcome of a collector run. `partial` means the source was not read completely,
    /// so nothing was marked removed; `skipped` means another run held the scope's lock.
    RunStatus {
        Running = "running",
        Succeeded = "succeeded",
        Partial = "partial",
        Failed = "failed",
        Skipped = "skipped",
    }
);

text_enum!(
    /// The table an `asset_changes` row refers to.
    AssetType { CloudAccount = "cloud_account", MonitoringEndpoint = "monitoring_endpoint" }
);

text_enum!(
    /// What happened to an asset in one change.
    ChangeKind {
        Created = "created",
        Updated = "updated",
        Removed = "removed",
        Restored = "restored",
    }
);
