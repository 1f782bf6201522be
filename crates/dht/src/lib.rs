//! `dht`: distributed hash tables in Rust. Pick an overlay with a cargo
//! feature (`kademlia`, the default, `chord` or `can`), run it over QUIC (`quic`,
//! the default) or any [`Transport`], and `put` / `get` / `remove` with
//! async calls that return results.
//!
//! - [`core`]: ids, records, stores, the node logic and its driver (`dht-core`).
//! - [`Kademlia`] (feature `kademlia`), [`Chord`] (feature `chord`) and
//!   [`Can`] (feature `can`).
//! - [`quic`] (feature `quic`): the QUIC transport and [`quic::start`],
//!   which runs a node on a UDP socket in one call.
//! - [`key_file`]: signing keys for owned records, kept in files.
//! - [`RedbStore`] (feature `redb`): a persistent, crash-safe record store;
//!   [`quic::start`] keeps records in it whenever a data directory is given.
//!
//! ```
//! use dht::core::{Id, MemoryNetwork, MemoryStore, Node, NodeConfig, Transport};
//! use dht::{Kademlia, KademliaConfig};
//! use std::sync::Arc;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), dht::core::DriverError> {
//! let net = MemoryNetwork::new();
//! let transport: Arc<dyn Transport> = Arc::new(net.endpoint(Id::hash(b"a")));
//! let overlay = Kademlia::new(transport.local(), KademliaConfig::default());
//! let node = Node::new(overlay, MemoryStore::default(), NodeConfig::default(), 1, dht::core::driver::wall_clock());
//! let handle = dht::core::spawn(node, transport);
//! handle.bootstrap(vec![]).await?;
//! handle.put(Id::hash(b"greeting"), "hello").await?;
//! let record = handle.get(Id::hash(b"greeting")).await?.expect("stored");
//! assert_eq!(&record.value[..], b"hello");
//! # Ok(()) }
//! ```

pub mod key_file;

pub use dht_core as core;
pub use dht_core::{Id, NodeHandle, Overlay, Peer, Record, Transport};

#[cfg(feature = "can")]
pub use dht_can::{Can, CanConfig};
#[cfg(feature = "chord")]
pub use dht_chord::{Chord, ChordConfig};
#[cfg(feature = "kademlia")]
pub use dht_kademlia::{Kademlia, KademliaConfig};

#[cfg(feature = "quic")]
pub mod quic;
#[cfg(feature = "redb")]
pub use dht_store_redb::{OpenError as StoreOpenError, RedbStore};

/// The id of a key given as text or bytes: its blake3 hash.
pub fn key(name: impl AsRef<[u8]>) -> Id {
    Id::hash(name.as_ref())
}
