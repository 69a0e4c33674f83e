//! The response cache: serialized answers to queries, served again while the inventory has
//! not changed.
//!
//! An entry is keyed by the caller's role and the request (the document as sent, the
//! operation name, the variables) and holds the response bytes with the inventory version
//! they were made at ([`version`]). It is served only while that version is current, so a
//! write anywhere (another process, another replica) retires every entry at once without
//! visiting them; stale entries leave by least-recent use. Bounded by total bytes, with a
//! per-entry limit; only complete answers (no errors) are kept.

pub mod version;

use crate::metrics::CacheSeries;
use axum::body::Bytes;
use axum::http::HeaderValue;
use moka::notification::RemovalCause;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How the cache is bounded.
#[derive(Debug, Clone, Copy)]
pub struct CacheOptions {
    /// Total bytes of response bodies kept; 0 turns the cache off.
    pub max_bytes: u64,
    /// Larger answers are served but not kept.
    pub max_entry_bytes: usize,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_entry_bytes: 1024 * 1024,
        }
    }
}

/// One kept answer.
pub struct Entry {
    pub version: u64,
    pub body: Bytes,
    pub etag: HeaderValue,
}

pub type Key = [u8; 32];

pub struct ResponseCache {
    entries: moka::sync::Cache<Key, Arc<Entry>>,
    max_entry_bytes: usize,
    /// Differs between processes, so an ETag from before a restart (whose versions count
    /// from anew) never matches an answer made after it.
    epoch: String,
    series: CacheSeries,
}

impl ResponseCache {
    /// The cache, or `None` when `options` turn it off.
    pub fn new(options: CacheOptions, series: CacheSeries) -> Option<Self> {
        if options.max_bytes == 0 {
            return None;
        }
        let removed = series.clone();
        // moka's default policy (TinyLFU): the least recently used answer goes out, and when
        // the cache is full an answer asked for only once may be turned away instead of
        // evicting one asked for often. Pure LRU admitted and evicted on every miss of a
        // flood of distinct queries, which made each miss measurably dearer.
        let entries = moka::sync::Cache::builder()
            .max_capacity(options.max_bytes)
            .weigher(|_key: &Key, entry: &Arc<Entry>| {
                u32::try_from(entry.body.len()).unwrap_or(u32::MAX)
            })
            .eviction_listener(move |_key, entry: Arc<Entry>, cause| {
                removed.forget(entry.body.len(), cause == RemovalCause::Size);
            })
            .build();
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Some(Self {
            entries,
            max_entry_bytes: options.max_entry_bytes,
            epoch: format!("{epoch:x}"),
            series,
        })
    }

    /// The key of `request` for a caller with `role`: the document [`normalized`], the
    /// operation name, the variables and the extensions (where a persisted query's hash
    /// stands in for its text).
    pub fn key(role: &str, request: &async_graphql::Request) -> Key {
        let mut hash = Sha256::new();
        // Lengths first, so no two different requests concatenate to the same bytes.
        let variables = serde_json::to_vec(&request.variables).unwrap_or_default();
        // In a fixed order: the request holds them in a hash map.
        let extensions: std::collections::BTreeMap<_, _> = request.extensions.iter().collect();
        let extensions = serde_json::to_vec(&extensions).unwrap_or_default();
        let operation = request.operation_name.as_deref().unwrap_or("");
        let document = normalized(&request.query);
        for part in [
            role.as_bytes(),
            document.as_bytes(),
            operation.as_bytes(),
            &variables,
            &extensions,
        ] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hash.finalize().into()
    }

    /// The entry for `key` made at `version`, if there is one.
    pub fn get(&self, key: &Key, version: u64) -> Option<Arc<Entry>> {
        self.entries
            .get(key)
            .filter(|entry| entry.version == version)
    }

    /// Keeps `body` as the answer for `key` at `version` (unless it is over the per-entry
    /// limit) and returns the entry to answer with.
    pub fn put(&self, key: Key, version: u64, body: Bytes) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            version,
            etag: self.etag(&key, version),
            body,
        });
        if entry.body.len() <= self.max_entry_bytes {
            self.series.keep(entry.body.len());
            self.entries.insert(key, entry.clone());
            // Evict now rather than on some later access, so the bound holds at every moment
            // (this runs on misses only).
            self.entries.run_pending_tasks();
        }
        entry
    }

    /// A strong validator of the answer for `key` at `version` in this process.
    fn etag(&self, key: &Key, version: u64) -> HeaderValue {
        let text = format!("\"{}-{version:x}-{}\"", self.epoch, hex::encode(&key[..12]));
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
    }
}

/// `document` with every run of GraphQL's ignored tokens between two tokens (white space,
/// line terminators, commas, comments) made one space, and strings and block strings left
/// exactly as they are: two spellings of a document that differ only there share an answer.
/// Only ASCII bytes are looked at or inserted, so the result stays valid UTF-8.
pub fn normalized(document: &str) -> String {
    let bytes = document.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut gap = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                gap = true;
                i += 1;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                gap = true;
            }
            byte => {
                if gap && !out.is_empty() {
                    out.push(b' ');
                }
                gap = false;
                let end = if byte == b'"' {
                    string_end(bytes, i)
                } else {
                    i + 1
                };
                out.extend_from_slice(&bytes[i..end]);
                i = end;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| document.to_owned())
}

/// Where the string or block string starting at `start` ends (past its closing quotes, or
/// at the end of an unterminated one).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let rest = &bytes[start..];
    if rest.starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return bytes.len();
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Whether an `If-None-Match` header value names `etag` (a list, or `*`; weak comparison as
/// RFC 9110 asks for this header).
pub fn matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    list.split(',')
        .any(|tag| tag.trim() == "*" || bare(tag) == bare(etag))
}

#[cfg(test)]
mod tests {
    use super::normalized;

    #[test]
    fn ignored_tokens_collapse_and_strings_stay_whole() {
        assert_eq!(
            normalized(
                "  query   Q {\n  accounts(first: 5,  after: null) { totalCount } # why\n}\n"
            ),
            "query Q { accounts(first: 5 after: null) { totalCount } }"
        );
        assert_eq!(normalized("{a}"), "{a}");
        // Inside strings nothing changes: spaces, commas, a `#`, escaped quotes.
        assert_eq!(
            normalized(r#"{ account(id: "a  b, # c \" d") { name } }"#),
            r#"{ account(id: "a  b, # c \" d") { name } }"#
        );
        assert_ne!(
            normalized(r#"{ x(a: "p  q") }"#),
            normalized(r#"{ x(a: "p q") }"#)
        );
        assert_eq!(
            normalized("{ x(a: \"\"\"  two\n  lines \\\"\"\" ,  \"\"\")   }"),
            "{ x(a: \"\"\"  two\n  lines \\\"\"\" ,  \"\"\") }"
        );
        // Unterminated strings and non-ASCII text survive as they are.
        assert_eq!(normalized("{ x(a: \"open"), "{ x(a: \"open");
        assert_eq!(
            normalized("{ x(a: \"ünï  cödé\")  }"),
            "{ x(a: \"ünï  cödé\") }"
        );
    }
}
