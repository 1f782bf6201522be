//! One request and its answer on loopback, three ways, side by side, so
//! that the cost of the node's path is read as a ratio to the cheapest:
//!
//! - `exchange/udp`: a 100-byte datagram and its echo on plain UDP
//!   sockets — the floor, a few system calls;
//! - `exchange/quic_transport`: the same bytes as a request and answer over
//!   [`QuicTransport`] (a stream on a reused connection);
//! - `exchange/node_get`: a get through a node's driver from the one other
//!   node holding the key — encoding, the driver's task, QUIC, the
//!   answering node's task and the store, and back.
#![allow(missing_docs, clippy::expect_used, clippy::disallowed_methods)] // a benchmark harness: spawns and blocks

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use dht_core::mesh::Mesh;
use dht_core::{driver, spawn, Id, MemoryStore, Node, NodeConfig, Overlay, Transport};
use dht_transport_quic::{Identity, QuicConfig, QuicTransport};
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

const PAYLOAD: usize = 100;

fn udp(c: &mut Criterion) {
    let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let address = server.local_addr().expect("address");
    std::thread::spawn(move || {
        let mut buffer = [0u8; 2048];
        while let Ok((n, from)) = server.recv_from(&mut buffer) {
            if server.send_to(&buffer[..n], from).is_err() {
                break;
            }
        }
    });
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    client.connect(address).expect("connect");
    let request = [7u8; PAYLOAD];
    let mut answer = [0u8; 2048];
    c.bench_function("exchange/udp", |b| {
        b.iter(|| {
            client.send(&request).expect("send");
            client.recv(&mut answer).expect("recv")
        })
    });
}

fn quic(name: &str) -> QuicTransport {
    let loopback = "127.0.0.1:0".parse().expect("address");
    QuicTransport::bind(loopback, Identity::generate().expect("key"), QuicConfig::new(name, "bench")).expect("bind")
}

fn quic_transport(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (client, server) = runtime.block_on(async {
        let server = Arc::new(quic("echo"));
        let answering = server.clone();
        tokio::spawn(async move {
            while let Some(incoming) = answering.accept().await {
                incoming.reply.respond(incoming.frame);
            }
        });
        (quic("echo"), server)
    });
    let request = Bytes::from(vec![7u8; PAYLOAD]);
    let to = server.local();
    c.bench_function("exchange/quic_transport", |b| {
        b.iter(|| runtime.block_on(client.request(&to, request.clone(), Duration::from_secs(5))).expect("answered"))
    });
}

fn node_get(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut config = NodeConfig::with_replicas(1);
    config.read_quorum = 1;
    // Tens of thousands of gets a second from one peer: over the default
    // per-peer and per-network rates, which would refuse them.
    config.limits.requests_per_second = u32::MAX;
    config.limits.request_burst = u32::MAX;
    let start = |seed: u64| {
        let transport: Arc<dyn Transport> = Arc::new(quic(Mesh::NAME));
        let node =
            Node::new(Mesh::new(transport.local()), MemoryStore::default(), config.clone(), seed, driver::wall_clock());
        spawn(node, transport)
    };
    // The holder's handle is kept: a node stops when its last handle goes.
    let (_holder, reader, key) = runtime.block_on(async {
        let (holder, reader) = (start(1), start(2));
        holder.bootstrap(Vec::new()).await.expect("starts");
        reader.bootstrap(vec![holder.local()]).await.expect("joins");
        // A key the holder is the one replica of, put through the holder.
        let key = (0u32..)
            .map(|i| Id::hash(&i.to_be_bytes()))
            .find(|k| k.distance(&holder.local().id) < k.distance(&reader.local().id))
            .expect("a key nearer the holder");
        holder.put(key, vec![7u8; PAYLOAD]).await.expect("stored");
        (holder, reader, key)
    });
    c.bench_function("exchange/node_get", |b| {
        b.iter(|| runtime.block_on(reader.get(key)).expect("got").expect("found"))
    });
}

criterion_group!(benches, udp, quic_transport, node_get);
criterion_main!(benches);
