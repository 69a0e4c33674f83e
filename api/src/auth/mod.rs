//! Who is calling. A bearer token is either a static API token (configured by its SHA-256
//! hash) or an OIDC JWT (verified against the issuer's JWKS); either way the result is a
//! [`Principal`] with a [`Role`]. Why a credential was refused is logged, never answered: the
//! client learns only that it was refused.

mod oidc;
mod tokens;

pub use oidc::{Oidc, OidcConfig, RoleMap};
pub use tokens::{StaticTokens, TokenConfigError, hash_hex, new_token};

use axum::http::HeaderValue;

/// What a principal may do. Editors can do everything viewers can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Editor,
}

impl Role {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "viewer" => Some(Self::Viewer),
            "editor" => Some(Self::Editor),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
        }
    }
}

/// An authenticated caller. `name` is what history records as the actor:
/// `token:<name>` for API tokens, `oidc:<subject>` for JWTs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// At most `max` characters of an untrusted value, for a log line: a client chooses a
/// token's `kid` or subject, and must not choose how much we write per request.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    }
}

/// Why a presented credential was refused. For the log only.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header is not a bearer token")]
    Malformed,
    #[error("no API token has this hash")]
    UnknownToken,
    #[error("JWT refused: {0}")]
    Jwt(String),
    #[error("JWT subject {subject:?} has no role: claim {claim:?} maps to none")]
    NoRole { subject: String, claim: String },
}

/// Turns an `Authorization` header into a principal.
pub struct Authenticator {
    tokens: StaticTokens,
    oidc: Option<Oidc>,
    /// Requests without credentials may read (never write).
    pub allow_anonymous_read: bool,
}

impl Authenticator {
    pub fn new(tokens: StaticTokens, oidc: Option<Oidc>, allow_anonymous_read: bool) -> Self {
        Self {
            tokens,
            oidc,
            allow_anonymous_read,
        }
    }

    /// `Ok(None)`: no credential was presented.
    pub async fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<Option<Principal>, AuthError> {
        let Some(value) = authorization else {
            return Ok(None);
        };
        let value = value.to_str().map_err(|_| AuthError::Malformed)?;
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(AuthError::Malformed);
        }
        match &self.oidc {
            // A JWT is three base64url parts; API tokens contain no dot.
            Some(oidc) if token.matches('.').count() == 2 => oidc.verify(token).await.map(Some),
            _ => self
                .tokens
                .find(token)
                .map(Some)
                .ok_or(AuthError::UnknownToken),
        }
    }
}

#[cfg(test)]
mod clip_tests {
    use super::clip;

    #[test]
    fn long_values_are_clipped_on_a_character_boundary() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééé", 2), "éé… (10 bytes)");
        assert!(clip(&"K".repeat(60_000), 200).len() < 300);
    }
}
