//! Safe probing of user-supplied URLs. Seeded endpoints are input from people, so before a
//! request leaves, the address it will connect to is checked: link-local and cloud-metadata
//! addresses, loopback, private and other non-public ranges are refused unless the operator
//! opens a range with `--allow-cidr`. The check sits in reqwest's DNS resolver, so the
//! address checked is the address connected to (no re-resolution gap); literal IPs and
//! redirect targets are checked the same way.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Host names that are metadata services whatever they resolve to.
const METADATA_HOSTS: &[&str] = &["metadata.google.internal", "metadata", "instance-data"];

#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// Ranges opened on purpose (tests open 127.0.0.0/8).
    pub allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// `Err` says why the address is refused.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        if self.allowed.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        let reason = match ip {
            IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                if v4.is_link_local() {
                    Some("link-local (cloud metadata lives here)")
                } else if v4.is_loopback() {
                    Some("loopback")
                } else if v4.is_private() {
                    Some("private")
                } else if a == 100 && (64..128).contains(&b) {
                    Some("carrier-grade NAT")
                } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                    Some("not a unicast host address")
                } else {
                    None
                }
            }
            IpAddr::V6(v6) => {
                let first = v6.segments()[0];
                if v6.to_ipv4_mapped().is_some() {
                    return v6
                        .to_ipv4_mapped()
                        .map_or(Ok(()), |v4| self.check(IpAddr::V4(v4)));
                } else if v6.is_loopback() {
                    Some("loopback")
                } else if first & 0xffc0 == 0xfe80 {
                    Some("link-local")
                } else if first & 0xfe00 == 0xfc00 {
                    Some("unique-local (fd00:ec2::254 is AWS metadata)")
                } else if v6.is_unspecified() || v6.is_multicast() {
                    Some("not a unicast host address")
                } else {
                    None
                }
            }
        };
        match reason {
            Some(reason) => Err(format!(
                "address {ip} is {reason}; allow it with --allow-cidr if that is intended"
            )),
            None => Ok(()),
        }
    }

    /// Checks a URL's host when it is a literal address (names go through the resolver).
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            Some(url::Host::Domain(name))
                if METADATA_HOSTS.contains(&name.to_ascii_lowercase().as_str()) =>
            {
                Err(format!("{name} is a cloud metadata service"))
            }
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err("the URL has no host".into()),
        }
    }
}

/// The resolver that enforces the policy on every name reqwest looks up.
pub struct GuardedResolver(pub Arc<AddressPolicy>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            if METADATA_HOSTS.contains(&host.to_ascii_lowercase().as_str()) {
                return Err(format!("{host} is a cloud metadata service").into());
            }
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusals = Vec::new();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match policy.check(addr.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refusals.push(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason = refusals
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| format!("{host} did not resolve"));
                return Err(reason.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_ranges_are_refused_unless_allowed() {
        let closed = AddressPolicy::default();
        for refused in [
            "169.254.169.254",
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
        ] {
            let ip: IpAddr = refused.parse().expect("address");
            assert!(closed.check(ip).is_err(), "{refused}");
        }
        for open in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(
                closed.check(open.parse().expect("address")).is_ok(),
                "{open}"
            );
        }
        let loopback = AddressPolicy {
            allowed: vec!["127.0.0.0/8".parse().expect("net")],
        };
        assert!(
            loopback
                .check("127.0.0.1".parse().expect("address"))
                .is_ok()
        );
        assert!(
            loopback
                .check("169.254.169.254".parse().expect("address"))
                .is_err()
        );
        let url = |u: &str| url::Url::parse(u).expect("url");
        assert!(
            closed
                .check_url(&url("http://metadata.google.internal/"))
                .is_err()
        );
        assert!(
            closed
                .check_url(&url("http://169.254.169.254/latest"))
                .is_err()
        );
        assert!(
            closed
                .check_url(&url("https://prometheus.example.com/"))
                .is_ok()
        );
    }
}
