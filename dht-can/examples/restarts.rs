//! Six CAN nodes, one stopped and restarted on its store every 3 s for
//! 40 s while eight writers keep writing, then 30 s of quiet: the
//! simulated twin of `dht soak --overlay can --nodes 6 --kill-every 3`.
//! Prints, per seed, the keys whose latest acknowledged write no live node
//! holds, the gets of acknowledged keys that fail after the quiet, and how
//! much of the space the live nodes' zones cover.
//!
//! `cargo run --release -p dht-can --example restarts [SEEDS]`

use dht_can::{Can, CanConfig, Zone};
use dht_testkit::workload::restarts_under_writes;

#[allow(clippy::print_stdout)] // an example prints its table
fn main() {
    let seeds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    println!("seed  keys acked  keys lost  failed gets  space covered");
    for seed in 1..=seeds {
        let (sim, o) = restarts_under_writes(seed, |peer| Can::new(peer, CanConfig::default()));
        let covered: f64 = sim
            .live_nodes()
            .iter()
            .filter_map(|n| sim.node(*n))
            .flat_map(|node| node.overlay().view().own())
            .map(Zone::volume)
            .sum();
        println!("{seed:>4}  {:>10}  {:>9}  {:>11}  {covered:>13.4}", o.acked, o.lost, o.failed_gets);
    }
}
