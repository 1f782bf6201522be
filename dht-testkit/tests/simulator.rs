//! The simulator's own guarantees: reproducible runs, partitions that cut
//! and heal, loss that the protocol rides out, churn that keeps the
//! population steady.

use dht_core::Id;
use dht_kademlia::{Kademlia, KademliaConfig};
use dht_testkit::sim::{Lifetime, SimConfig, Simulation};
use dht_testkit::workload;
use std::time::Duration;

fn kademlia(config: SimConfig, nodes: usize) -> Simulation<Kademlia> {
    let mut sim = Simulation::new(config, |peer| Kademlia::new(peer, KademliaConfig::default()));
    sim.grow(nodes, Duration::from_millis(20), Duration::from_secs(20));
    sim
}

fn digest_of_a_run(seed: u64) -> (u64, u64) {
    let mut config = SimConfig::new(seed);
    config.loss = 0.05;
    let mut sim = kademlia(config, 80);
    sim.start_churn(Lifetime::Exponential { mean: Duration::from_secs(300) });
    let (stored, _) = workload::put_all(&mut sim, &workload::keys(40, seed));
    workload::get_all(&mut sim, &stored);
    (sim.trace_digest(), sim.delivered())
}

#[test]
fn the_same_seed_replays_the_same_run() {
    assert_eq!(digest_of_a_run(3), digest_of_a_run(3));
    assert_ne!(digest_of_a_run(3).0, digest_of_a_run(4).0);
}

/// The progress observer sees the run advance, ends where the run ends,
/// and does not change it.
#[test]
fn progress_is_reported_as_the_run_goes_and_changes_nothing() {
    use dht_testkit::measure::{measure, measure_observed, MeasureConfig};
    use std::sync::{Arc, Mutex};
    let make = |peer| Kademlia::new(peer, KademliaConfig::default());
    let config = MeasureConfig::new(120, 200, 9);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let observed = measure_observed(make, &config, move |p| log.lock().unwrap().push(*p));
    assert_eq!(observed, measure(make, &config), "the same row with and without an observer");
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 3, "called every few thousand events: {}", seen.len());
    for pair in seen.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(a.now <= b.now && a.events <= b.events && a.nodes <= b.nodes && a.ops_finished <= b.ops_finished);
    }
    let last = seen.last().unwrap();
    assert_eq!(last.nodes, config.nodes);
    assert_eq!(last.ops_finished as usize, config.operations(), "the last report comes at the end: {last:?}");
}

#[test]
fn a_partition_cuts_traffic_and_healing_restores_every_key() {
    let mut sim = kademlia(SimConfig::new(5), 90);
    let (stored, _) = workload::put_all(&mut sim, &workload::keys(60, 5));
    assert_eq!(stored.len(), 60);
    let live = sim.live_nodes();
    let isolated: Vec<u32> = live.iter().copied().filter(|n| n % 3 == 0).collect();
    sim.partition(&isolated);
    // Across the cut nothing gets through: a lookup from an isolated node
    // finds only isolated peers.
    let target = Id::hash(b"anything");
    let op = sim.find_peers(isolated[0], target).expect("isolated node is up");
    assert!(sim.wait_for(&[op], Duration::from_secs(60)));
    let Some(dht_core::OpOutcome::FindPeers(peers)) = sim.take_result(op).map(|e| e.outcome) else {
        panic!("lookup did not end")
    };
    assert!(!peers.is_empty());
    assert!(peers.iter().all(|p| matches!(p.addr, dht_core::Address::Memory(i) if isolated.contains(&i))));
    sim.run_for(Duration::from_secs(120));
    sim.heal();
    sim.run_for(Duration::from_secs(300));
    let (_, missing) = workload::get_all(&mut sim, &stored);
    assert!(missing.is_empty(), "{} keys lost after the partition healed", missing.len());
}

#[test]
fn five_percent_loss_is_ridden_out() {
    let mut config = SimConfig::new(9);
    config.loss = 0.05;
    let mut sim = kademlia(config, 100);
    let (stored, puts) = workload::put_all(&mut sim, &workload::keys(100, 9));
    let (gets, missing) = workload::get_all(&mut sim, &stored);
    let ok_puts = puts.iter().filter(|s| s.success).count();
    assert!(ok_puts >= 97, "only {ok_puts}/100 puts succeeded under 5% loss");
    assert!(missing.len() <= 2, "{} of {} gets failed under 5% loss", missing.len(), gets.len());
}

#[test]
fn churn_replaces_every_failed_node_and_keys_survive() {
    let mut sim = kademlia(SimConfig::new(11), 100);
    let (stored, _) = workload::put_all(&mut sim, &workload::keys(100, 11));
    sim.start_churn(Lifetime::Weibull { mean: Duration::from_secs(1800), shape: 0.8 });
    sim.run_for(Duration::from_secs(600));
    sim.stop_churn();
    assert_eq!(sim.live_nodes().len(), 100, "every failure was replaced by a join");
    assert!(sim.peer(100).is_some(), "nodes failed and were replaced during churn");
    sim.run_for(Duration::from_secs(120));
    let (_, missing) = workload::get_all(&mut sim, &stored);
    assert!(missing.len() <= 2, "{} of 100 keys lost under churn with r = 3", missing.len());
}

/// The nodes run in shards on as many threads as configured, yet the run
/// is the same event for event: one shard, two or three, every window run
/// on threads, under loss and churn.
#[test]
fn the_number_of_threads_does_not_change_the_run() {
    let run = |threads| {
        let mut config = SimConfig::new(6);
        config.loss = 0.05;
        config.threads = threads;
        config.parallel_min_events = 0;
        let mut sim = kademlia(config, 60);
        sim.start_churn(Lifetime::Exponential { mean: Duration::from_secs(120) });
        let (stored, _) = workload::put_all(&mut sim, &workload::keys(30, 6));
        sim.run_for(Duration::from_secs(60));
        let (_, missing) = workload::get_all(&mut sim, &stored);
        (sim.trace_digest(), sim.delivered(), sim.live_nodes(), stored.len(), missing)
    };
    let one = run(1);
    assert!(one.2.iter().any(|&i| i >= 60), "churn replaced nodes");
    assert_eq!(run(2), one);
    assert_eq!(run(3), one);
}

#[test]
fn memory_store_meets_the_store_contract() {
    dht_testkit::store_suite::run_all(dht_core::MemoryStore::new);
}

#[test]
fn a_warm_start_is_reproducible_and_only_starts_an_empty_network() {
    let run = |seed| {
        let mut sim = Simulation::new(SimConfig::new(seed), |peer| Kademlia::new(peer, KademliaConfig::default()));
        assert!(sim.warm_start(300));
        assert_eq!(sim.live_count(), 300);
        let (stored, _) = workload::put_all(&mut sim, &workload::keys(50, seed));
        assert_eq!(stored.len(), 50);
        let (_, missing) = workload::get_all(&mut sim, &stored);
        assert!(missing.is_empty());
        // A network that has nodes is not warm-started again.
        assert!(!sim.warm_start(10));
        assert_eq!(sim.live_count(), 300);
        sim.trace_digest()
    };
    assert_eq!(run(8), run(8));
    assert_ne!(run(8), run(9));
}

#[test]
fn a_network_the_overlay_cannot_warm_start_is_left_untouched() {
    use dht_core::mesh::Mesh;
    // The mesh overlay keeps `SimOverlay`'s default: no warm start.
    let mut sim = Simulation::new(SimConfig::new(3), Mesh::new);
    let before = sim.rng().clone().next_u64();
    assert!(!sim.warm_start(50));
    assert_eq!(sim.live_count(), 0);
    assert_eq!(sim.rng().next_u64(), before, "the random stream is untouched");
}

/// A restarted node numbers its operations afresh: the result of an
/// operation that finished just before its node was stopped is not taken
/// for the restarted node's operation with the same number.
#[test]
fn an_operation_of_a_restarted_node_is_not_confused_with_one_before_the_restart() {
    let mut sim = kademlia(SimConfig::new(5), 20);
    let key = Id::hash(b"before");
    let before = sim.put(3, key, "v1").expect("node 3 is up");
    assert!(sim.wait_for(&[before], Duration::from_secs(30)), "the put finished");
    sim.stop(3);
    assert!(sim.restart(3));
    // Operations of the new run, until one has the put's number.
    let mut after = sim.get(3, Id::hash(b"absent")).expect("node 3 is up again");
    for _ in 0..50 {
        if after.op == before.op {
            break;
        }
        assert!(sim.take_result(after).is_none(), "not finished yet");
        assert!(sim.wait_for(&[after], Duration::from_secs(30)));
        assert!(sim.take_result(after).is_some());
        after = sim.get(3, Id::hash(b"absent")).expect("node 3 is up");
    }
    assert_eq!((after.node, after.op), (before.node, before.op), "the same node and number, another run");
    assert!(sim.take_result(after).is_none(), "the put's result is not the new get's");
    assert!(sim.wait_for(&[after], Duration::from_secs(30)));
    assert!(matches!(sim.take_result(after).map(|e| e.outcome), Some(dht_core::OpOutcome::Get(_))));
    assert!(matches!(sim.take_result(before).map(|e| e.outcome), Some(dht_core::OpOutcome::Put(_))));
}
