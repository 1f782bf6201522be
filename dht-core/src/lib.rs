//! `dht-core`: the pieces every overlay of the `dht` framework shares.
//!
//! - [`id`]: 256-bit ids and keys (blake3), XOR and ring arithmetic.
//! - [`record`]: records and the rule for which version wins.
//! - [`key_file`]: private keys written owner-only and durably.
//! - [`owner`]: who may write a record: open, signed (Ed25519), content-addressed.
//! - [`validator`]: application rules that accept records and choose between versions.
//! - [`store`]: the [`Store`] trait and [`MemoryStore`].
//! - [`wire`]: the versioned, length-framed postcard codec.
//! - [`directory`]: every peer of a network, for simulators' warm starts.
//! - [`overlay`]: the [`Overlay`] and [`Lookup`] traits an overlay implements.
//! - [`sim_overlay`]: [`SimOverlay`], the measurement and warm-start hooks
//!   simulations use, all with defaults.
//! - [`mesh`]: a full-mesh overlay, the smallest complete example and the
//!   one the node's own tests run on.
//! - [`node`]: the sans-IO node — put, get, replication, repair, hand-off.
//! - [`transport`] / [`memory_transport`]: the [`Transport`] trait and an
//!   in-process implementation.
//! - [`driver`]: runs a [`Node`] on tokio over any transport.
//! - [`role`]: a node is a member of the overlay or a client of it.
//! - [`time`], [`rng`]: time handed in, seeded randomness.
//!
//! Protocol logic (overlays, [`Node`]) does no I/O and reads no clock, so
//! the simulator in `dht-testkit` runs exactly the code that runs over QUIC.
//!
//! ```
//! use dht_core::{Id, MemoryStore, Record, Store, Time};
//!
//! let store = MemoryStore::default();
//! let key = Id::hash(b"greeting");
//! store.put(Record::new(key, &b"hello"[..], 1, Time::NEVER), Time::ZERO).unwrap();
//! // A newer version wins; an older one is ignored.
//! store.put(Record::new(key, &b"hi"[..], 2, Time::NEVER), Time::ZERO).unwrap();
//! store.put(Record::new(key, &b"old"[..], 1, Time::NEVER), Time::ZERO).unwrap();
//! assert_eq!(&store.get(&key, Time::ZERO).unwrap().value[..], b"hi");
//! ```

pub mod directory;
pub mod driver;
pub mod id;
pub mod key_file;
pub mod memory_transport;
pub mod mesh;
pub mod node;
pub mod overlay;
pub mod owner;
pub mod peer;
pub mod record;
pub mod rng;
pub mod role;
pub mod sim_overlay;
pub mod store;
pub mod time;
pub mod transport;
pub mod validator;
pub mod wire;

pub use directory::Directory;
pub use driver::{spawn, DriverError, NodeHandle};
pub use id::{Distance, Id, IdBuildHasher, ID_BITS};
pub use memory_transport::{MemoryNetwork, MemoryTransport};
pub use node::{
    Event, LatencyHistogram, Node, NodeConfig, NodeStats, OpError, OpId, OpOutcome, OpStats, PeerLimits, Refusal,
    RefusalCounts, Request, RequestCounts, RequestId, Response, Transmit,
};
pub use overlay::{Action, Lookup, LookupOutcome, Overlay};
pub use owner::{content_key, signed_key, KeyError, Owner, PublicKey, SigningKey};
pub use peer::{fingerprint, nearest_first, prefix_has_room, vouches, Address, Fingerprint, NetPrefix, Peer};
pub use record::{Record, RecordError, MAX_VALUE_BYTES};
pub use rng::Rng;
pub use role::Role;
pub use sim_overlay::SimOverlay;
pub use store::{admit, Admission, MemoryStore, PutOutcome, Quota, Store, StoreError, Wins};
pub use time::Time;
pub use transport::{Incoming, Responder, Transport, TransportError};
pub use validator::{DefaultValidator, SharedValidator, Validator};
pub use wire::WireError;
