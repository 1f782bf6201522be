//! Running a node over QUIC in one call: bind, load or create the identity,
//! find the bootstrap peers by address, start the driver, join.

pub use dht_transport_quic::{Identity, IdentityError, QuicConfig, QuicError, QuicTransport};

use dht_core::{spawn, MemoryStore, Node, NodeConfig, NodeHandle, Overlay, Peer, TransportError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where and how to run a QUIC node.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on (`127.0.0.1:0` picks a port).
    pub listen: SocketAddr,
    /// Addresses of nodes to join through; empty starts a new network.
    pub bootstrap: Vec<SocketAddr>,
    /// Where the node keeps its identity key (`node.key`); `None`: a fresh
    /// identity for this run only.
    pub data_dir: Option<PathBuf>,
    /// The network id: nodes of other networks are refused.
    pub network: String,
    /// Node settings.
    pub node: NodeConfig,
}

impl Options {
    /// Defaults: a node listening on `listen` in network `main`.
    pub fn new(listen: SocketAddr) -> Options {
        Options { listen, bootstrap: Vec::new(), data_dir: None, network: "main".into(), node: NodeConfig::default() }
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
    /// The transport could not start.
    #[error(transparent)]
    Quic(#[from] QuicError),
    /// No bootstrap node answered.
    #[error("cannot reach bootstrap node {addr}: {reason}")]
    Bootstrap {
        /// The address tried.
        addr: SocketAddr,
        /// Why it failed.
        reason: TransportError,
    },
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
/// through the bootstrap addresses.
pub async fn start<O: Overlay>(make: impl FnOnce(Peer) -> O, options: Options) -> Result<Running, StartError> {
    let identity = match &options.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| StartError::DataDir { path: dir.display().to_string(), reason: e.to_string() })?;
            Identity::load_or_create(&dir.join("node.key"))?
        }
        None => Identity::generate()?,
    };
    let transport =
        Arc::new(QuicTransport::bind(options.listen, identity, QuicConfig::new(O::NAME, &options.network))?);
    let mut peers = Vec::new();
    for addr in &options.bootstrap {
        let peer = transport
            .probe(*addr, Duration::from_secs(5))
            .await
            .map_err(|reason| StartError::Bootstrap { addr: *addr, reason })?;
        peers.push(peer);
    }
    let local = dht_core::Transport::local(transport.as_ref());
    let node = Node::new(
        make(local),
        MemoryStore::new(options.node.quota),
        options.node.clone(),
        seed_from(&local),
        dht_core::driver::wall_clock(),
    );
    let handle = spawn(node, transport.clone());
    handle.bootstrap(peers).await.map_err(|_| StartError::Stopped)?;
    Ok(Running { handle, transport })
}

fn seed_from(peer: &Peer) -> u64 {
    peer.id.prefix_u64()
}
