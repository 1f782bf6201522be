//! `dht demo`: a local network over real QUIC sockets on 127.0.0.1.

use crate::cluster::{self, run_phase};
use crate::measure::Progress;
use crate::OverlayKind;
use anyhow::bail;
use bytes::Bytes;
use dht_overlays::core::{NodeConfig, NodeHandle, Overlay, Peer};
use dht_overlays::Id;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Operations in flight at once.
const CONCURRENCY: usize = 32;

pub async fn run(overlay: OverlayKind, nodes: usize, keys: usize, json: bool) -> anyhow::Result<ExitCode> {
    with_overlay!(overlay, crate::Pace::Quick, |make| demo(make, nodes, keys, json).await)
}

async fn demo<O: Overlay + Send + 'static>(
    make: impl Fn(Peer) -> O + Clone + Send + 'static,
    nodes: usize,
    keys: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let progress = Progress::new(json);
    let mut config = NodeConfig::default();
    config.repair_interval = Duration::from_secs(2);
    let started = Instant::now();
    let network = format!("demo-{}", std::process::id());
    let handles = cluster::start(make, nodes, &config, &network, &progress).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bootstrap_s = started.elapsed().as_secs_f64();

    let items: Vec<(Id, Bytes)> =
        (0..keys).map(|i| (dht_overlays::key(format!("demo-key-{i}")), Bytes::from(format!("value-{i}")))).collect();
    let put = run_phase("put", spread(&handles, &items, 0), CONCURRENCY, &progress, cluster::write).await;
    let reads = spread(&handles, &items, nodes / 2 + 1);
    let get = run_phase("get", reads, CONCURRENCY, &progress, cluster::read).await;

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
    let reads = spread(&alive, &items, alive.len() / 2 + 1);
    let after = run_phase("get after stopping", reads, CONCURRENCY, &progress, cluster::read).await;

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
    cluster::stop(&alive).await;
    if after.ok < after.total || get.ok < get.total || put.ok < put.total {
        bail!(
            "{} of {} operations failed",
            (put.total - put.ok) + (get.total - get.ok) + (after.total - after.ok),
            put.total + get.total + after.total
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Item `i` through node `i + offset`.
fn spread(nodes: &[NodeHandle], items: &[(Id, Bytes)], offset: usize) -> Vec<cluster::Item> {
    items.iter().enumerate().map(|(i, (k, v))| (nodes[(i + offset) % nodes.len()].clone(), *k, v.clone())).collect()
}
