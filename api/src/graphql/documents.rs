//! Parsed query documents, kept by their text across requests.
//!
//! Clients send the same few query texts over and over (a Backstage page sends its query on
//! every view), and async-graphql parses each request's text afresh with a PEG parser, the
//! largest single step before execution. A parsed
//! document is a plain tree, so a copy of the one parsed before serves instead. Only
//! documents that parsed are kept; validation still runs on every request (it depends on the
//! schema and variables, not only the text).

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};

/// Bounded in count and in the size of each text, so that a client sending distinct large
/// documents can neither grow the process nor push out the common ones for long.
pub struct Documents(Mutex<LruCache<String, ExecutableDocument>>);

impl Documents {
    /// Far more distinct operations than the clients of one inventory send.
    const CAPACITY: NonZeroUsize = NonZeroUsize::new(256).expect("non-zero");
    /// Longer texts are parsed each time: well above a hand-written page query (q3, every
    /// field of an account, is under 400 bytes).
    const MAX_TEXT: usize = 4 * 1024;

    /// `request`'s parsed document, from the cache when its text was parsed before.
    pub fn parse<'r>(
        &self,
        request: &'r mut Request,
    ) -> Result<&'r ExecutableDocument, ServerError> {
        // A persisted query arrives with its document already in place and no text; long
        // texts are parsed each time.
        if request.query.is_empty() || request.query.len() > Self::MAX_TEXT {
            return request.parsed_query();
        }
        // An insert is whole or absent, so a lock poisoned elsewhere still holds good trees.
        let cached = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&request.query)
            .cloned();
        match cached {
            Some(document) => request.set_parsed_query(document),
            None => {
                let document = request.parsed_query()?.clone();
                self.0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .put(request.query.clone(), document);
            }
        }
        request.parsed_query()
    }
}

impl Default for Documents {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(Self::CAPACITY)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(documents: &Documents) -> usize {
        documents.0.lock().expect("lock").len()
    }

    #[test]
    fn a_text_is_parsed_once_and_served_again() {
        let documents = Documents::default();
        let text = "query Q($n: String!) { account(provider: AWS, nativeId: $n) { id } }";
        let mut first = Request::new(text);
        let parsed = format!("{:?}", documents.parse(&mut first).expect("parses"));
        assert_eq!(kept(&documents), 1);
        let mut again = Request::new(text);
        let served = format!("{:?}", documents.parse(&mut again).expect("served"));
        assert_eq!(served, parsed);
        assert_eq!(kept(&documents), 1);
        // Served, not parsed again: a tree kept under the text is what the text gets.
        let other = Request::new("{ __typename }")
            .parsed_query()
            .expect("parses")
            .clone();
        documents
            .0
            .lock()
            .expect("lock")
            .put(text.to_owned(), other);
        let served = format!(
            "{:?}",
            documents.parse(&mut Request::new(text)).expect("served")
        );
        assert!(!served.contains("account"), "{served}");
        assert!(served.contains("__typename"), "{served}");
    }

    #[test]
    fn bad_and_long_texts_are_not_kept() {
        let documents = Documents::default();
        for _ in 0..2 {
            let error = documents
                .parse(&mut Request::new("{ accounts { nodes { id } }"))
                .expect_err("does not parse");
            assert!(error.message.contains("expected"), "{}", error.message);
        }
        let long = format!("{{ a: __typename {} }}", "b: __typename ".repeat(400));
        assert!(long.len() > Documents::MAX_TEXT);
        documents.parse(&mut Request::new(long)).expect("parses");
        assert_eq!(kept(&documents), 0);
    }
}
