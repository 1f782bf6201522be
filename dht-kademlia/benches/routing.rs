//! Kademlia's hot paths: a routing-table update, the choice of the closest
//! peers (next hops), and one step of a lookup (an answer taken, the next
//! requests chosen).
#![allow(missing_docs, clippy::expect_used)] // a benchmark harness

use criterion::{criterion_group, criterion_main, Criterion};
use dht_core::{Address, Id, Peer, Time};
use dht_kademlia::{ClosestPeers, KadMessage, RoutingTable};
use dht_testkit::lookup_step;
use std::hint::black_box;

fn peer(i: u32) -> Peer {
    Peer::new(Id::hash(&i.to_be_bytes()), Address::Memory(i))
}

fn routing(c: &mut Criterion) {
    let local = peer(u32::MAX);
    let mut table = RoutingTable::new(local.id, 20);
    for i in 0..5_000 {
        table.seen(&peer(i), Time(u64::from(i)));
    }
    let mut i = 0u32;
    c.bench_function("kademlia/table_seen", |b| {
        b.iter(|| {
            i = (i + 1) % 5_000;
            table.seen(black_box(&peer(i)), Time(10_000))
        })
    });
    let target = Id::hash(b"target");
    c.bench_function("kademlia/closest_20", |b| b.iter(|| table.closest(black_box(&target), 20, true)));
    let seeds = table.closest(&target, 20, true);
    let answer = KadMessage::Nodes(table.closest(&Id::hash(b"near target"), 20, true));
    c.bench_function("kademlia/lookup_step", |b| {
        b.iter_batched(
            || lookup_step::asked_once(ClosestPeers::new(target, local, seeds.clone(), 20, 3)),
            |asked| lookup_step::answered(asked, answer.clone()),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, routing);
criterion_main!(benches);
