//! Requests awaiting an answer, and when each of them times out.
//!
//! Every request a node sends waits here for its answer or its deadline,
//! and every message a node handles looks one up, so this is on the
//! hottest path of both the simulator and a real node. Request ids only
//! grow: the requests sit in a deque in id order, found by binary search,
//! and answers — which mostly come in the order the requests left — are
//! taken from near the front. Deadlines wait in a heap. An answered
//! request's deadline stays in the heap until it comes to the top, where it
//! is dropped; so the top is always a request still waiting, and the heap
//! holds at most the requests sent within one timeout. (Two B-trees, one
//! by id and one by deadline, cost two inserts and two removes a request.)

use super::RequestId;
use crate::Time;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Room kept after a burst of requests has been answered; more is given
/// back (a simulation holds a million nodes, most of them idle).
const KEPT_ROOM: usize = 16;

#[derive(Debug)]
pub(super) struct InFlight<T> {
    /// By id, ascending.
    requests: VecDeque<(RequestId, T)>,
    /// The deadlines of the requests waiting, and of some answered ones
    /// that are not at the top yet.
    deadlines: BinaryHeap<Reverse<(Time, RequestId)>>,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        InFlight { requests: VecDeque::new(), deadlines: BinaryHeap::new() }
    }
}

impl<T> InFlight<T> {
    /// Adds request `id`, newer than any added before, due by `deadline`.
    pub(super) fn insert(&mut self, id: RequestId, deadline: Time, request: T) {
        debug_assert!(self.requests.back().is_none_or(|(last, _)| *last < id), "request ids must grow");
        self.requests.push_back((id, request));
        self.deadlines.push(Reverse((deadline, id)));
    }

    /// Takes request `id` out, if it is still waiting.
    pub(super) fn remove(&mut self, id: RequestId) -> Option<T> {
        let taken = match self.requests.binary_search_by_key(&id, |(id, _)| *id) {
            Ok(at) => self.requests.remove(at).map(|(_, request)| request),
            Err(_) => None,
        };
        self.drop_answered_deadlines();
        taken
    }

    /// The waiting request with the earliest deadline, if that deadline is
    /// `now` or earlier; ties go to the oldest request.
    pub(super) fn expired(&self, now: Time) -> Option<RequestId> {
        self.deadlines.peek().filter(|Reverse((deadline, _))| *deadline <= now).map(|Reverse((_, id))| *id)
    }

    /// The earliest deadline of a waiting request.
    pub(super) fn next_deadline(&self) -> Option<Time> {
        self.deadlines.peek().map(|Reverse((deadline, _))| *deadline)
    }

    /// Requests waiting.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.requests.len()
    }

    /// Pops deadlines of requests no longer waiting off the top of the heap.
    fn drop_answered_deadlines(&mut self) {
        while let Some(Reverse((_, id))) = self.deadlines.peek() {
            if self.requests.binary_search_by_key(id, |(id, _)| *id).is_ok() {
                break;
            }
            self.deadlines.pop();
        }
        if self.requests.is_empty() {
            self.deadlines.clear();
            if self.requests.capacity() > KEPT_ROOM {
                self.requests = VecDeque::new();
            }
            if self.deadlines.capacity() > KEPT_ROOM {
                self.deadlines = BinaryHeap::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> RequestId {
        RequestId(n)
    }

    /// Deadlines expire earliest first, the older request first on a tie,
    /// and an answered request never expires nor holds the next deadline.
    #[test]
    fn expires_by_deadline_then_age_and_skips_answered_requests() {
        let mut waiting = InFlight::default();
        waiting.insert(id(1), Time(500), "a");
        waiting.insert(id(2), Time(300), "b");
        waiting.insert(id(3), Time(300), "c");
        waiting.insert(id(4), Time(900), "d");
        assert_eq!(waiting.next_deadline(), Some(Time(300)));
        assert_eq!(waiting.expired(Time(299)), None);
        assert_eq!(waiting.remove(id(2)), Some("b"), "answered before its deadline");
        assert_eq!(waiting.next_deadline(), Some(Time(300)), "request 3 still waits");
        assert_eq!(waiting.expired(Time(1_000)), Some(id(3)));
        assert_eq!(waiting.remove(id(3)), Some("c"));
        assert_eq!(waiting.remove(id(1)), Some("a"));
        assert_eq!(waiting.remove(id(1)), None, "taken once");
        assert_eq!(waiting.next_deadline(), Some(Time(900)), "answered deadlines do not linger at the top");
        assert_eq!(waiting.expired(Time(1_000)), Some(id(4)));
        assert_eq!(waiting.remove(id(4)), Some("d"));
        assert_eq!((waiting.len(), waiting.next_deadline()), (0, None));
    }

    /// Answers in any order find their requests; the heap never grows
    /// past the requests sent since the oldest one still waiting.
    #[test]
    fn answers_out_of_order_find_their_requests_and_the_heap_stays_bounded() {
        let mut waiting = InFlight::default();
        waiting.insert(id(0), Time(1_000_000), 0);
        for n in 1..=1_000u64 {
            waiting.insert(id(n), Time(10 + n % 7), n);
            if n % 3 == 0 {
                for m in [n, n - 2, n - 1] {
                    assert_eq!(waiting.remove(id(m)), Some(m));
                }
            }
        }
        assert_eq!(waiting.len(), 2, "requests 0 and 1,000");
        assert_eq!(waiting.next_deadline(), Some(Time(10 + 1_000 % 7)));
        assert_eq!(waiting.remove(id(1_000)), Some(1_000));
        assert_eq!(waiting.next_deadline(), Some(Time(1_000_000)));
        assert_eq!(waiting.deadlines.len(), 1, "every answered deadline was dropped on reaching the top");
        assert_eq!(waiting.remove(id(0)), Some(0));
        assert!(waiting.requests.capacity() <= KEPT_ROOM && waiting.deadlines.capacity() <= KEPT_ROOM);
    }
}
