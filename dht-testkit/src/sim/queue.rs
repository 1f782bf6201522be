//! The event queue: events ordered by virtual time, ties broken by the
//! order they were scheduled in, so a run is reproducible.
//!
//! The heap orders small keys (time, sequence, slot) and the events
//! themselves wait in a slab: a heap of whole events spent most of a large
//! simulation copying them up and down as it sifted.

use dht_core::{Peer, Request, RequestId, Response, Time};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub(crate) enum EventKind<M> {
    Request { to: u32, from: Peer, from_index: u32, id: RequestId, request: Request<M> },
    Response { to: u32, id: RequestId, response: Response<M> },
    Wake { node: u32 },
    ChurnFailure { node: u32, epoch: u64 },
}

pub(crate) struct Queue<M> {
    /// Earliest first: (when, scheduling order, slot in `events`).
    heap: BinaryHeap<Reverse<(Time, u64, usize)>>,
    events: Vec<Option<EventKind<M>>>,
    free: Vec<usize>,
    seq: u64,
}

impl<M> Queue<M> {
    pub(crate) fn new() -> Self {
        Queue { heap: BinaryHeap::new(), events: Vec::new(), free: Vec::new(), seq: 0 }
    }

    pub(crate) fn push(&mut self, at: Time, kind: EventKind<M>) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.events[slot] = Some(kind);
                slot
            }
            None => {
                self.events.push(Some(kind));
                self.events.len() - 1
            }
        };
        self.heap.push(Reverse((at, self.seq, slot)));
    }

    /// The next event due at or before `until`.
    pub(crate) fn pop_until(&mut self, until: Time) -> Option<(Time, EventKind<M>)> {
        let &Reverse((at, _, _)) = self.heap.peek()?;
        if at > until {
            return None;
        }
        let Reverse((at, _, slot)) = self.heap.pop()?;
        self.free.push(slot);
        self.events.get_mut(slot)?.take().map(|kind| (at, kind))
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}
