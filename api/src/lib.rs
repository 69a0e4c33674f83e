//! The GraphQL API and HTTP server of asset-inventory.
//!
//! Owns: the public schema (our own types over `entity`'s models), error codes, the HTTP
//! router (GraphQL, GraphiQL with embedded assets, health and readiness), configuration and
//! start-up (migrations, first-run example data). Does not own: tables or writes (`entity`),
//! DDL (`migration`), or anything that talks to a cloud (`collectors`).

pub mod app;
pub mod auth;
pub mod backstage;
pub mod cache;
pub mod config;
pub mod error;
pub mod graphql;
pub mod http;
pub mod metrics;
