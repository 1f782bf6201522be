//! Reusable workloads on a [`Simulation`]: put many keys through random
//! nodes, get them back through other random nodes, with bounded
//! concurrency and bounded virtual time.

use crate::metrics::OpSample;
use crate::sim::{OpRef, SimConfig, Simulation};
use bytes::Bytes;
use dht_core::{Id, OpOutcome, Peer, SimOverlay, Store};
use std::time::Duration;

/// Operations started at once before waiting for them: a tenth of the
/// nodes, from 100 to 10,000. The more nodes, the more operations they
/// carry at once; and a workload of 10,000 operations in batches of 100
/// would leave a 100,000-node network minutes of virtual time of
/// maintenance to simulate for nothing.
fn batch_size<O: SimOverlay>(sim: &Simulation<O>) -> usize {
    (sim.live_count() / 10).clamp(100, 10_000)
}
/// Virtual time a batch may take.
const BATCH_LIMIT: Duration = Duration::from_secs(120);

/// A key, the value stored under it, and the node that stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The key.
    pub key: Id,
    /// The value put.
    pub value: Bytes,
    /// Index of the node it was put through.
    pub via: u32,
}

/// The keys of a workload: `count` distinct keys and values tied to `seed`.
pub fn keys(count: usize, seed: u64) -> Vec<(Id, Bytes)> {
    (0..count)
        .map(|i| (Id::hash(format!("key-{seed}-{i}").as_bytes()), Bytes::from(format!("value-{seed}-{i}"))))
        .collect()
}

/// Puts every key through a random live node. Returns the keys whose put
/// was acknowledged by a write quorum, and a sample per put.
pub fn put_all<O: SimOverlay>(sim: &mut Simulation<O>, keys: &[(Id, Bytes)]) -> (Vec<Stored>, Vec<OpSample>) {
    let mut stored = Vec::new();
    let mut samples = Vec::new();
    for batch in keys.chunks(batch_size(sim)) {
        let mut started = Vec::new();
        for (key, value) in batch {
            let Some(node) = sim.random_live_node() else { break };
            if let Some(op) = sim.put(node, *key, value.clone()) {
                started.push((op, key, value));
            }
        }
        sim.wait_for(&started.iter().map(|(op, ..)| *op).collect::<Vec<_>>(), BATCH_LIMIT);
        for (op, key, value) in started {
            let Some(event) = sim.take_result(op) else {
                samples.push(OpSample { hops: 0, messages: 0, latency_ms: 0, success: false });
                continue;
            };
            let ok = matches!(event.outcome, OpOutcome::Put(Ok(_)));
            samples.push(OpSample::from_event(&event, ok));
            if ok {
                stored.push(Stored { key: *key, value: value.clone(), via: op.node });
            }
        }
    }
    (stored, samples)
}

/// Gets every stored key through a random live node other than the one it
/// was put through. Returns a sample per get (success: the value put came
/// back) and the keys that did not come back. A get whose node went down
/// before it ended is asked again through another node, up to
/// [`GET_ATTEMPTS`] times in all, as a client whose node died would: the
/// network is judged on the answers it gives, not on the requesters it
/// loses.
pub fn get_all<O: SimOverlay>(sim: &mut Simulation<O>, stored: &[Stored]) -> (Vec<OpSample>, Vec<Id>) {
    let mut samples = Vec::new();
    let mut missing = Vec::new();
    for batch in stored.chunks(batch_size(sim)) {
        let mut pending: Vec<&Stored> = batch.iter().collect();
        for attempt in 1..=GET_ATTEMPTS {
            let mut started: Vec<(OpRef, &Stored)> = Vec::new();
            for s in pending.drain(..) {
                let Some(node) = other_live_node(sim, s.via) else { break };
                if let Some(op) = sim.get(node, s.key) {
                    started.push((op, s));
                }
            }
            sim.wait_for(&started.iter().map(|(op, _)| *op).collect::<Vec<_>>(), BATCH_LIMIT);
            for (op, s) in started {
                let event = sim.take_result(op);
                if event.is_none() && !sim.is_live(op.node) && attempt < GET_ATTEMPTS {
                    pending.push(s);
                    continue;
                }
                let ok = event.as_ref().is_some_and(|e| match &e.outcome {
                    OpOutcome::Get(Ok(Some(record))) => record.value == s.value,
                    _ => false,
                });
                samples.push(match &event {
                    Some(e) => OpSample::from_event(e, ok),
                    None => OpSample { hops: 0, messages: 0, latency_ms: 0, success: false },
                });
                if !ok {
                    missing.push(s.key);
                }
            }
            if pending.is_empty() {
                break;
            }
        }
    }
    (samples, missing)
}

/// Tries of one get whose requesting node goes down (see [`get_all`]).
pub const GET_ATTEMPTS: usize = 3;

/// Looks up `count` random targets from random live nodes; a sample per lookup.
pub fn lookups<O: SimOverlay>(sim: &mut Simulation<O>, count: usize) -> Vec<OpSample> {
    let mut samples = Vec::new();
    let mut remaining = count;
    while remaining > 0 {
        let n = remaining.min(batch_size(sim));
        remaining -= n;
        let mut started = Vec::new();
        for _ in 0..n {
            let target = sim.rng().id();
            let Some(node) = sim.random_live_node() else { break };
            started.extend(sim.find_peers(node, target));
        }
        sim.wait_for(&started, BATCH_LIMIT);
        for op in started {
            samples.push(match sim.take_result(op) {
                Some(e) => OpSample::from_event(&e, OpSample::succeeded(&e)),
                None => OpSample { hops: 0, messages: 0, latency_ms: 0, success: false },
            });
        }
    }
    samples
}

/// A random live node other than `not`, if there is one.
pub fn other_live_node<O: SimOverlay>(sim: &mut Simulation<O>, not: u32) -> Option<u32> {
    for _ in 0..64 {
        match sim.random_live_node() {
            Some(n) if n != not => return Some(n),
            None => return None,
            Some(_) => {}
        }
    }
    None
}

/// What [`restarts_under_writes`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartsOutcome {
    /// Keys with at least one acknowledged write.
    pub acked: usize,
    /// Keys whose latest acknowledged write no live node holds at the end.
    pub lost: usize,
    /// Gets of acknowledged keys, one per key after the quiet, that failed
    /// or returned an older write.
    pub failed_gets: usize,
}

/// The simulated twin of `dht soak --nodes 6 --kill-every 3` on seed
/// `seed`: six nodes with repair passes every 3 s, as the soak's; for 40 s
/// a random node is stopped every 3 s and restarted on its store 200 ms
/// later, while eight writes are kept in flight over 100 keys (one at a
/// time per key, so each key's writes are ordered); then 30 s of quiet, and
/// every key with an acknowledged write is read back. Returns the
/// simulation as it ended, for the caller to inspect.
pub fn restarts_under_writes<O: SimOverlay>(
    seed: u64,
    make_overlay: impl Fn(Peer) -> O + 'static,
) -> (Simulation<O>, RestartsOutcome) {
    const NODES: usize = 6;
    const KEYS: u32 = 100;
    const WRITERS: usize = 8;
    /// Steps of [`STEP`] between restarts; a node is back two steps after it was stopped.
    const STEPS_PER_RESTART: u32 = 30;
    const STEPS: u32 = 400;
    const QUIET: Duration = Duration::from_secs(30);
    const STEP: Duration = Duration::from_millis(100);
    let mut config = SimConfig::new(seed);
    config.node.repair_interval = Duration::from_secs(3);
    let mut sim = Simulation::new(config, make_overlay);
    sim.grow(NODES, Duration::from_millis(500), Duration::from_secs(20));
    let keys: Vec<Id> = (0..KEYS).map(|i| Id::hash(&i.to_be_bytes())).collect();
    // Per key: the latest acknowledged write, and the write in flight.
    let mut acked = vec![0u64; keys.len()];
    let mut writing: Vec<Option<(OpRef, u64)>> = vec![None; keys.len()];
    let mut written = 0u64;
    let mut stopped = None;
    for step in 0..STEPS {
        for (i, slot) in writing.iter_mut().enumerate() {
            if let Some((op, n)) = *slot {
                if let Some(e) = sim.take_result(op) {
                    if matches!(e.outcome, OpOutcome::Put(Ok(_))) {
                        acked[i] = acked[i].max(n);
                    }
                    *slot = None;
                }
            }
        }
        if step % STEPS_PER_RESTART == 0 {
            let live = sim.live_nodes();
            if let Some(&node) = live.get(sim.rng().index(live.len().max(1))) {
                sim.stop(node);
                // Its operations in flight never end.
                writing.iter_mut().filter(|w| w.is_some_and(|(op, _)| op.node == node)).for_each(|w| *w = None);
                stopped = Some(node);
            }
        } else if step % STEPS_PER_RESTART == 2 {
            if let Some(node) = stopped.take() {
                sim.restart(node);
            }
        }
        for _ in writing.iter().filter(|w| w.is_some()).count()..WRITERS {
            let i = sim.rng().index(keys.len());
            if writing[i].is_none() {
                written += 1;
                let op = sim.random_live_node().and_then(|n| sim.put(n, keys[i], written.to_string()));
                writing[i] = op.map(|op| (op, written));
            }
        }
        sim.run_for(STEP);
    }
    if let Some(node) = stopped {
        sim.restart(node);
    }
    sim.run_for(QUIET);
    let now = sim.now();
    let number = |bytes: &[u8]| std::str::from_utf8(bytes).ok()?.parse::<u64>().ok();
    let newest = |sim: &Simulation<O>, key: &Id| {
        sim.live_nodes().iter().filter_map(|n| number(&sim.store(*n)?.get(key, now)?.value)).max()
    };
    let acked: Vec<(Id, u64)> = keys.iter().zip(acked).filter(|(_, a)| *a > 0).map(|(k, a)| (*k, a)).collect();
    let lost = acked.iter().filter(|(key, a)| newest(&sim, key).is_none_or(|n| n < *a)).count();
    let mut failed_gets = 0;
    for (key, a) in &acked {
        let op = sim.random_live_node().and_then(|n| sim.get(n, *key));
        if let Some(op) = op {
            sim.wait_for(&[op], BATCH_LIMIT);
        }
        let got = op.and_then(|op| sim.take_result(op)).map(|e| e.outcome);
        let fresh = matches!(got, Some(OpOutcome::Get(Ok(Some(r)))) if number(&r.value).is_some_and(|v| v >= *a));
        failed_gets += usize::from(!fresh);
    }
    let outcome = RestartsOutcome { acked: acked.len(), lost, failed_gets };
    (sim, outcome)
}
