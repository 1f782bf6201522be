//! The tokio driver over the in-memory transport: real async nodes, real
//! codec, real timers, with Kademlia routing.
#![allow(clippy::expect_used)] // test helpers fail loudly

use bytes::Bytes;
use dht_core::{spawn, Id, MemoryNetwork, MemoryStore, Node, NodeConfig, NodeHandle, Transport, TransportError};
use dht_kademlia::{Kademlia, KademliaConfig};
use std::sync::Arc;
use std::time::Duration;

async fn network(n: usize) -> (MemoryNetwork, Vec<NodeHandle>, Vec<Arc<dyn Transport>>) {
    let net = MemoryNetwork::new();
    let mut handles: Vec<NodeHandle> = Vec::new();
    let mut transports = Vec::new();
    for i in 0..n {
        let transport: Arc<dyn Transport> = Arc::new(net.endpoint(Id::hash(format!("node-{i}").as_bytes())));
        let mut config = NodeConfig::default();
        config.request_timeout = Duration::from_millis(500);
        let overlay = Kademlia::new(transport.local(), KademliaConfig::default());
        let node = Node::new(overlay, MemoryStore::default(), config, i as u64, dht_core::driver::wall_clock());
        let handle = spawn(node, transport.clone());
        let bootstrap = handles.first().map(|h| vec![h.local()]).unwrap_or_default();
        handle.bootstrap(bootstrap).await.expect("node running");
        handles.push(handle);
        transports.push(transport);
    }
    // Let join lookups finish; bounded by the test's own timeout.
    tokio::time::sleep(Duration::from_millis(300)).await;
    (net, handles, transports)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_through_one_node_get_through_every_other() {
    let result = tokio::time::timeout(Duration::from_secs(60), async {
        let (_net, nodes, _) = network(20).await;
        for (i, node) in nodes.iter().enumerate() {
            let key = Id::hash(format!("key-{i}").as_bytes());
            let acks = node.put(key, format!("value-{i}")).await.expect("put succeeds");
            assert!(acks >= 2, "write quorum of 3 replicas reached, got {acks}");
        }
        for i in 0..20 {
            let key = Id::hash(format!("key-{i}").as_bytes());
            let reader = &nodes[(i + 7) % 20];
            let record = reader.get(key).await.expect("get succeeds").expect("key found");
            assert_eq!(record.value, Bytes::from(format!("value-{i}")));
        }
        let missing = nodes[3].get(Id::hash(b"never put")).await.expect("get succeeds");
        assert!(missing.is_none());
    })
    .await;
    result.expect("finished within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_hides_the_value_and_leave_hands_records_off() {
    let result = tokio::time::timeout(Duration::from_secs(60), async {
        let (_net, nodes, _) = network(12).await;
        let key = Id::hash(b"doomed");
        nodes[0].put(key, "soon gone").await.expect("put");
        nodes[1].remove(key).await.expect("remove");
        assert_eq!(nodes[2].get(key).await.expect("get"), None);

        let kept = Id::hash(b"kept");
        nodes[0].put(kept, "still here").await.expect("put");
        let holders = nodes[4].find_peers(kept).await.expect("lookup");
        // Gracefully stop two of the key's replicas; the hand-off must keep it readable.
        for peer in holders.iter().take(2) {
            if let Some(h) = nodes.iter().find(|h| h.local() == *peer) {
                h.leave().await.expect("leave");
            }
        }
        let reader = nodes.iter().find(|h| !holders.iter().take(2).any(|p| *p == h.local())).expect("a reader");
        let record = reader.get(kept).await.expect("get").expect("found after leaves");
        assert_eq!(&record.value[..], b"still here");
    })
    .await;
    result.expect("finished within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_frames_get_no_answer_and_change_nothing() {
    let result = tokio::time::timeout(Duration::from_secs(30), async {
        let (net, nodes, _) = network(4).await;
        let key = Id::hash(b"k");
        nodes[0].put(key, "v").await.expect("put");
        let attacker = net.endpoint(Id::hash(b"attacker"));
        let target = nodes[1].local();
        for frame in [&b""[..], b"\x00\x00\x00\x05hello", b"\xff\xff\xff\xff", b"\x00\x00\x00\x01\x07"] {
            let answer = attacker.request(&target, Bytes::copy_from_slice(frame), Duration::from_millis(500)).await;
            assert_eq!(answer, Err(TransportError::NoAnswer));
        }
        let record = nodes[2].get(key).await.expect("get").expect("still there");
        assert_eq!(&record.value[..], b"v");
    })
    .await;
    result.expect("finished within the time limit");
}
