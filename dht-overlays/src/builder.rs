//! [`Builder`]: a node over QUIC, described in one chain of calls and
//! started with `.start().await`.

use crate::quic::{self, Options, StartError};
use dht_core::{NodeConfig, NodeHandle, Overlay, Peer, PeerLimits, Quota};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Describes a node — its overlay, where it listens, whom it joins through,
/// where it keeps its identity and records, its network and limits — and
/// starts it over QUIC.
///
/// ```no_run
/// # #[cfg(feature = "chord")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use dht_overlays::{Builder, Chord, ChordConfig};
///
/// let node = Builder::new(|peer| Chord::new(peer, ChordConfig::default()))
///     .listen("127.0.0.1:4001".parse()?)
///     .bootstrap(["127.0.0.1:4000".parse()?])
///     .data_dir("./n1")
///     .network("demo")
///     .start()
///     .await?;
/// node.put(dht_overlays::key("greeting"), "hello").await?;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `.start().await`"]
pub struct Builder<F> {
    make: F,
    options: Options,
}

impl<O: Overlay, F: FnOnce(Peer) -> O> Builder<F> {
    /// A node running the overlay `make(local peer)`, listening on
    /// `127.0.0.1:0` (a free port), joining nobody (the first node of a
    /// network), keeping everything in memory, in network `main`.
    pub fn new(make: F) -> Builder<F> {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        Builder { make, options: Options::new(any_port) }
    }

    /// The UDP address to listen on.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.options.listen = addr;
        self
    }

    /// Nodes to join through; the start fails only when none answers.
    pub fn bootstrap(mut self, addrs: impl IntoIterator<Item = SocketAddr>) -> Self {
        self.options.bootstrap = addrs.into_iter().collect();
        self
    }

    /// Where the node keeps its identity (`node.key`) and, with the `redb`
    /// feature, its records (`records.redb`), so that it restarts as itself.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.data_dir = Some(dir.into());
        self
    }

    /// The network's name: nodes of other networks are refused at the
    /// handshake.
    pub fn network(mut self, name: impl Into<String>) -> Self {
        self.options.network = name.into();
        self
    }

    /// What one peer may ask of this node.
    pub fn limits(mut self, limits: PeerLimits) -> Self {
        self.options.node.limits = limits;
        self
    }

    /// How much this node stores for others.
    pub fn quota(mut self, quota: Quota) -> Self {
        self.options.node.quota = quota;
        self
    }

    /// Every other node setting (replicas, quorums, timeouts, role, …).
    /// Limits and quota set before are replaced by the config's.
    pub fn config(mut self, config: NodeConfig) -> Self {
        self.options.node = config;
        self
    }

    /// Binds the socket, loads or creates the identity, opens the store,
    /// reaches the bootstrap nodes and joins; returns once the node has
    /// joined (see [`NodeHandle::bootstrap`]).
    pub async fn start(self) -> Result<NodeHandle, StartError> {
        Ok(quic::start(self.make, self.options).await?.handle)
    }
}
