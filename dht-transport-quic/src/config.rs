//! Settings of the QUIC transport.

use crate::faults::FaultPlan;
use dht_core::Role;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Settings of a [`crate::QuicTransport`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QuicConfig {
    /// The deployment this node belongs to. Carried in ALPN with the
    /// protocol version and the overlay, so that nodes of different networks
    /// (or overlays) refuse each other at the handshake.
    pub network: String,
    /// The overlay's name (its `Overlay::NAME`).
    pub overlay: String,
    /// Most concurrent requests a peer may have open on one connection
    /// (default 16; more wait for a stream). quinn keeps state for every
    /// stream a connection allows from the start: in a 256-node cluster,
    /// 256 streams cost 0.7 GiB more than 64, and 64 cost 0.3 GiB more
    /// than 16.
    pub max_streams: u32,
    /// Most connections kept at once (default 4,096). When full, the least
    /// recently used connection a peer opened is closed for a new one
    /// (connections this node opened, to peers it chose, go last).
    pub max_connections: usize,
    /// Most connections from one remote address (default 4): a host that
    /// mints identities cannot open a connection per identity.
    pub max_connections_per_address: usize,
    /// Most connections from one public network, an IPv4 /24 or IPv6 /48
    /// (default 64); loopback, private and link-local addresses are exempt.
    pub max_connections_per_network: usize,
    /// Most handshakes under way at once from one public network, or from
    /// one address where networks are exempt (default 8); more are refused.
    pub max_handshakes_per_origin: usize,
    /// Longest an incoming handshake may take (default 10 s).
    pub handshake_timeout: Duration,
    /// Longest a peer may take to send one whole request (default 5 s).
    pub request_read_timeout: Duration,
    /// A connection with no traffic for this long is closed (default 30 s);
    /// no keep-alive holds idle ones open.
    pub idle_timeout: Duration,
    /// Round-trip time assumed before one is measured (default 100 ms). It
    /// sets how soon a lost handshake packet is sent again (about three
    /// times this); QUIC's own default of 333 ms makes a lost packet during
    /// a handshake outlast the node's request timeouts on a LAN. Raise it
    /// for links slower than that.
    pub initial_rtt: Duration,
    /// How long `close` waits for requests being answered (default 2 s).
    pub drain_timeout: Duration,
    /// This node's role (default a member). A client says so in ALPN, and
    /// the nodes it talks to answer it without taking it into their routing
    /// state (see `Incoming::role`).
    pub role: Role,
    /// The address peers should use to reach this node, when it is not
    /// the bound one (default none: the bound address). A node bound to
    /// every interface (`0.0.0.0`, `[::]`), or behind a port mapping, names
    /// its reachable address here; it is the address the node gives
    /// itself in its own messages.
    pub advertise: Option<SocketAddr>,
    /// For tests: send every datagram through this plan of losses, delays
    /// and partitions (default none). See [`crate::faults`].
    pub faults: Option<Arc<FaultPlan>>,
}

impl QuicConfig {
    /// Defaults for `overlay` in network `network`.
    pub fn new(overlay: &str, network: &str) -> QuicConfig {
        QuicConfig {
            network: network.to_owned(),
            overlay: overlay.to_owned(),
            max_streams: 16,
            max_connections: 4096,
            max_connections_per_address: 4,
            max_connections_per_network: 64,
            max_handshakes_per_origin: 8,
            handshake_timeout: Duration::from_secs(10),
            request_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            initial_rtt: Duration::from_millis(100),
            drain_timeout: Duration::from_secs(2),
            role: Role::Member,
            advertise: None,
            faults: None,
        }
    }

    /// The ALPN protocol name: `dht/<version>/<overlay>/<network>`, with
    /// `/client` appended for a client.
    pub fn alpn(&self) -> Vec<u8> {
        let name = format!("dht/{}/{}/{}", dht_core::wire::PROTOCOL_VERSION, self.overlay, self.network);
        if self.role.is_client() {
            format!("{name}/client").into_bytes()
        } else {
            name.into_bytes()
        }
    }

    /// The protocols a listener accepts: its own, and its own as a client's.
    pub(crate) fn accepted_alpns(&self) -> [Vec<u8>; 2] {
        let server = QuicConfig { role: Role::Member, ..self.clone() };
        let client = QuicConfig { role: Role::Client, ..self.clone() };
        [server.alpn(), client.alpn()]
    }
}
