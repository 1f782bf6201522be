//! `dht-transport-quic`: a [`dht_core::Transport`] over QUIC (quinn and
//! rustls).
//!
//! - [`identity`]: Ed25519 node keys; a node id is the blake3 hash of the
//!   public key; a self-signed certificate carries the key.
//! - [`QuicTransport`]: one endpoint per node; one reused connection per
//!   peer id (a new one replaces the old); one bidirectional stream per
//!   request; frame-size, stream and connection limits, per remote address
//!   and per public network too; idle connections closed; graceful close.
//! - [`QuicConfig`]: the network id and overlay carried in ALPN, and limits.
//! - [`faults`]: for tests, a socket that loses, delays, reorders and
//!   duplicates datagrams and partitions the network, in user space.
//!
//! Both sides present certificates. The dialer accepts only the peer whose
//! key hashes to the id it meant to reach; the listener learns the caller's
//! id from its certificate. Nodes of another network or overlay fail the
//! handshake (ALPN), with an error saying so.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use dht_transport_quic::{Identity, QuicConfig, QuicTransport};
//! let transport = QuicTransport::bind("127.0.0.1:0".parse()?, Identity::generate()?, QuicConfig::new("kademlia", "main"))?;
//! # Ok(()) }
//! ```

mod config;
pub mod faults;
pub mod identity;
mod pool;
mod socket;
mod transport;
mod verify;

pub use config::QuicConfig;
pub use identity::{Identity, IdentityError};
pub use transport::{QuicError, QuicTransport};
