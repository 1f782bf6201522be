//! The `Transport` trait: moves request frames to peers and answer frames
//! back. It knows nothing of the codec or the protocol; the driver does.

use crate::{Peer, Role};
use async_trait::async_trait;
use bytes::Bytes;
use std::time::Duration;
use tokio::sync::oneshot;

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The peer could not be reached.
    #[error("peer unreachable: {0}")]
    Unreachable(String),
    /// No answer before the deadline.
    #[error("request timed out")]
    Timeout,
    /// The peer closed the request without answering (it could not decode
    /// it, or refused it).
    #[error("peer dropped the request")]
    NoAnswer,
    /// The peer is not who it was expected to be.
    #[error("peer identity mismatch: {0}")]
    WrongPeer(String),
    /// The frame is over a size limit.
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    /// The transport was shut down.
    #[error("transport closed")]
    Closed,
    /// Anything else the network reported.
    #[error("transport error: {0}")]
    Other(String),
}

/// Sends the answer to one incoming request. Dropping it unanswered tells
/// the requester that no answer will come.
#[derive(Debug)]
pub struct Responder(oneshot::Sender<Bytes>);

impl Responder {
    /// A responder and the receiver its answer arrives on (for transport
    /// implementations).
    pub fn channel() -> (Responder, oneshot::Receiver<Bytes>) {
        let (tx, rx) = oneshot::channel();
        (Responder(tx), rx)
    }

    /// Sends the answer frame.
    pub fn respond(self, frame: Bytes) {
        // The requester may have given up already; nothing to do then.
        let _ = self.0.send(frame);
    }
}

/// A request that arrived.
#[derive(Debug)]
pub struct Incoming {
    /// Who sent it, as the transport established (for QUIC: verified by TLS).
    pub from: Peer,
    /// The request frame.
    pub frame: Bytes,
    /// Where the answer goes.
    pub reply: Responder,
    /// The role the sender said it has: a [`Role::Client`] (it routes and
    /// stores nothing, and may be gone in a second) is answered but never
    /// taken into routing state.
    pub role: Role,
}

/// Request/response messaging between peers. Object-safe, so a node can run
/// over `Arc<dyn Transport>`.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// This endpoint as peers reach it.
    fn local(&self) -> Peer;

    /// Sends `frame` to `to` and waits up to `timeout` for the answer frame.
    async fn request(&self, to: &Peer, frame: Bytes, timeout: Duration) -> Result<Bytes, TransportError>;

    /// The next incoming request; `None` once the transport is closed.
    /// Must be cancel-safe: the driver polls it inside `select!`.
    async fn accept(&self) -> Option<Incoming>;

    /// Stops accepting and closes connections.
    async fn close(&self);
}
