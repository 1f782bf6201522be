//! Running a node over QUIC in one call: bind, load or create the identity,
//! open the record store, find the bootstrap peers by address, start the
//! driver, join.
//!
//! With a data directory, the node keeps its identity key there
//! (`node.key`) and, with the `redb` feature, its records (`records.redb`),
//! so a node restarted on the same directory — after a crash too — comes
//! back with the same id and every record it had acknowledged.

pub use dht_transport_quic::{faults, Identity, IdentityError, QuicConfig, QuicError, QuicTransport};

use dht_core::{spawn, DriverError, MemoryStore, Node, NodeConfig, NodeHandle, Overlay, Peer, Store, TransportError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where and how to run a QUIC node.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Address to listen on (`127.0.0.1:0` picks a port).
    pub listen: SocketAddr,
    /// The address peers should use, when not `listen` (see
    /// [`QuicConfig::advertise`]); required of a member (not a client)
    /// when `listen` is every interface (`0.0.0.0`, `[::]`).
    pub advertise: Option<SocketAddr>,
    /// Addresses of nodes to join through; empty starts a new network.
    pub bootstrap: Vec<SocketAddr>,
    /// Where the node keeps its identity key (`node.key`) and, with the
    /// `redb` feature, its records (`records.redb`); `None`: a fresh
    /// identity and records in memory, for this run only.
    pub data_dir: Option<PathBuf>,
    /// The network id: nodes of other networks are refused.
    pub network: String,
    /// Node settings.
    pub node: NodeConfig,
}

impl Options {
    /// Defaults: a node listening on `listen` in network `main`.
    pub fn new(listen: SocketAddr) -> Options {
        Options {
            listen,
            advertise: None,
            bootstrap: Vec::new(),
            data_dir: None,
            network: "main".into(),
            node: NodeConfig::default(),
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The data directory cannot be used.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The identity could not be loaded or created.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The record store could not be opened.
    #[cfg(feature = "redb")]
    #[error(transparent)]
    Store(#[from] dht_store_redb::OpenError),
    /// The transport could not start.
    #[error(transparent)]
    Quic(#[from] QuicError),
    /// The node listens on every interface and was not told which address
    /// peers reach it at.
    #[error("{0} listens on every interface: say which address peers should use (advertise, e.g. --advertise 192.0.2.7:4000)")]
    NoAdvertise(SocketAddr),
    /// None of the bootstrap nodes answered (the first failure is given).
    #[error("cannot reach bootstrap node {addr}: {reason}")]
    Bootstrap {
        /// The address tried.
        addr: SocketAddr,
        /// Why it failed.
        reason: TransportError,
    },
    /// The bootstrap nodes answered, but the node had not joined through
    /// them within [`NodeConfig::join_timeout`].
    #[error("the node did not join within {0:?}")]
    NotJoined(Duration),
    /// The node stopped while starting.
    #[error("the node stopped while starting")]
    Stopped,
}

/// A running QUIC node.
pub struct Running {
    /// Handle for put, get, leave.
    pub handle: NodeHandle,
    /// The transport (for its address and id).
    pub transport: Arc<QuicTransport>,
}

/// Starts a node running overlay `make(peer)` over QUIC and joins it
/// through the bootstrap addresses. Records live in the data directory
/// when there is one (feature `redb`), in memory otherwise.
pub async fn start<O: Overlay>(make: impl FnOnce(Peer) -> O, options: Options) -> Result<Running, StartError> {
    #[cfg(feature = "redb")]
    if let Some(dir) = &options.data_dir {
        create_dir(dir)?;
        let store = dht_store_redb::RedbStore::open(dir.join("records.redb"), options.node.quota)?;
        return start_with_store(make, store, options).await;
    }
    let store = MemoryStore::new(options.node.quota);
    start_with_store(make, store, options).await
}

/// Like [`start`], with a store of the caller's choosing.
pub async fn start_with_store<O: Overlay, S: Store>(
    make: impl FnOnce(Peer) -> O,
    store: S,
    options: Options,
) -> Result<Running, StartError> {
    let identity = match &options.data_dir {
        Some(dir) => {
            create_dir(dir)?;
            Identity::load_or_create(&dir.join("node.key"))?
        }
        None => Identity::generate()?,
    };
    // A client's address is never handed on, so it may bind anywhere.
    if options.listen.ip().is_unspecified() && options.advertise.is_none() && !options.node.role.is_client() {
        return Err(StartError::NoAdvertise(options.listen));
    }
    let mut quic = QuicConfig::new(O::NAME, &options.network);
    quic.role = options.node.role;
    quic.advertise = options.advertise;
    let transport = Arc::new(QuicTransport::bind(options.listen, identity, quic)?);
    let peers = reach_bootstrap(&transport, &options.bootstrap).await?;
    let local = dht_core::Transport::local(transport.as_ref());
    let node = Node::new(make(local), store, options.node.clone(), seed_from(&local), dht_core::driver::wall_clock());
    let handle = spawn(node, transport.clone());
    handle.bootstrap(peers).await.map_err(|e| match e {
        DriverError::NotJoined(waited) => StartError::NotJoined(waited),
        _ => StartError::Stopped,
    })?;
    Ok(Running { handle, transport })
}

fn create_dir(dir: &std::path::Path) -> Result<(), StartError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StartError::DataDir { path: dir.display().to_string(), reason: e.to_string() })
}

/// The peers behind the bootstrap addresses that answer. Joining needs only
/// one: the start fails only when none answers (or a node of another
/// network or overlay does, which is a configuration error).
async fn reach_bootstrap(transport: &QuicTransport, addrs: &[SocketAddr]) -> Result<Vec<Peer>, StartError> {
    let mut peers = Vec::new();
    let mut first_failure = None;
    for addr in addrs {
        match transport.probe(*addr, Duration::from_secs(5)).await {
            Ok(peer) => peers.push(peer),
            Err(reason @ TransportError::WrongPeer(_)) => return Err(StartError::Bootstrap { addr: *addr, reason }),
            Err(reason) => {
                tracing::warn!(%addr, error = %reason, "bootstrap node did not answer");
                first_failure.get_or_insert(StartError::Bootstrap { addr: *addr, reason });
            }
        }
    }
    match first_failure {
        Some(failure) if peers.is_empty() => Err(failure),
        _ => Ok(peers),
    }
}

fn seed_from(peer: &Peer) -> u64 {
    peer.id.prefix_u64()
}
