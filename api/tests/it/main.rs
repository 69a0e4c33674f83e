//! API tests: the application driven in-process, each test on its own database, SQLite and
//! PostgreSQL (see `entity::testing`).

mod auth;
mod backstage;
mod browser;
mod cache;
mod connections;
mod contract;
mod feed;
mod hierarchy;
mod history;
mod http;
mod issuer;
mod limits;
mod lists;
mod lookups;
mod metrics;
mod mutation;
mod operations;
mod support;
