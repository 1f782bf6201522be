//! Peers: a node id with the address it can be reached at.

use crate::Id;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;

/// Where a peer can be reached. Overlays carry addresses around without
/// looking inside; only transports interpret them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Address {
    /// A slot in an in-process network (the simulator, the memory transport).
    Memory(u32),
    /// A UDP/IP socket address (QUIC).
    Socket(SocketAddr),
}

/// A node as others know it: its id and its address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Peer {
    /// The node id.
    pub id: Id,
    /// Where to reach it.
    pub addr: Address,
}

/// The network a public address belongs to: an IPv4 /24 or an IPv6 /48.
/// Routing state caps how many peers it takes from one, so that a host
/// minting ids by the thousand cannot fill a node's table (an eclipse).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NetPrefix([u8; 6]);

impl Address {
    /// The [`NetPrefix`] of a public address; `None` for in-process
    /// addresses and for loopback, private and link-local ones, where many
    /// honest nodes share a host or a LAN (a local cluster, a test).
    pub fn net_prefix(&self) -> Option<NetPrefix> {
        let Address::Socket(addr) = self else { return None };
        match addr.ip() {
            std::net::IpAddr::V4(ip) => {
                let local = ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified();
                let [a, b, c, _] = ip.octets();
                (!local).then_some(NetPrefix([4, a, b, c, 0, 0]))
            }
            std::net::IpAddr::V6(ip) => {
                if let Some(v4) = ip.to_ipv4_mapped() {
                    return Address::Socket(SocketAddr::new(v4.into(), addr.port())).net_prefix();
                }
                let segments = ip.segments();
                let unique_local = segments[0] & 0xfe00 == 0xfc00;
                let link_local = segments[0] & 0xffc0 == 0xfe80;
                let local = ip.is_loopback() || ip.is_unspecified() || unique_local || link_local;
                let o = ip.octets();
                (!local).then_some(NetPrefix([o[0], o[1], o[2], o[3], o[4], o[5]]))
            }
        }
    }
}

/// Whether a peer that sent a message from `from` may name `named` in it.
/// Local addresses (loopback, private, link-local) are exempt from the
/// per-network caps because a cluster on one host or LAN is legitimate;
/// the exemption follows where a message came from, not what it claims: a
/// peer on a public address cannot fill a list with entries claiming
/// local ones, which would slip past every cap. Overlays filter every list
/// of peers a message carries through it.
pub fn vouches(from: &Peer, named: &Peer) -> bool {
    from.addr.net_prefix().is_none() || named.addr.net_prefix().is_some()
}

/// Counts peers per [`NetPrefix`] and says whether one more fits under a cap.
pub fn prefix_has_room<'a>(existing: impl IntoIterator<Item = &'a Peer>, candidate: &Peer, cap: usize) -> bool {
    let Some(prefix) = candidate.addr.net_prefix() else { return true };
    let same = existing.into_iter().filter(|p| p.id != candidate.id && p.addr.net_prefix() == Some(prefix)).count();
    same < cap
}

/// Keeps the first `n` of `entries` in `order`, sorted: only those are
/// sorted, the rest are set apart by selection. Overlays rank the peers
/// they know for every key and every request, and want only a few.
pub fn nearest_first<T>(entries: &mut Vec<T>, n: usize, mut order: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    if entries.len() > n {
        entries.select_nth_unstable_by(n, &mut order);
        entries.truncate(n);
    }
    entries.sort_unstable_by(order);
}

/// A fingerprint of a list of peers' ids, in order: what
/// [`crate::Overlay::view_epoch`] compares to see that a neighbourhood
/// changed.
pub fn fingerprint<'a>(peers: impl IntoIterator<Item = &'a Peer>) -> u64 {
    let mut print = Fingerprint::default();
    for peer in peers {
        print.add(peer.id.prefix_u64());
    }
    print.value()
}

/// A running fingerprint of a sequence of numbers (FNV-1a, a word at a
/// time): cheap, and any change of a number or of their order changes it
/// but for a chance in 2^64.
#[derive(Debug, Clone, Copy)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Fingerprint {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    /// Adds a number.
    pub fn add(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x0000_0100_0000_01b3);
    }

    /// The fingerprint so far.
    pub fn value(&self) -> u64 {
        self.0
    }
}

impl Peer {
    /// A peer from an id and an address.
    pub fn new(id: Id, addr: Address) -> Peer {
        Peer { id, addr }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Memory(n) => write!(f, "mem:{n}"),
            Address::Socket(s) => write!(f, "{s}"),
        }
    }
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{:?}", self.id.short(), self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(addr: &str) -> Address {
        Address::Socket(addr.parse().expect("address"))
    }

    #[test]
    fn public_addresses_group_by_24_and_48_local_ones_not_at_all() {
        assert_eq!(at("203.0.113.7:1").net_prefix(), at("203.0.113.200:9").net_prefix());
        assert_ne!(at("203.0.113.7:1").net_prefix(), at("203.0.114.7:1").net_prefix());
        assert!(at("203.0.113.7:1").net_prefix().is_some());
        assert_eq!(at("[2001:db8:1:2::1]:1").net_prefix(), at("[2001:db8:1:ffff::9]:1").net_prefix());
        assert_ne!(at("[2001:db8:1::1]:1").net_prefix(), at("[2001:db8:2::1]:1").net_prefix());
        assert_eq!(at("[::ffff:203.0.113.7]:1").net_prefix(), at("203.0.113.1:1").net_prefix());
        for local in ["127.0.0.1:1", "10.1.2.3:1", "192.168.0.1:1", "[::1]:1", "[fd00::1]:1", "[fe80::1]:1"] {
            assert_eq!(at(local).net_prefix(), None, "{local}");
        }
        assert_eq!(Address::Memory(3).net_prefix(), None);
    }

    #[test]
    fn a_prefix_cap_counts_other_peers_of_the_same_network() {
        let peer = |n: u8, addr: &str| Peer::new(Id::hash(&[n]), at(addr));
        let table = [peer(1, "203.0.113.1:1"), peer(2, "203.0.113.2:1"), peer(3, "198.51.100.1:1")];
        assert!(!prefix_has_room(&table, &peer(4, "203.0.113.3:1"), 2));
        assert!(prefix_has_room(&table, &peer(1, "203.0.113.1:1"), 2), "a peer already counted is not counted twice");
        assert!(prefix_has_room(&table, &peer(4, "198.51.100.9:1"), 2));
        assert!(prefix_has_room(&table, &peer(4, "127.0.0.1:1"), 0), "local addresses are never capped");
    }
}
