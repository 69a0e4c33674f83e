//! Collectors of asset-inventory: the runtime every source shares (run bookkeeping, batched
//! writes through `entity::write`, removal after complete reads, retries) and one module per
//! source (AWS Organizations, GCP Resource Manager, Azure Resource Manager, Prometheus,
//! Grafana), with the `inventory-collect` binary.
//!
//! Owns: talking to providers and turning their pages into `entity::record` values. Does not
//! own: tables, history or provenance rules (`entity`), or anything GraphQL (`api`).
//!
//! The runtime and the sources arrive with their own issues; until then the API's first-run
//! example data goes through the same write path (`entity::document::import`).
