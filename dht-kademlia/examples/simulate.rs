//! Measures Kademlia in the simulator and prints one JSON line per network
//! size: hops, messages per lookup, success, latency, state, wall time and
//! peak memory.
//!
//! ```text
//! cargo run --release -p dht-kademlia --example simulate -- 1000 10000
//! ```
//! Arguments: network sizes (default 1000 10000). `LOOKUPS` (default 10000)
//! and `SEED` (default 7) come from the environment.

use dht_kademlia::{Kademlia, KademliaConfig};
use dht_testkit::measure::{measure, MeasureConfig};

#[allow(clippy::disallowed_methods, clippy::print_stdout)] // an example: it times itself and prints
fn main() {
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let lookups = env("LOOKUPS", 10_000) as usize;
    let seed = env("SEED", 7);
    let mut sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![1000, 10_000];
    }
    for nodes in sizes {
        let started = std::time::Instant::now();
        let m =
            measure(|peer| Kademlia::new(peer, KademliaConfig::default()), &MeasureConfig::new(nodes, lookups, seed));
        let mut json = serde_json::to_value(&m).unwrap_or_default();
        json["wall_s"] = started.elapsed().as_secs_f64().into();
        json["peak_rss_mib"] = peak_rss_mib().into();
        println!("{json}");
    }
}

/// The process's peak resident memory (VmHWM), in MiB; 0 where unknown.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
