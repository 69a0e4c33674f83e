//! Persisted queries, as Apollo's clients send them ("automatic persisted queries",
//! async-graphql's extension): once the server has seen a document with its SHA-256, a
//! client sends the hash alone. The extension verifies and stores documents; the service
//! looks the hash up first, so the limits and the parsed-document cache see the document.

use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, CacheStorage, LruCacheStorage,
};
use async_graphql::{Request, Response, ServerError, Value};

/// How many documents are remembered: far more distinct operations than the clients of one
/// inventory send.
const CAPACITY: usize = 1024;

/// The request extension naming a persisted query.
const EXTENSION: &str = "persistedQuery";

#[derive(Clone)]
pub struct Persisted(LruCacheStorage);

impl Default for Persisted {
    fn default() -> Self {
        Self(LruCacheStorage::new(CAPACITY))
    }
}

impl Persisted {
    /// The schema extension that verifies and stores documents sent with their hash.
    pub fn extension(&self) -> ApolloPersistedQueries<LruCacheStorage> {
        ApolloPersistedQueries::new(self.0.clone())
    }

    /// Puts the stored document in place of the hash a request sends instead of one. A
    /// request that sends its document (or no hash) is left as it is.
    pub async fn resolve(&self, request: &mut Request) -> Result<(), Response> {
        if !request.query.is_empty() {
            return Ok(());
        }
        let Some(Value::Object(extension)) = request.extensions.get(EXTENSION) else {
            return Ok(());
        };
        let Some(Value::String(hash)) = extension.get("sha256Hash") else {
            return Ok(());
        };
        match self.0.get(hash.clone()).await {
            Some(document) => {
                request.extensions.remove(EXTENSION);
                request.set_parsed_query(document);
                Ok(())
            }
            // The message and code Apollo's clients look for before sending the document.
            None => {
                let mut extensions = async_graphql::ErrorExtensionValues::default();
                extensions.set("code", "PERSISTED_QUERY_NOT_FOUND");
                let mut error = ServerError::new("PersistedQueryNotFound", None);
                error.extensions = Some(extensions);
                Err(Response::from_errors(vec![error]))
            }
        }
    }
}
