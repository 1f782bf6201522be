//! What a Kademlia join costs, the paper's (a lookup in every bucket beyond
//! the closest neighbour's) against the default (two such buckets): a
//! network of `NODES` warm-started nodes takes `JOINS` more, one every
//! 100 ms, and runs on for a minute. Prints one JSON line per join kind:
//! the requests a joining node sent (its own lookups and pings, from its
//! join to the end), and the requests the whole network sent on top of a
//! twin run without the joins, per join.
//!
//! ```text
//! cargo run --release -p dht-kademlia --example join_cost
//! ```
//! `NODES` (default 10000), `JOINS` (default 200) and `SEED` (default 7)
//! come from the environment.

use dht_kademlia::{Kademlia, KademliaConfig};
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;

#[allow(clippy::print_stdout)] // an example: it prints its figures
fn main() {
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (nodes, joins, seed) = (env("NODES", 10_000) as usize, env("JOINS", 200) as usize, env("SEED", 7));
    for (join, buckets) in [("paper", usize::MAX), ("default", KademliaConfig::default().join_refresh_buckets)] {
        let run = |with_joins: bool| {
            let mut config = KademliaConfig::default();
            config.join_refresh_buckets = buckets;
            let mut sim = Simulation::new(SimConfig::new(seed), move |peer| Kademlia::new(peer, config.clone()));
            sim.warm_start(nodes);
            sim.run_for(Duration::from_secs(10));
            let spacing = Duration::from_millis(100);
            let settle = Duration::from_secs(60);
            if with_joins {
                sim.grow(joins, spacing, settle);
            } else {
                sim.run_for(spacing * joins as u32 + settle);
            }
            let samples = sim.node_samples();
            let sent = |s: &[dht_testkit::metrics::NodeSample]| s.iter().map(|n| n.maintenance_messages).sum::<u64>();
            let by_joiners = if with_joins { sent(&samples[samples.len() - joins..]) } else { 0 };
            (sent(&samples), by_joiners)
        };
        let (with, by_joiners) = run(true);
        let (without, _) = run(false);
        let per_join = |total: u64| total as f64 / joins as f64;
        println!(
            "{}",
            serde_json::json!({
                "join": join,
                "nodes": nodes,
                "joins": joins,
                "requests_sent_by_a_joining_node": per_join(by_joiners),
                "extra_requests_in_the_network_per_join": per_join(with.saturating_sub(without)),
            })
        );
    }
}
