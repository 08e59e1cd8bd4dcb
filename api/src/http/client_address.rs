//! The address a request comes from, for rate limits and connection caps.
//!
//! Behind a load balancer every connection comes from the balancer. Only when the connection's
//! peer is one of `TRUSTED_PROXIES` is its forwarding header believed, and only the one header
//! the proxies write (`FORWARDED_HEADER`: `X-Forwarded-For` by default, or `Forwarded` of RFC
//! 7239; most balancers pass the other one on from the client untouched). It is read from the
//! right, where the nearest proxy wrote, skipping addresses of trusted proxies; the first address
//! that is not one is the client. Anyone else's forwarding headers are ignored, so a client
//! cannot choose its own address.
//!
//! Limits count an IPv6 client by its /64 network: one subscriber line holds a whole /64, and
//! counting its 2^64 addresses apart would count nothing.

use std::net::IpAddr;

use actix_web::{HttpRequest, http::header::HeaderMap};

/// A network in CIDR notation (`10.0.0.0/8`, `::1/128`) or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_matches(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_matches(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let wrong = || format!("`{text}` is not an address or a network such as 10.0.0.0/8");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| wrong())?;
        let address = canonical(address);
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(wrong)?,
        };
        Ok(Self { address, prefix })
    }
}

/// IPv4 addresses mapped into IPv6 (`::ffff:10.0.0.1`) are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_matches(network: &[u8], ip: &[u8], prefix: u8) -> bool {
    let whole = usize::from(prefix / 8);
    let rest = prefix % 8;
    if network[..whole] != ip[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (network[whole] & mask) == (ip[whole] & mask)
}

/// The header trusted proxies write the client's address in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1`.
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// The key limits count a client by: its IPv4 address, or its IPv6 /64 network.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        v4 => v4,
    }
}

/// The proxies whose forwarding header is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<Network>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Parses the `TRUSTED_PROXIES` setting; a malformed entry stops the start.
    pub fn parse(entries: &[String], header: ForwardedHeader) -> anyhow::Result<Self> {
        let networks = entries
            .iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| {
                entry
                    .parse::<Network>()
                    .map_err(|error| anyhow::anyhow!("TRUSTED_PROXIES: {error}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { networks, header })
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(ip))
    }

    /// The client's address: the peer's, or, when the peer is a trusted proxy, what it forwarded.
    pub fn client_of(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.trusts(peer) {
            return Some(peer);
        }
        let forwarded = forwarded_for(headers, self.header);
        // From the right: the nearest hop first. All trusted: the farthest one is the client.
        let mut client = peer;
        for address in forwarded.into_iter().rev() {
            client = canonical(address);
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }

    pub fn client_of_request(&self, request: &HttpRequest) -> Option<IpAddr> {
        self.client_of(request.peer_addr().map(|a| a.ip()), request.headers())
    }
}

/// The chain of forwarded addresses in the header the proxies write, farthest first. An entry
/// that is not an address (`unknown`, an obfuscated name) ends the chain there, as nothing beyond
/// it can be believed.
fn forwarded_for(headers: &HeaderMap, header: ForwardedHeader) -> Vec<IpAddr> {
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let elements = headers
        .get_all(name)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    let entries: Vec<String> = match header {
        ForwardedHeader::XForwardedFor => elements.map(|entry| entry.trim().to_owned()).collect(),
        ForwardedHeader::Forwarded => elements
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (name, value) = pair.trim().split_once('=')?;
                        name.trim()
                            .eq_ignore_ascii_case("for")
                            .then(|| value.trim().trim_matches('"').to_owned())
                    })
                    .unwrap_or_default()
            })
            .collect(),
    };
    let mut chain: Vec<IpAddr> = Vec::new();
    for entry in entries {
        match parse_node(&entry) {
            Some(ip) => chain.push(ip),
            // Everything before an unreadable hop is beyond it: forget it.
            None => chain.clear(),
        }
    }
    chain
}

/// An address as forwarding headers write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711` or a bare IPv6 address.
fn parse_node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    text.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:aaaa::1")),
            limit_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn networks_contain_their_addresses() {
        let lan: Network = "10.0.0.0/8".parse().unwrap_or(Network {
            address: ip("0.0.0.0"),
            prefix: 32,
        });
        assert!(lan.contains(ip("10.1.2.3")));
        assert!(lan.contains(ip("::ffff:10.1.2.3")));
        assert!(!lan.contains(ip("11.0.0.1")));
        assert!("192.168.0.0/33".parse::<Network>().is_err());
        assert!("nonsense".parse::<Network>().is_err());
        assert!("2001:db8::/32".parse::<Network>().is_ok());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into()], ForwardedHeader::default())
            .unwrap_or_default();
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(
            proxies.client_of(Some(ip("203.0.113.9")), &spoofed),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn a_trusted_proxy_forwards_the_nearest_untrusted_address() {
        let trusted = ["10.0.0.0/8".to_owned(), "127.0.0.1".to_owned()];
        let proxies =
            TrustedProxies::parse(&trusted, ForwardedHeader::XForwardedFor).unwrap_or_default();
        // The client prepended a lie; the proxies appended what they saw.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.2")]);
        assert_eq!(
            proxies.client_of(Some(ip("10.0.0.1")), &chain),
            Some(ip("198.51.100.7"))
        );
        // The header the proxies do not write is the client's own: ignored.
        let smuggled = headers(&[("forwarded", "for=1.2.3.4")]);
        assert_eq!(
            proxies.client_of(Some(ip("10.0.0.1")), &smuggled),
            Some(ip("10.0.0.1"))
        );
        let proxies =
            TrustedProxies::parse(&trusted, ForwardedHeader::Forwarded).unwrap_or_default();
        let forwarded = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(
            proxies.client_of(Some(ip("127.0.0.1")), &forwarded),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            proxies.client_of(Some(ip("10.0.0.1")), &HeaderMap::new()),
            Some(ip("10.0.0.1"))
        );
    }
}
