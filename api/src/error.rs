//! The one place where failures become GraphQL errors with `extensions.code`. Internal detail
//! (SQL, driver messages) goes to the log, never to the client.

use async_graphql::ErrorExtensions;
use entity::StoreError;

/// A resolver's failure. Deliberately not `Display`: async-graphql converts any `Display`
/// error into a message verbatim, and this type must only leave through the mapping below.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The request is wrong; the message says how, naming the argument.
    BadUserInput { field: String, message: String },
    /// The thing asked for does not exist.
    NotFound(String),
    /// No credential, or one that was refused.
    Unauthenticated,
    /// A valid credential whose role does not allow this.
    Forbidden,
    /// Something failed on our side; details were logged.
    Internal,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::Internal => "INTERNAL",
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let code = err.code();
        match err {
            ApiError::BadUserInput { field, message } => async_graphql::Error::new(message)
                .extend_with(|_, ext| {
                    ext.set("code", code);
                    ext.set("field", field);
                }),
            ApiError::NotFound(what) => async_graphql::Error::new(format!("{what} not found"))
                .extend_with(|_, ext| ext.set("code", code)),
            ApiError::Unauthenticated => async_graphql::Error::new("authentication required")
                .extend_with(|_, ext| ext.set("code", code)),
            ApiError::Forbidden => async_graphql::Error::new("not allowed for this credential")
                .extend_with(|_, ext| ext.set("code", code)),
            ApiError::Internal => async_graphql::Error::new("internal error")
                .extend_with(|_, ext| ext.set("code", code)),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if let StoreError::Invalid { invalid, .. } = err {
            return crate::graphql::endpoint_input::refusal(invalid);
        }
        if let StoreError::Db(sea_orm::DbErr::ConnectionAcquire(
            sea_orm::error::ConnAcquireErr::Timeout,
        )) = err
        {
            crate::metrics::DB_ACQUIRE_TIMEOUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        tracing::error!(error = %err, "store operation failed");
        Self::Internal
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        StoreError::Db(err).into()
    }
}
