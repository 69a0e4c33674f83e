//! Static API tokens. The configuration holds `name:role:sha256-hex` lines, so a leaked
//! config file leaks no token; a presented token is hashed and compared in constant time
//! against every entry.

use super::{Principal, Role};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The prefix of tokens we issue, so secret scanners and people can recognise them.
const PREFIX: &str = "inv_";

struct Entry {
    name: String,
    role: Role,
    hash: [u8; 32],
}

/// The configured tokens.
#[derive(Default)]
pub struct StaticTokens {
    entries: Vec<Entry>,
}

/// A configuration line that cannot be used, with its position (the line is not repeated:
/// someone may have pasted a token where its hash belongs).
#[derive(Debug, thiserror::Error)]
#[error("API token entry {entry}: {reason}")]
pub struct TokenConfigError {
    pub entry: usize,
    pub reason: String,
}

impl StaticTokens {
    /// Parses entries separated by newlines or commas; blank lines and `#` comments are
    /// skipped.
    pub fn parse(text: &str) -> Result<Self, TokenConfigError> {
        let mut entries: Vec<Entry> = Vec::new();
        let lines = text
            .split(['\n', ','])
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        for (index, line) in lines.enumerate() {
            let entry = index + 1;
            let fail = |reason: &str| TokenConfigError {
                entry,
                reason: reason.to_owned(),
            };
            let mut parts = line.splitn(3, ':');
            let (Some(name), Some(role), Some(hash)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(fail("expected name:role:sha256-hex"));
            };
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
            if !valid_name {
                return Err(fail("the name must be 1-64 of [A-Za-z0-9-_.@]"));
            }
            let role =
                Role::parse(role).ok_or_else(|| fail("the role must be viewer or editor"))?;
            let mut digest = [0u8; 32];
            hex::decode_to_slice(hash, &mut digest)
                .map_err(|_| fail("the hash must be 64 hex digits (SHA-256 of the token)"))?;
            if entries.iter().any(|e| e.name == name) {
                return Err(fail("the name is used twice"));
            }
            entries.push(Entry {
                name: name.to_owned(),
                role,
                hash: digest,
            });
        }
        Ok(Self { entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal whose hash matches. Every entry is compared, so timing does not tell
    /// which entry, or whether any, matched.
    pub fn find(&self, token: &str) -> Option<Principal> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for entry in &self.entries {
            if bool::from(entry.hash.ct_eq(&digest)) {
                found = Some(entry);
            }
        }
        found.map(|e| Principal {
            name: format!("token:{}", e.name),
            role: e.role,
        })
    }
}

/// A new random token: 256 bits from the OS, base64url, with our prefix.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The SHA-256 of a token, as configured.
pub fn hash_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_by_hash_only() {
        let token = new_token().expect("randomness");
        assert!(token.starts_with(PREFIX) && token.len() > 40);
        let config = format!("# team tokens\nbackstage:viewer:{}\n", hash_hex(&token));
        let tokens = StaticTokens::parse(&config).expect("valid");
        assert_eq!(
            tokens.find(&token),
            Some(Principal {
                name: "token:backstage".into(),
                role: Role::Viewer
            })
        );
        assert_eq!(tokens.find("inv_wrong"), None);
        assert_eq!(
            tokens.find(&hash_hex(&token)),
            None,
            "the hash is not the token"
        );
    }

    #[test]
    fn bad_entries_are_refused_without_echoing_them() {
        let hash = hash_hex("x");
        for bad in [
            "justaname".to_owned(),
            format!("a:admin:{hash}"),
            "a:viewer:inv_notahash".to_owned(),
            format!("bad name:viewer:{hash}"),
            format!("a:viewer:{hash},a:editor:{hash}"),
        ] {
            let err = StaticTokens::parse(&bad).err().expect("refused");
            assert!(!err.to_string().contains("inv_notahash"), "{err}");
        }
        assert_eq!(StaticTokens::parse("").map(|t| t.len()).ok(), Some(0));
    }
}
