//! The event queue: events ordered by virtual time, ties broken by the
//! order they were scheduled in, so a run is reproducible.

use dht_core::{Peer, Request, RequestId, Response, Time};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

pub(crate) enum EventKind<M> {
    Request { to: u32, from: Peer, from_index: u32, id: RequestId, request: Request<M> },
    Response { to: u32, id: RequestId, response: Response<M> },
    Wake { node: u32 },
    ChurnFailure { node: u32, epoch: u64 },
}

struct Scheduled<M> {
    at: Time,
    seq: u64,
    kind: EventKind<M>,
}

impl<M> PartialEq for Scheduled<M> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<M> Eq for Scheduled<M> {}
impl<M> PartialOrd for Scheduled<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<M> Ord for Scheduled<M> {
    // Reversed: BinaryHeap is a max-heap and the earliest event must come first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

pub(crate) struct Queue<M> {
    heap: BinaryHeap<Scheduled<M>>,
    seq: u64,
}

impl<M> Queue<M> {
    pub(crate) fn new() -> Self {
        Queue { heap: BinaryHeap::new(), seq: 0 }
    }

    pub(crate) fn push(&mut self, at: Time, kind: EventKind<M>) {
        self.seq += 1;
        self.heap.push(Scheduled { at, seq: self.seq, kind });
    }

    /// The next event due at or before `until`.
    pub(crate) fn pop_until(&mut self, until: Time) -> Option<(Time, EventKind<M>)> {
        if self.heap.peek()?.at > until {
            return None;
        }
        self.heap.pop().map(|s| (s.at, s.kind))
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}
