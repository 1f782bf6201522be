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
