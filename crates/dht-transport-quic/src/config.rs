//! Settings of the QUIC transport.

use std::time::Duration;

/// Settings of a [`crate::QuicTransport`].
#[derive(Debug, Clone)]
pub struct QuicConfig {
    /// The deployment this node belongs to. Carried in ALPN with the
    /// protocol version and the overlay, so that nodes of different networks
    /// (or overlays) refuse each other at the handshake.
    pub network: String,
    /// The overlay's name (its `Overlay::NAME`).
    pub overlay: String,
    /// Most concurrent requests a peer may have open on one connection (default 256).
    pub max_streams: u32,
    /// Most connections kept at once (default 4,096); more are refused.
    pub max_connections: usize,
    /// A connection with no traffic for this long is closed (default 30 s).
    pub idle_timeout: Duration,
    /// How long `close` waits for requests being answered (default 2 s).
    pub drain_timeout: Duration,
}

impl QuicConfig {
    /// Defaults for `overlay` in network `network`.
    pub fn new(overlay: &str, network: &str) -> QuicConfig {
        QuicConfig {
            network: network.to_owned(),
            overlay: overlay.to_owned(),
            max_streams: 256,
            max_connections: 4096,
            idle_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(2),
        }
    }

    /// The ALPN protocol name: `dht/<version>/<overlay>/<network>`.
    pub fn alpn(&self) -> Vec<u8> {
        format!("dht/{}/{}/{}", dht_core::wire::PROTOCOL_VERSION, self.overlay, self.network).into_bytes()
    }
}
