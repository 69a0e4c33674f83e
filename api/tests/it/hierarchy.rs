//! One hierarchy model for all three clouds: typed ancestors, and `subtree` filters by a
//! node's id at any depth (next to `orgPathPrefix`, which matches names).

use crate::support::{account, data, error_code, t, write_accounts};
use entity::enums::Provider;
use entity::record::Ancestor;
use entity::testing::TestDb;
use serde_json::{Value, json};

fn node(id: &str, name: &str, kind: &str) -> Ancestor {
    Ancestor {
        id: id.into(),
        name: name.into(),
        kind: kind.into(),
    }
}

async fn seed(db: &TestDb) {
    let mut aws = account(
        Provider::Aws,
        "111111111111",
        "payments",
        "Acme/Root/Prod/Payments",
    );
    aws.ancestors = vec![
        node("o-abc", "Acme", "organization"),
        node("r-1", "Root", "root"),
        node("ou-prod", "Prod", "organizational_unit"),
        node("ou-pay", "Payments", "organizational_unit"),
    ];
    let mut sibling = account(Provider::Aws, "222222222222", "search", "Acme/Root/Prod");
    sibling.ancestors = aws.ancestors[..3].to_vec();
    let mut gcp = account(Provider::Gcp, "data-prod", "data", "example.com/Data");
    gcp.ancestors = vec![
        node("organizations/1", "example.com", "organization"),
        node("folders/2", "Data", "folder"),
    ];
    let mut azure = account(Provider::Azure, "sub-1", "platform", "Contoso/Platform");
    azure.ancestors = vec![
        node("tenant-1", "Contoso", "tenant"),
        node("mg-platform", "Platform", "management_group"),
    ];
    let mut imported = account(Provider::Aws, "333333333333", "odd", "Elsewhere");
    imported.ancestors = vec![node("x-1", "Elsewhere", "business_unit")];
    write_accounts(db, t(0), vec![aws, sibling, gcp, azure, imported]).await;
}

fn keys(page: &Value) -> Vec<&str> {
    page["accounts"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["key"].as_str().expect("key"))
        .collect()
}

async fn ancestors_are_typed_alike_for_every_cloud(db: &TestDb) {
    seed(db).await;
    let app = crate::support::app(&db.conn);
    let page = data(
        &app,
        "{ accounts { nodes { key ancestors { id name type kind } } } }",
        json!({}),
    )
    .await;
    let types = |key: &str| -> Vec<String> {
        page["accounts"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .find(|n| n["key"] == key)
            .expect("account")["ancestors"]
            .as_array()
            .expect("ancestors")
            .iter()
            .map(|a| a["type"].as_str().expect("type").to_owned())
            .collect()
    };
    assert_eq!(
        types("aws:111111111111"),
        ["ORGANIZATION", "ROOT", "OU", "OU"]
    );
    assert_eq!(types("gcp:data-prod"), ["ORGANIZATION", "FOLDER"]);
    assert_eq!(types("azure:sub-1"), ["TENANT", "MANAGEMENT_GROUP"]);
    assert_eq!(types("aws:333333333333"), ["OTHER"]);
}

async fn subtree_matches_by_node_id_at_any_depth(db: &TestDb) {
    seed(db).await;
    let app = crate::support::app(&db.conn);
    let query = "query($f: AccountFilter) { accounts(filter: $f) { nodes { key } } }";
    let by = |filter: Value| {
        let app = app.clone();
        async move {
            keys(&data(&app, query, json!({ "f": filter })).await)
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        by(json!({ "subtree": "ou-prod" })).await,
        ["aws:111111111111", "aws:222222222222"]
    );
    assert_eq!(
        by(json!({ "subtree": "ou-pay" })).await,
        ["aws:111111111111"]
    );
    assert_eq!(by(json!({ "subtree": "o-abc" })).await.len(), 2);
    assert_eq!(
        by(json!({ "subtree": "folders/2" })).await,
        ["gcp:data-prod"]
    );
    assert_eq!(
        by(json!({ "subtree": "mg-platform" })).await,
        ["azure:sub-1"]
    );
    assert_eq!(
        by(json!({ "subtree": "ou-nowhere" })).await,
        Vec::<String>::new()
    );
    // Ids are matched whole, not as prefixes or patterns.
    assert_eq!(by(json!({ "subtree": "ou-p" })).await, Vec::<String>::new());
    assert_eq!(by(json!({ "subtree": "ou-%" })).await, Vec::<String>::new());
    // The same subtree by names, and both together.
    assert_eq!(
        by(json!({ "orgPathPrefix": "Acme/Root/Prod" })).await,
        by(json!({ "subtree": "ou-prod" })).await
    );
    assert_eq!(
        by(json!({ "subtree": "ou-prod", "nameContains": "pay" })).await,
        ["aws:111111111111"]
    );
    let (code, _) = error_code(&app, query, json!({ "f": { "subtree": "x".repeat(5000) } })).await;
    assert_eq!(code, "BAD_USER_INPUT");
}

entity::on_both_backends!(
    ancestors_are_typed_alike_for_every_cloud,
    subtree_matches_by_node_id_at_any_depth
);
