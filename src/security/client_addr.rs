//! Client addresses: who a request comes from, and what it counts under.
//!
//! `X-Real-IP` and `X-Forwarded-For` are anyone's to send, so they are read
//! only when the TCP peer is one of `trusted_proxies`; from
//! `X-Forwarded-For` the right-most hop that is not itself a trusted proxy
//! is the client (hops to its left were written by whoever that client
//! is). Otherwise the peer is the client.
//!
//! Windows and limiters count an IPv6 client by its /64, the block one
//! subscriber usually holds, so walking through a prefix buys nothing.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// What an address counts under in windows and limiters: IPv4 as is (also
/// when written v4-mapped, `::ffff:192.0.2.1`), IPv6 by its /64.
pub fn window_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !((1u128 << 64) - 1))),
    }
}

/// `window_key` of an address given as text (the envelope's
/// `client_ipaddr`), as text; text that is not an address stays as it is,
/// so it still counts.
pub fn window_key_text(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(ip) => window_key(ip).to_string(),
        Err(_) => ip.trim().to_owned(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an address or CIDR block (e.g. 10.0.0.0/8, ::1/128)")]
pub struct BadCidr(pub String);

/// The peers whose forwarding headers are believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl Default for TrustedProxies {
    /// Loopback only.
    fn default() -> Self {
        TrustedProxies::parse(DEFAULT_TRUSTED_PROXIES).unwrap_or(TrustedProxies(Vec::new()))
    }
}

/// `trusted_proxies` when it is not set: a proxy on the same host.
pub const DEFAULT_TRUSTED_PROXIES: &[&str] = &["127.0.0.0/8", "::1/128"];

impl TrustedProxies {
    /// CIDR blocks, or single addresses (a /32 or /128).
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<TrustedProxies, BadCidr> {
        list.iter()
            .map(|s| {
                let s = s.as_ref().trim();
                s.parse::<IpNet>()
                    .map(|n| n.trunc())
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadCidr(s.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` carrying `real_ip`
    /// (`X-Real-IP`) and `forwarded_for` (every `X-Forwarded-For` line, in
    /// order).
    ///
    /// From a trusted peer: `X-Real-IP` when it is an address (a proxy sets
    /// it, replacing whatever the client sent), else the right-most
    /// `X-Forwarded-For` hop that is not a trusted proxy (all of them
    /// trusted: the left-most; an unreadable hop ends the walk at the hop
    /// right of it), else the peer. From any other peer: the peer.
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        real_ip: Option<&str>,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        if let Some(ip) = real_ip.and_then(parse_hop) {
            return ip;
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|line| line.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// One hop: an address, perhaps with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    #[test]
    fn ipv6_counts_by_its_64_and_ipv4_as_it_is() {
        assert_eq!(window_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(window_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(window_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(
            window_key(ip("2001:db8:1:2::1")),
            window_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            window_key(ip("2001:db8:1:2::1")),
            window_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(window_key_text(" 2001:db8::9 "), "2001:db8::");
        assert_eq!(window_key_text("not an ip"), "not an ip");
    }

    #[test]
    fn trusted_proxies_parse_blocks_and_single_addresses() {
        let p = proxies(&["10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "10.1.2.3/16"]);
        for yes in [
            "10.255.0.1",
            "192.0.2.1",
            "2001:db8:ffff::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(p.contains(ip(yes)), "{yes}");
        }
        for no in ["11.0.0.1", "192.0.2.2", "2001:db9::1", "127.0.0.1"] {
            assert!(!p.contains(ip(no)), "{no}");
        }
        assert_eq!(
            TrustedProxies::parse(&["10.0.0.0/33"]),
            Err(BadCidr("10.0.0.0/33".into()))
        );
        assert!(TrustedProxies::parse(&["localhost"]).is_err());
        let default = TrustedProxies::default();
        assert!(default.contains(ip("127.0.0.1")) && default.contains(ip("127.8.9.10")));
        assert!(default.contains(ip("::1")) && default.contains(ip("::ffff:127.0.0.1")));
        assert!(!default.contains(ip("10.0.0.1")) && !default.contains(ip("::2")));
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let p = proxies(&["10.0.0.0/8"]);
        let proxy = ip("10.0.0.2");
        let from = |xff: &[&str]| p.client(proxy, None, xff.iter().copied());
        // The client wrote the left part; our proxies appended the right.
        assert_eq!(from(&["6.6.6.6, 203.0.113.9, 10.0.0.7"]), ip("203.0.113.9"));
        assert_eq!(
            from(&["6.6.6.6", "203.0.113.9", "10.0.0.7"]),
            ip("203.0.113.9")
        );
        assert_eq!(from(&["203.0.113.9:4711, 10.0.0.7"]), ip("203.0.113.9"));
        assert_eq!(from(&["[2001:db8::5]:443"]), ip("2001:db8::5"));
        // Every hop ours: the left-most.
        assert_eq!(from(&["10.0.0.9, 10.0.0.7"]), ip("10.0.0.9"));
        // Garbage ends the walk at the last address read.
        assert_eq!(from(&["6.6.6.6, unknown, 10.0.0.7"]), ip("10.0.0.7"));
        assert_eq!(from(&["unknown"]), proxy);
        assert_eq!(from(&[]), proxy);
        // X-Real-IP from a trusted proxy is the client.
        assert_eq!(
            p.client(proxy, Some("198.51.100.4"), ["6.6.6.6"]),
            ip("198.51.100.4")
        );
        assert_eq!(p.client(proxy, Some("junk"), ["6.6.6.6"]), ip("6.6.6.6"));
        // From anyone else, the headers are not read.
        let stranger = ip("203.0.113.50");
        assert_eq!(p.client(stranger, Some("1.1.1.1"), ["2.2.2.2"]), stranger);
        assert_eq!(
            TrustedProxies::parse::<&str>(&[]).unwrap().client(
                ip("127.0.0.1"),
                Some("1.1.1.1"),
                ["2.2.2.2"]
            ),
            ip("127.0.0.1")
        );
    }

    proptest! {
        /// Whatever a client prepends to `X-Forwarded-For`, the answer is
        /// the address our proxies appended for it: the client cannot name
        /// someone else, nor one of our proxies.
        #[test]
        fn what_a_client_writes_cannot_move_its_address(
            forged in prop::collection::vec("[0-9a-f.:, ]{0,20}", 0..5),
            client in any::<[u8; 4]>(),
            chain in prop::collection::vec(any::<u8>(), 0..4),
        ) {
            let p = proxies(&["10.0.0.0/8"]);
            let client = IpAddr::from(client);
            prop_assume!(!p.contains(client));
            let mut line = forged.join(",");
            line.push_str(&format!(", {client}"));
            for last in &chain {
                line.push_str(&format!(", 10.0.0.{last}"));
            }
            prop_assert_eq!(p.client(ip("10.9.9.9"), None, [line.as_str()]), client);
        }

        /// The key of any address in a /64 is the /64's first address.
        #[test]
        fn a_64_is_one_key(prefix in 1..=u64::MAX, a in any::<u64>(), b in any::<u64>()) {
            // (::/64 holds the v4-mapped block, which counts as IPv4.)
            let at = |low: u64| IpAddr::V6(Ipv6Addr::from_bits((u128::from(prefix) << 64) | u128::from(low)));
            prop_assert_eq!(window_key(at(a)), window_key(at(b)));
            prop_assert_eq!(window_key(at(a)), at(0));
        }
    }
}
