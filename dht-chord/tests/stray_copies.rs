//! A copy of a record far from its key — left by a get or put whose lookup
//! ended at a lagging view — goes to the key's true successors, found by a
//! lookup, and leaves the far node once a lookup finds that set still
//! there; it does not spread along fingers.
#![allow(clippy::expect_used)]

use dht_chord::{Chord, ChordConfig};
use dht_core::{Id, OpOutcome, Overlay, Record, Store};
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;

/// A 200-node ring holding one key on its successors, and a node
/// whose view does not reach the key planted with a copy of its own.
fn ring_with_a_stray_copy() -> (Simulation<Chord>, Id, Vec<u32>, u32) {
    let mut sim = Simulation::new(SimConfig::new(5), |peer| Chord::new(peer, ChordConfig::default()));
    sim.grow(200, Duration::from_millis(20), Duration::from_secs(60));
    let key = Id::hash(b"stray");
    let writer = sim.live_nodes()[0];
    let op = sim.put(writer, key, "v").expect("writer is live");
    sim.wait_for(&[op], Duration::from_secs(30));
    assert!(matches!(sim.take_result(op).map(|e| e.outcome), Some(OpOutcome::Put(Ok(_)))));
    let replicas = sim.holders(&key);
    let now = sim.now();
    let record: Record = sim.store(replicas[0]).and_then(|s| s.get(&key, now)).expect("held");
    let far = sim
        .live_nodes()
        .into_iter()
        .find(|n| !replicas.contains(n) && !sim.node(*n).expect("live").overlay().knows_replica_set(&key, 3))
        .expect("a node far from the key");
    sim.store(far).expect("live").put_with(record, now, &|_, _| true).expect("planted");
    (sim, key, replicas, far)
}

#[test]
fn a_stray_copy_far_from_its_key_is_handed_to_the_key_s_successors() {
    let (mut sim, key, replicas, far) = ring_with_a_stray_copy();
    // Watch every node that holds it on the way.
    let mut ever: Vec<u32> = Vec::new();
    for _ in 0..18 {
        sim.run_for(Duration::from_secs(5));
        ever.extend(sim.holders(&key));
    }
    ever.sort_unstable();
    ever.dedup();
    let strays: Vec<u32> = ever.into_iter().filter(|n| !replicas.contains(n) && *n != far).collect();
    assert!(strays.is_empty(), "nodes that held a copy on the way: {strays:?}");
    let holders = sim.holders(&key);
    assert!(!holders.contains(&far), "the far node handed its copy off: {holders:?}");
    assert_eq!(holders, replicas, "the copy went to the key's successors and nowhere else");
}

/// The far node cannot see whether the set it handed its copy to is still
/// there: when every member fails while the copy lingers, the copy is not
/// deleted on the strength of their old acknowledgements but handed to
/// the key's successors as they are then.
#[test]
fn a_stray_copy_outlives_the_set_it_was_handed_to() {
    let (mut sim, key, replicas, far) = ring_with_a_stray_copy();
    // The far node hands its copy off (a lookup and three pushes) and
    // keeps it as it lingers.
    sim.run_for(Duration::from_secs(10));
    assert!(sim.holders(&key).contains(&far), "the copy lingers after its hand-off");
    for replica in &replicas {
        sim.crash(*replica);
    }
    sim.run_for(Duration::from_secs(90));
    let holders = sim.holders(&key);
    let copies = sim.config().node.holders();
    assert_eq!(holders.len(), copies, "{copies} live copies again, the replicas' and the spare's: {holders:?}");
    assert!(!holders.contains(&far), "and the far node handed its copy off: {holders:?}");
}
