//! A `dht node` killed with SIGKILL in the middle of writes and restarted on
//! its data directory comes back with the same identity and every record it
//! acknowledged. Real process, real QUIC on 127.0.0.1, real redb file.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stdout)] // tests fail loudly, spawn freely and show what they measured

mod common;

use common::{free_addr, start_node, temp_dir};
use dht_overlays::core::{NodeHandle, Role};
use dht_overlays::quic::{self, Options};
use dht_overlays::{Id, Kademlia, KademliaConfig};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Writers putting at once.
const WRITERS: usize = 8;
/// Acknowledged writes to wait for before the kill.
const ACKED_BEFORE_KILL: usize = 300;

/// A client node (stores nothing) joined through `addr`.
async fn client(addr: SocketAddr) -> NodeHandle {
    let mut options = Options::new("127.0.0.1:0".parse().unwrap());
    options.bootstrap = vec![addr];
    options.node.role = Role::Client;
    quic::start(|p| Kademlia::new(p, KademliaConfig::default()), options).await.expect("client starts").handle
}

fn node_id(first_line: &str) -> String {
    first_line.split_whitespace().nth(1).unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_writes_keeps_its_identity_and_every_acknowledged_record() {
    let dir = temp_dir("crash-restart");
    let addr = free_addr();
    let args = ["--listen", &addr.to_string(), "--data-dir", dir.to_str().unwrap()];
    let mut victim = start_node(&args);
    let id_before = node_id(&victim.first_line);
    let writer_node = client(addr).await;

    let acked: Arc<Mutex<Vec<(Id, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (node, acked, stop) = (writer_node.clone(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            // Bounded: stops when told, or after 10,000 writes.
            for i in 0..10_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let (key, value) = (dht_overlays::key(format!("crash-{w}-{i}")), format!("value-{w}-{i}"));
                if node.put(key, value.clone()).await.is_ok() {
                    acked.lock().unwrap().push((key, value));
                }
            }
        }));
    }
    let waited = Instant::now();
    while acked.lock().unwrap().len() < ACKED_BEFORE_KILL && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL while the writers are still writing.
    victim.child.kill().expect("kills");
    victim.child.wait().expect("reaped");
    let in_flight_at_kill = acked.lock().unwrap().len();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        tokio::time::timeout(Duration::from_secs(30), w).await.expect("writers stop").expect("writer ran");
    }
    writer_node.shutdown().await;
    let acked = acked.lock().unwrap().clone();
    assert!(
        in_flight_at_kill >= ACKED_BEFORE_KILL,
        "only {in_flight_at_kill} writes were acknowledged before the kill"
    );

    let restarted = start_node(&args);
    assert_eq!(node_id(&restarted.first_line), id_before, "a restarted node keeps its identity");
    let reader = client(addr).await;
    let mut lost = Vec::new();
    for (key, value) in &acked {
        match reader.get(*key).await {
            Ok(Some(record)) if record.value == value.as_bytes() => {}
            other => lost.push(format!("{value}: {other:?}")),
        }
    }
    reader.shutdown().await;
    drop(restarted);
    println!("{} writes acknowledged before SIGKILL, {} lost after the restart", acked.len(), lost.len());
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
}

/// A request to a node killed and restarted on the same address is answered
/// at once: the restarted node resets the connections of its previous run
/// (QUIC stateless reset, keyed by its identity), so the caller dials afresh
/// instead of waiting out the idle timeout on a dead connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_restarted_on_its_address_is_reached_again_at_once() {
    use dht_overlays::core::{wire, Request, Transport};
    use dht_overlays::quic::{Identity, QuicConfig, QuicTransport};
    use dht_overlays::Overlay;
    let dir = temp_dir("reset");
    let addr = free_addr();
    let args = ["--listen", &addr.to_string(), "--data-dir", dir.to_str().unwrap()];
    let mut node = start_node(&args);
    let caller = QuicTransport::bind(
        "127.0.0.1:0".parse().unwrap(),
        Identity::generate().unwrap(),
        QuicConfig::new(Kademlia::NAME, "main"),
    )
    .unwrap();
    let peer = caller.probe(addr, Duration::from_secs(5)).await.expect("node answers");
    let ping =
        bytes::Bytes::from(wire::encode(Kademlia::NAME, &Request::<<Kademlia as Overlay>::Message>::Ping).unwrap());
    caller.request(&peer, ping.clone(), Duration::from_secs(2)).await.expect("first request answered");

    node.child.kill().expect("kills");
    node.child.wait().expect("reaped");
    let _restarted = start_node(&args);
    // The idle timeout is 30 s: without the reset, each of these attempts
    // would time out on the dead connection.
    let mut attempts = 0;
    let answered = loop {
        attempts += 1;
        match caller.request(&peer, ping.clone(), Duration::from_secs(2)).await {
            Ok(_) => break true,
            Err(_) if attempts < 3 => {}
            Err(_) => break false,
        }
    };
    caller.close().await;
    assert!(answered, "the restarted node was not reached in {attempts} attempts of 2 s");
}
