//! `dht demo`: a local network over real QUIC sockets on 127.0.0.1.

use crate::measure::{percentile, Progress};
use crate::OverlayKind;
use anyhow::{bail, Context};
use bytes::Bytes;
use dht::core::{NodeConfig, NodeHandle, Overlay, Peer};
use dht::quic::{self, Options};
use dht::{Chord, ChordConfig, Id, Kademlia, KademliaConfig};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Operations in flight at once.
const CONCURRENCY: usize = 32;

pub async fn run(overlay: OverlayKind, nodes: usize, keys: usize, json: bool) -> anyhow::Result<ExitCode> {
    let chord = ChordConfig { stabilize_interval: Duration::from_millis(500), ..ChordConfig::default() };
    match overlay {
        OverlayKind::Kademlia => demo(|p| Kademlia::new(p, KademliaConfig::default()), nodes, keys, json).await,
        OverlayKind::Chord => demo(move |p| Chord::new(p, chord.clone()), nodes, keys, json).await,
    }
}

struct Phase {
    name: &'static str,
    ok: usize,
    total: usize,
    latencies_ms: Vec<f64>,
    hops: Vec<f64>,
}

impl Phase {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.ok, "total": self.total,
            "success_rate": self.ok as f64 / self.total.max(1) as f64,
            "latency_ms_p50": percentile(&self.latencies_ms, 50.0),
            "latency_ms_p99": percentile(&self.latencies_ms, 99.0),
            "hops_mean": (!self.hops.is_empty()).then(|| self.hops.iter().sum::<f64>() / self.hops.len() as f64),
        })
    }
}

async fn demo<O: Overlay>(
    make: impl Fn(Peer) -> O + Clone,
    nodes: usize,
    keys: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let progress = Progress::new(json);
    let config = NodeConfig { repair_interval: Duration::from_secs(2), ..NodeConfig::default() };
    let started = Instant::now();
    let mut handles: Vec<NodeHandle> = Vec::new();
    let mut first_addr = None;
    for i in 0..nodes {
        let mut options = Options::new("127.0.0.1:0".parse()?);
        options.bootstrap = first_addr.into_iter().collect();
        options.node = config.clone();
        options.network = format!("demo-{}", std::process::id());
        let running = quic::start(make.clone(), options).await.with_context(|| format!("starting node {i}"))?;
        if let dht::core::Address::Socket(addr) = running.handle.local().addr {
            first_addr.get_or_insert(addr);
        }
        handles.push(running.handle);
        progress.show("starting nodes", i + 1, nodes);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bootstrap_s = started.elapsed().as_secs_f64();

    let items: Vec<(Id, Bytes)> =
        (0..keys).map(|i| (dht::key(format!("demo-key-{i}")), Bytes::from(format!("value-{i}")))).collect();
    let put = run_phase("put", &handles, &items, &progress, |node, (k, v)| async move {
        node.put(k, v).await.map(|_| None).map_err(|e| e.to_string())
    })
    .await;
    let get = run_phase("get", &handles, &items, &progress, read).await;

    let stopped = nodes / 4;
    for node in handles.iter().skip(1).step_by(4).take(stopped) {
        node.shutdown().await;
    }
    let alive: Vec<NodeHandle> =
        handles.iter().enumerate().filter(|(i, _)| i % 4 != 1 || *i / 4 >= stopped).map(|(_, h)| h.clone()).collect();
    if !json {
        eprintln!("stopped {stopped} nodes; waiting for repair");
    }
    tokio::time::sleep(config.repair_interval * 4 + config.request_timeout * 2).await;
    let after = run_phase("get after stopping", &alive, &items, &progress, read).await;

    let phases = [&put, &get, &after];
    if json {
        let mut out = serde_json::json!({
            "overlay": O::NAME, "nodes": nodes, "keys": keys, "stopped": stopped,
            "bootstrap_s": bootstrap_s, "total_wall_s": started.elapsed().as_secs_f64(),
        });
        for p in phases {
            out[p.name.replace(' ', "_")] = p.json();
        }
        println!("{out}");
    } else {
        println!(
            "{} over QUIC on 127.0.0.1: {nodes} nodes, {keys} keys, {stopped} nodes stopped before the last phase",
            O::NAME
        );
        println!("{:<20} {:>10} {:>9} {:>11} {:>11} {:>6}", "phase", "ok", "success", "p50", "p99", "hops");
        for p in phases {
            let j = p.json();
            let hops = j["hops_mean"].as_f64().map_or_else(|| "-".to_owned(), |h| format!("{h:.2}"));
            println!(
                "{:<20} {:>10} {:>8.1}% {:>8.2} ms {:>8.2} ms {:>6}",
                p.name,
                format!("{}/{}", p.ok, p.total),
                j["success_rate"].as_f64().unwrap_or(0.0) * 100.0,
                j["latency_ms_p50"].as_f64().unwrap_or(0.0),
                j["latency_ms_p99"].as_f64().unwrap_or(0.0),
                hops,
            );
        }
    }
    for node in &alive {
        node.shutdown().await;
    }
    if after.ok < after.total || get.ok < get.total || put.ok < put.total {
        bail!(
            "{} of {} operations failed",
            (put.total - put.ok) + (get.total - get.ok) + (after.total - after.ok),
            put.total + get.total + after.total
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a key back; `Ok(Some(hops))` when the value came back right.
async fn read(node: NodeHandle, (key, value): (Id, Bytes)) -> Result<Option<u32>, String> {
    match node.get_with_stats(key).await {
        Ok((Some(r), stats)) if r.value == value => Ok(Some(stats.hops)),
        Ok(_) => Err("wrong or missing value".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `op` for every item through node `i + offset`, `CONCURRENCY` at a time.
async fn run_phase<F, Fut>(
    name: &'static str,
    nodes: &[NodeHandle],
    items: &[(Id, Bytes)],
    progress: &Progress,
    op: F,
) -> Phase
where
    F: Fn(NodeHandle, (Id, Bytes)) -> Fut,
    Fut: std::future::Future<Output = Result<Option<u32>, String>> + Send + 'static,
{
    let offset = if name == "put" { 0 } else { nodes.len() / 2 + 1 };
    let mut phase = Phase { name, ok: 0, total: items.len(), latencies_ms: Vec::new(), hops: Vec::new() };
    let mut running = JoinSet::new();
    let mut done = 0;
    for (i, item) in items.iter().enumerate() {
        if running.len() >= CONCURRENCY {
            collect(running.join_next().await, &mut phase);
            done += 1;
            progress.show(name, done, items.len());
        }
        let fut = op(nodes[(i + offset) % nodes.len()].clone(), item.clone());
        running.spawn(async move {
            let t = Instant::now();
            (fut.await, t.elapsed())
        });
    }
    while let Some(r) = running.join_next().await {
        collect(Some(r), &mut phase);
        done += 1;
        progress.show(name, done, items.len());
    }
    phase
}

type Finished = Result<(Result<Option<u32>, String>, Duration), tokio::task::JoinError>;

fn collect(result: Option<Finished>, phase: &mut Phase) {
    if let Some(Ok((Ok(hops), took))) = result {
        phase.ok += 1;
        phase.latencies_ms.push(took.as_secs_f64() * 1000.0);
        phase.hops.extend(hops.map(f64::from));
    }
}
