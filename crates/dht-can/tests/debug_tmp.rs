#![allow(missing_docs)]
use dht_can::{Can, CanConfig, Space};
use dht_core::Overlay;
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;
fn idx(p: &dht_core::Peer) -> u32 { match p.addr { dht_core::Address::Memory(i) => i, _ => 0 } }
#[test]
fn dbg() {
    let mut config = SimConfig::new(7);
    config.node = dht_core::NodeConfig { repair_interval: Duration::from_secs(30), ..dht_core::NodeConfig::with_replicas(3) };
    let can = CanConfig { dimensions: 2, ..CanConfig::default() };
    let mut sim = Simulation::new(config, move |peer| Can::new(peer, can.clone()));
    sim.grow(1024, Duration::from_millis(10), Duration::from_secs(60));
    let space = Space::new(2);
    let vol: f64 = sim.live_nodes().iter().map(|&n| sim.node(n).unwrap().overlay().view().volume()).sum();
    println!("volume {vol}");
    let mut shown = 0;
    for _ in 0..2000 {
        let key = sim.rng().id();
        let n = sim.random_live_node().unwrap();
        let op = sim.find_peers(n, key).unwrap();
        sim.wait_for(&[op], Duration::from_secs(120));
        let e = sim.take_result(op).unwrap();
        let point = space.point(&key);
        let owner: Vec<u32> = sim.live_nodes().into_iter().filter(|&m| sim.node(m).unwrap().overlay().view().owns(&point)).collect();
        let ok = matches!(&e.outcome, dht_core::OpOutcome::FindPeers(p) if p.first().map(idx) == owner.first().copied());
        if !ok && shown < 3 {
            shown += 1;
            println!("fail from {n}: {:?} hops {} msgs {}; true owner {owner:?}", e.outcome, e.stats.hops, e.stats.messages);
            let mut cur = n;
            for _ in 0..40 {
                let v = sim.node(cur).unwrap().overlay().view();
                let c = v.closer(&point, 3);
                print!(" {cur}({:.4})", v.distance(&point));
                let Some(next) = c.first() else { println!(" stuck; own {:?} nbs {:?}", v.own(), v.neighbours().map(|o| (idx(&o.peer), o.zones)).collect::<Vec<_>>()); break };
                cur = idx(next);
                if owner.contains(&cur) { println!(" -> owner {cur}"); break; }
            }
        }
    }
}
