//! What both binaries (`inventory-api`, `inventory-collect`) need at start: logging and
//! tracing ([`telemetry`]), stop signals ([`signals`]), the database's flags and migrations
//! ([`database`]) and the secret grants' flag ([`secrets`]). Owns no tables and no HTTP.

pub mod database;
pub mod secrets;
pub mod signals;
pub mod telemetry;
