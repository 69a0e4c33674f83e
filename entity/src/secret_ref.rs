//! Secret references and what the operator grants them.
//!
//! An endpoint never holds a credential: it names where a collector finds one, `env:NAME` or
//! `file:/path`. Whoever may describe an endpoint (an editor, a file) could otherwise name
//! any variable or file of the collector's process (its database password, its cloud keys,
//! `/proc/self/environ`) and a URL of their own to receive it. So references resolve only
//! inside what the operator grants, and only for the endpoint origins the grant names:
//!
//! ```text
//! INVENTORY_SECRET_GRANTS='env:INVENTORY_SECRET_*=https://grafana.example.com;file:/var/run/secrets/asset-inventory/=*'
//! ```
//!
//! Each grant is `REFERENCE=ORIGINS`: a reference pattern (`env:NAME`, `env:PREFIX*`,
//! `file:/exact/path` or `file:/directory/` with its trailing slash) and a comma-separated
//! list of origins (`https://host[:port]`), or `*` for any origin the address guard admits.
//! The mutation checks a reference when it is stored, and the collector again when it
//! resolves it (where a file must also stay inside its granted directory once symbolic links
//! are followed). With no grant, no reference resolves.

use std::fmt;
use std::path::{Component, Path};
use std::str::FromStr;
use url::{Origin, Url};

/// Longest reference accepted.
pub const MAX_REFERENCE: usize = 512;

/// Where a credential is: an environment variable or a file of the collector's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRef<'a> {
    Env(&'a str),
    File(&'a Path),
}

/// Why a reference or a grant is refused. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefError {
    #[error("must be env:NAME (uppercase letters, digits, '_') or file:/absolute/path")]
    Syntax,
    #[error("names {0}, which the operator has not granted (INVENTORY_SECRET_GRANTS)")]
    NotGranted(String),
    #[error(
        "names {reference}, which the operator has not granted for {origin} (INVENTORY_SECRET_GRANTS)"
    )]
    WrongOrigin { reference: String, origin: String },
    #[error("grant {0:?} is not REFERENCE=ORIGINS (see docs/configuration.md)")]
    Grant(String),
}

impl<'a> SecretRef<'a> {
    /// Reads `env:NAME` or `file:/absolute/path` (no `..`, no control characters).
    pub fn parse(text: &'a str) -> Result<Self, SecretRefError> {
        if text.len() > MAX_REFERENCE {
            return Err(SecretRefError::Syntax);
        }
        if let Some(name) = text.strip_prefix("env:")
            && env_name(name)
        {
            return Ok(Self::Env(name));
        }
        if let Some(path) = text.strip_prefix("file:")
            && plain_absolute(path)
        {
            return Ok(Self::File(Path::new(path)));
        }
        Err(SecretRefError::Syntax)
    }
}

impl fmt::Display for SecretRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

fn env_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// An absolute path made of plain names only: no `.`, `..` or empty segments to climb out
/// of a granted directory, no control characters.
fn plain_absolute(path: &str) -> bool {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    path.starts_with('/')
        && !path.chars().any(char::is_control)
        && !trimmed.contains("//")
        && Path::new(trimmed)
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        && trimmed
            .split('/')
            .skip(1)
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// Which references a grant covers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Env(String),
    EnvPrefix(String),
    File(String),
    /// A directory, with its trailing `/`.
    Directory(String),
}

impl Pattern {
    fn matches(&self, reference: &SecretRef<'_>) -> bool {
        match (self, reference) {
            (Self::Env(name), SecretRef::Env(asked)) => name == asked,
            (Self::EnvPrefix(prefix), SecretRef::Env(asked)) => asked.starts_with(prefix.as_str()),
            (Self::File(path), SecretRef::File(asked)) => Path::new(path) == *asked,
            (Self::Directory(dir), SecretRef::File(asked)) => asked
                .to_str()
                .is_some_and(|asked| asked.starts_with(dir.as_str())),
            _ => false,
        }
    }
}

/// The origins a grant lets its references be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origins {
    Any,
    Only(Vec<Origin>),
}

/// One grant: a reference pattern and the origins it may be used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pattern: Pattern,
    origins: Origins,
}

impl Grant {
    /// The grant an operator makes by configuring a reference for a URL together (a
    /// collector's `--url` and `--secret-ref`): that reference, for that URL's origin.
    pub fn exact(reference: &SecretRef<'_>, url: &Url) -> Self {
        let pattern = match reference {
            SecretRef::Env(name) => Pattern::Env((*name).to_owned()),
            SecretRef::File(path) => Pattern::File(path.display().to_string()),
        };
        Self {
            pattern,
            origins: Origins::Only(vec![url.origin()]),
        }
    }

    /// The directory a file reference must stay in once links are followed, for a
    /// directory grant.
    pub fn directory(&self) -> Option<&Path> {
        match &self.pattern {
            Pattern::Directory(dir) => Some(Path::new(dir)),
            _ => None,
        }
    }

    fn admits(&self, url: &Url) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::Only(origins) => origins.contains(&url.origin()),
        }
    }
}

impl FromStr for Grant {
    type Err = SecretRefError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || SecretRefError::Grant(text.chars().take(200).collect());
        let (reference, origins) = text.trim().rsplit_once('=').ok_or_else(bad)?;
        let pattern = if let Some(prefix) = reference
            .strip_prefix("env:")
            .and_then(|r| r.strip_suffix('*'))
        {
            // An empty prefix would grant every variable: name one.
            if prefix.is_empty() || !env_name(prefix) {
                return Err(bad());
            }
            Pattern::EnvPrefix(prefix.to_owned())
        } else {
            match SecretRef::parse(reference).map_err(|_| bad())? {
                SecretRef::Env(name) => Pattern::Env(name.to_owned()),
                SecretRef::File(path) => {
                    let path = path.to_str().ok_or_else(bad)?;
                    if path == "/" {
                        return Err(bad());
                    }
                    if path.ends_with('/') {
                        Pattern::Directory(path.to_owned())
                    } else {
                        Pattern::File(path.to_owned())
                    }
                }
            }
        };
        let origins = if origins.trim() == "*" {
            Origins::Any
        } else {
            let mut list = Vec::new();
            for origin in origins.split(',').map(str::trim) {
                let url = Url::parse(origin).map_err(|_| bad())?;
                let plain = matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some()
                    && url.username().is_empty()
                    && url.password().is_none()
                    && url.path() == "/"
                    && url.query().is_none()
                    && url.fragment().is_none();
                if !plain {
                    return Err(bad());
                }
                list.push(url.origin());
            }
            Origins::Only(list)
        };
        Ok(Self { pattern, origins })
    }
}

/// Every grant the operator made. Empty (the default) grants nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretGrants(Vec<Grant>);

impl SecretGrants {
    pub fn new(grants: Vec<Grant>) -> Self {
        Self(grants)
    }

    /// These grants and `more`.
    pub fn with(mut self, more: impl IntoIterator<Item = Grant>) -> Self {
        self.0.extend(more);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The grant that lets `reference` be sent to `url`'s origin.
    pub fn check(&self, reference: &SecretRef<'_>, url: &Url) -> Result<&Grant, SecretRefError> {
        let mut named = false;
        for grant in self.0.iter().filter(|g| g.pattern.matches(reference)) {
            named = true;
            if grant.admits(url) {
                return Ok(grant);
            }
        }
        Err(if named {
            SecretRefError::WrongOrigin {
                reference: reference.to_string(),
                origin: url.origin().ascii_serialization(),
            }
        } else {
            SecretRefError::NotGranted(reference.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("a URL")
    }

    fn grants(text: &str) -> SecretGrants {
        SecretGrants::new(
            text.split(';')
                .map(|g| g.parse().expect("a grant"))
                .collect(),
        )
    }

    #[test]
    fn references_are_env_names_or_plain_absolute_paths() {
        assert_eq!(
            SecretRef::parse("env:GRAFANA_TOKEN"),
            Ok(SecretRef::Env("GRAFANA_TOKEN"))
        );
        assert_eq!(
            SecretRef::parse("file:/var/run/secrets/prom/token"),
            Ok(SecretRef::File(Path::new("/var/run/secrets/prom/token")))
        );
        for bad in [
            "glsa_abcdef",
            "env:lower",
            "env:",
            "file:relative",
            "file:/a/../b",
            "file:/a/./b",
            "file://a",
            "file:/a\n",
            &format!("file:/{}", "a".repeat(600)),
        ] {
            assert_eq!(SecretRef::parse(bad), Err(SecretRefError::Syntax), "{bad}");
        }
    }

    #[test]
    fn nothing_is_granted_by_default() {
        let refused = SecretGrants::default()
            .check(
                &SecretRef::Env("INVENTORY_DATABASE_URL"),
                &url("https://x.example.com"),
            )
            .expect_err("no grant");
        assert!(
            matches!(refused, SecretRefError::NotGranted(_)),
            "{refused}"
        );
    }

    #[test]
    fn a_grant_covers_its_references_and_origins_only() {
        let grants = grants(
            "env:INVENTORY_SECRET_*=https://grafana.example.com,http://prom.svc:9090;\
             file:/var/run/secrets/asset-inventory/=*",
        );
        let grafana = url("https://grafana.example.com/some/path");
        let token = SecretRef::Env("INVENTORY_SECRET_GRAFANA");
        assert!(grants.check(&token, &grafana).is_ok());
        assert!(grants.check(&token, &url("http://prom.svc:9090/")).is_ok());
        // Another origin: scheme, host and port all count.
        for other in [
            "https://evil.example.com",
            "http://grafana.example.com",
            "https://grafana.example.com:8443",
        ] {
            assert!(
                matches!(
                    grants.check(&token, &url(other)),
                    Err(SecretRefError::WrongOrigin { .. })
                ),
                "{other}"
            );
        }
        for outside in [
            SecretRef::Env("INVENTORY_DATABASE_URL"),
            SecretRef::Env("AWS_SECRET_ACCESS_KEY"),
            SecretRef::File(Path::new("/etc/shadow")),
            SecretRef::File(Path::new("/proc/self/environ")),
            SecretRef::File(Path::new("/var/run/secrets/asset-inventory")),
            SecretRef::File(Path::new("/var/run/secrets/asset-inventory-other/x")),
        ] {
            assert!(
                matches!(
                    grants.check(&outside, &grafana),
                    Err(SecretRefError::NotGranted(_))
                ),
                "{outside}"
            );
        }
        let mounted = SecretRef::File(Path::new("/var/run/secrets/asset-inventory/prom/token"));
        let grant = grants
            .check(&mounted, &url("https://anywhere.example.com"))
            .expect("granted");
        assert_eq!(
            grant.directory(),
            Some(Path::new("/var/run/secrets/asset-inventory/"))
        );
    }

    #[test]
    fn a_reference_configured_with_a_url_is_granted_for_that_origin() {
        let grafana = url("http://grafana.monitoring.svc:3000");
        let reference = SecretRef::Env("GRAFANA_TOKEN");
        let grants = SecretGrants::default().with([Grant::exact(&reference, &grafana)]);
        assert!(
            grants
                .check(&reference, &url("http://grafana.monitoring.svc:3000/api"))
                .is_ok()
        );
        assert!(
            grants
                .check(&reference, &url("https://attacker.example.com"))
                .is_err()
        );
    }

    #[test]
    fn malformed_grants_are_refused() {
        for bad in [
            "env:X",
            "env:*=*",
            "env:lower*=*",
            "file:/=*",
            "file:relative/=*",
            "env:X=ftp://host",
            "env:X=https://host/path",
            "env:X=https://user:pw@host",
            "env:X=",
        ] {
            assert!(bad.parse::<Grant>().is_err(), "{bad}");
        }
    }
}
