//! The Azure source against local peers that follow Microsoft's documented shapes:
//! - Entra ID's OAuth 2.0 v2.0 token endpoint ("Microsoft identity platform and the OAuth 2.0
//!   client credentials flow"): `POST /{tenant}/oauth2/v2.0/token` with `grant_type=
//!   client_credentials` and a `client_secret` or a `client_assertion`, answered by
//!   `{"token_type": "Bearer", "expires_in", "access_token"}` or `{"error", "error_description"}`.
//!   Served over TLS with a CA made here, because azure_identity accepts https authorities only.
//! - Azure Resource Manager "Subscriptions - List" (api-version 2022-12-01): `{"value": [...],
//!   "nextLink"}` with `subscriptionId`, `displayName`, `state`, `tenantId`, `tags`,
//!   `subscriptionPolicies`, `managedByTenants`; and "Management Groups - Get Descendants"
//!   (api-version 2020-05-01). Errors in ARM's `{"error": {"code", "message"}}` shape.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use collectors::azure::{AzureOptions, AzureSource, CredentialConfig, CredentialKind};
use collectors::http::RetryPolicy;
use collectors::runner::run;
use entity::cloud_account;
use entity::enums::{AccountStatus, RunStatus};
use entity::testing::TestDb;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TENANT_A: &str = "72f988bf-0000-4000-8000-00000000000a";
const TENANT_B: &str = "72f988bf-0000-4000-8000-00000000000b";
const SECRET: &str = "fake-client-secret-for-tests";

#[derive(Clone, Copy, Debug)]
enum Fault {
    RateLimited(u32),
    ServerError,
    Garbage,
    Slow,
    Drop,
}

#[derive(Default)]
struct World {
    fault: Option<Fault>,
    faulted: u32,
    token_requests: u32,
    removed: Vec<String>,
}

type Shared = Arc<Mutex<World>>;

fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn subscription(id: &str, tenant: &str, name: &str, state: &str, tags: Value) -> Value {
    json!({
        "id": format!("/subscriptions/{id}"), "authorizationSource": "RoleBased",
        "managedByTenants": [], "subscriptionId": id, "tenantId": tenant, "displayName": name,
        "state": state, "tags": tags,
        "subscriptionPolicies": { "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01", "spendingLimit": "Off" },
    })
}

fn subscriptions(tenant: &str) -> Vec<Value> {
    if tenant == TENANT_A {
        vec![
            subscription(
                "00000000-0000-0000-0000-0000000000a1",
                tenant,
                "retail-prod",
                "Enabled",
                json!({ "owner": "team-retail" }),
            ),
            subscription(
                "00000000-0000-0000-0000-0000000000a2",
                tenant,
                "retail-dev",
                "Warned",
                json!({}),
            ),
            subscription(
                "00000000-0000-0000-0000-0000000000a3",
                tenant,
                "legacy",
                "Disabled",
                json!({}),
            ),
        ]
    } else {
        vec![subscription(
            "00000000-0000-0000-0000-0000000000b1",
            tenant,
            "partner",
            "PastDue",
            json!({}),
        )]
    }
}

fn tenant_of(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    value.strip_prefix("Bearer tok-").map(str::to_owned)
}

async fn list_subscriptions(
    State((world, base)): State<(Shared, String)>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(tenant) = tenant_of(&headers) else {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        );
    };
    if q.get("api-version").map(String::as_str) != Some("2022-12-01") {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            "unsupported api-version",
        );
    }
    let removed = world.lock().expect("world").removed.clone();
    let all: Vec<Value> = subscriptions(&tenant)
        .into_iter()
        .filter(|s| !removed.contains(&s["subscriptionId"].as_str().unwrap_or_default().to_owned()))
        .collect();
    if !q.contains_key("$skiptoken") {
        let first: Vec<Value> = all.iter().take(2).cloned().collect();
        let mut body = json!({ "value": first });
        if all.len() > 2 {
            body["nextLink"] = json!(format!(
                "{base}/subscriptions?api-version=2022-12-01&$skiptoken=page2"
            ));
        }
        return axum::Json(body).into_response();
    }
    let fault = {
        let mut w = world.lock().expect("world");
        w.faulted += 1;
        match w.fault {
            Some(Fault::RateLimited(n)) if w.faulted > n => None,
            other => other,
        }
    };
    match fault {
        Some(Fault::RateLimited(_)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            axum::Json(json!({ "error": { "code": "TooManyRequests", "message": "throttled" } })),
        )
            .into_response(),
        Some(Fault::ServerError) => arm_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Encountered internal server error.",
        ),
        Some(Fault::Garbage) => (StatusCode::OK, "not json").into_response(),
        Some(Fault::Slow) => {
            tokio::time::sleep(Duration::from_secs(4)).await;
            arm_error(StatusCode::GATEWAY_TIMEOUT, "GatewayTimeout", "too late")
        }
        Some(Fault::Drop) => std::panic::resume_unwind(Box::new("drop the connection")),
        None => axum::Json(json!({ "value": all.into_iter().skip(2).collect::<Vec<_>>() }))
            .into_response(),
    }
}

async fn descendants(headers: HeaderMap, Path(group): Path<String>) -> Response {
    let Some(tenant) = tenant_of(&headers) else {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        );
    };
    if tenant != TENANT_A || group != TENANT_A {
        return arm_error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            "The client does not have authorization to perform action 'Microsoft.Management/managementGroups/descendants/read'.",
        );
    }
    let mg = |name: &str| format!("/providers/Microsoft.Management/managementGroups/{name}");
    axum::Json(json!({ "value": [
        { "id": mg("mg-landing"), "type": "Microsoft.Management/managementGroups", "name": "mg-landing",
          "properties": { "displayName": "Landing Zones", "parent": { "id": mg(TENANT_A) } } },
        { "id": mg("mg-corp"), "type": "Microsoft.Management/managementGroups", "name": "mg-corp",
          "properties": { "displayName": "Corp", "parent": { "id": mg("mg-landing") } } },
        { "id": format!("{}/subscriptions/00000000-0000-0000-0000-0000000000a1", mg("mg-corp")),
          "type": "Microsoft.Management/managementGroups/subscriptions", "name": "00000000-0000-0000-0000-0000000000a1",
          "properties": { "displayName": "retail-prod", "parent": { "id": mg("mg-corp") } } },
    ]})).into_response()
}

async fn token(
    State((world, _)): State<(Shared, String)>,
    Path(tenant): Path<String>,
    body: String,
) -> Response {
    world.lock().expect("world").token_requests += 1;
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let by_secret = form.get("client_secret").map(String::as_str) == Some(SECRET);
    let by_assertion = form
        .get("client_assertion")
        .is_some_and(|a| a == "federated-token-from-kubernetes");
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("scope").map(String::as_str) != Some("https://management.azure.com/.default")
        || !(by_secret || by_assertion)
    {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215] }))).into_response();
    }
    axum::Json(json!({ "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": format!("tok-{tenant}") }))
        .into_response()
}

pub struct Peer {
    arm: String,
    authority: String,
    http: reqwest::Client,
    world: Shared,
}

pub async fn start() -> Peer {
    let world: Shared = Arc::new(Mutex::new(World::default()));
    let arm_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let arm = format!("http://{}", arm_listener.local_addr().expect("address"));
    let app = Router::new()
        .route("/subscriptions", get(list_subscriptions))
        .route(
            "/providers/Microsoft.Management/managementGroups/{group}/descendants",
            get(descendants),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .with_state((world.clone(), arm.clone()));
    let plain = app.clone();
    tokio::spawn(async move { axum::serve(arm_listener, plain).await });

    // The token endpoint over TLS, with a CA that only this test's client trusts.
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf");
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    )
    .expect("TLS config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let tls_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let authority = format!("https://{}", tls_listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = tls_listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                if let Ok(stream) = acceptor.accept(stream).await {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
                        .await;
                }
            });
        }
    });
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(ca_cert.pem().as_bytes()).expect("CA cert"),
        )
        .build()
        .expect("client");
    Peer {
        arm,
        authority,
        http,
        world,
    }
}

impl Peer {
    pub fn options(&self, tenant: &str, order: Vec<CredentialKind>) -> AzureOptions {
        AzureOptions {
            base_url: self.arm.parse().expect("URL"),
            credentials: CredentialConfig {
                tenant_id: tenant.to_owned(),
                client_id: Some("11111111-2222-3333-4444-555555555555".into()),
                client_secret: Some(SECRET.into()),
                federated_token_file: None,
                authority_host: Some(self.authority.clone()),
                order,
                http: Some(self.http.clone()),
                timeout: Duration::from_secs(5),
            },
            retry: RetryPolicy {
                rate: None,
                max_attempts: 3,
                min_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(200),
                timeout: Duration::from_secs(2),
            },
        }
    }
}

async fn row(db: &TestDb, id: &str) -> cloud_account::Model {
    cloud_account::Entity::find_by_id(format!("azure:{id}"))
        .one(&db.conn)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{id} stored"))
}

async fn two_tenants_with_and_without_management_groups(db: &TestDb) {
    let peer = start().await;
    let a = run(
        &db.conn,
        &mut AzureSource::new(peer.options(TENANT_A, vec![CredentialKind::ClientSecret])),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(a.status, RunStatus::Succeeded, "{:?}", a.error);
    assert_eq!(
        (a.scope.clone(), a.seen, a.pages),
        (format!("tenants/{TENANT_A}"), 3, 2)
    );
    let prod = row(db, "00000000-0000-0000-0000-0000000000a1").await;
    assert_eq!(prod.name, "retail-prod");
    assert_eq!(prod.org_path, format!("{TENANT_A}/Landing Zones/Corp"));
    assert_eq!(
        json!(prod.ancestors)[0],
        json!({ "id": TENANT_A, "name": TENANT_A, "kind": "tenant" })
    );
    assert_eq!(json!(prod.ancestors)[2]["name"], "Corp");
    assert_eq!(
        prod.parent.as_deref(),
        Some("/providers/Microsoft.Management/managementGroups/mg-corp")
    );
    assert_eq!(
        (prod.status, prod.raw_status.as_deref()),
        (AccountStatus::Active, Some("Enabled"))
    );
    assert_eq!(json!(prod.tags), json!({ "owner": "team-retail" }));
    assert_eq!(
        prod.raw["subscriptionPolicies"]["quotaId"],
        "EnterpriseAgreement_2014-09-01"
    );
    assert_eq!(prod.provenance["management_groups"], true);
    let dev = row(db, "00000000-0000-0000-0000-0000000000a2").await;
    assert_eq!(
        (dev.status, dev.raw_status.as_deref()),
        (AccountStatus::Active, Some("Warned"))
    );
    assert_eq!(
        dev.org_path, TENANT_A,
        "not placed in a group: directly under the tenant"
    );
    let legacy = row(db, "00000000-0000-0000-0000-0000000000a3").await;
    assert_eq!(legacy.status, AccountStatus::Suspended);

    // Tenant B cannot read management groups: it degrades to the tenant alone.
    let b = run(
        &db.conn,
        &mut AzureSource::new(peer.options(TENANT_B, vec![CredentialKind::ClientSecret])),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(
        (b.status, b.seen),
        (RunStatus::Succeeded, 1),
        "{:?}",
        b.error
    );
    let partner = row(db, "00000000-0000-0000-0000-0000000000b1").await;
    assert_eq!(
        (
            partner.org_path.as_str(),
            partner.provenance["management_groups"].as_bool()
        ),
        (TENANT_B, Some(false))
    );
    assert_eq!(partner.scope, format!("tenants/{TENANT_B}"));

    // A subscription that leaves tenant A is removed by A's next run, and B's is untouched.
    peer.world
        .lock()
        .expect("world")
        .removed
        .push("00000000-0000-0000-0000-0000000000a3".into());
    let again = run(
        &db.conn,
        &mut AzureSource::new(peer.options(TENANT_A, vec![CredentialKind::ClientSecret])),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!((again.removed, again.unchanged), (1, 2));
    assert!(
        row(db, "00000000-0000-0000-0000-0000000000a3")
            .await
            .removed_at
            .is_some()
    );
    assert!(
        row(db, "00000000-0000-0000-0000-0000000000b1")
            .await
            .removed_at
            .is_none()
    );
}

async fn faults_on_the_second_page_remove_nothing(db: &TestDb) {
    let peer = start().await;
    let options = || AzureSource::new(peer.options(TENANT_A, vec![CredentialKind::ClientSecret]));
    run(&db.conn, &mut options(), &crate::aws::options())
        .await
        .expect("run");
    for (fault, expected) in [
        (Fault::RateLimited(10), "HTTP 429"),
        (Fault::ServerError, "HTTP 500: InternalServerError"),
        (Fault::Garbage, "not JSON"),
        (Fault::Slow, "timed out"),
        (Fault::Drop, "connection failed"),
    ] {
        {
            let mut w = peer.world.lock().expect("world");
            w.fault = Some(fault);
            w.faulted = 0;
        }
        let partial = run(&db.conn, &mut options(), &crate::aws::options())
            .await
            .expect("run");
        assert_eq!(
            (partial.status, partial.removed),
            (RunStatus::Partial, 0),
            "{fault:?}"
        );
        let error = partial.error.unwrap_or_default();
        assert!(
            error.contains(expected) && error.contains("subscriptions.list"),
            "{fault:?}: {error}"
        );
        assert!(!error.contains("tok-"), "a token leaked: {error}");
        assert!(
            row(db, "00000000-0000-0000-0000-0000000000a3")
                .await
                .removed_at
                .is_none()
        );
    }
}

async fn the_credential_chain_takes_the_first_that_works(db: &TestDb) {
    let peer = start().await;
    // Workload identity is not configured (no token file): the secret is used.
    let chain = vec![
        CredentialKind::WorkloadIdentity,
        CredentialKind::ClientSecret,
    ];
    let done = run(
        &db.conn,
        &mut AzureSource::new(peer.options(TENANT_A, chain)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);

    // Workload identity with a projected token file.
    let file = std::env::temp_dir().join(format!("federated-{}", std::process::id()));
    std::fs::write(&file, "federated-token-from-kubernetes").expect("token file");
    let mut options = peer.options(TENANT_A, vec![CredentialKind::WorkloadIdentity]);
    options.credentials.client_secret = None;
    options.credentials.federated_token_file = Some(file);
    let done = run(
        &db.conn,
        &mut AzureSource::new(options),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);

    // A wrong secret: a failed run that names the token request, not the secret.
    let mut options = peer.options(TENANT_A, vec![CredentialKind::ClientSecret]);
    options.credentials.client_secret = Some("wrong-secret".into());
    let failed = run(
        &db.conn,
        &mut AzureSource::new(options),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(failed.status, RunStatus::Failed);
    let error = failed.error.unwrap_or_default();
    assert!(
        error.contains("entra id token") && !error.contains("wrong-secret"),
        "{error}"
    );

    // An authority that does not answer: our own deadline ends the wait.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut options = peer.options(TENANT_A, vec![CredentialKind::ClientSecret]);
    options.credentials.authority_host =
        Some(format!("https://{}", silent.local_addr().expect("address")));
    options.credentials.timeout = Duration::from_secs(1);
    let started = std::time::Instant::now();
    let failed = run(
        &db.conn,
        &mut AzureSource::new(options),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the token wait was bounded"
    );
    drop(silent);
}

entity::on_both_backends!(
    two_tenants_with_and_without_management_groups,
    faults_on_the_second_page_remove_nothing,
    the_credential_chain_takes_the_first_that_works,
);
