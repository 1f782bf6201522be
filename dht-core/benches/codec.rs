//! The wire codec: encoding and decoding a store request carrying a
//! 100-byte record, and a value answer.
#![allow(missing_docs, clippy::expect_used)] // a benchmark harness

use criterion::{criterion_group, criterion_main, Criterion};
use dht_core::{wire, Id, Record, Request, Response, Time};
use std::hint::black_box;

fn codec(c: &mut Criterion) {
    let record = Record::new(Id::hash(b"key"), vec![7u8; 100], 1, Time::NEVER);
    let request = Request::<()>::Store(Box::new(record.clone()));
    let frame = wire::encode("bench", &request).expect("encodes");
    c.bench_function("codec/encode_store_100b", |b| b.iter(|| wire::encode("bench", black_box(&request))));
    c.bench_function("codec/decode_store_100b", |b| b.iter(|| wire::decode::<Request<()>>("bench", black_box(&frame))));
    let answer = wire::encode("bench", &Response::<()>::Value(Some(Box::new(record)))).expect("encodes");
    c.bench_function("codec/decode_value_100b", |b| {
        b.iter(|| wire::decode::<Response<()>>("bench", black_box(&answer)))
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
