//! Real QUIC between driver nodes on 127.0.0.1, through sockets that lose,
//! delay, reorder and duplicate datagrams, and partition the network: what
//! a user must be able to rely on when the network misbehaves.
#![allow(clippy::expect_used, clippy::disallowed_methods, clippy::print_stdout)] // tests fail loudly, spawn freely and show what they measured

use bytes::Bytes;
use dht_chord::{Chord, ChordConfig};
use dht_core::{Address, Id, NodeHandle, Overlay, Peer, Transport};
use dht_kademlia::{Kademlia, KademliaConfig};
use dht_testkit::live::{self, LiveConfig, LiveNetwork};
use dht_transport_quic::faults::{FaultPlan, Faults};
use dht_transport_quic::{Identity, QuicConfig, QuicTransport};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// 5% loss, 20 ms ± 10 ms added delay (so reordering), 1% duplicates.
const BAD_LINKS: Faults =
    Faults { loss: 0.05, duplicate: 0.01, delay: Duration::from_millis(20), jitter: Duration::from_millis(10) };

fn faulty_quic(overlay: &'static str, plan: &Arc<FaultPlan>) -> impl FnMut(usize) -> Arc<dyn Transport> {
    let plan = plan.clone();
    move |_| {
        let mut config = QuicConfig::new(overlay, "faults");
        config.faults = Some(plan.clone());
        Arc::new(
            QuicTransport::bind("127.0.0.1:0".parse().expect("address"), Identity::generate().expect("key"), config)
                .expect("binds"),
        )
    }
}

fn chord() -> impl Fn(Peer) -> Chord + Clone {
    let mut config = ChordConfig::default();
    config.stabilize_interval = Duration::from_millis(250);
    move |peer| Chord::new(peer, config.clone())
}

fn kademlia() -> impl Fn(Peer) -> Kademlia + Clone {
    |peer| Kademlia::new(peer, KademliaConfig::default())
}

fn addr(node: &NodeHandle) -> SocketAddr {
    match node.local().addr {
        Address::Socket(addr) => addr,
        other => panic!("not a socket address: {other:?}"),
    }
}

fn entry(round: usize, i: usize) -> (Id, Bytes) {
    (Id::hash(format!("faults-key-{i}").as_bytes()), Bytes::from(format!("value-{i}-round-{round}")))
}

async fn within<T>(limit: Duration, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, f).await.expect("finished within the time limit")
}

/// Timeouts for a lossy link: QUIC recovers a lost datagram about a round
/// trip and a probe timeout later, so requests are given at least 500 ms
/// (the default floor, 250 ms, suits a clean LAN).
fn lossy_config(mut config: LiveConfig) -> LiveConfig {
    config.node.min_request_timeout = Duration::from_millis(500);
    config.node.request_timeout = Duration::from_secs(2);
    config
}

/// Puts `keys` keys and gets each through another node, and looks up as
/// many random ids, over links with loss, delay and duplicates.
async fn survives_bad_links<O: Overlay>(make: impl Fn(Peer) -> O + Clone) {
    let plan = FaultPlan::new(Faults::default(), 7);
    let config = lossy_config(LiveConfig { settle: Duration::from_secs(4), ..LiveConfig::default() });
    let net = live::start(make, faulty_quic(O::NAME, &plan), &config).await;
    plan.set_faults(BAD_LINKS);
    let n = net.nodes.len();
    let (mut puts, mut gets, mut lookups) = (0, 0, 0);
    let mut failures = Vec::new();
    let started = Instant::now();
    for i in 0..config.keys {
        let (key, value) = entry(0, i);
        match net.nodes[i % n].put(key, value.clone()).await {
            Ok(_) => puts += 1,
            Err(e) => failures.push(format!("put {i}: {e}")),
        }
        let t = Instant::now();
        match net.nodes[(i + n / 2) % n].get_with_stats(key).await {
            Ok((Some(r), _)) if r.value == value => gets += 1,
            other => failures.push(format!("get {i}: {other:?} after {:?}", t.elapsed())),
        }
        match net.nodes[(i + 3) % n].find_peers(Id::hash(&i.to_be_bytes())).await {
            Ok(peers) if !peers.is_empty() => lookups += 1,
            other => failures.push(format!("lookup {i}: {other:?}")),
        }
    }
    let (dropped, sent) = plan.counts();
    println!(
        "{}: {n} nodes, 5% loss, 20±10 ms delay, 1% duplicates: {puts}/{k} puts, {gets}/{k} gets, {lookups}/{k} lookups \
         in {:.1} s; {dropped} of {} datagrams dropped",
        O::NAME,
        started.elapsed().as_secs_f64(),
        dropped + sent,
        k = config.keys,
    );
    live::shutdown_all(&net.nodes).await;
    assert_eq!((puts, gets, lookups), (config.keys, config.keys, config.keys), "{failures:?}");
    assert!(dropped > 0, "the plan dropped nothing: the faults were not applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kademlia_puts_gets_and_lookups_succeed_over_lossy_delayed_links() {
    within(Duration::from_secs(180), survives_bad_links(kademlia())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chord_puts_gets_and_lookups_succeed_over_lossy_delayed_links() {
    within(Duration::from_secs(180), survives_bad_links(chord())).await;
}

/// Puts keys, cuts a third of the nodes off, overwrites half the keys and
/// adds new ones on the larger side, heals, and reads every acknowledged
/// write back through every node.
async fn partition_heals<O: Overlay>(make: impl Fn(Peer) -> O + Clone) {
    let plan = FaultPlan::new(Faults::default(), 11);
    let config = LiveConfig { nodes: 12, keys: 40, settle: Duration::from_secs(4), ..LiveConfig::default() };
    let net: LiveNetwork = live::start(make, faulty_quic(O::NAME, &plan), &config).await;
    let n = net.nodes.len();
    let mut latest: Vec<Option<Bytes>> = vec![None; config.keys * 3 / 2];
    for (i, slot) in latest.iter_mut().enumerate().take(config.keys) {
        let (key, value) = entry(0, i);
        if net.nodes[i % n].put(key, value.clone()).await.is_ok() {
            *slot = Some(value);
        }
    }
    let before = latest.iter().flatten().count();

    // The last third goes off on its own; the rest keeps writing.
    let cut: Vec<usize> = (n - n / 3..n).collect();
    plan.partition(cut.iter().map(|&i| addr(&net.nodes[i])));
    let majority: Vec<&NodeHandle> = net.nodes.iter().take(n - cut.len()).collect();
    let mut during = 0;
    for i in (0..config.keys).step_by(2).chain(config.keys..latest.len()) {
        let (key, value) = entry(1, i);
        if majority[i % majority.len()].put(key, value.clone()).await.is_ok() {
            latest[i] = Some(value);
            during += 1;
        }
    }
    plan.heal();
    tokio::time::sleep(config.node.repair_interval * 6 + config.node.request_timeout * 2).await;

    let mut unread = Vec::new();
    for (i, value) in latest.iter().enumerate() {
        let Some(value) = value else { continue };
        for reader in [&net.nodes[i % n], &net.nodes[cut[i % cut.len()]]] {
            match reader.get(Id::hash(format!("faults-key-{i}").as_bytes())).await {
                Ok(Some(r)) if r.value == value => {}
                other => unread.push(format!("key {i}: {other:?}")),
            }
        }
    }
    let acked = latest.iter().flatten().count();
    println!(
        "{}: {n} nodes, {} cut off: {before} writes before, {during} during the partition; after healing {} of {} \
         reads (through both sides) missed the latest acknowledged value",
        O::NAME,
        cut.len(),
        unread.len(),
        acked * 2,
    );
    live::shutdown_all(&net.nodes).await;
    assert_eq!(before, config.keys, "every write before the partition is acknowledged");
    assert!(during >= config.keys / 2, "most writes during the partition are acknowledged ({during})");
    assert!(unread.is_empty(), "{unread:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kademlia_keeps_every_acknowledged_write_through_a_partition_and_its_healing() {
    within(Duration::from_secs(180), partition_heals(kademlia())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chord_keeps_every_acknowledged_write_through_a_partition_and_its_healing() {
    within(Duration::from_secs(180), partition_heals(chord())).await;
}
