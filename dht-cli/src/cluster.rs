//! A cluster of nodes over QUIC on 127.0.0.1 in this process, and timed
//! phases of operations on it: what `dht demo` and `dht bench` share.

use crate::measure::{percentile, Progress};
use anyhow::Context;
use bytes::Bytes;
use dht_overlays::core::{NodeConfig, NodeHandle, Overlay, Peer};
use dht_overlays::quic::{self, Options};
use dht_overlays::Id;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Starts `count` nodes on 127.0.0.1, each joining through the first, in a
/// network of their own: the first alone, then the others
/// [`PARALLEL_STARTS`] at a time, joining concurrently as nodes of a real
/// deployment would.
pub async fn start<O: Overlay + Send + 'static>(
    make: impl Fn(Peer) -> O + Clone + Send + 'static,
    count: usize,
    config: &NodeConfig,
    network: &str,
    progress: &Progress,
) -> anyhow::Result<Vec<NodeHandle>> {
    let options = |bootstrap: Option<std::net::SocketAddr>| -> anyhow::Result<Options> {
        let mut options = Options::new("127.0.0.1:0".parse()?);
        options.bootstrap = bootstrap.into_iter().collect();
        options.node = config.clone();
        options.network = network.to_owned();
        Ok(options)
    };
    let mut handles: Vec<Option<NodeHandle>> = vec![None; count];
    if count == 0 {
        return Ok(Vec::new());
    }
    let first = quic::start(make.clone(), options(None)?).await.context("starting node 0")?.handle;
    let first_addr = match first.local().addr {
        dht_overlays::core::Address::Socket(addr) => Some(addr),
        dht_overlays::core::Address::Memory(_) => None,
    };
    handles[0] = Some(first);
    let bar = progress.phase("starting nodes", count);
    bar.set_position(1);
    // Up to PARALLEL_STARTS joining at once: start the next while there
    // is room, else wait for one to finish.
    let (mut starting, mut next) = (JoinSet::new(), 1);
    while next < count || !starting.is_empty() {
        if next < count && starting.len() < PARALLEL_STARTS {
            let (i, make, options) = (next, make.clone(), options(first_addr)?);
            starting.spawn(async move { (i, quic::start(make, options).await.map(|running| running.handle)) });
            next += 1;
            continue;
        }
        let Some(done) = starting.join_next().await else { break };
        let (n, handle) = done.context("a node's start panicked")?;
        handles[n] = Some(handle.with_context(|| format!("starting node {n}"))?);
        bar.inc(1);
    }
    bar.finish();
    Ok(handles.into_iter().flatten().collect())
}

/// Nodes joining at once while a cluster starts.
const PARALLEL_STARTS: usize = 16;

/// Stops every node.
pub async fn stop(nodes: &[NodeHandle]) {
    let mut stopping = JoinSet::new();
    for node in nodes {
        let node = node.clone();
        stopping.spawn(async move { node.shutdown().await });
    }
    while stopping.join_next().await.is_some() {}
}

/// One operation of a phase: the node it runs on, a key and a value.
pub type Item = (NodeHandle, Id, Bytes);

/// How a phase of operations went.
pub struct Phase {
    pub name: &'static str,
    pub ok: usize,
    pub total: usize,
    pub latencies_ms: Vec<f64>,
    pub hops: Vec<f64>,
    pub wall: Duration,
}

impl Phase {
    pub fn p50_ms(&self) -> f64 {
        percentile(&self.latencies_ms, 50.0)
    }

    pub fn p99_ms(&self) -> f64 {
        percentile(&self.latencies_ms, 99.0)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.ok, "total": self.total,
            "success_rate": self.ok as f64 / self.total.max(1) as f64,
            "latency_ms_p50": self.p50_ms(),
            "latency_ms_p99": self.p99_ms(),
            "hops_mean": (!self.hops.is_empty()).then(|| self.hops.iter().sum::<f64>() / self.hops.len() as f64),
        })
    }
}

/// An operation's outcome: `Ok(hops)` (hops when known) or why it failed.
pub type OpResult = Result<Option<u32>, String>;

/// Runs `op` on every item, `concurrency` at a time; times each.
pub async fn run_phase<F, Fut>(
    name: &'static str,
    items: Vec<Item>,
    concurrency: usize,
    progress: &Progress,
    op: F,
) -> Phase
where
    F: Fn(NodeHandle, Id, Bytes) -> Fut,
    Fut: Future<Output = OpResult> + Send + 'static,
{
    let total = items.len();
    let mut phase = Phase { name, ok: 0, total, latencies_ms: Vec::new(), hops: Vec::new(), wall: Duration::ZERO };
    let started = Instant::now();
    let mut running = JoinSet::new();
    let bar = progress.phase(name, total);
    for (node, key, value) in items {
        if running.len() >= concurrency.max(1) {
            phase.collect(running.join_next().await);
            bar.inc(1);
        }
        let fut = op(node, key, value);
        running.spawn(async move {
            let t = Instant::now();
            (fut.await, t.elapsed())
        });
    }
    while let Some(r) = running.join_next().await {
        phase.collect(Some(r));
        bar.inc(1);
    }
    bar.finish();
    phase.wall = started.elapsed();
    phase
}

impl Phase {
    fn collect(&mut self, result: Option<Result<(OpResult, Duration), tokio::task::JoinError>>) {
        if let Some(Ok((Ok(hops), took))) = result {
            self.ok += 1;
            self.latencies_ms.push(took.as_secs_f64() * 1000.0);
            self.hops.extend(hops.map(f64::from));
        }
    }
}

/// Stores a value.
pub async fn write(node: NodeHandle, key: Id, value: Bytes) -> OpResult {
    node.put(key, value).await.map(|_| None).map_err(|e| e.to_string())
}

/// Reads a key back; `Ok(Some(hops))` when the value came back right.
pub async fn read(node: NodeHandle, key: Id, value: Bytes) -> OpResult {
    match node.get_with_stats(key).await {
        Ok((Some(r), stats)) if r.value == value => Ok(Some(stats.hops)),
        Ok(_) => Err("wrong or missing value".into()),
        Err(e) => Err(e.to_string()),
    }
}
