//! `dht bench`: a real cluster over QUIC on 127.0.0.1 in this process,
//! timed. Puts random 32-byte keys through random nodes, then gets each
//! through another random node, and prints one JSON line.

use crate::cluster::{self, run_phase};
use crate::measure::{cpu_time, peak_rss_mib, Progress};
use crate::OverlayKind;
use anyhow::Context;
use bytes::Bytes;
use dht_overlays::core::{NodeConfig, NodeHandle, Overlay, Peer, Rng};
use dht_overlays::Id;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Options of `dht bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Overlay to run.
    #[arg(long, value_enum, default_value = "kademlia")]
    overlay: OverlayKind,
    /// Nodes to start.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(2..=2048))]
    nodes: u16,
    /// Puts to time.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    puts: u32,
    /// Gets to time (of the keys put, in turn).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    gets: u32,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=4096))]
    concurrency: u16,
    /// Size of each value.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=65_536))]
    value_bytes: u32,
    /// Seed of keys, values and the choice of nodes.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Seconds the whole run may take before it is abandoned.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let limit = Duration::from_secs(args.timeout);
    let report = with_overlay!(args.overlay, crate::Pace::Quick, |make| {
        tokio::time::timeout(limit, bench(make, &args)).await
    })
    .with_context(|| format!("the bench did not finish within {} s", args.timeout))??;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

async fn bench<O: Overlay + Send + 'static>(
    make: impl Fn(Peer) -> O + Clone + Send + 'static,
    args: &BenchArgs,
) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let quiet = Progress::new(true);
    let nodes = usize::from(args.nodes);
    let network = format!("bench-{}", std::process::id());
    let handles = cluster::start(make, nodes, &NodeConfig::default(), &network, &quiet).await?;
    let mut rng = Rng::new(args.seed);
    settle(&handles, &mut rng, &quiet).await;
    let bootstrap_s = started.elapsed().as_secs_f64();

    let mut written = Vec::with_capacity(args.puts as usize);
    let mut puts = Vec::with_capacity(args.puts as usize);
    for _ in 0..args.puts {
        let writer = rng.index(nodes);
        let key = Id::hash(&rng.bytes(32));
        let value = Bytes::from(rng.bytes(args.value_bytes as usize));
        written.push((writer, key, value.clone()));
        puts.push((handles[writer].clone(), key, value));
    }
    let concurrency = usize::from(args.concurrency);
    let (cpu_before, msgs_before) = (cpu_time(), messages(&handles).await);
    let put = run_phase("put", puts, concurrency, &quiet, cluster::write).await;
    let gets: Vec<cluster::Item> = (0..args.gets as usize)
        .map(|i| {
            let (writer, key, value) = &written[i % written.len()];
            (handles[other_than(*writer, nodes, &mut rng)].clone(), *key, value.clone())
        })
        .collect();
    let get = run_phase("get", gets, concurrency, &quiet, cluster::read).await;
    let (cpu_after, msgs_after) = (cpu_time(), messages(&handles).await);
    cluster::stop(&handles).await;

    let timed = (put.wall + get.wall).as_secs_f64();
    let ops = (put.total + get.total).max(1) as f64;
    let cpu_ms_per_op = cpu_before.zip(cpu_after).map(|(b, a)| a.saturating_sub(b).as_secs_f64() * 1000.0 / ops);
    let per_op = |n: u64| n as f64 / ops;
    Ok(serde_json::json!({
        "overlay": O::NAME,
        "nodes": nodes,
        "puts": put.total,
        "gets": get.total,
        "put_ok": put.ok,
        "get_ok": get.ok,
        "put_p50_ms": put.p50_ms(),
        "put_p99_ms": put.p99_ms(),
        "get_p50_ms": get.p50_ms(),
        "get_p99_ms": get.p99_ms(),
        "ops_per_s": (put.total + get.total) as f64 / timed.max(f64::EPSILON),
        "cpu_ms_per_op": cpu_ms_per_op,
        "msgs_per_op": per_op(msgs_after.0 - msgs_before.0),
        "maintenance_msgs_per_op": per_op(msgs_after.1 - msgs_before.1),
        "bootstrap_s": bootstrap_s,
        "total_wall_s": started.elapsed().as_secs_f64(),
        "peak_rss_mib": peak_rss_mib(),
    }))
}

/// Requests the nodes have sent for operations and for maintenance, in all.
async fn messages(handles: &[NodeHandle]) -> (u64, u64) {
    let mut total = (0, 0);
    for handle in handles {
        if let Ok(stats) = handle.stats().await {
            total.0 += stats.op_messages;
            total.1 += stats.maintenance_messages;
        }
    }
    total
}

/// Probes per settling round.
const PROBES: usize = 32;
/// Rounds in a row every probe must succeed in.
const CLEAN_ROUNDS: usize = 3;
/// Most rounds of probes before the timed phases start regardless.
const SETTLE_ROUNDS: usize = 120;
/// The pause before each round of probes.
const SETTLE_PAUSE: Duration = Duration::from_millis(250);

/// Waits until the joins have settled: [`CLEAN_ROUNDS`] rounds in a row
/// of probe puts, each read back through another node, all succeed (a
/// round every [`SETTLE_PAUSE`] or so, at most [`SETTLE_ROUNDS`]). Concurrent joins settle at
/// their overlay's pace — a CAN's zones take a few update rounds — and the
/// timed phases measure the settled network. The probes are not counted.
async fn settle(handles: &[NodeHandle], rng: &mut Rng, quiet: &Progress) {
    let nodes = handles.len();
    let mut clean = 0;
    for _ in 0..SETTLE_ROUNDS {
        tokio::time::sleep(SETTLE_PAUSE).await;
        let mut writes = Vec::with_capacity(PROBES);
        let mut reads = Vec::with_capacity(PROBES);
        for _ in 0..PROBES {
            let (writer, key, value) = (rng.index(nodes), Id::hash(&rng.bytes(32)), Bytes::from(rng.bytes(8)));
            writes.push((handles[writer].clone(), key, value.clone()));
            reads.push((handles[other_than(writer, nodes, rng)].clone(), key, value));
        }
        let written = run_phase("settle", writes, PROBES, quiet, cluster::write).await.ok;
        let read =
            if written == PROBES { run_phase("settle", reads, PROBES, quiet, cluster::read).await.ok } else { 0 };
        clean = if read == PROBES { clean + 1 } else { 0 };
        if clean == CLEAN_ROUNDS {
            return;
        }
    }
}

/// A random node index other than `not` (there are at least two nodes).
fn other_than(not: usize, nodes: usize, rng: &mut Rng) -> usize {
    (not + 1 + rng.index(nodes - 1)) % nodes
}
