//! A test OIDC issuer: fresh ES256 and RS256 keys, a JWKS served over HTTP on 127.0.0.1
//! (counting fetches), and tokens signed on demand, well-formed or not.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub const ISSUER: &str = "https://idp.test.example";
pub const AUDIENCE: &str = "asset-inventory";

pub struct Issuer {
    pub es: EncodingKey,
    pub rs: EncodingKey,
    /// Not in the JWKS: signs forgeries.
    pub rogue: EncodingKey,
    /// The RSA public key as PEM, for the HS256-with-a-public-key attack.
    pub rs_public_pem: Vec<u8>,
    pub jwks_url: url::Url,
    pub fetches: Arc<AtomicUsize>,
    jwks: Arc<std::sync::Mutex<Value>>,
}

fn es_key() -> EncodingKey {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
    EncodingKey::from_ec_der(pair.to_pkcs8v1().expect("PKCS#8").as_ref())
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
    .into_bytes()
}

fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(key, alg).expect("JWK")).expect("JSON");
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    jwk
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Issuer {
    pub async fn start() -> Self {
        let es = es_key();
        let rogue = es_key();
        let rsa = KeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        let rs =
            EncodingKey::from_rsa_pem(&pem("PRIVATE KEY", rsa.as_der().expect("PKCS#8").as_ref()))
                .expect("RSA PEM");
        let public_der: aws_lc_rs::encoding::PublicKeyX509Der<'_> =
            rsa.public_key().as_der().expect("public DER");
        let rs_public_pem = pem("PUBLIC KEY", public_der.as_ref());
        let jwks = json!({ "keys": [
            public_jwk(&es, Algorithm::ES256, "es-1"),
            public_jwk(&rs, Algorithm::RS256, "rs-1"),
            // A key type we do not use must not break the rest.
            { "kty": "OKP", "crv": "X448", "x": "AAAA", "kid": "exotic" },
        ]});
        let jwks = Arc::new(std::sync::Mutex::new(jwks));
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let served = jwks.clone();
        let app = Router::new().route(
            "/jwks.json",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().map(|v| v.clone()).unwrap_or_default();
                async move { axum::Json(body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            es,
            rs,
            rogue,
            rs_public_pem,
            jwks_url: format!("http://{addr}/jwks.json").parse().expect("URL"),
            fetches,
            jwks,
        }
    }

    /// Rotates in a new ES256 signing key under `kid`; returns it.
    pub fn rotate_in(&self, kid: &str) -> EncodingKey {
        let key = es_key();
        let jwk = public_jwk(&key, Algorithm::ES256, kid);
        if let Ok(mut jwks) = self.jwks.lock()
            && let Some(keys) = jwks["keys"].as_array_mut()
        {
            keys.push(jwk);
        }
        key
    }

    /// The API's OIDC settings for this issuer.
    pub fn auth_args(&self, allow_anonymous_read: bool) -> api::config::AuthArgs {
        api::config::AuthArgs {
            api_tokens: None,
            api_tokens_file: None,
            allow_anonymous_read,
            oidc_issuer: Some(ISSUER.into()),
            oidc_audience: Some(AUDIENCE.into()),
            oidc_jwks_url: Some(self.jwks_url.clone()),
            oidc_role_claim: "groups".into(),
            oidc_role_map: "inventory-editors=editor,inventory-viewers=viewer".into(),
            oidc_jwks_min_refresh_seconds: 3600,
        }
    }

    /// Claims that pass, for `subject` in `groups`.
    pub fn claims(subject: &str, groups: &[&str]) -> Value {
        json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": subject, "groups": groups,
            "iat": now(), "nbf": now() - 10, "exp": now() + 600,
        })
    }

    pub fn sign(key: &EncodingKey, alg: Algorithm, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        encode(&header, claims, key).expect("sign")
    }

    pub fn es256(&self, claims: &Value) -> String {
        Self::sign(&self.es, Algorithm::ES256, "es-1", claims)
    }

    pub fn rs256(&self, claims: &Value) -> String {
        Self::sign(&self.rs, Algorithm::RS256, "rs-1", claims)
    }

    /// `alg: none`, no signature.
    pub fn unsigned(claims: &Value) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.",
            part(&json!({ "alg": "none", "typ": "JWT", "kid": "es-1" })),
            part(claims)
        )
    }

    /// HS256 keyed with the RSA public key: the classic algorithm-confusion forgery.
    pub fn hs256_with_public_key(&self, claims: &Value) -> String {
        let key = EncodingKey::from_secret(&self.rs_public_pem).expect("HMAC key");
        Self::sign(&key, Algorithm::HS256, "rs-1", claims)
    }
}
