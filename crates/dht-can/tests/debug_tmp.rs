#![allow(missing_docs)]
use dht_can::{Can, CanConfig};
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;
#[test]
fn dbg() {
    let config = CanConfig { dimensions: 1, ..CanConfig::default() };
    let mut sim = Simulation::new(SimConfig::new(31), move |peer| Can::new(peer, config.clone()));
    sim.grow(300, Duration::from_millis(20), Duration::from_secs(30));
}
