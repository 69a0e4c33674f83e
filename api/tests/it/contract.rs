//! `schema.graphql` is the contract with the Backstage plugin: it must equal what we serve.

use std::path::PathBuf;

#[test]
fn schema_file_matches_the_served_sdl() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let served = api::graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &served).expect("write schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == served,
        "schema.graphql differs from the schema the API serves.\n\
         If the change is intended, refresh it with:\n\
         \n    UPDATE_SCHEMA=1 cargo test -p api --test it contract\n\
         \nand review the diff: clients depend on this file."
    );
}

#[test]
fn the_contract_keeps_the_fields_clients_rely_on() {
    let sdl = api::graphql::sdl();
    for needle in [
        "accounts(filter: AccountFilter, first: Int, after: String, last: Int, before: String): CloudAccountConnection!",
        // Arguments may be added (optional ones only); none may go.
        "account(id: ID, provider: Provider, nativeId: String, asOf: DateTime): CloudAccount",
        "monitoringEndpoints(filter: EndpointFilter, first: Int, after: String, last: Int, before: String): MonitoringEndpointConnection!",
        "monitoringEndpoint(id: ID!, asOf: DateTime): MonitoringEndpoint",
        "history(first: Int, after: String): AssetChangeConnection!",
        "changes(after: String, first: Int, filter: ChangeFilter): ChangeFeedConnection!",
        "changesHead: String",
        "backstageEntity: JSON!",
        "lookup(annotation: AnnotationInput!, first: Int, after: String, includeRemoved: Boolean! = true): AssetConnection!",
        "collectorRuns(",
        "node(id: ID!): Node",
        "inventorySummary: InventorySummary!",
        "enum Provider {\n\tAWS\n\tGCP\n\tAZURE\n}",
        "enum AccountStatus {\n\tACTIVE\n\tSUSPENDED\n\tPENDING_DELETION\n\tDELETED\n\tUNKNOWN\n}",
        "enum EndpointKind {\n\tPROMETHEUS\n\tGRAFANA\n}",
        "enum EndpointStatus {\n\tUP\n\tDOWN\n\tUNAUTHORIZED\n\tUNKNOWN\n}",
    ] {
        assert!(sdl.contains(needle), "the schema lost {needle:?}");
    }
    for field in [
        "nativeId",
        "provider",
        "name",
        "orgPath",
        "ancestors",
        "status",
        "rawStatus",
        "regionResidency",
        "tags",
        "scope",
        "source",
        "firstSeenAt",
        "lastSeenAt",
        "removedAt",
        "lastRun",
        "provenance",
        "raw",
        "kind",
        "url",
        "authMode",
        "version",
        "origin",
        "lastCheckedAt",
        "lastError",
        "nameContains",
        "orgPathPrefix",
        "tag",
        "seenSince",
        "includeRemoved",
        "totalCount",
        "pageInfo",
    ] {
        assert!(
            sdl.contains(&format!("\t{field}")),
            "the schema lost the field {field}"
        );
    }
}
