//! Where webhooks may go: the hosts `WEBHOOK_ALLOWED_HOSTS` admits, and never, unless listed by
//! name or address, a private, loopback or link-local address (the service's own network). The
//! check is made on the addresses a name resolves to at the moment of sending (and only those
//! are connected to), so a name that later points inwards gains nothing. Redirects are not
//! followed.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::http::client_address::Network;

/// The allow-list: host names (`hooks.example.nl`), wildcards (`*.example.nl`, or `*` for any
/// public host), addresses and networks (`10.1.2.0/24`).
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    names: Vec<String>,
    suffixes: Vec<String>,
    any_public: bool,
    networks: Vec<Network>,
}

impl AllowList {
    pub fn parse(entries: &[String]) -> anyhow::Result<Self> {
        let mut list = Self::default();
        for entry in entries
            .iter()
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
        {
            if entry == "*" {
                list.any_public = true;
            } else if let Some(suffix) = entry.strip_prefix("*.") {
                list.suffixes.push(format!(".{suffix}"));
            } else if let Ok(network) = entry.parse::<Network>() {
                list.networks.push(network);
            } else if entry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            {
                list.names.push(entry);
            } else {
                anyhow::bail!(
                    "WEBHOOK_ALLOWED_HOSTS: `{entry}` is not a host name, a wildcard or a network"
                );
            }
        }
        Ok(list)
    }

    /// Whether the host (a name or an address) is named by the list: such a host may use a
    /// private address, and plain `http`.
    pub fn names(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return self.networks.iter().any(|n| n.contains(ip));
        }
        self.names.contains(&host) || self.suffixes.iter().any(|s| host.ends_with(s.as_str()))
    }

    /// Whether a delivery to `host` may use `ip`.
    pub fn admits(&self, host: &str, ip: IpAddr) -> bool {
        if self.networks.iter().any(|n| n.contains(ip)) || self.names(host) {
            return true;
        }
        self.any_public && is_public(ip)
    }

    /// Whether the host may be registered at all (its addresses are checked when sending).
    pub fn admits_host(&self, host: &str) -> bool {
        if self.names(host) {
            return true;
        }
        match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) => self.any_public && is_public(ip),
            Err(_) => self.any_public && !host.eq_ignore_ascii_case("localhost"),
        }
    }
}

/// Not private, loopback, link-local, unspecified, multicast, documentation or shared space.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// A resolver that hands the HTTP client only the addresses the allow-list admits for the host.
pub struct GuardedResolver(pub Arc<AllowList>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let list = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| list.admits(&host, address.ip()))
                .collect();
            if found.is_empty() {
                return Err(
                    "the webhook's host resolves to no address the allow-list admits".into(),
                );
            }
            let addresses: Addrs = Box::new(found.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>())
            .unwrap_or_default()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn private_addresses_need_to_be_listed() {
        let public = list(&["*"]);
        assert!(public.admits("hooks.example.nl", ip("93.184.216.34")));
        for private in [
            "127.0.0.1",
            "10.0.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
        ] {
            assert!(!public.admits("anything", ip(private)), "{private}");
        }
        let listed = list(&["127.0.0.1", "hooks.internal"]);
        assert!(listed.admits("127.0.0.1", ip("127.0.0.1")));
        assert!(listed.admits("hooks.internal", ip("10.0.0.5")));
        assert!(
            !listed.admits("other.example.nl", ip("93.184.216.34")),
            "not public-any"
        );
    }

    #[test]
    fn wildcards_and_registration() {
        let list = list(&["*.ministerie.nl"]);
        assert!(list.admits_host("sync.ministerie.nl"));
        assert!(!list.admits_host("ministerie.nl.evil.example"));
        assert!(!list.admits_host("localhost"));
        assert!(AllowList::parse(&["not a host!".into()]).is_err());
    }
}
