//! The Pastry paper's measurements, run in the simulator; prints one JSON
//! line per measurement.
//!
//! ```text
//! cargo run --release -p dht-pastry --example pastry_paper -- [path|failure]...
//! ```
//! - `path`: 10,000 lookups at N = 1,000 and 10,000 (every node joined
//!   through the protocol) and 100,000 (warm-started): mean hops and their
//!   distribution beside ⌈log16 N⌉, whether each lookup ended at the key's
//!   root (the live node numerically closest to it), and routing state per
//!   node beside (2^b − 1)·⌈log16 N⌉ + L. `SIZES=1000,10000` picks sizes.
//! - `failure`: 10–50% of `NODES` (default 10,000) warm-started nodes fail at once;
//!   1,000 lookups straight after and 1,000 more after 60 s of
//!   maintenance, each checked against the live root.

use dht_core::{Id, OpOutcome, SimOverlay};
use dht_pastry::digits::root_of;
use dht_pastry::{Pastry, PastryConfig};
use dht_testkit::metrics::Summary;
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;

fn pastry_sim(seed: u64) -> Simulation<Pastry> {
    Simulation::new(SimConfig::new(seed), |peer| Pastry::new(peer, PastryConfig::default()))
}

/// Runs `count` lookups of random keys from random nodes, a thousand at a
/// time; returns the share that failed or ended elsewhere than the root
/// (the first live node the answer names is the live node numerically
/// closest to the key: a get skips names that do not answer), and the
/// path lengths of the others.
fn lookups(sim: &mut Simulation<Pastry>, count: usize) -> (f64, Vec<f64>) {
    let mut live: Vec<Id> = sim.live_nodes().iter().filter_map(|&n| sim.peer(n)).map(|p| p.id).collect();
    live.sort_unstable();
    let (mut wrong, mut hops) = (0usize, Vec::new());
    for batch in (0..count).step_by(1000) {
        let mut started = Vec::new();
        for _ in batch..(batch + 1000).min(count) {
            let key = sim.rng().id();
            let Some(node) = sim.random_live_node() else { break };
            started.extend(sim.find_peers(node, key).map(|op| (op, key)));
        }
        let ops: Vec<_> = started.iter().map(|(op, _)| *op).collect();
        sim.wait_for(&ops, Duration::from_secs(120));
        for (op, key) in started {
            match sim.take_result(op).map(|e| (e.outcome, e.stats.hops)) {
                Some((OpOutcome::FindPeers(peers), h))
                    if peers.iter().map(|p| p.id).find(|id| live.binary_search(id).is_ok()) == root_of(&live, &key) =>
                {
                    hops.push(f64::from(h))
                }
                _ => wrong += 1,
            }
        }
    }
    (wrong as f64 / count as f64, hops)
}

#[allow(clippy::print_stdout)]
fn path_length() {
    let sizes = std::env::var("SIZES").unwrap_or_else(|_| "1000,10000,100000".to_owned());
    for nodes in sizes.split(',').filter_map(|n| n.parse::<usize>().ok()) {
        let mut sim = pastry_sim(7);
        let built = if nodes <= 10_000 {
            sim.grow(nodes, Duration::from_millis(20), Duration::from_secs(120));
            "joins"
        } else {
            sim.warm_start(nodes);
            "warm"
        };
        let (wrong, hops) = lookups(&mut sim, 10_000);
        let mut histogram = [0usize; 8];
        for h in &hops {
            histogram[(*h as usize).min(7)] += 1;
        }
        let states: Vec<f64> = sim
            .live_nodes()
            .iter()
            .filter_map(|&n| sim.node(n))
            .map(|n| n.overlay().routing_entries() as f64)
            .collect();
        let rows = (nodes as f64).log(16.0).ceil();
        let s = Summary::of(hops);
        println!(
            "{{\"experiment\":\"path_length\",\"nodes\":{nodes},\"built\":\"{built}\",\"lookups\":10000,\"wrong_or_failed\":{wrong:.4},\"hops_mean\":{:.3},\"hops_p99\":{},\"hops_histogram_0_to_7plus\":{histogram:?},\"paper_bound_ceil_log16_n\":{rows},\"state_mean\":{:.1},\"paper_state\":{}}}",
            s.mean,
            s.p99,
            Summary::of(states).mean,
            15.0 * rows + 16.0,
        );
    }
}

#[allow(clippy::print_stdout)]
fn failures(nodes: usize) {
    for pct in [10u32, 20, 30, 40, 50] {
        let mut sim = pastry_sim(7);
        sim.warm_start(nodes);
        sim.crash_fraction(f64::from(pct) / 100.0);
        let (wrong_now, hops_now) = lookups(&mut sim, 1000);
        sim.run_for(Duration::from_secs(60));
        let (wrong_later, hops_later) = lookups(&mut sim, 1000);
        println!(
            "{{\"experiment\":\"failure\",\"nodes\":{nodes},\"failed_pct\":{pct},\"at_once\":{{\"wrong_or_failed\":{wrong_now:.4},\"hops_mean\":{:.2}}},\"after_60s\":{{\"wrong_or_failed\":{wrong_later:.4},\"hops_mean\":{:.2}}}}}",
            Summary::of(hops_now).mean,
            Summary::of(hops_later).mean,
        );
    }
}

fn main() {
    let mut which: Vec<String> = std::env::args().skip(1).collect();
    if which.is_empty() {
        which = vec!["path".into(), "failure".into()];
    }
    let nodes = std::env::var("NODES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    for w in which {
        match w.as_str() {
            "path" => path_length(),
            "failure" => failures(nodes),
            other => eprintln!("unknown experiment `{other}` (path, failure)"),
        }
    }
}
