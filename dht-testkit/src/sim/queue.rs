//! The event queue: events ordered by virtual time, ties broken by the
//! order they were scheduled in, so a run is reproducible.
//!
//! Most events (messages, request timeouts) fall due within a few seconds,
//! so they go into a calendar: one first-in-first-out bucket per
//! millisecond of the next [`WINDOW_MS`], which costs O(1) to push and pop
//! where a binary heap's sifting was a tenth of a large simulation's time.
//! Later events (periodic timers, churn failures) wait in a heap and move
//! into the calendar, oldest scheduled first, as soon as their millisecond
//! enters the window, before anything else can be scheduled into it: a
//! bucket therefore always lists its events in scheduling order, the same
//! order a single heap keyed by (time, sequence) gives.
//!
//! The events themselves wait in a slab; the calendar and the heap hold
//! slot numbers.

use dht_core::{Peer, Request, RequestId, Response, Time};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Milliseconds the calendar covers (a power of two).
const WINDOW_MS: u64 = 1 << 12;

pub(crate) enum EventKind<M> {
    /// `client`: whether the sender is a client, which its receiver answers
    /// without taking it into its routing state.
    Request {
        to: u32,
        from: Peer,
        from_index: u32,
        client: bool,
        id: RequestId,
        request: Request<M>,
    },
    Response {
        to: u32,
        id: RequestId,
        response: Response<M>,
    },
    Wake {
        node: u32,
    },
}

pub(crate) struct Queue<M> {
    /// The earliest millisecond that may still hold events; the calendar
    /// covers `cursor .. cursor + WINDOW_MS`.
    cursor: u64,
    /// Bucket `t % WINDOW_MS` holds the slots of events due at `t`.
    calendar: Vec<VecDeque<usize>>,
    /// Events in the calendar.
    in_calendar: usize,
    /// Events due past the window: (when, scheduling order, slot).
    later: BinaryHeap<Reverse<(Time, u64, usize)>>,
    events: Vec<Option<EventKind<M>>>,
    free: Vec<usize>,
    seq: u64,
}

impl<M> Queue<M> {
    pub(crate) fn new() -> Self {
        Queue {
            cursor: 0,
            calendar: (0..WINDOW_MS).map(|_| VecDeque::new()).collect(),
            in_calendar: 0,
            later: BinaryHeap::new(),
            events: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }

    /// Schedules an event; `at` must not be earlier than the last event
    /// popped (the simulator never schedules into the past).
    pub(crate) fn push(&mut self, at: Time, kind: EventKind<M>) {
        debug_assert!(at.0 >= self.cursor, "event scheduled into the past");
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
        if at.0 < self.cursor + WINDOW_MS {
            self.file(at.0.max(self.cursor), slot);
        } else {
            self.later.push(Reverse((at, self.seq, slot)));
        }
    }

    /// The next event due at or before `until`.
    pub(crate) fn pop_until(&mut self, until: Time) -> Option<(Time, EventKind<M>)> {
        loop {
            if self.in_calendar == 0 {
                let &Reverse((next, _, _)) = self.later.peek()?;
                if next > until {
                    return None;
                }
                self.advance_to(next.0);
            }
            if self.cursor > until.0 {
                return None;
            }
            let index = (self.cursor % WINDOW_MS) as usize;
            if let Some(slot) = self.calendar[index].pop_front() {
                self.in_calendar -= 1;
                self.free.push(slot);
                return self.events.get_mut(slot)?.take().map(|kind| (Time(self.cursor), kind));
            }
            if self.cursor == until.0 {
                return None;
            }
            self.advance_to(self.cursor + 1);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.in_calendar + self.later.len()
    }

    /// When the next event falls due.
    pub(crate) fn next_due(&self) -> Option<Time> {
        if self.in_calendar > 0 {
            let due =
                (self.cursor..self.cursor + WINDOW_MS).find(|t| !self.calendar[(t % WINDOW_MS) as usize].is_empty());
            return due.map(Time);
        }
        self.later.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Events in the calendar due at or before `until` (later ones are not
    /// counted): how much work a window holds.
    pub(crate) fn due_by(&self, until: Time) -> usize {
        let last = until.0.min(self.cursor + WINDOW_MS - 1);
        (self.cursor..=last).map(|t| self.calendar[(t % WINDOW_MS) as usize].len()).sum()
    }

    /// Moves the window to start at `cursor`, bringing in the later events
    /// that now fall inside it.
    fn advance_to(&mut self, cursor: u64) {
        self.cursor = cursor;
        while let Some(&Reverse((at, _, slot))) = self.later.peek() {
            if at.0 >= cursor + WINDOW_MS {
                break;
            }
            self.later.pop();
            self.file(at.0, slot);
        }
    }

    fn file(&mut self, at: u64, slot: usize) {
        self.calendar[(at % WINDOW_MS) as usize].push_back(slot);
        self.in_calendar += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::Rng;

    /// Whatever the mix of near and far times, events come out in the order
    /// a heap keyed by (time, scheduling order) gives, including events
    /// scheduled while others are being popped.
    #[test]
    fn pops_in_time_then_scheduling_order() {
        let mut rng = Rng::new(3);
        let mut queue: Queue<()> = Queue::new();
        let mut reference = BinaryHeap::new();
        let (mut now, mut seq, mut popped) = (0u64, 0u64, 0usize);
        for round in 0..200u64 {
            for _ in 0..rng.below(40) {
                let delay = match rng.below(4) {
                    0 => 0,
                    1 => rng.below(50),
                    2 => rng.below(2 * WINDOW_MS),
                    _ => rng.below(20 * WINDOW_MS),
                };
                seq += 1;
                queue.push(Time(now + delay), EventKind::Wake { node: seq as u32 });
                reference.push(Reverse((now + delay, seq)));
            }
            let until = now + rng.below(3 * WINDOW_MS) * (round % 3);
            let earliest = reference.peek().map(|Reverse((at, _))| *at);
            assert_eq!(queue.next_due().map(|t| t.0), earliest);
            let in_calendar = |at: u64| at <= until && at < queue.cursor + WINDOW_MS;
            let due = reference.iter().filter(|Reverse((at, _))| in_calendar(*at)).count();
            assert_eq!(queue.due_by(Time(until)), due);
            while let Some((at, EventKind::Wake { node })) = queue.pop_until(Time(until)) {
                let Reverse((want_at, want_seq)) = reference.pop().expect("the reference has it");
                assert_eq!((at.0, u64::from(node)), (want_at, want_seq));
                assert!(at.0 <= until);
                popped += 1;
                if node % 3 == 0 {
                    // An event scheduled while the queue is being drained, as
                    // a delivered message schedules its answer.
                    let delay = rng.below(2 * WINDOW_MS / (1 + u64::from(node % 2) * 40));
                    seq += 1;
                    queue.push(Time(at.0 + delay), EventKind::Wake { node: seq as u32 });
                    reference.push(Reverse((at.0 + delay, seq)));
                }
            }
            assert!(reference.peek().is_none_or(|Reverse((at, _))| *at > until));
            now = until;
            assert_eq!(queue.len(), reference.len());
        }
        assert!(popped > 1000, "the test exercised the queue ({popped} events)");
    }
}
