//! The store's error type.

use sea_orm::DbErr;

/// Why a store operation failed. Database text stays inside: callers log it and show users a
/// generic message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The configuration cannot work (bad URL, bad schema name); nothing was attempted.
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] DbErr),
    /// A statement failed; the surrounding transaction was rolled back.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// A record breaks a rule of [`crate::validate`]; nothing of its batch was written.
    #[error("invalid record {id:?}: {invalid}")]
    Invalid {
        id: String,
        invalid: crate::validate::Invalid,
    },
    /// A record cannot be represented (a value that does not serialize).
    #[error("invalid record {id:?}: {reason}")]
    InvalidRecord { id: String, reason: String },
    /// A stored history value does not fit its field any more; the row needs a look.
    #[error("the history of {id:?} cannot be replayed: {source}")]
    History {
        id: String,
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    /// A message safe to store where API clients can read it (a run's `error`): database
    /// text stays in the log.
    pub fn public_message(&self) -> String {
        match self {
            Self::Config(_)
            | Self::Invalid { .. }
            | Self::InvalidRecord { .. }
            | Self::History { .. } => self.to_string(),
            Self::Connect(_) => "cannot connect to the database".into(),
            Self::Db(_) => "database error; details are in the log".into(),
        }
    }
}
