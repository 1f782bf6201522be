//! The conformance suite's network cases on real drivers: the same
//! behaviours, checked on nodes that run the tokio driver over a real
//! [`Transport`] (in memory, or QUIC sockets on loopback). Small networks
//! (16–32 nodes) keep it quick.

use crate::conformance::{CaseResult, Report};
use bytes::Bytes;
use dht_core::{spawn, Id, MemoryStore, Node, NodeConfig, NodeHandle, Overlay, Peer, Transport, TransportError};
use std::sync::Arc;
use std::time::Duration;

/// The live cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveCase {
    /// A value put through any node is got through any other node.
    PutGetAnyNode,
    /// After a quarter of the nodes stop without warning (`r - 1` at a
    /// time, with repair between), every key is still read.
    SurvivesCrashes,
    /// Garbage frames get no answer and change nothing.
    BadFramesDropped,
}

/// Sizes and timing of a live run.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Nodes started (default 16).
    pub nodes: usize,
    /// Keys put (default 64).
    pub keys: usize,
    /// Node settings: short repair and timeouts so a test runs in seconds.
    pub node: NodeConfig,
    /// Wall time allowed for joins to settle.
    pub settle: Duration,
}

impl Default for LiveConfig {
    fn default() -> LiveConfig {
        let mut node = NodeConfig::default();
        node.repair_interval = Duration::from_secs(1);
        node.request_timeout = Duration::from_millis(1500);
        node.min_request_timeout = Duration::from_millis(200);
        LiveConfig { nodes: 16, keys: 64, node, settle: Duration::from_secs(2) }
    }
}

/// A running network of driver nodes.
pub struct LiveNetwork {
    /// The nodes, in start order.
    pub nodes: Vec<NodeHandle>,
    /// Their transports (for sending raw frames in tests).
    pub transports: Vec<Arc<dyn Transport>>,
}

/// Starts `config.nodes` nodes, each over the transport `transport(i)`
/// makes, every one bootstrapped through node 0.
pub async fn start<O: Overlay>(
    make_overlay: impl Fn(Peer) -> O,
    mut transport: impl FnMut(usize) -> Arc<dyn Transport>,
    config: &LiveConfig,
) -> LiveNetwork {
    let mut nodes: Vec<NodeHandle> = Vec::new();
    let mut transports = Vec::new();
    for i in 0..config.nodes {
        let t = transport(i);
        let node = Node::new(
            make_overlay(t.local()),
            MemoryStore::default(),
            config.node.clone(),
            i as u64,
            dht_core::driver::wall_clock(),
        );
        let handle = spawn(node, t.clone());
        let bootstrap: Vec<Peer> = nodes.first().map(NodeHandle::local).into_iter().collect();
        // A node that cannot start is reported by the cases, not here.
        let _ = handle.bootstrap(bootstrap).await;
        nodes.push(handle);
        transports.push(t);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(config.settle).await;
    LiveNetwork { nodes, transports }
}

/// Runs every live case, each on a fresh network.
pub async fn run_all<O: Overlay>(
    make_overlay: impl Fn(Peer) -> O + Clone,
    mut transport: impl FnMut(usize) -> Arc<dyn Transport>,
    config: &LiveConfig,
) -> Report {
    let mut cases = Vec::new();
    for case in [LiveCase::PutGetAnyNode, LiveCase::SurvivesCrashes, LiveCase::BadFramesDropped] {
        let started = now();
        let net = start(make_overlay.clone(), &mut transport, config).await;
        let (passed, mut detail) = match case {
            LiveCase::PutGetAnyNode => put_get_any_node(&net, config).await,
            LiveCase::SurvivesCrashes => survives_crashes(&net, config).await,
            LiveCase::BadFramesDropped => bad_frames_dropped(&net).await,
        };
        detail.push_str(&format!(" ({:.1} s)", started.elapsed().as_secs_f64()));
        shutdown_all(&net.nodes).await;
        cases.push(CaseResult { case: crate::conformance::Case::from_live(case), passed, detail });
    }
    Report { overlay: O::NAME, cases }
}

#[allow(clippy::disallowed_methods)] // a live harness times real runs
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Stops every node at once.
pub async fn shutdown_all(nodes: &[NodeHandle]) {
    let mut stopping = tokio::task::JoinSet::new();
    for node in nodes {
        let node = node.clone();
        stopping.spawn(async move { node.shutdown().await });
    }
    while stopping.join_next().await.is_some() {}
}

fn key(i: usize) -> (Id, Bytes) {
    (Id::hash(format!("live-key-{i}").as_bytes()), Bytes::from(format!("live-value-{i}")))
}

/// Puts every key through node `i % n` and reads it through `(i + n/2) % n`,
/// skipping nodes in `down`. Returns (puts acknowledged, gets matching).
async fn put_then_get(nodes: &[NodeHandle], keys: usize, down: &[usize]) -> (usize, usize) {
    let up: Vec<&NodeHandle> = nodes.iter().enumerate().filter(|(i, _)| !down.contains(i)).map(|(_, n)| n).collect();
    let mut acked = 0;
    for i in 0..keys {
        let (k, v) = key(i);
        acked += usize::from(up[i % up.len()].put(k, v).await.is_ok());
    }
    let read = read_back(&up, keys).await;
    (acked, read)
}

async fn read_back(up: &[&NodeHandle], keys: usize) -> usize {
    let mut read = 0;
    for i in 0..keys {
        let (k, v) = key(i);
        let reader = up[(i + up.len() / 2) % up.len()];
        read += usize::from(matches!(reader.get(k).await, Ok(Some(r)) if r.value == v));
    }
    read
}

async fn put_get_any_node(net: &LiveNetwork, config: &LiveConfig) -> (bool, String) {
    let (acked, read) = put_then_get(&net.nodes, config.keys, &[]).await;
    (
        acked == config.keys && read == config.keys,
        format!(
            "{} nodes: {acked}/{} puts acknowledged, {read} read back through other nodes",
            config.nodes, config.keys
        ),
    )
}

async fn survives_crashes(net: &LiveNetwork, config: &LiveConfig) -> (bool, String) {
    let (acked, _) = put_then_get(&net.nodes, config.keys, &[]).await;
    // Stop r - 1 nodes at once without a leave (so no key can lose every
    // replica), let repair run, and again: a quarter of the nodes in all.
    // Node 0, the bootstrap, stays.
    let batch = config.node.replicas.saturating_sub(1).max(1);
    let victims: Vec<usize> = (1..net.nodes.len()).rev().step_by(2).take(net.nodes.len() / 4).collect();
    let mut down = Vec::new();
    for wave in victims.chunks(batch) {
        let stopped: Vec<NodeHandle> = wave.iter().map(|&i| net.nodes[i].clone()).collect();
        shutdown_all(&stopped).await;
        down.extend_from_slice(wave);
        tokio::time::sleep(config.node.repair_interval * 3 + config.node.request_timeout * 2).await;
    }
    let up: Vec<&NodeHandle> =
        net.nodes.iter().enumerate().filter(|(i, _)| !down.contains(i)).map(|(_, n)| n).collect();
    let read = read_back(&up, config.keys).await;
    (
        acked == config.keys && read == config.keys,
        format!(
            "stopped {} of {} nodes without warning, {batch} at a time: {read}/{} keys still read",
            down.len(),
            net.nodes.len(),
            config.keys
        ),
    )
}

async fn bad_frames_dropped(net: &LiveNetwork) -> (bool, String) {
    let (k, v) = key(0);
    if net.nodes[0].put(k, v.clone()).await.is_err() {
        return (false, "the first put failed".into());
    }
    let target = net.nodes[1].local();
    let sender = &net.transports[net.transports.len() - 1];
    let frames: [&[u8]; 4] = [b"", b"\x00\x00\x00\x05hello", b"\xff\xff\xff\xff", b"\x00\x00\x00\x03\x01\x02\x03"];
    let mut answered = Vec::new();
    for frame in frames {
        match sender.request(&target, Bytes::copy_from_slice(frame), Duration::from_secs(2)).await {
            Err(TransportError::NoAnswer) => {}
            other => answered.push(format!("{frame:?}: {other:?}")),
        }
    }
    let still = matches!(net.nodes[2].get(k).await, Ok(Some(r)) if r.value == v);
    let passed = answered.is_empty() && still;
    (
        passed,
        if passed {
            "4 garbage frames went unanswered; the stored value is intact".into()
        } else {
            format!("answered: {answered:?}; value intact: {still}")
        },
    )
}
