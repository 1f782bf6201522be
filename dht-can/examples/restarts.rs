//! Six CAN nodes, one stopped and restarted on its store every 3 s for
//! 40 s while eight writers keep writing, then 30 s of quiet: the
//! simulated twin of `dht soak --overlay can --nodes 6 --kill-every 3`.
//! Prints, per seed, the keys whose latest acknowledged write no live node
//! holds, the gets of acknowledged keys that fail after the quiet, and how
//! much of the space the live nodes' zones cover.
//!
//! `cargo run --release -p dht-can --example restarts [SEEDS]`

use dht_can::{Can, CanConfig, Zone};
use dht_core::{Id, OpOutcome, Store};
use dht_testkit::sim::{OpRef, SimConfig, Simulation};
use std::time::Duration;

const NODES: usize = 6;
const KEYS: u32 = 100;
const WRITERS: usize = 8;

struct Outcome {
    acked: usize,
    lost: usize,
    failed_gets: usize,
    covered: f64,
}

fn run(seed: u64) -> Outcome {
    let mut config = SimConfig::new(seed);
    // As the soak's nodes: repair passes every 3 s.
    config.node.repair_interval = Duration::from_secs(3);
    let mut sim = Simulation::new(config, |peer| Can::new(peer, CanConfig::default()));
    sim.grow(NODES, Duration::from_millis(500), Duration::from_secs(20));
    let keys: Vec<Id> = (0..KEYS).map(|i| Id::hash(&i.to_be_bytes())).collect();
    // Per key: the latest acknowledged write, and the write in flight.
    let mut acked = vec![0u64; keys.len()];
    let mut writing: Vec<Option<(OpRef, u64)>> = vec![None; keys.len()];
    let mut written = 0u64;
    let mut stopped = None;
    for step in 0..400u32 {
        for (i, slot) in writing.iter_mut().enumerate() {
            if let Some(e) = slot.and_then(|(op, _)| sim.take_result(op)) {
                if matches!(e.outcome, OpOutcome::Put(Ok(_))) {
                    acked[i] = acked[i].max(slot.map_or(0, |(_, n)| n));
                }
                *slot = None;
            }
        }
        if step % 30 == 0 {
            let live = sim.live_nodes();
            let node = live[sim.rng().index(live.len())];
            sim.stop(node);
            // Its operations in flight never end.
            writing.iter_mut().filter(|w| w.is_some_and(|(op, _)| op.node == node)).for_each(|w| *w = None);
            stopped = Some(node);
        } else if step % 30 == 2 {
            stopped.take().map(|node| sim.restart(node));
        }
        // One write in flight per key, so each key's writes are ordered.
        for _ in writing.iter().filter(|w| w.is_some()).count()..WRITERS {
            let i = sim.rng().index(keys.len());
            if writing[i].is_none() {
                written += 1;
                let op = sim.random_live_node().and_then(|n| sim.put(n, keys[i], written.to_string()));
                writing[i] = op.map(|op| (op, written));
            }
        }
        sim.run_for(Duration::from_millis(100));
    }
    if let Some(node) = stopped {
        sim.restart(node);
    }
    sim.run_for(Duration::from_secs(30));
    let now = sim.now();
    let value = |bytes: &[u8]| std::str::from_utf8(bytes).ok()?.parse::<u64>().ok();
    let newest = |key: &Id| sim.live_nodes().iter().filter_map(|n| value(&sim.store(*n)?.get(key, now)?.value)).max();
    let written: Vec<(Id, u64)> = keys.iter().zip(&acked).filter(|(_, a)| **a > 0).map(|(k, a)| (*k, *a)).collect();
    let lost = written.iter().filter(|(key, a)| newest(key).is_none_or(|n| n < *a)).count();
    let mut failed_gets = 0;
    for (key, a) in &written {
        let op = sim.random_live_node().and_then(|n| sim.get(n, *key));
        if let Some(op) = op {
            sim.wait_for(&[op], Duration::from_secs(30));
        }
        let got = op.and_then(|op| sim.take_result(op)).map(|e| e.outcome);
        let fresh = matches!(got, Some(OpOutcome::Get(Ok(Some(r)))) if value(&r.value).is_some_and(|v| v >= *a));
        failed_gets += usize::from(!fresh);
    }
    let covered = sim
        .live_nodes()
        .iter()
        .filter_map(|n| sim.node(*n))
        .flat_map(|node| node.overlay().view().own().to_vec())
        .map(|z: Zone| z.volume())
        .sum();
    Outcome { acked: written.len(), lost, failed_gets, covered }
}

#[allow(clippy::print_stdout)] // an example prints its table
fn main() {
    let seeds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    println!("seed  keys acked  keys lost  failed gets  space covered");
    for seed in 1..=seeds {
        let o = run(seed);
        println!("{seed:>4}  {:>10}  {:>9}  {:>11}  {:>13.4}", o.acked, o.lost, o.failed_gets, o.covered);
    }
}
