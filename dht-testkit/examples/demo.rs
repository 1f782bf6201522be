//! The local multi-node demo: 1,000 simulated Kademlia nodes; put 1,000 keys
//! through random nodes, get each back through another node, crash a third
//! of the nodes without warning, let maintenance run, and get back every key
//! that kept a live replica. Prints a table (or JSON with `--json`).
//!
//! ```text
//! cargo run --release -p dht-testkit --example demo -- [--nodes N] [--keys K] [--seed S] [--json]
//! ```

use dht_kademlia::{Kademlia, KademliaConfig};
use dht_testkit::metrics::OpReport;
use dht_testkit::sim::{SimConfig, Simulation};
use dht_testkit::workload;
use std::time::Duration;

struct Args {
    nodes: usize,
    keys: usize,
    seed: u64,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { nodes: 1000, keys: 1000, seed: 7, json: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: `{v}` is not a number"))
        };
        match flag.as_str() {
            "--nodes" => args.nodes = number("--nodes")?.max(1) as usize,
            "--keys" => args.keys = number("--keys")? as usize,
            "--seed" => args.seed = number("--seed")?,
            "--json" => args.json = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(args)
}

#[allow(clippy::print_stdout)] // an example: printing is its job
fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut sim = Simulation::new(SimConfig::new(args.seed), |peer| Kademlia::new(peer, KademliaConfig::default()));
    sim.grow(args.nodes, Duration::from_millis(20), Duration::from_secs(30));
    let (stored, puts) = workload::put_all(&mut sim, &workload::keys(args.keys, args.seed));
    let (gets, _) = workload::get_all(&mut sim, &stored);

    let crashed = sim.crash_fraction(1.0 / 3.0).len();
    let survivors: Vec<_> = stored.iter().filter(|s| !sim.holders(&s.key).is_empty()).cloned().collect();
    sim.run_for(Duration::from_secs(600));
    let replicated = survivors.iter().filter(|s| sim.holders(&s.key).len() >= 3).count();
    let (after, _) = workload::get_all(&mut sim, &survivors);

    let rows = [("put", OpReport::of(&puts)), ("get", OpReport::of(&gets)), ("get after crash", OpReport::of(&after))];
    if args.json {
        let phase = |(name, r): &(&str, OpReport)| {
            format!(
                "\"{name}\":{{\"success_rate\":{},\"hops_mean\":{:.3},\"hops_p99\":{},\"latency_ms_p50\":{},\"latency_ms_p99\":{}}}",
                r.success_rate, r.hops.mean, r.hops.p99, r.latency_ms.p50, r.latency_ms.p99
            )
        };
        let phases: Vec<String> = rows.iter().map(phase).collect();
        println!(
            "{{\"overlay\":\"kademlia\",\"nodes\":{},\"keys\":{},\"seed\":{},\"crashed\":{},\"keys_with_live_replica\":{},\"keys_back_to_3_replicas\":{},\"trace_digest\":\"{:016x}\",{}}}",
            args.nodes,
            stored.len(),
            args.seed,
            crashed,
            survivors.len(),
            replicated,
            sim.trace_digest(),
            phases.join(",")
        );
        return;
    }
    println!("kademlia, {} simulated nodes, {} keys, seed {}", args.nodes, stored.len(), args.seed);
    println!(
        "{:<16} {:>8} {:>10} {:>9} {:>13} {:>13}",
        "phase", "ops", "success", "hops", "latency p50", "latency p99"
    );
    for (name, r) in &rows {
        println!(
            "{:<16} {:>8} {:>9.1}% {:>9.2} {:>10} ms {:>10} ms",
            name,
            r.messages.count,
            r.success_rate * 100.0,
            r.hops.mean,
            r.latency_ms.p50,
            r.latency_ms.p99
        );
    }
    println!(
        "crashed {} nodes: {} of {} keys kept a live replica; after 10 min of maintenance {} are back on 3 replicas",
        crashed,
        survivors.len(),
        stored.len(),
        replicated
    );
    println!("trace digest {:016x} (same seed, same digest)", sim.trace_digest());
}
