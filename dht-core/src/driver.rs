//! The async driver: runs a sans-IO [`Node`] on tokio over any
//! [`Transport`], and hands the user a [`NodeHandle`] whose calls return
//! results directly (no query ids to match against events).
//!
//! One task owns the node. It answers incoming requests, feeds it answers
//! and timers, and sends its requests, each in a task of its own so a slow
//! peer never holds up the rest.

#[cfg(doc)]
use crate::NodeConfig;
use crate::{
    wire, Event, Id, Node, NodeStats, OpError, OpId, OpOutcome, OpStats, Overlay, Peer, Record, Request, RequestId,
    Response, Store, Time, Transport,
};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Why a call on a [`NodeHandle`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The operation ran and failed.
    #[error(transparent)]
    Op(#[from] OpError),
    /// The node has stopped.
    #[error("the node has stopped")]
    Stopped,
    /// The node had not joined when [`NodeConfig::join_timeout`] ran out
    /// (no bootstrap peer answered the join's requests); it keeps trying.
    #[error("the node has not joined within {0:?}; it keeps trying in the background")]
    NotJoined(Duration),
}

enum Command {
    Bootstrap(Vec<Peer>, oneshot::Sender<Result<(), DriverError>>),
    Stats(oneshot::Sender<NodeStats>),
    Start(Start, oneshot::Sender<(OpOutcome, OpStats)>),
    Shutdown(oneshot::Sender<()>),
}

enum Start {
    Put(Id, Bytes),
    PutRecord(Record),
    Remove(Id),
    Get(Id),
    FindPeers(Id),
    Leave,
}

/// A running node; cheap to clone. Every call waits for its result.
#[derive(Clone, Debug)]
pub struct NodeHandle {
    local: Peer,
    commands: mpsc::Sender<Command>,
}

/// Wall-clock milliseconds since the Unix epoch: the time the driver hands
/// the protocol logic, so versions and expiry agree between machines.
#[allow(clippy::disallowed_methods)] // the driver is the I/O edge
pub fn wall_clock() -> Time {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Time(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
}

/// Starts driving `node` over `transport` in a tokio task.
#[allow(clippy::disallowed_methods)] // the driver is the I/O edge: it spawns
pub fn spawn<O: Overlay, S: Store>(node: Node<O, S>, transport: Arc<dyn Transport>) -> NodeHandle {
    let (commands, rx) = mpsc::channel(256);
    let local = node.local();
    tokio::spawn(Driver::new(node, transport).run(rx));
    NodeHandle { local, commands }
}

impl NodeHandle {
    /// The node as peers know it.
    pub fn local(&self) -> Peer {
        self.local
    }

    /// Joins the network through `peers` (none: starts a new network) and
    /// returns once the node has joined ([`Overlay::is_joined`]), so that
    /// what follows runs on a node that routes; fails with
    /// [`DriverError::NotJoined`] after [`NodeConfig::join_timeout`].
    pub async fn bootstrap(&self, peers: Vec<Peer>) -> Result<(), DriverError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Bootstrap(peers, tx)).await.map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)?
    }

    /// The node's counters and sizes, as of now ([`Node::stats`]).
    pub async fn stats(&self) -> Result<NodeStats, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Stats(tx)).await.map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// Stores `value` under `key`; returns how many replicas acknowledged.
    pub async fn put(&self, key: Id, value: impl Into<Bytes>) -> Result<usize, DriverError> {
        put_result(self.run(Start::Put(key, value.into())).await?)
    }

    /// Stores a record with a caller-chosen version and expiry.
    pub async fn put_record(&self, record: Record) -> Result<usize, DriverError> {
        put_result(self.run(Start::PutRecord(record)).await?)
    }

    /// Removes `key` (stores a tombstone).
    pub async fn remove(&self, key: Id) -> Result<usize, DriverError> {
        put_result(self.run(Start::Remove(key)).await?)
    }

    /// The newest record for `key`, or `None`.
    pub async fn get(&self, key: Id) -> Result<Option<Record>, DriverError> {
        Ok(self.get_with_stats(key).await?.0)
    }

    /// Like [`NodeHandle::get`], with what the get cost (hops, messages, time).
    pub async fn get_with_stats(&self, key: Id) -> Result<(Option<Record>, OpStats), DriverError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Start(Start::Get(key), tx)).await.map_err(|_| DriverError::Stopped)?;
        match rx.await.map_err(|_| DriverError::Stopped)? {
            (OpOutcome::Get(result), stats) => Ok((result?, stats)),
            _ => Err(DriverError::Stopped),
        }
    }

    /// The peers responsible for `target`.
    pub async fn find_peers(&self, target: Id) -> Result<Vec<Peer>, DriverError> {
        match self.run(Start::FindPeers(target)).await? {
            OpOutcome::FindPeers(peers) => Ok(peers),
            _ => Err(DriverError::Stopped),
        }
    }

    /// Leaves gracefully (hands records off), then stops the node.
    pub async fn leave(&self) -> Result<(), DriverError> {
        self.run(Start::Leave).await?;
        self.shutdown().await;
        Ok(())
    }

    /// Stops the node at once (answers in flight are abandoned).
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    async fn run(&self, start: Start) -> Result<OpOutcome, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Start(start, tx)).await.map_err(|_| DriverError::Stopped)?;
        rx.await.map(|(outcome, _)| outcome).map_err(|_| DriverError::Stopped)
    }
}

fn put_result(outcome: OpOutcome) -> Result<usize, DriverError> {
    match outcome {
        OpOutcome::Put(result) => Ok(result?),
        _ => Err(DriverError::Stopped),
    }
}

struct Driver<O: Overlay, S: Store> {
    node: Node<O, S>,
    transport: Arc<dyn Transport>,
    waiting: HashMap<OpId, oneshot::Sender<(OpOutcome, OpStats)>>,
    answers_tx: mpsc::UnboundedSender<(RequestId, Option<Bytes>)>,
    answers_rx: mpsc::UnboundedReceiver<(RequestId, Option<Bytes>)>,
    /// Callers of `bootstrap` waiting for the node to join, with the time
    /// they stop waiting.
    joining: Vec<(oneshot::Sender<Result<(), DriverError>>, Time)>,
}

impl<O: Overlay, S: Store> Driver<O, S> {
    fn new(node: Node<O, S>, transport: Arc<dyn Transport>) -> Self {
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        Driver { node, transport, waiting: HashMap::new(), answers_tx, answers_rx, joining: Vec::new() }
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            self.flush();
            let now = wall_clock();
            let wake = self.node.poll_timeout().into_iter().chain(self.joining.iter().map(|(_, until)| *until)).min();
            let sleep_for = wake.map_or(Duration::from_secs(3600), |t| t.since(now));
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Shutdown(done)) => {
                        self.transport.close().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(command) => self.command(command),
                    None => {
                        self.transport.close().await;
                        return;
                    }
                },
                incoming = self.transport.accept() => match incoming {
                    Some(incoming) => self.answer(incoming),
                    None => return,
                },
                Some((id, frame)) = self.answers_rx.recv() => self.answered(id, frame),
                () = tokio::time::sleep(sleep_for) => {
                    // Answers already in are taken before any deadline: on a
                    // loaded host an answer and its deadline come due
                    // together, and `select!` would pick either.
                    while let Ok((id, frame)) = self.answers_rx.try_recv() {
                        self.answered(id, frame);
                    }
                    self.node.handle_timeout(wall_clock());
                }
            }
        }
    }

    fn command(&mut self, command: Command) {
        let now = wall_clock();
        match command {
            Command::Bootstrap(peers, done) => {
                self.node.bootstrap(&peers, now);
                self.joining.push((done, now + self.node.config().join_timeout));
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.node.stats());
            }
            Command::Start(start, reply) => {
                let op = match start {
                    Start::Put(key, value) => self.node.put(key, value, now),
                    Start::PutRecord(record) => self.node.put_record(record, now),
                    Start::Remove(key) => self.node.remove(key, now),
                    Start::Get(key) => self.node.get(key, now),
                    Start::FindPeers(target) => self.node.find_peers(target, now),
                    Start::Leave => self.node.leave(now),
                };
                self.waiting.insert(op, reply);
            }
            Command::Shutdown(_) => {}
        }
    }

    /// Decodes, answers and encodes one incoming request. A frame that does
    /// not decode is dropped unanswered (the requester sees `NoAnswer`).
    fn answer(&mut self, incoming: crate::Incoming) {
        let request: Request<O::Message> = match wire::decode(O::NAME, &incoming.frame) {
            Ok(request) => request,
            Err(e) => {
                tracing::debug!(from = ?incoming.from, error = %e, "dropping undecodable request");
                return;
            }
        };
        let response = if incoming.role.is_client() {
            self.node.handle_client_request(&incoming.from, request, wall_clock())
        } else {
            self.node.handle_request(&incoming.from, request, wall_clock())
        };
        match wire::encode(O::NAME, &response) {
            Ok(frame) => incoming.reply.respond(Bytes::from(frame)),
            Err(e) => tracing::warn!(error = %e, "could not encode a response"),
        }
    }

    fn answered(&mut self, id: RequestId, frame: Option<Bytes>) {
        let now = wall_clock();
        let response = frame.and_then(|f| match wire::decode::<Response<O::Message>>(O::NAME, &f) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::debug!(error = %e, "undecodable response");
                None
            }
        });
        match response {
            Some(r) => self.node.handle_response(id, r, now),
            None => self.node.handle_failure(id, now),
        }
    }

    /// Sends the node's requests and delivers its finished operations.
    #[allow(clippy::disallowed_methods)] // the driver is the I/O edge: it spawns
    fn flush(&mut self) {
        while let Some(t) = self.node.poll_transmit() {
            let answers = self.answers_tx.clone();
            let transport = self.transport.clone();
            match wire::encode(O::NAME, &t.request) {
                Ok(frame) => {
                    tokio::spawn(async move {
                        let answer = transport.request(&t.to, Bytes::from(frame), t.timeout).await.ok();
                        let _ = answers.send((t.id, answer));
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not encode a request");
                    let _ = answers.send((t.id, None));
                }
            }
        }
        while let Some(Event { op, outcome, stats }) = self.node.poll_event() {
            if let Some(reply) = self.waiting.remove(&op) {
                let _ = reply.send((outcome, stats));
            }
        }
        if !self.joining.is_empty() {
            self.answer_joining(wall_clock());
        }
    }

    /// Tells the callers of `bootstrap` that the node joined, or that they
    /// waited long enough.
    fn answer_joining(&mut self, now: Time) {
        let joined = self.node.is_joined();
        let timeout = self.node.config().join_timeout;
        let (done, waiting) =
            std::mem::take(&mut self.joining).into_iter().partition(|(_, until)| joined || *until <= now);
        self.joining = waiting;
        for (reply, _) in done {
            let _ = reply.send(if joined { Ok(()) } else { Err(DriverError::NotJoined(timeout)) });
        }
    }
}
