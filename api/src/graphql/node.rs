//! The Relay `Node` interface: any object with a global id can be refetched by `node(id:)`.

use super::account::CloudAccount;
use super::endpoint::MonitoringEndpoint;
use super::run::CollectorRun;
use async_graphql::{ID, Interface};

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    CloudAccount(CloudAccount),
    MonitoringEndpoint(MonitoringEndpoint),
    CollectorRun(CollectorRun),
}
