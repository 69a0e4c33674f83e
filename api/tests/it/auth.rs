//! Who may do what: every kind of credential against a read and a write, with the JWKS
//! served by the test itself (`issuer`).

use crate::issuer::{Issuer, now};
use crate::support::send;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::testing::TestDb;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

const READ: &str = "{ accounts { totalCount } }";
const WRITE: &str = r#"mutation { upsertMonitoringEndpoint(input: {
    id: "prom-auth", kind: PROMETHEUS, url: "https://prom.example.com" }) { outcome } }"#;

pub struct Tokens {
    pub viewer: String,
    pub editor: String,
}

/// What the secured app's operator grants: the lab Prometheus's token, for that server only.
pub const SECRET_GRANT: &str = "env:PROM_LAB_TOKEN=https://prom.lab.example.com:9090";

/// An app with two static tokens (`alice` the editor, `backstage` the viewer) and OIDC.
pub async fn secured_app(db: &TestDb, issuer: &Issuer, anonymous_read: bool) -> (Router, Tokens) {
    secured_app_on(&db.conn, issuer, anonymous_read).await
}

/// [`secured_app`] over any connection.
pub async fn secured_app_on(
    conn: &sea_orm::DatabaseConnection,
    issuer: &Issuer,
    anonymous_read: bool,
) -> (Router, Tokens) {
    let viewer = api::auth::new_token().expect("token");
    let editor = api::auth::new_token().expect("token");
    let mut args = issuer.auth_args(anonymous_read);
    args.api_tokens = Some(format!(
        "backstage:viewer:{},alice:editor:{}",
        api::auth::hash_hex(&viewer),
        api::auth::hash_hex(&editor)
    ));
    let mut settings = api::http::Settings::new(Arc::new(
        api::app::authenticator(&args).expect("auth config"),
    ));
    settings.secret_grants = Arc::new(entity::secret_ref::SecretGrants::new(vec![
        SECRET_GRANT.parse().expect("a grant"),
    ]));
    (
        api::http::router(conn.clone(), settings).expect("router"),
        Tokens { viewer, editor },
    )
}

/// Posts `query` with `authorization` as the header value; returns status and body.
pub async fn call(app: &Router, query: &str, authorization: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let body = json!({ "query": query }).to_string();
    let (status, body, _) = send(app, request.body(Body::from(body)).expect("request")).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// What happened: `OK`, or the HTTP status and error code.
fn outcome(status: StatusCode, body: &Value) -> String {
    match body["errors"][0]["extensions"]["code"].as_str() {
        None if status == StatusCode::OK => "OK".into(),
        code => format!("{} {}", status.as_u16(), code.unwrap_or("-")),
    }
}

async fn every_credential_gets_exactly_its_rights(db: &TestDb) {
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    let bearer = |t: &str| format!("Bearer {t}");
    let viewer_jwt = issuer.es256(&Issuer::claims("ann", &["inventory-viewers"]));
    let editor_jwt = issuer.rs256(&Issuer::claims("bob", &["staff", "inventory-editors"]));
    let mut expired = Issuer::claims("ann", &["inventory-editors"]);
    expired["exp"] = json!(now() - 3600);
    let mut not_yet = Issuer::claims("ann", &["inventory-editors"]);
    not_yet["nbf"] = json!(now() + 3600);
    let mut wrong_audience = Issuer::claims("ann", &["inventory-editors"]);
    wrong_audience["aud"] = json!("someone-else");
    let mut wrong_issuer = Issuer::claims("ann", &["inventory-editors"]);
    wrong_issuer["iss"] = json!("https://evil.example");
    let editor_claims = Issuer::claims("ann", &["inventory-editors"]);

    let unauthenticated = "401 UNAUTHENTICATED";
    let cases: Vec<(&str, Option<String>, &str, &str)> = vec![
        ("anonymous", None, unauthenticated, unauthenticated),
        (
            "viewer token",
            Some(bearer(&tokens.viewer)),
            "OK",
            "200 FORBIDDEN",
        ),
        ("editor token", Some(bearer(&tokens.editor)), "OK", "OK"),
        (
            "lower-case scheme",
            Some(format!("bearer {}", tokens.viewer)),
            "OK",
            "200 FORBIDDEN",
        ),
        (
            "unknown token",
            Some(bearer("inv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
            unauthenticated,
            unauthenticated,
        ),
        (
            "token hash instead of token",
            Some(bearer(&api::auth::hash_hex(&tokens.editor))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "basic auth",
            Some("Basic YWxpY2U6c2VjcmV0".into()),
            unauthenticated,
            unauthenticated,
        ),
        (
            "empty bearer",
            Some("Bearer ".into()),
            unauthenticated,
            unauthenticated,
        ),
        (
            "viewer JWT (ES256)",
            Some(bearer(&viewer_jwt)),
            "OK",
            "200 FORBIDDEN",
        ),
        ("editor JWT (RS256)", Some(bearer(&editor_jwt)), "OK", "OK"),
        (
            "JWT without a mapped group",
            Some(bearer(&issuer.es256(&Issuer::claims("eve", &["staff"])))),
            "403 FORBIDDEN",
            "403 FORBIDDEN",
        ),
        (
            "expired JWT",
            Some(bearer(&issuer.es256(&expired))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "JWT not yet valid",
            Some(bearer(&issuer.es256(&not_yet))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "JWT for another audience",
            Some(bearer(&issuer.es256(&wrong_audience))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "JWT from another issuer",
            Some(bearer(&issuer.es256(&wrong_issuer))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "forged signature",
            Some(bearer(&Issuer::sign(
                &issuer.rogue,
                Algorithm::ES256,
                "es-1",
                &editor_claims,
            ))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "alg none",
            Some(bearer(&Issuer::unsigned(&editor_claims))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "HS256 keyed with the public key",
            Some(bearer(&issuer.hs256_with_public_key(&editor_claims))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "unknown kid",
            Some(bearer(&Issuer::sign(
                &issuer.rogue,
                Algorithm::ES256,
                "rotated-away",
                &editor_claims,
            ))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "RS256 header on the EC key",
            Some(bearer(&Issuer::sign(
                &issuer.rs,
                Algorithm::RS256,
                "es-1",
                &editor_claims,
            ))),
            unauthenticated,
            unauthenticated,
        ),
        (
            "garbage JWT",
            Some(bearer("aaa.bbb.ccc")),
            unauthenticated,
            unauthenticated,
        ),
    ];
    let mut failures = Vec::new();
    for (name, authorization, read, write) in &cases {
        for (operation, query, expected) in [("read", READ, read), ("write", WRITE, write)] {
            let (status, body) = call(&app, query, authorization.as_deref()).await;
            let got = outcome(status, &body);
            if got != *expected {
                failures.push(format!(
                    "{name} {operation}: expected {expected}, got {got}: {body}"
                ));
            }
            if status == StatusCode::UNAUTHORIZED {
                // Nothing tells the caller why: same message for every refusal.
                let message = body["errors"][0]["message"].as_str().unwrap_or_default();
                if !["invalid credentials", "authentication required"].contains(&message) {
                    failures.push(format!("{name}: refusal says {message:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // One fetch at first use; the unknown kid could not force another within the refresh
    // interval.
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
}

async fn anonymous_reads_open_reads_only(db: &TestDb) {
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, true).await;
    let (status, body) = call(&app, READ, None).await;
    assert_eq!(outcome(status, &body), "OK");
    let (status, body) = call(&app, WRITE, None).await;
    assert_eq!(outcome(status, &body), "200 UNAUTHENTICATED");
    // A bad credential is still refused, not downgraded to anonymous.
    let (status, _) = call(&app, READ, Some("Bearer inv_nope")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&app, WRITE, Some(&format!("Bearer {}", tokens.editor))).await;
    assert_eq!(outcome(status, &body), "OK");
}

/// Key rotation: a token signed with a key published after the JWKS was cached is accepted
/// once the refresh interval allows a refetch.
#[tokio::test]
async fn rotated_keys_are_picked_up_by_refresh() {
    let db = TestDb::sqlite().await;
    let issuer = Issuer::start().await;
    let mut args = issuer.auth_args(false);
    args.oidc_jwks_min_refresh_seconds = 0;
    let settings = api::http::Settings::new(Arc::new(
        api::app::authenticator(&args).expect("auth config"),
    ));
    let app = api::http::router(db.conn.clone(), settings).expect("router");
    let claims = Issuer::claims("ann", &["inventory-viewers"]);
    let bearer = format!("Bearer {}", issuer.es256(&claims));
    let (status, _) = call(&app, READ, Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);

    let rotated = issuer.rotate_in("es-2");
    let token = Issuer::sign(&rotated, Algorithm::ES256, "es-2", &claims);
    let (status, body) = call(&app, READ, Some(&format!("Bearer {token}"))).await;
    assert_eq!(outcome(status, &body), "OK");
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        2,
        "the unknown kid caused one refetch"
    );
    // Known keys come from the cache.
    call(&app, READ, Some(&format!("Bearer {token}"))).await;
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);
    db.finish().await;
}

entity::on_both_backends!(
    every_credential_gets_exactly_its_rights,
    anonymous_reads_open_reads_only
);

/// The real binary, configured through its environment, logging JSON to a pipe: every line
/// it writes while refusing and accepting credentials is checked for those credentials.
#[tokio::test]
async fn no_token_or_secret_reaches_the_log() {
    let issuer = Issuer::start().await;
    let editor = api::auth::new_token().expect("token");
    let viewer = api::auth::new_token().expect("token");
    let tokens = format!(
        "alice:editor:{},backstage:viewer:{}",
        api::auth::hash_hex(&editor),
        api::auth::hash_hex(&viewer)
    );
    let server = crate::support::ApiProcess::start(
        "secrets",
        &[
            ("RUST_LOG", "trace"),
            ("INVENTORY_ALLOW_ANONYMOUS_READ", "false"),
            ("INVENTORY_API_TOKENS", &tokens),
            ("INVENTORY_OIDC_ISSUER", crate::issuer::ISSUER),
            ("INVENTORY_OIDC_AUDIENCE", crate::issuer::AUDIENCE),
            ("INVENTORY_OIDC_JWKS_URL", issuer.jwks_url.as_str()),
        ],
        &[],
    );

    let mut expired = Issuer::claims("ann", &["inventory-editors"]);
    expired["exp"] = json!(now() - 3600);
    let expired = issuer.es256(&expired);
    let good_jwt = issuer.es256(&Issuer::claims("ann", &["inventory-editors"]));
    let wrong = "inv_ThisIsNotAValidTokenButLooksLikeOne0123456789".to_owned();
    // A header whose `kid` is 60 KB: what is logged about it must stay small.
    let huge_kid = {
        use base64::Engine;
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": "K".repeat(60_000) });
        let encode =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.c2ln",
            encode(&header),
            encode(&json!({ "sub": "x" }))
        )
    };
    let credentials = [&editor, &viewer, &expired, &good_jwt, &wrong, &huge_kid];
    let client = reqwest::Client::new();
    for credential in credentials {
        for query in [READ, WRITE] {
            client
                .post(server.url("/graphql"))
                .bearer_auth(credential)
                .json(&json!({ "query": query }))
                .send()
                .await
                .expect("request");
        }
    }
    server.terminate();
    let (_, lines) = tokio::task::spawn_blocking(move || server.wait())
        .await
        .expect("wait");
    let log: Vec<String> = lines.iter().map(Value::to_string).collect();
    let log = log.join("\n");
    for credential in credentials {
        assert!(
            !log.contains(credential.as_str()),
            "a credential was logged:\n{log}"
        );
        if let Some(signature) = credential.rsplit('.').next().filter(|s| s.len() > 20) {
            assert!(
                !log.contains(signature),
                "a JWT signature was logged:\n{log}"
            );
        }
    }
    // The log, unlike the response, says why, and who wrote.
    assert!(
        log.contains("ExpiredSignature"),
        "the refusal reason is missing:\n{log}"
    );
    assert!(log.contains("no API token has this hash"), "{log}");
    assert!(
        !log.contains(&"K".repeat(1_000)),
        "an untrusted kid was logged whole"
    );
    assert!(
        log.contains("no key with kid"),
        "the kid refusal is missing"
    );
    assert!(
        log.contains("token:alice"),
        "the actor of the write is missing:\n{log}"
    );
}

#[test]
fn new_token_prints_a_token_and_its_hashed_entry() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_inventory-api"))
        .args(["new-token", "--name", "backstage", "--role", "viewer"])
        .output()
        .expect("run new-token");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let token = text
        .lines()
        .find(|l| l.starts_with("inv_"))
        .expect("a token line");
    let entry = text
        .lines()
        .find(|l| l.starts_with("backstage:viewer:"))
        .expect("a configuration line");
    assert_eq!(
        entry,
        format!("backstage:viewer:{}", api::auth::hash_hex(token))
    );
    let tokens = api::auth::StaticTokens::parse(entry).expect("the entry parses");
    assert_eq!(
        tokens.find(token).map(|p| p.name),
        Some("token:backstage".into())
    );

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_inventory-api"))
        .args(["new-token", "--name", "x", "--role", "admin"])
        .output()
        .expect("run new-token");
    assert!(!refused.status.success());
}
