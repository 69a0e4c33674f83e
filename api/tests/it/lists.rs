//! Filters and keyset pagination of the lists, on both backends.

use crate::support::{
    account, data, endpoint, error_code, keys, t, write_accounts, write_endpoints,
};
use entity::enums::{AccountStatus, AssetType, EndpointKind, EndpointStatus, Provider};
use entity::testing::TestDb;
use entity::write::remove_unseen;
use serde_json::{Value, json};

const ACCOUNTS: &str = r#"
query($filter: AccountFilter, $first: Int, $after: String, $last: Int, $before: String) {
  accounts(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { key name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"#;

/// Ten AWS accounts `aws:a00`..`aws:a09`, with a GCP and an Azure one around them.
async fn fill(db: &TestDb) {
    let mut records: Vec<_> = (0..10)
        .map(|i| {
            account(
                Provider::Aws,
                &format!("a{i:02}"),
                &format!("Account {i}"),
                "o/r",
            )
        })
        .collect();
    records.push(account(
        Provider::Gcp,
        "proj-1",
        "Project One",
        "example.com",
    ));
    records.push(account(
        Provider::Azure,
        "sub-1",
        "Subscription One",
        "Tenant",
    ));
    write_accounts(db, t(0), records).await;
}

async fn list(db: &TestDb, vars: Value) -> Value {
    let app = crate::support::app(&db.conn);
    data(&app, ACCOUNTS, vars).await["accounts"].clone()
}

fn aws(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("aws:a{i:02}")).collect()
}

async fn forward_pages_walk_the_whole_list_in_order(db: &TestDb) {
    fill(db).await;
    let filter = json!({ "provider": ["AWS"] });
    let page1 = list(db, json!({ "filter": filter, "first": 4 })).await;
    assert_eq!(keys(&page1), aws(0..4));
    assert_eq!(page1["totalCount"], 10);
    assert_eq!(page1["pageInfo"]["hasNextPage"], true);
    assert_eq!(page1["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(
        page1["pageInfo"]["startCursor"],
        page1["edges"][0]["cursor"]
    );

    let page2 = list(
        db,
        json!({ "filter": filter, "first": 4, "after": page1["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(keys(&page2), aws(4..8));
    assert_eq!(page2["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(page2["pageInfo"]["hasNextPage"], true);

    let page3 = list(
        db,
        json!({ "filter": filter, "first": 4, "after": page2["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(keys(&page3), aws(8..10));
    assert_eq!(page3["pageInfo"]["hasNextPage"], false);

    // A cursor at the very end gives an empty page that knows what lies behind it.
    let past_end = list(
        db,
        json!({ "filter": filter, "first": 4, "after": page3["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(keys(&past_end), Vec::<String>::new());
    assert_eq!(past_end["pageInfo"]["hasNextPage"], false);
    assert_eq!(past_end["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(past_end["pageInfo"]["endCursor"], Value::Null);
}

async fn backward_pages_walk_from_the_end(db: &TestDb) {
    fill(db).await;
    let filter = json!({ "provider": ["AWS"] });
    let last = list(db, json!({ "filter": filter, "last": 3 })).await;
    assert_eq!(keys(&last), aws(7..10));
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(last["pageInfo"]["hasNextPage"], false);

    let before = list(
        db,
        json!({ "filter": filter, "last": 3, "before": last["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(keys(&before), aws(4..7));
    assert_eq!(before["pageInfo"]["hasNextPage"], true);
    assert_eq!(before["pageInfo"]["hasPreviousPage"], true);

    // Before the first row: nothing, and nothing earlier.
    let first = list(db, json!({ "filter": filter, "first": 1 })).await;
    let none = list(
        db,
        json!({ "filter": filter, "last": 3, "before": first["pageInfo"]["startCursor"] }),
    )
    .await;
    assert!(keys(&none).is_empty());
    assert_eq!(none["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(none["pageInfo"]["hasNextPage"], true);

    // A window between two cursors.
    let between = list(
        db,
        json!({ "filter": filter, "first": 10, "after": first["pageInfo"]["endCursor"], "before": last["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(keys(&between), aws(1..7));
}

/// The flag for the far side of a page's starting cursor costs a statement of its own: it is
/// read only when the client asks for it, and then it is right.
async fn far_side_flags_are_read_only_when_asked(db: &TestDb) {
    fill(db).await;
    let app = crate::support::uncached_app(&db.conn);
    let after = cursor_of("aws:a03");
    let before = cursor_of("aws:a06");
    for (args, flag, expected) in [
        (
            format!(r#"first: 2, after: "{after}""#),
            "hasPreviousPage",
            true,
        ),
        (
            format!(r#"last: 2, before: "{before}""#),
            "hasNextPage",
            true,
        ),
        (
            format!(r#"last: 2, before: "{}""#, cursor_of("aws:a00")),
            "hasNextPage",
            true,
        ),
        (
            format!(r#"first: 2, after: "{}""#, cursor_of("aws:a"),),
            "hasPreviousPage",
            false,
        ),
    ] {
        let statements = |query: String| {
            let app = app.clone();
            async move {
                let before = crate::support::statements(&app).await;
                let page = data(&app, &query, json!({})).await["accounts"].clone();
                (crate::support::statements(&app).await - before, page)
            }
        };
        let (plain, page) = statements(format!(
            "{{ accounts({args}) {{ nodes {{ key }} pageInfo {{ endCursor }} }} }}"
        ))
        .await;
        assert_eq!(plain, 1.0, "{args}: a page without {flag} is one statement");
        let (asked, with_flag) = statements(format!(
            "{{ accounts({args}) {{ nodes {{ key }} pageInfo {{ endCursor {flag} }} }} }}"
        ))
        .await;
        assert_eq!(asked, 2.0, "{args}: {flag} is one more statement");
        assert_eq!(with_flag["pageInfo"][flag], expected, "{args}");
        assert_eq!(with_flag["nodes"], page["nodes"], "{args}");
    }
}

async fn bad_page_arguments_are_bad_user_input(db: &TestDb) {
    fill(db).await;
    let app = crate::support::app(&db.conn);
    for (vars, field) in [
        (json!({ "first": -1 }), "first"),
        (json!({ "first": 501 }), "first"),
        (json!({ "last": 1000 }), "last"),
        (json!({ "first": 1, "last": 1 }), "last"),
        (json!({ "after": "not-a-cursor" }), "after"),
        (json!({ "before": "Zm9vOmJhcg" }), "before"),
    ] {
        let (code, message) = error_code(&app, ACCOUNTS, vars.clone()).await;
        assert_eq!(code, "BAD_USER_INPUT", "{vars}: {message}");
        assert!(message.contains(field), "{vars}: {message}");
    }
    // A well-formed cursor whose key cannot belong to the list is refused as well.
    let (code, message) = error_code(
        &app,
        "query($a: String) { collectorRuns(after: $a) { totalCount } }",
        json!({ "a": cursor_of("aws:a01") }),
    )
    .await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");
}

/// A cursor as the API encodes it (base64url of `c:<key>`), for cross-list checks.
fn cursor_of(key: &str) -> String {
    api::graphql::page::encode_cursor(key)
}

async fn every_account_filter_narrows_the_list(db: &TestDb) {
    let mut payments = account(
        Provider::Aws,
        "111",
        "Payments Prod",
        "o-1/r-1/Prod/Payments",
    );
    payments.tags = Some(
        [
            ("team".to_owned(), "payments".to_owned()),
            ("env".to_owned(), "prod".to_owned()),
        ]
        .into(),
    );
    let mut production = account(
        Provider::Aws,
        "222",
        "Production Tools",
        "o-1/r-1/Production",
    );
    // A tag whose key and value need escaping in JSON: the filter must match it exactly.
    production.tags = Some(
        [
            ("team".to_owned(), "tools".to_owned()),
            ("cost \"center\"".to_owned(), "a\\b\u{e9}".to_owned()),
        ]
        .into(),
    );
    production.status = AccountStatus::Suspended;
    let mut prod = account(Provider::Aws, "333", "prod root 100%_done", "o-1/r-1/Prod");
    prod.tags = Some([("env".to_owned(), "prod".to_owned())].into());
    let mut project = account(Provider::Gcp, "proj", "Data Project", "example.com/Prod");
    project.scope = "organizations/1".into();
    write_accounts(db, t(0), vec![payments, production, prod]).await;
    write_accounts(db, t(30), vec![project]).await;

    let cases = [
        (json!({ "provider": ["GCP"] }), vec!["gcp:proj"]),
        (
            json!({ "provider": ["AWS", "GCP"] }),
            vec!["aws:111", "aws:222", "aws:333", "gcp:proj"],
        ),
        (json!({ "status": ["SUSPENDED"] }), vec!["aws:222"]),
        (
            json!({ "status": ["ACTIVE", "DELETED"], "provider": ["AWS"] }),
            vec!["aws:111", "aws:333"],
        ),
        (
            json!({ "nameContains": "PROD" }),
            vec!["aws:111", "aws:222", "aws:333"],
        ),
        // LIKE wildcards in the needle are literal.
        (json!({ "nameContains": "100%_" }), vec!["aws:333"]),
        (json!({ "nameContains": "%" }), vec!["aws:333"]),
        (
            json!({ "orgPathPrefix": "o-1/r-1/Prod" }),
            vec!["aws:111", "aws:333"],
        ),
        (
            json!({ "orgPathPrefix": "o-1/r-1/Prod/" }),
            vec!["aws:111", "aws:333"],
        ),
        (
            json!({ "orgPathPrefix": "o-1/r-1/Prod/Payments" }),
            vec!["aws:111"],
        ),
        (json!({ "orgPathPrefix": "o-1/r-1/Pro" }), vec![]),
        (
            json!({ "tag": [{ "key": "env" }] }),
            vec!["aws:111", "aws:333"],
        ),
        (
            json!({ "tag": [{ "key": "team", "value": "tools" }] }),
            vec!["aws:222"],
        ),
        (
            json!({ "tag": [{ "key": "env", "value": "prod" }, { "key": "team" }] }),
            vec!["aws:111"],
        ),
        (
            json!({ "tag": [{ "key": "team", "value": "nobody" }] }),
            vec![],
        ),
        (
            json!({ "tag": [{ "key": "cost \"center\"", "value": "a\\b\u{e9}" }] }),
            vec!["aws:222"],
        ),
        (
            json!({ "tag": [{ "key": "cost \"center\"", "value": "a\\b" }] }),
            vec![],
        ),
        (json!({ "scope": ["organizations/1"] }), vec!["gcp:proj"]),
        (json!({ "seenSince": t(10).to_rfc3339() }), vec!["gcp:proj"]),
        (json!({ "provider": [] }), vec![]),
    ];
    for (filter, expected) in cases {
        let page = list(db, json!({ "filter": filter })).await;
        assert_eq!(keys(&page), expected, "filter {filter}");
        assert_eq!(
            page["totalCount"],
            expected.len(),
            "totalCount for {filter}"
        );
    }

    let app = crate::support::app(&db.conn);
    for filter in [
        json!({ "nameContains": "x".repeat(300) }),
        json!({ "orgPathPrefix": "/" }),
        json!({ "tag": vec![json!({ "key": "k" }); 17] }),
    ] {
        let (code, message) = error_code(&app, ACCOUNTS, json!({ "filter": filter })).await;
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
    }
    let (code, message) =
        error_code(&app, ACCOUNTS, json!({ "filter": { "provider": ["OCI"] } })).await;
    assert_eq!(code, "BAD_USER_INPUT", "an unknown enum value: {message}");
}

async fn removed_accounts_show_only_when_asked(db: &TestDb) {
    let run1 = write_accounts(
        db,
        t(0),
        vec![
            account(Provider::Aws, "1", "Kept", "o"),
            account(Provider::Aws, "2", "Gone", "o"),
        ],
    )
    .await;
    let run2 = write_accounts(db, t(15), vec![account(Provider::Aws, "1", "Kept", "o")]).await;
    assert_ne!(run1, run2);
    remove_unseen(&db.conn, run2, t(15), AssetType::CloudAccount, "o-test")
        .await
        .expect("remove");
    assert_eq!(keys(&list(db, json!({})).await), vec!["aws:1"]);
    assert_eq!(
        keys(&list(db, json!({ "filter": { "includeRemoved": true } })).await),
        vec!["aws:1", "aws:2"]
    );
}

async fn endpoint_filters_narrow_the_list(db: &TestDb) {
    let mut labelled = endpoint(
        "grafana-central",
        EndpointKind::Grafana,
        EndpointStatus::Up,
        "https://grafana.example.com",
    );
    labelled.labels = [("team".to_owned(), "platform".to_owned())].into();
    let mut discovered = endpoint(
        "prom-b",
        EndpointKind::Prometheus,
        EndpointStatus::Down,
        "http://10.0.0.2:9090",
    );
    discovered.origin = entity::enums::Origin::Collector;
    discovered.scope = "grafana-central".into();
    write_endpoints(
        db,
        vec![
            endpoint(
                "prom-a",
                EndpointKind::Prometheus,
                EndpointStatus::Up,
                "https://PROM-A.example.com",
            ),
            discovered,
            labelled,
        ],
    )
    .await;
    let app = crate::support::app(&db.conn);
    let query = r#"query($filter: EndpointFilter) {
        monitoringEndpoints(filter: $filter) { totalCount edges { node { key } } } }"#;
    let cases = [
        (json!({}), vec!["grafana-central", "prom-a", "prom-b"]),
        (json!({ "kind": ["PROMETHEUS"] }), vec!["prom-a", "prom-b"]),
        (
            json!({ "status": ["DOWN", "UNAUTHORIZED"] }),
            vec!["prom-b"],
        ),
        (json!({ "urlContains": "prom-a.EXAMPLE" }), vec!["prom-a"]),
        (json!({ "origin": ["COLLECTOR"] }), vec!["prom-b"]),
        (
            json!({ "label": [{ "key": "team", "value": "platform" }] }),
            vec!["grafana-central"],
        ),
        (json!({ "scope": ["grafana-central"] }), vec!["prom-b"]),
    ];
    for (filter, expected) in cases {
        let page = data(&app, query, json!({ "filter": filter })).await;
        assert_eq!(
            keys(&page["monitoringEndpoints"]),
            expected,
            "filter {filter}"
        );
    }
}

async fn collector_runs_list_newest_first(db: &TestDb) {
    for minute in [0, 15, 30] {
        write_accounts(db, t(minute), vec![account(Provider::Aws, "1", "A", "o")]).await;
    }
    let app = crate::support::app(&db.conn);
    let query = r#"query($after: String) { collectorRuns(first: 2, after: $after) {
        totalCount edges { cursor node { startedAt collector status } }
        pageInfo { hasNextPage endCursor } } }"#;
    let page1 = data(&app, query, json!({})).await["collectorRuns"].clone();
    let started: Vec<_> = page1["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["startedAt"].clone())
        .collect();
    assert_eq!(
        started,
        vec![json!(t(30).to_rfc3339()), json!(t(15).to_rfc3339())]
    );
    assert_eq!(page1["totalCount"], 3);
    assert_eq!(page1["pageInfo"]["hasNextPage"], true);
    let page2 = data(
        &app,
        query,
        json!({ "after": page1["pageInfo"]["endCursor"] }),
    )
    .await["collectorRuns"]
        .clone();
    assert_eq!(page2["edges"].as_array().map(Vec::len), Some(1));
    assert_eq!(page2["pageInfo"]["hasNextPage"], false);
    // An edge's cursor is its run's, as `pageInfo`'s are: paging from the first edge's
    // gives the two runs after it.
    assert_eq!(page1["edges"][1]["cursor"], page1["pageInfo"]["endCursor"]);
    let from_edge =
        data(&app, query, json!({ "after": page1["edges"][0]["cursor"] })).await["collectorRuns"]
            .clone();
    assert_eq!(
        from_edge["edges"][0]["node"]["startedAt"],
        json!(t(15).to_rfc3339())
    );
    assert_eq!(
        from_edge["edges"][1]["node"]["startedAt"],
        json!(t(0).to_rfc3339())
    );
}

/// A page that shows no large field leaves the large JSON columns unread; every way of
/// asking for one (`nodes`, `edges { node }`, a named or inline fragment, the Backstage
/// entity) reads them, and they are the stored values.
async fn large_columns_are_read_when_a_field_needs_them(db: &TestDb) {
    let mut record = account(Provider::Aws, "a01", "Payments", "o/r");
    record
        .tags
        .get_or_insert_default()
        .insert("team".into(), "pay".into());
    record.raw = json!({ "Id": "a01", "Arn": "arn:aws:organizations::1:account/o/a01" });
    write_accounts(db, t(0), vec![record]).await;
    let app = crate::support::app(&db.conn);
    let light = data(
        &app,
        "{ accounts { nodes { key name status } } }",
        Value::Null,
    )
    .await;
    assert_eq!(
        light["accounts"]["nodes"],
        json!([{ "key": "aws:a01", "name": "Payments", "status": "ACTIVE" }])
    );
    let expected_raw = json!({ "Id": "a01", "Arn": "arn:aws:organizations::1:account/o/a01" });
    for query in [
        "{ accounts { nodes { raw tags { key value } } } }",
        "{ accounts { edges { node { raw tags { key value } } } } }",
        "{ accounts { nodes { ...Large } } } fragment Large on CloudAccount { raw tags { key value } }",
        "{ accounts { nodes { ... on CloudAccount { raw tags { key value } } } } }",
    ] {
        let page = data(&app, query, Value::Null).await;
        let node = if page["accounts"]["nodes"].is_array() {
            page["accounts"]["nodes"][0].clone()
        } else {
            page["accounts"]["edges"][0]["node"].clone()
        };
        assert_eq!(node["raw"], expected_raw, "{query}");
        assert_eq!(
            node["tags"],
            json!([{ "key": "team", "value": "pay" }]),
            "{query}"
        );
    }
    let entity = data(
        &app,
        "{ accounts { nodes { backstageEntity } } }",
        Value::Null,
    )
    .await;
    let annotations = &entity["accounts"]["nodes"][0]["backstageEntity"]["metadata"]["annotations"];
    assert_eq!(
        annotations["amazonaws.com/arn"],
        "arn:aws:organizations::1:account/o/a01"
    );
    let ancestors = data(
        &app,
        "{ accounts { nodes { ancestors { id } provenance } } }",
        Value::Null,
    )
    .await;
    assert_eq!(
        ancestors["accounts"]["nodes"][0]["ancestors"],
        json!([{ "id": "root" }])
    );
    assert_eq!(
        ancestors["accounts"]["nodes"][0]["provenance"],
        json!({ "api": "test" })
    );
}

/// A page reads only the columns its nodes' fields need and leaves the rest blank: every
/// field of `CloudAccount` (as the schema lists them, so a field added later is covered)
/// must read the same through a page, through `account` and through `lookup` (which read
/// only their fields' columns too) as through the whole row `node` reads.
async fn every_account_field_reads_the_same_in_a_page_as_alone(db: &TestDb) {
    let mut record = account(Provider::Aws, "a01", "Payments", "o/r/Prod");
    record
        .tags
        .get_or_insert_default()
        .insert("team".into(), "pay".into());
    record.raw_status = Some("ACTIVE".into());
    record.region_residency = Some("eu".into());
    record.raw = json!({ "Id": "a01", "Arn": "arn:aws:organizations::1:account/o/a01" });
    write_accounts(db, t(0), vec![record]).await;
    // Removed, so that `removedAt` has a value to compare.
    let ctx = entity::write::WriteContext::actor("tester", t(5));
    entity::write::remove(&db.conn, &ctx, AssetType::CloudAccount, &["aws:a01".into()])
        .await
        .expect("remove");
    let app = crate::support::app(&db.conn);
    let fields = data(
        &app,
        r#"{ __type(name: "CloudAccount") { fields { name } } }"#,
        Value::Null,
    )
    .await;
    let fields = fields["__type"]["fields"]
        .as_array()
        .expect("fields")
        .clone();
    assert!(fields.len() >= 20, "{fields:?}");
    const ALL: &str = "filter: { includeRemoved: true }";
    // Object fields need a selection of their own.
    let selection = |field: &str| match field {
        "ancestors" => "ancestors { id name kind type }".to_owned(),
        "tags" => "tags { key value }".to_owned(),
        "lastRun" => "lastRun { id collector }".to_owned(),
        "history" => "history { nodes { kind fields { field old new } } }".to_owned(),
        other => other.to_owned(),
    };
    let id = data(
        &app,
        r#"{ account(provider: AWS, nativeId: "a01") { id } }"#,
        Value::Null,
    )
    .await;
    let id = id["account"]["id"].as_str().expect("id").to_owned();
    for field in fields.iter().filter_map(|f| f["name"].as_str()) {
        let selected = selection(field);
        // `node` reads the whole row; pages and `account` read only the columns their
        // fields need.
        let alone = data(
            &app,
            &format!(r#"{{ node(id: "{id}") {{ ... on CloudAccount {{ {selected} }} }} }}"#),
            Value::Null,
        )
        .await;
        let alone = &alone["node"][field];
        assert!(
            !alone.is_null(),
            "{field} is null on the whole row: pick data that shows it"
        );
        let lookup = data(
            &app,
            &format!(r#"{{ account(provider: AWS, nativeId: "a01") {{ {selected} }} }}"#),
            Value::Null,
        )
        .await;
        assert_eq!(&lookup["account"][field], alone, "account {{ {selected} }}");
        let lookup = data(
            &app,
            &format!(
                r#"{{ account(provider: AWS, nativeId: "a01") {{ ...F }} }}
                   fragment F on CloudAccount {{ x: {selected} }}"#
            ),
            Value::Null,
        )
        .await;
        assert_eq!(&lookup["account"]["x"], alone, "account {{ ...F }}");
        // `lookup` reads its accounts' columns for the fields outside endpoint fragments.
        const ANNOTATION: &str = r#"annotation: { key: "asset-inventory/id", value: "aws:a01" }"#;
        let lookup = data(
            &app,
            &format!(
                "{{ lookup({ANNOTATION}) {{ nodes {{ ... on CloudAccount {{ {selected} }} \
                 ... on MonitoringEndpoint {{ url }} }} }} }}"
            ),
            Value::Null,
        )
        .await;
        assert_eq!(
            &lookup["lookup"]["nodes"][0][field], alone,
            "lookup {selected}"
        );
        let lookup = data(
            &app,
            &format!(
                "{{ lookup({ANNOTATION}) {{ edges {{ node {{ ...F ...E }} }} }} }} \
                 fragment F on CloudAccount {{ x: {selected} }} \
                 fragment E on MonitoringEndpoint {{ x: url }}"
            ),
            Value::Null,
        )
        .await;
        assert_eq!(
            &lookup["lookup"]["edges"][0]["node"]["x"], alone,
            "lookup edges {selected}"
        );
        for query in [
            format!("{{ accounts({ALL}) {{ nodes {{ {selected} }} }} }}"),
            format!("{{ accounts({ALL}) {{ edges {{ node {{ x: {selected} }} }} }} }}"),
            format!(
                "{{ accounts({ALL}) {{ nodes {{ ...F }} }} }} \
                 fragment F on CloudAccount {{ {selected} }}"
            ),
        ] {
            let page = data(&app, &query, Value::Null).await;
            let node = if page["accounts"]["nodes"].is_array() {
                page["accounts"]["nodes"][0][field].clone()
            } else {
                page["accounts"]["edges"][0]["node"]["x"].clone()
            };
            assert_eq!(&node, alone, "{query}");
        }
    }
}

entity::on_both_backends!(
    every_account_field_reads_the_same_in_a_page_as_alone,
    large_columns_are_read_when_a_field_needs_them,
    forward_pages_walk_the_whole_list_in_order,
    backward_pages_walk_from_the_end,
    far_side_flags_are_read_only_when_asked,
    bad_page_arguments_are_bad_user_input,
    every_account_filter_narrows_the_list,
    removed_accounts_show_only_when_asked,
    endpoint_filters_narrow_the_list,
    collector_runs_list_newest_first,
);
