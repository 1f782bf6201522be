//! `QuicTransport`: one QUIC endpoint per node, both listening and dialing
//! on one UDP socket; one connection per peer, reused for every request;
//! one bidirectional stream per request.

use crate::faults::{FaultPlan, FaultySocket};
use crate::identity::{id_from_certificate, Identity};
use crate::pool::{network_of, Pool, PoolLimits};
use crate::socket::PlainSocket;
use crate::verify::PeerVerifier;
use crate::QuicConfig;
use async_trait::async_trait;
use bytes::Bytes;
use dht_core::{wire, Address, Id, Incoming, Peer, Responder, Role, Transport, TransportError};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::crypto::CryptoProvider;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How a handshake ended.
type Dialed = Result<quinn::Connection, TransportError>;

/// The name every node presents as TLS server name; identities are checked
/// by key, not by name.
const SERVER_NAME: &str = "dht";
/// TLS alert `no_application_protocol`, as a QUIC crypto error.
const NO_APPLICATION_PROTOCOL: u8 = 120;

/// Why the transport could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuicError {
    /// The UDP socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(String),
}

/// A [`Transport`] over QUIC.
pub struct QuicTransport {
    shared: Arc<Shared>,
    incoming: tokio::sync::Mutex<mpsc::Receiver<Incoming>>,
}

struct Shared {
    local: Peer,
    endpoint: quinn::Endpoint,
    identity: Arc<Identity>,
    config: QuicConfig,
    provider: Arc<CryptoProvider>,
    transport: Arc<quinn::TransportConfig>,
    connections: Mutex<Pool<quinn::Connection>>,
    /// Incoming handshakes under way, by where they come from.
    handshakes: Mutex<HashMap<Origin, usize>>,
    /// Handshakes under way, by peer: a request that gives up waiting
    /// leaves the handshake running, and the next request to the peer
    /// waits for the same one instead of starting over.
    dialing: Mutex<HashMap<Id, watch::Receiver<Option<Dialed>>>>,
    incoming: mpsc::Sender<Incoming>,
    answering: AtomicUsize,
}

impl std::fmt::Debug for QuicTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QuicTransport({:?})", self.shared.local)
    }
}

impl QuicTransport {
    /// Listens on `addr` (port 0 picks one) as `identity`. Must be called
    /// inside a tokio runtime.
    #[allow(clippy::disallowed_methods)] // the transport is an I/O edge: it spawns its accept loop
    pub fn bind(addr: SocketAddr, identity: Identity, config: QuicConfig) -> Result<QuicTransport, QuicError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let identity = Arc::new(identity);
        // No keep-alive: a connection that serves nothing closes after the
        // idle timeout, and routing peers, asked every few seconds, stay
        // connected by their own traffic. Windows sized for DHT messages
        // (a frame is at most 256 KiB) bound what one peer can make a node
        // buffer.
        let frame = u32::try_from(wire::MAX_FRAME_BYTES + wire::LENGTH_PREFIX_BYTES).unwrap_or(u32::MAX);
        let mut transport = quinn::TransportConfig::default();
        transport
            .max_concurrent_bidi_streams(config.max_streams.into())
            .max_concurrent_uni_streams(0u32.into())
            .max_idle_timeout(quinn::IdleTimeout::try_from(config.idle_timeout).ok())
            .keep_alive_interval(None)
            .stream_receive_window(frame.into())
            .receive_window((frame.saturating_mul(4)).into())
            .send_window(u64::from(frame) * 4)
            .datagram_receive_buffer_size(None)
            .initial_rtt(config.initial_rtt);
        let transport = Arc::new(transport);
        let server = server_config(&provider, &identity, &config, transport.clone())?;
        let endpoint = endpoint(server, addr, identity.reset_secret(), config.faults.clone())
            .map_err(|source| QuicError::Bind { addr, source })?;
        let local_addr = endpoint.local_addr().map_err(|source| QuicError::Bind { addr, source })?;
        let (tx, rx) = mpsc::channel(1024);
        let limits = PoolLimits {
            max: config.max_connections,
            per_address: config.max_connections_per_address,
            per_network: config.max_connections_per_network,
        };
        let shared = Arc::new(Shared {
            connections: Mutex::new(Pool::new(identity.id(), limits)),
            handshakes: Mutex::new(HashMap::new()),
            local: Peer::new(identity.id(), Address::Socket(config.advertise.unwrap_or(local_addr))),
            endpoint,
            identity,
            config,
            provider,
            transport,
            dialing: Mutex::new(HashMap::new()),
            incoming: tx,
            answering: AtomicUsize::new(0),
        });
        tokio::spawn(accept_loop(shared.clone()));
        Ok(QuicTransport { shared, incoming: tokio::sync::Mutex::new(rx) })
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.shared.pool().len()
    }

    /// Connects to whoever listens at `addr`, whatever its id, and returns
    /// it as a peer: how a node is bootstrapped from an address alone.
    pub async fn probe(&self, addr: SocketAddr, timeout: Duration) -> Result<Peer, TransportError> {
        let dial = self.shared.dial(addr, None);
        let conn = tokio::time::timeout(timeout, dial).await.map_err(|_| TransportError::Timeout)??;
        let id = peer_id(&conn).ok_or_else(|| TransportError::WrongPeer("no usable certificate".into()))?;
        let peer = Peer::new(id, Address::Socket(addr));
        if self.shared.keep(id, conn.clone(), true) {
            spawn_serve(self.shared.clone(), conn, peer);
        }
        Ok(peer)
    }
}

/// A server endpoint on `addr` whose stateless resets are keyed by
/// `reset_secret` (stable across restarts of one identity), its datagrams
/// passing through `faults` if set.
fn endpoint(
    server: quinn::ServerConfig,
    addr: SocketAddr,
    reset_secret: [u8; 32],
    faults: Option<Arc<FaultPlan>>,
) -> std::io::Result<quinn::Endpoint> {
    let runtime: Arc<dyn quinn::Runtime> = Arc::new(quinn::TokioRuntime);
    let mut socket: Arc<dyn quinn::AsyncUdpSocket> = Arc::new(PlainSocket::new(std::net::UdpSocket::bind(addr)?)?);
    if let Some(plan) = faults {
        socket = Arc::new(FaultySocket::new(socket, plan)?);
    }
    let reset_key = Arc::new(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &reset_secret));
    let mut config = quinn::EndpointConfig::new(reset_key);
    // Connection ids carry a check keyed the same way, so the restarted
    // node takes its previous run's ids for its own and answers them with a
    // reset instead of dropping them as foreign.
    let mut cid_key = [0u8; 8];
    cid_key.copy_from_slice(&blake3::derive_key("dht-transport-quic 1 connection id key", &reset_secret)[..8]);
    let cid_key = u64::from_le_bytes(cid_key);
    config.cid_generator(move || Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key)));
    quinn::Endpoint::new_with_abstract_socket(config, Some(server), socket, runtime)
}

fn server_config(
    provider: &Arc<CryptoProvider>,
    identity: &Identity,
    config: &QuicConfig,
    transport: Arc<quinn::TransportConfig>,
) -> Result<quinn::ServerConfig, QuicError> {
    let tls = |e: rustls::Error| QuicError::Tls(e.to_string());
    let mut crypto = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls)?
        .with_client_cert_verifier(Arc::new(PeerVerifier::new(None)))
        .with_single_cert(vec![identity.certificate()], identity.private_key())
        .map_err(tls)?;
    crypto.alpn_protocols = config.accepted_alpns().to_vec();
    let crypto = QuicServerConfig::try_from(crypto).map_err(|e| QuicError::Tls(e.to_string()))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server.transport_config(transport);
    Ok(server)
}

/// How this node dials as `identity`: it accepts only the peer whose key
/// hashes to `expected` (any peer when `None`).
fn client_config(
    provider: &Arc<CryptoProvider>,
    identity: &Identity,
    alpn: Vec<u8>,
    transport: Arc<quinn::TransportConfig>,
    expected: Option<Id>,
) -> Result<quinn::ClientConfig, TransportError> {
    let mut crypto = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TransportError::Other(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PeerVerifier::new(expected)))
        .with_client_auth_cert(vec![identity.certificate()], identity.private_key())
        .map_err(|e| TransportError::Other(e.to_string()))?;
    crypto.alpn_protocols = vec![alpn];
    // A config serves one dial: a session cache (256 entries, allocated
    // with the config) would never be used again.
    crypto.resumption = rustls::client::Resumption::disabled();
    let crypto = QuicClientConfig::try_from(crypto).map_err(|e| TransportError::Other(e.to_string()))?;
    let mut client = quinn::ClientConfig::new(Arc::new(crypto));
    client.transport_config(transport);
    Ok(client)
}

impl Shared {
    fn client_config(&self, expected: Option<Id>) -> Result<quinn::ClientConfig, TransportError> {
        client_config(&self.provider, &self.identity, self.config.alpn(), self.transport.clone(), expected)
    }

    async fn dial(&self, addr: SocketAddr, expected: Option<Id>) -> Result<quinn::Connection, TransportError> {
        let connecting = self
            .endpoint
            .connect_with(self.client_config(expected)?, addr, SERVER_NAME)
            .map_err(|e| TransportError::Unreachable(format!("{addr}: {e}")))?;
        connecting.await.map_err(|e| connection_error(&e))
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool<quinn::Connection>> {
        self.connections.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cached(&self, id: &Id) -> Option<quinn::Connection> {
        self.pool().get(id)
    }

    /// Keeps a connection this node `dialed` or accepted, under the pool's
    /// rules ([`Pool::insert`]); false when it was refused and closed.
    #[allow(clippy::disallowed_methods)] // the transport is an I/O edge: it reads the clock
    fn keep(&self, id: Id, conn: quinn::Connection, dialed: bool) -> bool {
        let remote = conn.remote_address();
        self.pool().insert(id, conn, remote, dialed, std::time::Instant::now())
    }

    fn forget(&self, id: &Id, conn: &quinn::Connection) {
        self.pool().remove(id, conn);
    }

    /// Counts a handshake from `remote` as under way, unless its origin
    /// already has [`QuicConfig::max_handshakes_per_origin`] of them.
    fn start_handshake(&self, remote: SocketAddr) -> Option<Origin> {
        let origin = Origin::of(remote);
        let mut handshakes = self.handshakes.lock().unwrap_or_else(PoisonError::into_inner);
        let count = handshakes.entry(origin).or_insert(0);
        if *count >= self.config.max_handshakes_per_origin {
            return None;
        }
        *count += 1;
        Some(origin)
    }

    fn end_handshake(&self, origin: Origin) {
        let mut handshakes = self.handshakes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = handshakes.get_mut(&origin) {
            *count -= 1;
            if *count == 0 {
                handshakes.remove(&origin);
            }
        }
    }

    /// Incoming handshakes under way, from everywhere.
    fn handshakes_under_way(&self) -> usize {
        self.handshakes.lock().unwrap_or_else(PoisonError::into_inner).values().sum()
    }
}

/// A connection to `to`: joins the handshake already under way to it, or
/// starts one in a task of its own that caches the connection when done.
#[allow(clippy::disallowed_methods)] // I/O edge: the handshake outlives a request that stops waiting
async fn connect(shared: &Arc<Shared>, to: Peer, addr: SocketAddr) -> Dialed {
    let mut done = {
        let mut dialing = shared.dialing.lock().unwrap_or_else(PoisonError::into_inner);
        match dialing.get(&to.id) {
            Some(rx) => rx.clone(),
            None => {
                let (tx, rx) = watch::channel(None);
                dialing.insert(to.id, rx.clone());
                let shared = shared.clone();
                tokio::spawn(async move {
                    let dialed = shared.dial(addr, Some(to.id)).await;
                    if let Ok(conn) = &dialed {
                        if shared.keep(to.id, conn.clone(), true) {
                            spawn_serve(shared.clone(), conn.clone(), to);
                        }
                    }
                    shared.dialing.lock().unwrap_or_else(PoisonError::into_inner).remove(&to.id);
                    let _ = tx.send(Some(dialed));
                });
                rx
            }
        }
    };
    let dialed = done.wait_for(Option::is_some).await.map_err(|_| TransportError::Closed)?;
    dialed.clone().unwrap_or(Err(TransportError::Closed))
}

fn peer_id(conn: &quinn::Connection) -> Option<Id> {
    let identity = conn.peer_identity()?;
    let certs = identity.downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>().ok()?;
    id_from_certificate(certs.first()?).ok()
}

/// Maps a connection failure to what a caller can act on.
fn connection_error(e: &quinn::ConnectionError) -> TransportError {
    let refused_protocol = quinn::TransportErrorCode::crypto(NO_APPLICATION_PROTOCOL);
    match e {
        quinn::ConnectionError::ConnectionClosed(close) if close.error_code == refused_protocol => {
            TransportError::WrongPeer("the peer belongs to another network or overlay (ALPN refused)".into())
        }
        quinn::ConnectionError::TransportError(t) if t.code == refused_protocol => {
            TransportError::WrongPeer("the peer belongs to another network or overlay (ALPN refused)".into())
        }
        quinn::ConnectionError::TransportError(t) if t.to_string().contains("certificate") => {
            TransportError::WrongPeer(format!("the peer's key does not match the expected node id: {t}"))
        }
        quinn::ConnectionError::TimedOut => TransportError::Timeout,
        other => TransportError::Unreachable(other.to_string()),
    }
}

#[allow(clippy::disallowed_methods)] // I/O edge
async fn accept_loop(shared: Arc<Shared>) {
    while let Some(incoming) = shared.endpoint.accept().await {
        let remote = incoming.remote_address();
        // A host over its share of connections or handshakes costs no
        // handshake; past a few handshakes at once, a new caller must first
        // prove it receives at its address (a retry).
        if !shared.pool().has_room_from(remote) {
            incoming.refuse();
            continue;
        }
        if !incoming.remote_address_validated() && shared.handshakes_under_way() >= RETRY_ABOVE_HANDSHAKES {
            let _ = incoming.retry();
            continue;
        }
        let Some(origin) = shared.start_handshake(remote) else {
            incoming.refuse();
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(shared.config.handshake_timeout, incoming).await;
            shared.end_handshake(origin);
            let Ok(Ok(conn)) = handshake else { return };
            let Some(id) = peer_id(&conn) else {
                conn.close(1u32.into(), b"no usable certificate");
                return;
            };
            let peer = Peer::new(id, Address::Socket(conn.remote_address()));
            let role = if alpn(&conn).is_some_and(|p| p.ends_with(b"/client")) { Role::Client } else { Role::Member };
            if shared.keep(id, conn.clone(), false) {
                serve(shared, conn, peer, role).await;
            }
        });
    }
}

/// Incoming handshakes under way at once above which a caller whose
/// address is not yet validated is sent a retry first.
const RETRY_ABOVE_HANDSHAKES: usize = 64;

/// Where a handshake comes from, for counting them: a public network, or
/// a single address where networks are exempt (loopback, private).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Origin {
    Network(dht_core::NetPrefix),
    Address(SocketAddr),
}

impl Origin {
    fn of(remote: SocketAddr) -> Origin {
        network_of(remote).map_or(Origin::Address(remote), Origin::Network)
    }
}

#[allow(clippy::disallowed_methods)] // I/O edge
fn spawn_serve(shared: Arc<Shared>, conn: quinn::Connection, peer: Peer) {
    // A peer this node dialed listens, so it is not a client.
    tokio::spawn(serve(shared, conn, peer, Role::Member));
}

/// The protocol the handshake settled on.
fn alpn(conn: &quinn::Connection) -> Option<Vec<u8>> {
    let data = conn.handshake_data()?;
    data.downcast::<quinn::crypto::rustls::HandshakeData>().ok()?.protocol
}

/// Answers the requests a peer opens on one connection, each stream in a
/// task of its own.
#[allow(clippy::disallowed_methods)] // I/O edge
async fn serve(shared: Arc<Shared>, conn: quinn::Connection, peer: Peer, role: Role) {
    while let Ok((send, recv)) = conn.accept_bi().await {
        tokio::spawn(answer(shared.clone(), peer, role, send, recv));
    }
    shared.forget(&peer.id, &conn);
}

async fn answer(shared: Arc<Shared>, from: Peer, role: Role, mut send: quinn::SendStream, mut recv: quinn::RecvStream) {
    let limit = wire::MAX_FRAME_BYTES + wire::LENGTH_PREFIX_BYTES;
    // A request must arrive whole within the deadline: a peer that opens
    // streams and trickles bytes holds no task for long.
    let Ok(Ok(frame)) = tokio::time::timeout(shared.config.request_read_timeout, recv.read_to_end(limit)).await else {
        // Slow, oversized or broken: refuse the stream, keep the connection.
        let _ = recv.stop(1u32.into());
        return;
    };
    shared.answering.fetch_add(1, Ordering::SeqCst);
    let (reply, answer) = Responder::channel();
    let delivered = shared.incoming.send(Incoming { from, frame: Bytes::from(frame), reply, role }).await.is_ok();
    match answer.await {
        Ok(frame) if delivered => {
            let _ = send.write_all(&frame).await;
            let _ = send.finish();
        }
        _ => {
            let _ = send.reset(1u32.into());
        }
    }
    shared.answering.fetch_sub(1, Ordering::SeqCst);
}

/// One request and its answer on a stream of `conn`.
async fn exchange_on(conn: &quinn::Connection, frame: &Bytes) -> Result<Bytes, TransportError> {
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| connection_error(&e))?;
    send.write_all(frame).await.map_err(|e| TransportError::Unreachable(e.to_string()))?;
    send.finish().map_err(|e| TransportError::Unreachable(e.to_string()))?;
    let limit = wire::MAX_FRAME_BYTES + wire::LENGTH_PREFIX_BYTES;
    recv.read_to_end(limit).await.map(Bytes::from).map_err(|e| match e {
        quinn::ReadToEndError::TooLong => TransportError::TooLarge(limit),
        quinn::ReadToEndError::Read(quinn::ReadError::Reset(_)) => TransportError::NoAnswer,
        other => TransportError::Unreachable(other.to_string()),
    })
}

#[async_trait]
impl Transport for QuicTransport {
    fn local(&self) -> Peer {
        self.shared.local
    }

    async fn request(&self, to: &Peer, frame: Bytes, timeout: Duration) -> Result<Bytes, TransportError> {
        if frame.len() > wire::MAX_FRAME_BYTES + wire::LENGTH_PREFIX_BYTES {
            return Err(TransportError::TooLarge(frame.len()));
        }
        let Address::Socket(addr) = to.addr else {
            return Err(TransportError::Unreachable(format!("{:?} is not a socket address", to.addr)));
        };
        let shared = &self.shared;
        let exchange = async {
            let mut conn = match shared.cached(&to.id) {
                Some(conn) => conn,
                None => connect(shared, *to, addr).await?,
            };
            loop {
                let result = exchange_on(&conn, &frame).await;
                if result.is_err() && conn.close_reason().is_some() {
                    shared.forget(&to.id, &conn);
                    // The connection was closed for another to the same
                    // peer (dials that crossed, or a reconnect): ask again
                    // on that one.
                    if let Some(kept) = shared.cached(&to.id).filter(|c| c.stable_id() != conn.stable_id()) {
                        conn = kept;
                        continue;
                    }
                }
                return result;
            }
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| TransportError::Timeout)?
    }

    async fn accept(&self) -> Option<Incoming> {
        self.incoming.lock().await.recv().await
    }

    /// Stops taking connections, lets requests being answered finish (up to
    /// `drain_timeout`), then closes every connection.
    async fn close(&self) {
        let shared = &self.shared;
        shared.endpoint.set_server_config(None);
        let deadline = tokio::time::sleep(shared.config.drain_timeout);
        tokio::pin!(deadline);
        while shared.answering.load(Ordering::SeqCst) > 0 {
            tokio::select! {
                () = &mut deadline => break,
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
        shared.endpoint.close(0u32.into(), b"shutting down");
        let _ = tokio::time::timeout(shared.config.drain_timeout, shared.endpoint.wait_idle()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn loopback() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    fn node() -> QuicTransport {
        QuicTransport::bind(loopback(), Identity::generate().expect("key"), QuicConfig::new("kademlia", "t"))
            .expect("bind")
    }

    /// Answers every request with `ok` until the transport closes.
    #[allow(clippy::disallowed_methods)] // a test spawns its server
    fn answer_all(node: &Arc<QuicTransport>) {
        let node = node.clone();
        tokio::spawn(async move {
            while let Some(incoming) = node.accept().await {
                incoming.reply.respond(Bytes::from_static(b"ok"));
            }
        });
    }

    fn rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Two thousand fresh identities dial a node from one address. The node
    /// keeps a handful of their connections and stays open to everyone
    /// else: an honest peer gets answers, and the node dials a new peer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(clippy::disallowed_methods)] // a test spawns its dialers and reads the clock to report
    async fn one_address_minting_identities_cannot_fill_a_node() {
        let victim = Arc::new(node());
        answer_all(&victim);
        let before = rss_kib();
        let attacker = node();
        let shared = attacker.shared.clone();
        let target = match victim.local().addr {
            Address::Socket(addr) => addr,
            Address::Memory(_) => unreachable!("a QUIC node has a socket address"),
        };
        let started = Instant::now();
        let mut dials = tokio::task::JoinSet::new();
        // The attacker holds every connection it gets (a dropped one closes).
        let mut open = Vec::new();
        for i in 0..2000 {
            let identity = Identity::generate().expect("key");
            let config =
                client_config(&shared.provider, &identity, shared.config.alpn(), shared.transport.clone(), None)
                    .expect("client config");
            let connecting = shared.endpoint.connect_with(config, target, SERVER_NAME).expect("connect");
            dials.spawn(async move { tokio::time::timeout(Duration::from_secs(5), connecting).await });
            if i % 64 == 63 || i == 1999 {
                while let Some(done) = dials.join_next().await {
                    if let Ok(Ok(Ok(conn))) = done {
                        open.push(conn);
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let held = victim.connections();
        let alive = open.iter().filter(|c| c.close_reason().is_none()).count();
        eprintln!(
            "2000 identities from one address in {:?}: {} handshakes completed, {alive} still open, {held} kept by \
             the node; process RSS (node and attacker) {before} KiB before, {} KiB after",
            started.elapsed(),
            open.len(),
            rss_kib()
        );
        assert!(held <= QuicConfig::new("k", "t").max_connections_per_address, "{held} connections kept");

        let honest = node();
        let answer = honest.request(&victim.local(), Bytes::from_static(b"hi"), Duration::from_secs(5)).await;
        assert_eq!(answer.expect("an honest peer is answered"), Bytes::from_static(b"ok"));
        let newcomer = Arc::new(node());
        answer_all(&newcomer);
        let answer = victim.request(&newcomer.local(), Bytes::from_static(b"hi"), Duration::from_secs(5)).await;
        assert_eq!(answer.expect("the node still dials"), Bytes::from_static(b"ok"));
    }
}
