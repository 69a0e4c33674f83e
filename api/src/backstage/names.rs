//! Backstage's naming rules, as its catalog-model package checks them on ingestion: object
//! names (entity names, label names) are 1-63 of `[A-Za-z0-9._-]` starting and ending with a
//! letter or digit; label and annotation keys may carry a DNS-subdomain prefix before `/`;
//! entity refs are `[kind:][namespace/]name`.

use sha2::{Digest, Sha256};

/// Longest object name Backstage accepts.
pub const MAX_NAME: usize = 63;

/// Hex digits of the key's SHA-256 that set a shortened name apart (48 bits).
const HASH_DIGITS: usize = 12;

/// A valid object name: what `metadata.name` and a label's name part must be.
pub fn is_object_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    (1..=MAX_NAME).contains(&bytes.len())
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A DNS label (`[a-z0-9]+(-+[a-z0-9]+)*`, at most 63): what a namespace must be.
pub fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (1..=MAX_NAME).contains(&bytes.len())
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || *b == b'-')
}

fn is_dns_subdomain(text: &str) -> bool {
    (1..=253).contains(&text.len()) && text.split('.').all(is_dns_label)
}

/// A label key: a name, optionally after a DNS-subdomain prefix and `/`.
pub fn is_label_key(text: &str) -> bool {
    match text.split_once('/') {
        None => is_object_name(text),
        Some((prefix, name)) => {
            !name.contains('/') && is_dns_subdomain(prefix) && is_object_name(name)
        }
    }
}

/// A label value: empty or a name.
pub fn is_label_value(text: &str) -> bool {
    text.is_empty() || is_object_name(text)
}

/// An entity kind as a ref may name it.
fn is_kind(text: &str) -> bool {
    let mut chars = text.chars();
    text.len() <= MAX_NAME
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// `[kind:][namespace/]name` with every part valid.
pub fn is_entity_ref(text: &str) -> bool {
    let (kind, rest) = match text.split_once(':') {
        Some((kind, rest)) => (Some(kind), rest),
        None => (None, text),
    };
    let (namespace, name) = match rest.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, rest),
    };
    kind.is_none_or(is_kind) && namespace.is_none_or(is_dns_label) && is_object_name(name)
}

/// Lower-case ASCII letters and digits, every other run of characters one `-`, no `-` at
/// either end. Empty when nothing of `text` survives (a name wholly in another script).
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// `text` cut to at most `max` bytes (it is ASCII), without a separator at the end.
fn cut(text: &str, max: usize) -> &str {
    text[..text.len().min(max)].trim_end_matches(['-', '_', '.'])
}

/// The entity name for an asset: `<prefix>-<id>` when the id already is lower-case letters
/// and digits in `-`-separated runs and the whole fits in 63; otherwise a slug of the id cut
/// to fit, then `_` and 12 hex digits of the SHA-256 of `key` (the asset's unique key).
///
/// Collision-free: a prefix is never a prefix of another's (`aws`, `gcp`, `azure`,
/// `endpoint`), an unchanged id is kept whole, and only a shortened name contains `_`, so
/// shortened names can only meet each other, and then only if 48 bits of SHA-256 collide.
/// Derived from the id, never from the display name: renaming an account must not change
/// the entity it is (relations and ownership point at the name).
pub fn entity_name(prefix: &str, id: &str, key: &str) -> String {
    let plain = id.split('-').all(|run| {
        !run.is_empty()
            && run
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if plain && prefix.len() + 1 + id.len() <= MAX_NAME {
        return format!("{prefix}-{id}");
    }
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    let hash = &digest[..HASH_DIGITS];
    let room = MAX_NAME - prefix.len() - 2 - HASH_DIGITS;
    let slug = slug(id);
    match cut(&slug, room) {
        "" => format!("{prefix}_{hash}"),
        part => format!("{prefix}-{part}_{hash}"),
    }
}

/// A tag key as a label key: unchanged when valid, else its slug cut to 63 (`None` when
/// nothing survives).
pub fn label_key(key: &str) -> Option<String> {
    if is_label_key(key) {
        return Some(key.to_owned());
    }
    let slug = slug(key);
    let cut = cut(&slug, MAX_NAME);
    (!cut.is_empty()).then(|| cut.to_owned())
}

/// A tag value as a label value: unchanged when valid, else its slug cut to 63 (possibly
/// empty, which Backstage allows).
pub fn label_value(value: &str) -> String {
    if is_label_value(value) {
        return value.to_owned();
    }
    let slug = slug(value);
    cut(&slug, MAX_NAME).to_owned()
}

/// A tag value naming an owner or system as an entity ref: unchanged when it is one (e.g.
/// `group:default/payments`), else its slug as a name (`Team Payments` → `team-payments`).
pub fn entity_ref(value: &str) -> Option<String> {
    let value = value.trim();
    if is_entity_ref(value) {
        return Some(value.to_owned());
    }
    let slug = slug(value);
    let cut = cut(&slug, MAX_NAME);
    (!cut.is_empty()).then(|| cut.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_and_prefixed() {
        assert_eq!(
            entity_name("aws", "123456789012", "aws:123456789012"),
            "aws-123456789012"
        );
        assert_eq!(
            entity_name("gcp", "payments-prod-4821", "gcp:payments-prod-4821"),
            "gcp-payments-prod-4821"
        );
    }

    #[test]
    fn other_ids_are_shortened_with_a_hash_and_stay_valid() {
        let hostile = [
            "Zahlungsverkehr-Prüfung",
            "日本語のプロジェクト",
            "UPPER",
            "a--b",
            "-edge-",
            "",
            &"x".repeat(400),
            "payments/prod:eu",
        ];
        let mut seen = std::collections::BTreeSet::new();
        for id in hostile {
            let key = format!("azure:{id}");
            let name = entity_name("azure", id, &key);
            assert!(is_object_name(&name), "{id:?} gave {name:?}");
            assert!(name.len() <= MAX_NAME);
            assert!(name.contains('_'), "{name}");
            assert!(seen.insert(name.clone()), "{name} given twice");
            assert_eq!(name, entity_name("azure", id, &key), "stable");
        }
    }

    #[test]
    fn ids_that_only_differ_where_the_slug_is_lossy_get_different_names() {
        let a = entity_name("endpoint", "Prod", "Prod");
        let b = entity_name("endpoint", "prod!", "prod!");
        let c = entity_name("endpoint", "prod", "prod");
        assert_ne!(a, b);
        assert_eq!(c, "endpoint-prod");
        assert!(a.starts_with("endpoint-prod_") && b.starts_with("endpoint-prod_"));
        // Cut at 63 whatever the length, and the hash tells two long ids apart.
        let long_a = format!("{}a", "p".repeat(100));
        let long_b = format!("{}b", "p".repeat(100));
        let (x, y) = (
            entity_name("gcp", &long_a, &long_a),
            entity_name("gcp", &long_b, &long_b),
        );
        assert_ne!(x, y);
        assert_eq!(x.len(), MAX_NAME);
    }

    #[test]
    fn labels_keep_what_is_valid_and_slug_the_rest() {
        assert_eq!(label_key("cost-center").as_deref(), Some("cost-center"));
        assert_eq!(
            label_key("app.kubernetes.io/name").as_deref(),
            Some("app.kubernetes.io/name")
        );
        assert_eq!(label_key("Cost Center").as_deref(), Some("cost-center"));
        assert_eq!(label_key("💸"), None);
        assert_eq!(label_value("Finance & Ops"), "finance-ops");
        assert_eq!(label_value(""), "");
        assert_eq!(label_value("ünïcödé-only-ä"), "n-c-d-only");
        assert_eq!(label_value(&"v".repeat(90)).len(), MAX_NAME);
    }

    #[test]
    fn refs_are_kept_or_made_from_the_value() {
        assert_eq!(
            entity_ref("group:default/payments").as_deref(),
            Some("group:default/payments")
        );
        assert_eq!(
            entity_ref("user:jane.doe").as_deref(),
            Some("user:jane.doe")
        );
        assert_eq!(
            entity_ref("Team Payments").as_deref(),
            Some("team-payments")
        );
        assert_eq!(entity_ref("   "), None);
        assert!(!is_entity_ref("group:Bad_Namespace/x"));
    }
}
