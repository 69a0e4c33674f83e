//! What both binaries (`inventory-api`, `inventory-collect`) need at start: logging and
//! tracing ([`telemetry`]), stop signals ([`signals`]) and the flags they share ([`args`]:
//! the database, the secret grants). Owns no tables and no HTTP.

pub mod args;
pub mod signals;
pub mod telemetry;
