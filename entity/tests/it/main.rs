//! Store tests, each on SQLite and on PostgreSQL (see `entity::testing`).

mod connection;
mod enrich;
mod fixtures;
mod migrations;
mod query;
mod removal;
mod upsert;
