//! The CAN paper's measurements, run in the simulator; prints one JSON line
//! per measurement.
//!
//! ```text
//! cargo run --release -p dht-can --example can_paper -- [path|volume|failure]...
//! ```
//! - `path`: mean and p99 lookup path length and mean neighbour count for
//!   d = 2, 3, 4 at N = 2^10, 2^12, 2^14 (`MAX_EXP` lowers the top size),
//!   beside (d/4)·N^(1/d) and 2d.
//! - `volume`: zone volumes of 2^14 nodes in 3 dimensions with and without
//!   uniform partitioning: the share of nodes at each multiple of the fair
//!   volume 1/N.
//! - `failure`: after 10–50% of the nodes fail at once and take-over runs,
//!   the share of lookups that reach the true owner and of keys still read
//!   back, with r = 1 and r = 3 (`NODES`, default 10,000; d = 4).

use dht_can::{Can, CanConfig};
use dht_core::{Id, OpOutcome};
use dht_testkit::metrics::Summary;
use dht_testkit::sim::{SimConfig, Simulation};
use dht_testkit::workload;
use std::time::Duration;

fn can_sim(seed: u64, replicas: usize, can: CanConfig) -> Simulation<Can> {
    let mut config = SimConfig::new(seed);
    config.node = dht_core::NodeConfig::with_replicas(replicas);
    config.node.repair_interval = Duration::from_secs(30);
    Simulation::new(config, move |peer| Can::new(peer, can.clone()))
}

/// The live node whose zone holds the point of `key`.
fn true_owner(sim: &Simulation<Can>, key: &Id) -> Option<Id> {
    let nodes = sim.live_nodes();
    let space = *sim.node(*nodes.first()?)?.overlay().view().space();
    let point = space.point(key);
    nodes.into_iter().filter_map(|n| sim.node(n)).find(|n| n.overlay().view().owns(&point)).map(|n| n.local().id)
}

/// Runs `count` lookups of random keys, 100 at a time; returns (share
/// failed or wrong, path lengths).
fn lookups(sim: &mut Simulation<Can>, count: usize) -> (f64, Vec<f64>) {
    let mut wrong = 0;
    let mut hops = Vec::new();
    for _ in 0..count.div_ceil(100) {
        let mut started = Vec::new();
        for _ in 0..100 {
            let key = sim.rng().id();
            let Some(node) = sim.random_live_node() else { break };
            match sim.find_peers(node, key) {
                Some(op) => started.push((op, key)),
                None => wrong += 1,
            }
        }
        sim.wait_for(&started.iter().map(|(op, _)| *op).collect::<Vec<_>>(), Duration::from_secs(120));
        for (op, key) in started {
            match sim.take_result(op).map(|e| (e.outcome, e.stats.hops)) {
                Some((OpOutcome::FindPeers(peers), h)) if peers.first().map(|p| p.id) == true_owner(sim, &key) => {
                    hops.push(f64::from(h))
                }
                _ => wrong += 1,
            }
        }
    }
    (f64::from(wrong) / count as f64, hops)
}

fn grow(dims: usize, nodes: usize, uniform: bool, replicas: usize) -> Simulation<Can> {
    let mut can = CanConfig::default();
    can.dimensions = dims;
    can.uniform_partitioning = uniform;
    let mut sim = can_sim(7, replicas, can);
    sim.grow(nodes, Duration::from_millis(10), Duration::from_secs(60));
    sim
}

#[allow(clippy::print_stdout)]
fn path_length(max_exp: u32) {
    for dims in [2usize, 3, 4] {
        for exp in (10..=max_exp).step_by(2) {
            let n = 1usize << exp;
            let mut sim = grow(dims, n, true, 3);
            let (failed, hops) = lookups(&mut sim, 2000);
            let s = Summary::of(hops);
            let neighbours = Summary::of(
                sim.live_nodes().into_iter().filter_map(|i| sim.node(i)).map(|n| n.overlay().view().len() as f64),
            );
            println!(
                "{{\"experiment\":\"path_length\",\"dimensions\":{dims},\"nodes\":{n},\"lookups\":2000,\"failed\":{failed},\"hops_mean\":{:.3},\"hops_p99\":{},\"paper_d_over_4_n_root_d\":{:.2},\"neighbours_mean\":{:.2},\"paper_2d\":{}}}",
                s.mean,
                s.p99,
                dims as f64 / 4.0 * (n as f64).powf(1.0 / dims as f64),
                neighbours.mean,
                2 * dims
            );
        }
    }
}

#[allow(clippy::print_stdout)]
fn volumes() {
    let (dims, exp) = (3usize, 14u32);
    let n = 1usize << exp;
    for uniform in [false, true] {
        let sim = grow(dims, n, uniform, 3);
        // Volumes as powers of two: depth `exp` is the fair share 1/N.
        let mut shares = std::collections::BTreeMap::<i32, usize>::new();
        for node in sim.live_nodes().into_iter().filter_map(|i| sim.node(i)) {
            let volume: f64 = node.overlay().view().own().iter().map(|z| z.volume()).sum();
            let multiple = (volume * n as f64).log2().round() as i32;
            *shares.entry(multiple).or_default() += 1;
        }
        let live = sim.live_nodes().len() as f64;
        let histogram: Vec<String> =
            shares.iter().map(|(m, count)| format!("\"{}\":{:.4}", 2f64.powi(*m), *count as f64 / live)).collect();
        let largest = shares.keys().last().map_or(0.0, |m| 2f64.powi(*m));
        println!(
            "{{\"experiment\":\"volume\",\"dimensions\":{dims},\"nodes\":{n},\"uniform_partitioning\":{uniform},\"share_at_fair_volume\":{:.4},\"largest_over_fair\":{largest},\"share_by_multiple_of_fair\":{{{}}}}}",
            shares.get(&0).copied().unwrap_or(0) as f64 / live,
            histogram.join(",")
        );
    }
}

#[allow(clippy::print_stdout)]
fn failures(nodes: usize) {
    for replicas in [1usize, 3] {
        for pct in [10u32, 20, 30, 40, 50] {
            let mut sim = grow(4, nodes, true, replicas);
            let (stored, _) = workload::put_all(&mut sim, &workload::keys(2000, 7));
            sim.crash_fraction(f64::from(pct) / 100.0);
            let kept = stored.iter().filter(|s| !sim.holders(&s.key).is_empty()).count();
            sim.run_for(Duration::from_secs(120));
            let (wrong, _) = lookups(&mut sim, 1000);
            let (_, missing) = workload::get_all(&mut sim, &stored);
            println!(
                "{{\"experiment\":\"failure\",\"dimensions\":4,\"nodes\":{nodes},\"failed_pct\":{pct},\"replicas\":{replicas},\"lookup_success\":{:.4},\"keys_with_a_live_copy\":{:.4},\"keys_read_back\":{:.4}}}",
                1.0 - wrong,
                kept as f64 / stored.len() as f64,
                1.0 - missing.len() as f64 / stored.len() as f64
            );
        }
    }
}

fn main() {
    let mut which: Vec<String> = std::env::args().skip(1).collect();
    if which.is_empty() {
        which = vec!["path".into(), "volume".into(), "failure".into()];
    }
    let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    for w in which {
        match w.as_str() {
            "path" => path_length(env("MAX_EXP", 14) as u32),
            "volume" => volumes(),
            "failure" => failures(env("NODES", 10_000)),
            other => eprintln!("unknown experiment `{other}` (path, volume, failure)"),
        }
    }
}
