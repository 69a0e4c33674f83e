//! Collector tests: the runner and sources against real peers (moto for AWS Organizations)
//! and documented-shape local peers, each test on its own database, SQLite and PostgreSQL.

mod aws;
mod azure;
mod file;
mod gcp;
mod grafana;
mod lifecycle;
mod moto;
mod outage;
mod peer;
mod prometheus;
mod scale;
mod scale_azure;
mod scale_gcp;
