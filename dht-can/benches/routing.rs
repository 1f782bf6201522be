//! CAN's hot paths, on a node of a 500-node simulated network (d = 4): a
//! neighbour's update taken in, the choice of the next hops towards a
//! point, and one step of a lookup.
#![allow(missing_docs, clippy::expect_used)] // a benchmark harness

use criterion::{criterion_group, criterion_main, Criterion};
use dht_can::{Can, CanConfig, CanLookup, CanMessage};
use dht_core::{Id, Overlay};
use dht_testkit::lookup_step;
use dht_testkit::sim::{SimConfig, Simulation};
use std::hint::black_box;
use std::time::Duration;

fn routing(c: &mut Criterion) {
    let mut sim = Simulation::new(SimConfig::new(7), |p| Can::new(p, CanConfig::default()));
    sim.grow(500, Duration::from_millis(10), Duration::from_secs(20));
    let can = sim.node(0).expect("node 0 is up").overlay().clone();
    let view = can.view();
    let neighbour = view.neighbours().next().expect("a neighbour");
    let theirs = view.theirs(&neighbour.peer.id);
    c.bench_function("can/heard_update", |b| {
        b.iter_batched(
            || view.clone(),
            |mut v| v.heard(neighbour.peer, neighbour.zones.clone(), black_box(theirs.clone())),
            criterion::BatchSize::SmallInput,
        )
    });
    let target = Id::hash(b"target");
    let point = view.space().point(&target);
    c.bench_function("can/closer_3", |b| b.iter(|| view.closer(black_box(&point), 3)));
    let first = view.closer(&point, 3);
    let answer = CanMessage::Closer(theirs.iter().map(|o| o.peer).take(3).collect());
    let local = can.local().id;
    c.bench_function("can/lookup_step", |b| {
        b.iter_batched(
            || lookup_step::asked_once(CanLookup::new(target, local, first.clone())),
            |asked| lookup_step::answered(asked, answer.clone()),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, routing);
criterion_main!(benches);
