//! Chord's hot paths: a ring-view update, the choice of the next hop
//! (closest preceding nodes), and one step of a lookup.
#![allow(missing_docs, clippy::expect_used)] // a benchmark harness

use criterion::{criterion_group, criterion_main, Criterion};
use dht_chord::{ChordLookup, ChordMessage, Ring};
use dht_core::{Address, Id, Peer};
use dht_testkit::lookup_step;
use std::hint::black_box;

fn peer(i: u32) -> Peer {
    Peer::new(Id::hash(&i.to_be_bytes()), Address::Memory(i))
}

fn routing(c: &mut Criterion) {
    let local = peer(u32::MAX);
    let mut ring = Ring::new(local, 16);
    let mut others: Vec<Peer> = (0..1_000).map(peer).collect();
    others.sort_by_key(|p| local.id.ring_distance(&p.id));
    ring.set_successors(others[0], &others[1..16]);
    // A sparse finger table as in a 1,000-node ring: the top dozen bits
    // point past the successor list.
    for (bit, p) in (244u16..256).zip(others.iter().skip(16).step_by(80)) {
        ring.set_finger(bit, *p);
    }
    let mut i = 0usize;
    c.bench_function("chord/offer_successor", |b| {
        b.iter(|| {
            i = (i + 1) % others.len();
            ring.clone().offer_successor(black_box(others[i]))
        })
    });
    let target = Id::hash(b"target");
    c.bench_function("chord/closest_preceding_3", |b| b.iter(|| ring.closest_preceding(black_box(&target), 3)));
    let first = ring.closest_preceding(&target, 3);
    let answer = ChordMessage::Closer { next: others[20..23].to_vec(), beyond: Vec::new() };
    c.bench_function("chord/lookup_step", |b| {
        b.iter_batched(
            || lookup_step::asked_once(ChordLookup::new(target, first.clone())),
            |asked| lookup_step::answered(asked, answer.clone()),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, routing);
criterion_main!(benches);
