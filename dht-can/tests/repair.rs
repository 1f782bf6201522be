//! A CAN node gives up on a silent neighbour only after several failed
//! updates and a take-over timer; the copies a silent holder kept must not
//! wait as long: the node's replica check replaces them first.
#![allow(clippy::expect_used)]

use dht_can::{Can, CanConfig};
use dht_core::Id;
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;

#[test]
fn a_silent_holders_copies_are_replaced_before_its_zone_is_taken_over() {
    let config = SimConfig::new(3);
    let (holders, check) = (config.node.holders(), config.node.replica_check_interval);
    let mut sim = Simulation::new(config, |peer| Can::new(peer, CanConfig::default()));
    sim.grow(60, Duration::from_millis(200), Duration::from_secs(30));
    let keys: Vec<Id> = (0..40u32).map(|i| Id::hash(&i.to_be_bytes())).collect();
    let mut puts = Vec::new();
    for key in &keys {
        let node = sim.random_live_node().expect("a live node");
        puts.extend(sim.put(node, *key, "v"));
    }
    assert!(sim.wait_for(&puts, Duration::from_secs(60)), "every put ended");
    sim.run_for(Duration::from_secs(10));
    let held_by = |sim: &Simulation<Can>, node: u32| keys.iter().filter(|k| sim.holders(k).contains(&node)).count();
    let victim = sim.live_nodes().into_iter().max_by_key(|n| held_by(&sim, *n)).expect("a holder");
    let held: Vec<Id> = keys.iter().filter(|k| sim.holders(k).contains(&victim)).copied().collect();
    assert!(!held.is_empty());
    sim.crash(victim);
    // A check and a ping's time-out: here 2.3 s. Left to CAN, which drops
    // a neighbour after two failed requests (the ping and an update) and
    // then takes its zone over, it took 4.3 s.
    sim.run_for(check + Duration::from_secs(1));
    let short: Vec<usize> = held.iter().map(|k| sim.holders(k).len()).filter(|n| *n < holders).collect();
    assert!(
        short.is_empty(),
        "of {} keys the crashed node held, {} have fewer than {holders} copies: {short:?}",
        held.len(),
        short.len()
    );
}
