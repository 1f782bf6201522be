//! The Chord paper's experiments, run in the simulator; prints one JSON
//! line per measurement.
//!
//! ```text
//! cargo run --release -p dht-chord --example chord_paper -- [path|load|failure|churn]...
//! ```
//! - `path`: lookup path length for N = 2^8 … 2^14 beside ½·log2 N.
//! - `load`: keys per node, 10,000 nodes and 500,000 keys, with 1 and 20
//!   virtual nodes per physical node.
//! - `failure`: lookups after 10–50% of the nodes fail at once and the ring
//!   restabilizes, with r = 1 and r = 3 (`NODES`, default 10,000).
//! - `churn`: 500 nodes, failures and joins at 0.05/s, stabilization every 30 s.

use dht_chord::{Chord, ChordConfig};
use dht_core::{Id, OpOutcome, Rng};
use dht_testkit::metrics::Summary;
use dht_testkit::sim::{Lifetime, SimConfig, Simulation};
use dht_testkit::workload;
use std::time::Duration;

fn chord_sim(seed: u64, replicas: usize, stabilize: Duration) -> Simulation<Chord> {
    let mut config = SimConfig::new(seed);
    config.node = dht_core::NodeConfig::with_replicas(replicas);
    config.node.repair_interval = Duration::from_secs(30);
    let mut chord = ChordConfig::default();
    chord.stabilize_interval = stabilize;
    Simulation::new(config, move |peer| Chord::new(peer, chord.clone()))
}

/// The live node that owns `key` on the true ring.
fn true_owner(sim: &Simulation<Chord>, key: &Id) -> Option<Id> {
    sim.live_nodes().iter().filter_map(|&n| sim.peer(n)).map(|p| p.id).min_by_key(|id| key.ring_distance(id))
}

/// Runs `count` lookups of random keys; returns (share failed or wrong, path lengths).
fn lookups(sim: &mut Simulation<Chord>, count: usize) -> (f64, Vec<f64>) {
    let mut wrong = 0;
    let mut hops = Vec::new();
    for _ in 0..count {
        let key = sim.rng().id();
        let Some(node) = sim.random_live_node() else { break };
        let Some(op) = sim.find_peers(node, key) else { continue };
        sim.wait_for(&[op], Duration::from_secs(120));
        match sim.take_result(op) {
            Some(e) => match e.outcome {
                OpOutcome::FindPeers(peers) if peers.first().map(|p| p.id) == true_owner(sim, &key) => {
                    hops.push(f64::from(e.stats.hops))
                }
                _ => wrong += 1,
            },
            None => wrong += 1,
        }
    }
    (f64::from(wrong) / count as f64, hops)
}

#[allow(clippy::print_stdout)]
fn path_length() {
    for exp in [8u32, 10, 12, 14] {
        let n = 1usize << exp;
        let mut sim = chord_sim(7, 3, Duration::from_secs(5));
        sim.grow(n, Duration::from_millis(10), Duration::from_secs(120));
        let (failed, hops) = lookups(&mut sim, 2000);
        let s = Summary::of(hops);
        println!(
            "{{\"experiment\":\"path_length\",\"nodes\":{n},\"lookups\":2000,\"failed\":{failed},\"hops_mean\":{:.3},\"hops_p1\":{},\"hops_p99\":{},\"paper_half_log2_n\":{:.1}}}",
            s.mean,
            s.p1,
            s.p99,
            f64::from(exp) / 2.0
        );
    }
}

#[allow(clippy::print_stdout)]
fn load_balance() {
    let (nodes, keys) = (10_000usize, 500_000usize);
    for virtuals in [1usize, 20] {
        let mut rng = Rng::new(7);
        let mut ring: Vec<(Id, usize)> = (0..nodes)
            .flat_map(|host| (0..virtuals).map(move |v| (host, v)))
            .map(|(host, _)| (rng.id(), host))
            .collect();
        ring.sort_unstable();
        let mut load = vec![0u64; nodes];
        for _ in 0..keys {
            let key = rng.id();
            let at = ring.partition_point(|(id, _)| *id < key) % ring.len();
            load[ring[at].1] += 1;
        }
        let s = Summary::of(load.iter().map(|&l| l as f64));
        println!(
            "{{\"experiment\":\"load\",\"nodes\":{nodes},\"keys\":{keys},\"virtual_nodes\":{virtuals},\"mean\":{:.1},\"p1\":{},\"p99\":{},\"max\":{},\"p99_over_mean\":{:.2},\"max_over_mean\":{:.2},\"p1_over_mean\":{:.2},\"empty_nodes\":{}}}",
            s.mean,
            s.p1,
            s.p99,
            s.max,
            s.p99 / s.mean,
            s.max / s.mean,
            s.p1 / s.mean,
            load.iter().filter(|&&l| l == 0).count()
        );
    }
}

#[allow(clippy::print_stdout)]
fn failures(nodes: usize) {
    for replicas in [1usize, 3] {
        for pct in [10u32, 20, 30, 40, 50] {
            let mut sim = chord_sim(7, replicas, Duration::from_secs(5));
            sim.grow(nodes, Duration::from_millis(10), Duration::from_secs(120));
            let (stored, _) = workload::put_all(&mut sim, &workload::keys(2000, 7));
            sim.crash_fraction(f64::from(pct) / 100.0);
            sim.run_for(Duration::from_secs(120));
            let (wrong, _) = lookups(&mut sim, 1000);
            let (_, missing) = workload::get_all(&mut sim, &stored);
            println!(
                "{{\"experiment\":\"failure\",\"nodes\":{nodes},\"failed_pct\":{pct},\"replicas\":{replicas},\"lookup_wrong_or_failed\":{wrong:.4},\"keys_lost\":{:.4}}}",
                missing.len() as f64 / stored.len() as f64
            );
        }
    }
}

#[allow(clippy::print_stdout)]
fn churn() {
    let nodes = 500;
    let mut sim = chord_sim(7, 3, Duration::from_secs(30));
    sim.grow(nodes, Duration::from_millis(100), Duration::from_secs(300));
    // Failures at 0.05/s over 500 nodes: a mean lifetime of 10,000 s; each
    // failure is followed by a join, so joins arrive at the same rate.
    sim.start_churn(Lifetime::Exponential { mean: Duration::from_secs(10_000) });
    sim.run_for(Duration::from_secs(600));
    let (wrong, hops) = lookups(&mut sim, 2000);
    let replaced = sim.live_nodes().iter().filter(|&&n| n as usize >= nodes).count();
    println!(
        "{{\"experiment\":\"churn\",\"nodes\":{nodes},\"rate_per_s\":0.05,\"stabilize_s\":30,\"nodes_replaced\":{replaced},\"lookup_failure\":{wrong:.4},\"hops_mean\":{:.2}}}",
        Summary::of(hops).mean
    );
}

fn main() {
    let mut which: Vec<String> = std::env::args().skip(1).collect();
    if which.is_empty() {
        which = vec!["path".into(), "load".into(), "failure".into(), "churn".into()];
    }
    let nodes = std::env::var("NODES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    for w in which {
        match w.as_str() {
            "path" => path_length(),
            "load" => load_balance(),
            "failure" => failures(nodes),
            "churn" => churn(),
            other => eprintln!("unknown experiment `{other}` (path, load, failure, churn)"),
        }
    }
}
