//! Collectors of asset-inventory: the runtime every source shares and one module per source.
//!
//! Owns: talking to providers and turning their pages into `entity::record` values
//! ([`source`]), and the runner around every source ([`runner`]: run bookkeeping, the
//! per-scope lock, page-by-page writes through `entity::write`, removal after complete reads
//! only, deadlines, the summary line) with its budgeted per-asset reads ([`enrich`]). Does not own: tables, history or provenance rules
//! (`entity`), or anything GraphQL (`api`).

pub mod aws;
pub mod azure;
pub mod cli;
pub mod config;
pub mod enrich;
pub mod file;
pub mod filter;
pub mod gcp;
pub mod grafana;
pub mod guard;
pub mod http;
pub mod lock;
#[cfg(feature = "peers")]
pub mod peers;
pub mod probe;
pub mod prometheus;
pub mod runner;
pub mod source;
