//! Threads that run shards' windows for the length of one
//! `Simulation::run_for`: started at its first window with enough events,
//! each takes a shard and the window's end, runs it, and hands the shard
//! back, so that a window costs two messages on a channel per thread rather
//! than a thread started and joined.

use super::network::Partitions;
use super::shard::{Net, Sent, Shard};
use super::SimConfig;
use dht_core::{SimOverlay, Time};
use std::collections::BTreeSet;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::Scope;

/// What the workers read: the simulation's settings and partitions as
/// `run_for` found them (neither changes while it runs). No adversary: a
/// simulation with one runs on its own thread.
pub(super) struct Shared {
    pub(super) config: SimConfig,
    pub(super) partitions: Partitions,
    pub(super) malicious: BTreeSet<u32>,
}

impl Shared {
    pub(super) fn net(&self) -> Net<'_> {
        Net { config: &self.config, partitions: &self.partitions, malicious: &self.malicious }
    }
}

/// A shard, the messages handed to it, and the end of the window to run.
type Job<O> = (Shard<O>, Vec<Vec<Sent<<O as dht_core::Overlay>::Message>>>, Time);

struct Worker<O: SimOverlay> {
    jobs: Sender<Job<O>>,
    done: Receiver<Shard<O>>,
}

pub(super) struct Workers<O: SimOverlay> {
    workers: Vec<Worker<O>>,
}

impl<O: SimOverlay> Workers<O> {
    /// Starts `count` threads in `scope`; they end when the pool is dropped.
    pub(super) fn start<'scope, 'env>(scope: &'scope Scope<'scope, 'env>, count: usize, shared: &'env Shared) -> Self {
        let workers = (0..count)
            .map(|_| {
                let (jobs, queued) = channel::<Job<O>>();
                let (finished, done) = channel();
                // The simulator's own threads, not protocol code.
                scope.spawn(move || {
                    let net = shared.net();
                    for (mut shard, handed, end) in queued {
                        shard.run_window(handed, end, &net, &mut None);
                        if finished.send(shard).is_err() {
                            break;
                        }
                    }
                });
                Worker { jobs, done }
            })
            .collect();
        Workers { workers }
    }

    /// Runs a window on every shard, given the messages handed to each:
    /// the first shard on this thread, each other on a worker, and puts
    /// them back in order. False if a worker is gone (it panicked; the
    /// scope re-raises that).
    pub(super) fn run(
        &self,
        shards: &mut Vec<Shard<O>>,
        handed: Vec<Vec<Vec<Sent<O::Message>>>>,
        end: Time,
        net: &Net,
    ) -> bool {
        let mut taken = std::mem::take(shards).into_iter().zip(handed);
        let Some((mut first, first_handed)) = taken.next() else { return true };
        for (worker, (shard, handed)) in self.workers.iter().zip(taken) {
            if worker.jobs.send((shard, handed, end)).is_err() {
                return false;
            }
        }
        first.run_window(first_handed, end, net, &mut None);
        shards.push(first);
        for worker in &self.workers {
            match worker.done.recv() {
                Ok(shard) => shards.push(shard),
                Err(_) => return false,
            }
        }
        true
    }
}
