//! API tests: the application driven in-process, each test on its own database, SQLite and
//! PostgreSQL (see `entity::testing`).

mod browser;
mod contract;
mod http;
mod lists;
mod lookups;
mod support;
