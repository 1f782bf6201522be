//! An in-process `Transport`: endpoints in one `MemoryNetwork` exchange
//! frames over channels. For testing the driver and for examples; it runs
//! the same code path as a network transport, minus the sockets.

use crate::{Address, Id, Incoming, Peer, Responder, Role, Transport, TransportError};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;

/// A set of in-process endpoints that can reach each other.
#[derive(Clone, Default, Debug)]
pub struct MemoryNetwork {
    inner: Arc<Mutex<Registry>>,
}

#[derive(Default, Debug)]
struct Registry {
    next: u32,
    inboxes: HashMap<u32, mpsc::Sender<Incoming>>,
}

/// One endpoint of a [`MemoryNetwork`].
#[derive(Debug)]
pub struct MemoryTransport {
    local: Peer,
    network: MemoryNetwork,
    inbox: tokio::sync::Mutex<mpsc::Receiver<Incoming>>,
}

impl MemoryNetwork {
    /// An empty network.
    pub fn new() -> MemoryNetwork {
        MemoryNetwork::default()
    }

    /// A new endpoint for a node with id `id`.
    pub fn endpoint(&self, id: Id) -> MemoryTransport {
        let (tx, rx) = mpsc::channel(1024);
        let mut reg = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        reg.next += 1;
        let slot = reg.next;
        reg.inboxes.insert(slot, tx);
        MemoryTransport {
            local: Peer::new(id, Address::Memory(slot)),
            network: self.clone(),
            inbox: tokio::sync::Mutex::new(rx),
        }
    }

    /// Cuts an endpoint off, as if its machine lost power: requests to it fail.
    pub fn disconnect(&self, addr: Address) {
        if let Address::Memory(slot) = addr {
            self.inner.lock().unwrap_or_else(PoisonError::into_inner).inboxes.remove(&slot);
        }
    }

    fn inbox(&self, addr: Address) -> Option<mpsc::Sender<Incoming>> {
        let Address::Memory(slot) = addr else { return None };
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).inboxes.get(&slot).cloned()
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    fn local(&self) -> Peer {
        self.local
    }

    async fn request(&self, to: &Peer, frame: Bytes, timeout: Duration) -> Result<Bytes, TransportError> {
        let inbox = self.network.inbox(to.addr).ok_or_else(|| TransportError::Unreachable(format!("{:?}", to.addr)))?;
        let (reply, answer) = Responder::channel();
        let incoming = Incoming { from: self.local, frame, reply, role: Role::Member };
        inbox.send(incoming).await.map_err(|_| TransportError::Unreachable(format!("{:?}", to.addr)))?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(frame)) => Ok(frame),
            Ok(Err(_)) => Err(TransportError::NoAnswer),
            Err(_) => Err(TransportError::Timeout),
        }
    }

    async fn accept(&self) -> Option<Incoming> {
        self.inbox.lock().await.recv().await
    }

    async fn close(&self) {
        self.network.disconnect(self.local.addr);
        self.inbox.lock().await.close();
    }
}
