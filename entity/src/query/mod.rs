//! The read side: what the API and the collectors ask of the store, as sea-query conditions
//! and queries that hold each backend's SQL dialect here rather than in resolvers. Tested on
//! both backends (`tests/it/query.rs`).

mod feed;
mod filter;
mod history;
mod summary;

pub use feed::{FeedPosition, feed_head, feed_page};
pub use filter::{Tagged, contains_ci, has_ancestor, has_tag, raw_text_equals};
pub use history::newest_changes;
pub use summary::{account_counts, endpoint_counts, latest_runs, present_endpoints, run_counts};
