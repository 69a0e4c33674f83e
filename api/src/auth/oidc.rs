//! OIDC JWTs: RS256 or ES256 only, signature checked against the issuer's JWKS, then `iss`,
//! `aud`, `exp` and `nbf`. Keys are cached; an unknown `kid` triggers a refresh, at most once
//! per `min_refresh`, so a flood of forged kids cannot hammer the identity provider.

use super::{AuthError, Principal, Role};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// Maps values of the role claim to roles; the highest role among the values wins.
#[derive(Debug, Clone)]
pub struct RoleMap(pub Vec<(String, Role)>);

impl RoleMap {
    /// `group=editor,other-group=viewer`.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (value, role) = pair
                    .rsplit_once('=')
                    .ok_or_else(|| format!("{pair:?} is not value=role"))?;
                let role = Role::parse(role.trim())
                    .ok_or_else(|| format!("{pair:?}: the role must be viewer or editor"))?;
                Ok((value.trim().to_owned(), role))
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Self)
    }

    fn role_of(&self, claim: &Value) -> Option<Role> {
        let values: Vec<&str> = match claim {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        self.0
            .iter()
            .filter(|(value, _)| values.contains(&value.as_str()))
            .map(|(_, role)| *role)
            .max()
    }
}

#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: Url,
    /// The claim that carries roles or groups (`groups`, `roles`…).
    pub role_claim: String,
    pub role_map: RoleMap,
    /// Fewest seconds between two JWKS fetches.
    pub min_refresh: Duration,
    /// Cached keys older than this are refetched on next use.
    pub max_age: Duration,
    pub timeout: Duration,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
}

#[derive(Default)]
struct Keys {
    keys: Vec<Jwk>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    keys: Mutex<Keys>,
}

/// A refusal whose reason may quote the token (its `kid`, say), clipped for the log.
fn refused(reason: impl std::fmt::Display) -> AuthError {
    AuthError::Jwt(super::clip(&reason.to_string(), 200))
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            config,
            http,
            keys: Mutex::new(Keys::default()),
        })
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = decode_header(token).map_err(refused)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(refused(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header.kid.ok_or_else(|| refused("the header has no kid"))?;
        let jwk = self.key(&kid).await?;
        if jwk
            .common
            .key_algorithm
            .is_some_and(|alg| alg.to_string() != format!("{:?}", header.alg))
            || jwk
                .common
                .public_key_use
                .as_ref()
                .is_some_and(|u| *u != PublicKeyUse::Signature)
        {
            return Err(refused(format!(
                "key {kid:?} is not for {:?} signatures",
                header.alg
            )));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(refused)?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway.as_secs();
        let claims = decode::<Value>(token, &key, &validation)
            .map_err(refused)?
            .claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| refused("sub is not a string"))?
            .to_owned();
        let role = claims
            .get(&self.config.role_claim)
            .and_then(|claim| self.config.role_map.role_of(claim))
            .ok_or_else(|| AuthError::NoRole {
                subject: super::clip(&subject, 200),
                claim: self.config.role_claim.clone(),
            })?;
        Ok(Principal {
            name: format!("oidc:{subject}"),
            role,
        })
    }

    /// The key with this id, refreshing the cache when it is stale or lacks the id.
    async fn key(&self, kid: &str) -> Result<Jwk, AuthError> {
        let mut keys = self.keys.lock().await;
        let stale = keys
            .fetched_at
            .is_none_or(|at| at.elapsed() >= self.config.max_age);
        let known = keys
            .keys
            .iter()
            .any(|k| k.common.key_id.as_deref() == Some(kid));
        let may_fetch = keys
            .attempted_at
            .is_none_or(|at| at.elapsed() >= self.config.min_refresh);
        if (stale || !known) && may_fetch {
            keys.attempted_at = Some(Instant::now());
            match self.fetch().await {
                Ok(fresh) => {
                    keys.keys = fresh;
                    keys.fetched_at = Some(Instant::now());
                }
                // Keep serving with the keys we have; the identity provider may be back soon.
                Err(err) => tracing::warn!(error = %err, "cannot refresh the OIDC JWKS"),
            }
        }
        keys.keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .cloned()
            .ok_or_else(|| refused(format!("no key with kid {kid:?} in the JWKS")))
    }

    /// Reads the JWKS, keeping every key we can use and skipping the rest (an identity
    /// provider may publish key types we do not support).
    async fn fetch(&self) -> Result<Vec<Jwk>, String> {
        let response = self
            .http
            .get(self.config.jwks_url.clone())
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("not JSON: {e}"))?;
        let keys = body
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no keys array")?;
        let usable: Vec<Jwk> = keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .filter(|k| k.common.key_id.is_some())
            .collect();
        tracing::info!(keys = usable.len(), "fetched the OIDC JWKS");
        Ok(JwkSet { keys: usable }.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_highest_mapped_role_wins() {
        let map = RoleMap::parse("engineers=viewer, platform-admins=editor").expect("valid");
        assert_eq!(map.role_of(&json!(["engineers"])), Some(Role::Viewer));
        assert_eq!(
            map.role_of(&json!(["engineers", "platform-admins"])),
            Some(Role::Editor)
        );
        assert_eq!(map.role_of(&json!("platform-admins")), Some(Role::Editor));
        assert_eq!(map.role_of(&json!(["others"])), None);
        assert_eq!(map.role_of(&json!(42)), None);
        assert!(RoleMap::parse("a=admin").is_err());
        assert!(RoleMap::parse("novalue").is_err());
    }
}
