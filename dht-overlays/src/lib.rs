#![doc = include_str!("../README.md")]
//!
//! # This crate
//!
//! `dht-overlays` is the facade: it re-exports what a user names and
//! compiles only the overlays, transport and store its features select.
//!
//! - [`Builder`] (feature `quic`): describe a node and start it over QUIC.
//! - [`Kademlia`] (feature `kademlia`, default), [`Chord`] (feature `chord`),
//!   [`Can`] (feature `can`) and [`Pastry`] (feature `pastry`).
//! - [`quic`] (feature `quic`, default): the QUIC transport and
//!   [`quic::start`], the function the builder calls.
//! - [`RedbStore`] (feature `redb`): a persistent, crash-safe record store,
//!   used whenever a node has a data directory.
//! - [`metrics`] (feature `metrics`): a node's counters in the Prometheus
//!   text format, served on `/metrics`.
//! - [`key_file`]: signing keys for owned records, kept in files.
//! - [`core`]: everything else of `dht-core` — ids, records, the traits,
//!   the sans-IO node and its driver.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod key_file;

pub use dht_core as core;
pub use dht_core::{
    DriverError, Id, MemoryStore, NodeConfig, NodeHandle, NodeStats, OpError, Overlay, Peer, PeerLimits, Quota, Record,
    Store, Transport,
};

#[cfg(feature = "can")]
#[cfg_attr(docsrs, doc(cfg(feature = "can")))]
pub use dht_can::{Can, CanConfig};
#[cfg(feature = "chord")]
#[cfg_attr(docsrs, doc(cfg(feature = "chord")))]
pub use dht_chord::{Chord, ChordConfig};
#[cfg(feature = "kademlia")]
#[cfg_attr(docsrs, doc(cfg(feature = "kademlia")))]
pub use dht_kademlia::{Kademlia, KademliaConfig};
#[cfg(feature = "pastry")]
#[cfg_attr(docsrs, doc(cfg(feature = "pastry")))]
pub use dht_pastry::{Pastry, PastryConfig};

#[cfg(feature = "quic")]
mod builder;
#[cfg(feature = "quic")]
#[cfg_attr(docsrs, doc(cfg(feature = "quic")))]
pub mod quic;
#[cfg(feature = "quic")]
#[cfg_attr(docsrs, doc(cfg(feature = "quic")))]
pub use builder::Builder;
#[cfg(feature = "quic")]
#[cfg_attr(docsrs, doc(cfg(feature = "quic")))]
pub use quic::StartError;

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;

#[cfg(feature = "redb")]
#[cfg_attr(docsrs, doc(cfg(feature = "redb")))]
pub use dht_store_redb::{OpenError as StoreOpenError, RedbStore};

/// The id of a key given as text or bytes: its blake3 hash.
pub fn key(name: impl AsRef<[u8]>) -> Id {
    Id::hash(name.as_ref())
}
