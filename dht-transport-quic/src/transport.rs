//! `QuicTransport`: one QUIC endpoint per node, both listening and dialing
//! on one UDP socket; one connection per peer, reused for every request;
//! one bidirectional stream per request.

use crate::faults::{FaultPlan, FaultySocket};
use crate::identity::{id_from_certificate, Identity};
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
    connections: Mutex<HashMap<Id, quinn::Connection>>,
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
        let mut transport = quinn::TransportConfig::default();
        transport
            .max_concurrent_bidi_streams(config.max_streams.into())
            .max_concurrent_uni_streams(0u32.into())
            .max_idle_timeout(quinn::IdleTimeout::try_from(config.idle_timeout).ok())
            .keep_alive_interval(Some(config.idle_timeout / 3))
            .initial_rtt(config.initial_rtt);
        let transport = Arc::new(transport);
        let server = server_config(&provider, &identity, &config, transport.clone())?;
        let endpoint = endpoint(server, addr, identity.reset_secret(), config.faults.clone())
            .map_err(|source| QuicError::Bind { addr, source })?;
        let local_addr = endpoint.local_addr().map_err(|source| QuicError::Bind { addr, source })?;
        let (tx, rx) = mpsc::channel(1024);
        let shared = Arc::new(Shared {
            local: Peer::new(identity.id(), Address::Socket(local_addr)),
            endpoint,
            identity,
            config,
            provider,
            transport,
            connections: Mutex::new(HashMap::new()),
            dialing: Mutex::new(HashMap::new()),
            incoming: tx,
            answering: AtomicUsize::new(0),
        });
        tokio::spawn(accept_loop(shared.clone()));
        Ok(QuicTransport { shared, incoming: tokio::sync::Mutex::new(rx) })
    }

    /// Connects to whoever listens at `addr`, whatever its id, and returns
    /// it as a peer: how a node is bootstrapped from an address alone.
    pub async fn probe(&self, addr: SocketAddr, timeout: Duration) -> Result<Peer, TransportError> {
        let dial = self.shared.dial(addr, None);
        let conn = tokio::time::timeout(timeout, dial).await.map_err(|_| TransportError::Timeout)??;
        let id = peer_id(&conn).ok_or_else(|| TransportError::WrongPeer("no usable certificate".into()))?;
        let peer = Peer::new(id, Address::Socket(addr));
        self.shared.keep(id, conn.clone());
        spawn_serve(self.shared.clone(), conn, peer);
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
    let mut socket = runtime.wrap_udp_socket(std::net::UdpSocket::bind(addr)?)?;
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
        .with_client_cert_verifier(Arc::new(PeerVerifier::new(provider.clone(), None)))
        .with_single_cert(vec![identity.certificate()], identity.private_key())
        .map_err(tls)?;
    crypto.alpn_protocols = config.accepted_alpns().to_vec();
    let crypto = QuicServerConfig::try_from(crypto).map_err(|e| QuicError::Tls(e.to_string()))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server.transport_config(transport);
    Ok(server)
}

impl Shared {
    fn client_config(&self, expected: Option<Id>) -> Result<quinn::ClientConfig, TransportError> {
        let mut crypto = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TransportError::Other(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PeerVerifier::new(self.provider.clone(), expected)))
            .with_client_auth_cert(vec![self.identity.certificate()], self.identity.private_key())
            .map_err(|e| TransportError::Other(e.to_string()))?;
        crypto.alpn_protocols = vec![self.config.alpn()];
        let crypto = QuicClientConfig::try_from(crypto).map_err(|e| TransportError::Other(e.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(crypto));
        client.transport_config(self.transport.clone());
        Ok(client)
    }

    async fn dial(&self, addr: SocketAddr, expected: Option<Id>) -> Result<quinn::Connection, TransportError> {
        let connecting = self
            .endpoint
            .connect_with(self.client_config(expected)?, addr, SERVER_NAME)
            .map_err(|e| TransportError::Unreachable(format!("{addr}: {e}")))?;
        connecting.await.map_err(|e| connection_error(&e))
    }

    fn cached(&self, id: &Id) -> Option<quinn::Connection> {
        let map = self.connections.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(id).filter(|c| c.close_reason().is_none()).cloned()
    }

    /// Caches a connection; refuses (closes) it when the cache is full.
    fn keep(&self, id: Id, conn: quinn::Connection) -> bool {
        let mut map = self.connections.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, c| c.close_reason().is_none());
        if map.len() >= self.config.max_connections && !map.contains_key(&id) {
            conn.close(0u32.into(), b"too many connections");
            return false;
        }
        map.insert(id, conn);
        true
    }

    fn forget(&self, id: &Id, conn: &quinn::Connection) {
        let mut map = self.connections.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(id).is_some_and(|c| c.stable_id() == conn.stable_id()) {
            map.remove(id);
        }
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
                        if shared.keep(to.id, conn.clone()) {
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
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(conn) = incoming.await else { return };
            let Some(id) = peer_id(&conn) else {
                conn.close(1u32.into(), b"no usable certificate");
                return;
            };
            let peer = Peer::new(id, Address::Socket(conn.remote_address()));
            let role = if alpn(&conn).is_some_and(|p| p.ends_with(b"/client")) { Role::Client } else { Role::Member };
            if shared.keep(id, conn.clone()) {
                serve(shared, conn, peer, role).await;
            }
        });
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
    let Ok(frame) = recv.read_to_end(limit).await else {
        // Oversized or broken: refuse the stream, keep the connection.
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
            let conn = match shared.cached(&to.id) {
                Some(conn) => conn,
                None => connect(shared, *to, addr).await?,
            };
            let result = async {
                let (mut send, mut recv) = conn.open_bi().await.map_err(|e| connection_error(&e))?;
                send.write_all(&frame).await.map_err(|e| TransportError::Unreachable(e.to_string()))?;
                send.finish().map_err(|e| TransportError::Unreachable(e.to_string()))?;
                let limit = wire::MAX_FRAME_BYTES + wire::LENGTH_PREFIX_BYTES;
                recv.read_to_end(limit).await.map(Bytes::from).map_err(|e| match e {
                    quinn::ReadToEndError::TooLong => TransportError::TooLarge(limit),
                    quinn::ReadToEndError::Read(quinn::ReadError::Reset(_)) => TransportError::NoAnswer,
                    other => TransportError::Unreachable(other.to_string()),
                })
            }
            .await;
            if result.is_err() && conn.close_reason().is_some() {
                shared.forget(&to.id, &conn);
            }
            result
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
