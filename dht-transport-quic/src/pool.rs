//! The table of open connections, and the rules that keep one host from
//! filling it: one connection per peer id, a few per remote address and per
//! public network, and, when the table is full, the least recently used
//! connection a peer opened to us closed first (connections this node
//! opened are to peers it chose to talk to: its routing peers).
//!
//! Generic over the connection so the rules are tested without sockets.

use dht_core::{Address, Id, NetPrefix};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Two connections between the same pair of nodes opened within this of
/// each other crossed: both nodes dialed at once.
const CROSSING: Duration = Duration::from_secs(2);

/// Why a connection that crossed another is closed.
const CROSSED: &[u8] = b"a connection opened by the lower id is kept";

/// What the pool needs of a connection.
pub(crate) trait Link: Clone {
    /// Identifies this connection among others to the same peer.
    fn stable_id(&self) -> usize;
    /// Whether it has closed.
    fn is_closed(&self) -> bool;
    /// Closes it, telling the peer why.
    fn close(&self, reason: &'static [u8]);
}

impl Link for quinn::Connection {
    fn stable_id(&self) -> usize {
        quinn::Connection::stable_id(self)
    }
    fn is_closed(&self) -> bool {
        self.close_reason().is_some()
    }
    fn close(&self, reason: &'static [u8]) {
        quinn::Connection::close(self, 0u32.into(), reason);
    }
}

/// How many connections the pool holds, in all and from one place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolLimits {
    pub(crate) max: usize,
    pub(crate) per_address: usize,
    pub(crate) per_network: usize,
}

#[derive(Debug)]
struct Entry<C> {
    conn: C,
    remote: SocketAddr,
    /// The id of the side that opened it.
    opener: Id,
    /// This node opened it.
    dialed: bool,
    opened: Instant,
    last_used: u64,
}

/// Open connections by peer id.
#[derive(Debug)]
pub(crate) struct Pool<C> {
    local: Id,
    limits: PoolLimits,
    entries: HashMap<Id, Entry<C>>,
    /// A counter, not a clock: what "least recently used" orders by.
    uses: u64,
}

/// The public network of a remote address, if it has one (loopback,
/// private and link-local addresses are exempt from network caps).
pub(crate) fn network_of(remote: SocketAddr) -> Option<NetPrefix> {
    Address::Socket(remote).net_prefix()
}

impl<C: Link> Pool<C> {
    pub(crate) fn new(local: Id, limits: PoolLimits) -> Pool<C> {
        Pool { local, limits, entries: HashMap::new(), uses: 0 }
    }

    /// The open connection to `id`, marked as just used.
    pub(crate) fn get(&mut self, id: &Id) -> Option<C> {
        self.uses += 1;
        let entry = self.entries.get_mut(id)?;
        if entry.conn.is_closed() {
            self.entries.remove(id);
            return None;
        }
        entry.last_used = self.uses;
        Some(entry.conn.clone())
    }

    /// Connections open now.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether a peer at `remote` may open one more connection: checked
    /// before its handshake, so a capped host costs no handshake.
    pub(crate) fn has_room_from(&mut self, remote: SocketAddr) -> bool {
        self.entries.retain(|_, e| !e.conn.is_closed());
        let network = network_of(remote);
        let same_address = self.entries.values().filter(|e| e.remote == remote).count();
        let same_network =
            network.map_or(0, |n| self.entries.values().filter(|e| network_of(e.remote) == Some(n)).count());
        same_address < self.limits.per_address && same_network < self.limits.per_network
    }

    /// Takes a connection to `id` at `remote`, opened by this node
    /// (`dialed`) or by the peer. Returns false, having closed it, when it
    /// is refused.
    ///
    /// One connection per id: when both sides dial at once, each ends up
    /// with two; both keep the one opened by the lower id, so they keep the
    /// same one. A connection from an id that already has one otherwise
    /// replaces it: the peer restarted (its old connection is dead even if
    /// this side has not noticed yet), or reconnected.
    pub(crate) fn insert(&mut self, id: Id, conn: C, remote: SocketAddr, dialed: bool, now: Instant) -> bool {
        self.uses += 1;
        let opener = if dialed { self.local } else { id };
        if let Some(old) = self.entries.get(&id).filter(|e| !e.conn.is_closed()) {
            if old.conn.stable_id() == conn.stable_id() {
                return true;
            }
            let crossed = old.opener != opener && now.saturating_duration_since(old.opened) < CROSSING;
            if crossed && old.opener < opener {
                conn.close(CROSSED);
                return false;
            }
            old.conn.close(if crossed { CROSSED } else { b"replaced" });
            self.entries.remove(&id);
        } else if !self.has_room_from(remote) {
            conn.close(b"too many connections from one address or network");
            return false;
        }
        if self.entries.len() >= self.limits.max {
            self.evict_one();
        }
        self.entries.insert(id, Entry { conn, remote, opener, dialed, opened: now, last_used: self.uses });
        true
    }

    /// Closes the least recently used connection a peer opened, or, if
    /// this node opened them all, the least recently used one.
    fn evict_one(&mut self) {
        let victim = self.entries.iter().min_by_key(|(_, e)| (e.dialed, e.last_used)).map(|(id, _)| *id);
        if let Some(id) = victim {
            if let Some(entry) = self.entries.remove(&id) {
                entry.conn.close(b"connection table full");
            }
        }
    }

    /// Forgets `id`'s connection if it is `conn` (it closed).
    pub(crate) fn remove(&mut self, id: &Id, conn: &C) {
        if self.entries.get(id).is_some_and(|e| e.conn.stable_id() == conn.stable_id()) {
            self.entries.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[derive(Clone, Debug)]
    struct Fake {
        id: usize,
        closed: Rc<Cell<bool>>,
    }

    impl Link for Fake {
        fn stable_id(&self) -> usize {
            self.id
        }
        fn is_closed(&self) -> bool {
            self.closed.get()
        }
        fn close(&self, _reason: &'static [u8]) {
            self.closed.set(true);
        }
    }

    fn fake(id: usize) -> Fake {
        Fake { id, closed: Rc::new(Cell::new(false)) }
    }

    fn id(n: u8) -> Id {
        let mut bytes = [0u8; 32];
        bytes[0] = n;
        Id(bytes)
    }

    #[allow(clippy::disallowed_methods)] // a test of the I/O edge reads the clock
    fn now() -> Instant {
        Instant::now()
    }

    fn limits() -> PoolLimits {
        PoolLimits { max: 4, per_address: 2, per_network: 3 }
    }

    fn public(host: u8, port: u16) -> SocketAddr {
        ([203, 0, 113, host], port).into()
    }

    #[test]
    fn a_new_connection_from_an_id_replaces_and_closes_the_old() {
        let mut pool = Pool::new(id(1), limits());
        let (old, new) = (fake(1), fake(2));
        assert!(pool.insert(id(9), old.clone(), public(1, 1), false, now()));
        assert!(pool.insert(id(9), new.clone(), public(1, 1), false, now()));
        assert!(old.is_closed(), "the old one is closed, not left serving");
        assert_eq!(pool.get(&id(9)).map(|c| c.id), Some(2));
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn crossed_dials_keep_the_one_the_lower_id_opened_on_both_sides() {
        // Nodes 1 and 9 dial each other at once; each sees both connections.
        let (by_1, by_9) = (fake(10), fake(90));
        let mut at_1 = Pool::new(id(1), limits());
        assert!(at_1.insert(id(9), by_1.clone(), public(9, 1), true, now()));
        assert!(!at_1.insert(id(9), by_9.clone(), public(9, 1), false, now()));
        let mut at_9 = Pool::new(id(9), limits());
        assert!(at_9.insert(id(1), by_9.clone(), public(1, 1), true, now()));
        assert!(at_9.insert(id(1), by_1.clone(), public(1, 1), false, now()));
        assert_eq!(at_1.get(&id(9)).map(|c| c.id), Some(10));
        assert_eq!(at_9.get(&id(1)).map(|c| c.id), Some(10));
    }

    /// A peer that restarted dials again while this side still holds the
    /// dead connection this side opened long ago: the new one wins, whatever
    /// the ids.
    #[test]
    fn a_restarted_peer_replaces_an_old_connection_whoever_opened_it() {
        let mut pool = Pool::new(id(1), limits());
        let (old, new) = (fake(1), fake(2));
        let long_ago = now();
        assert!(pool.insert(id(9), old.clone(), public(9, 1), true, long_ago));
        assert!(pool.insert(id(9), new, public(9, 1), false, long_ago + CROSSING * 3));
        assert!(old.is_closed());
        assert_eq!(pool.get(&id(9)).map(|c| c.id), Some(2));
    }

    #[test]
    fn one_address_and_one_network_hold_only_a_few() {
        let mut pool = Pool::new(id(0), PoolLimits { max: 100, ..limits() });
        assert!(pool.insert(id(1), fake(1), public(1, 1), false, now()));
        assert!(pool.insert(id(2), fake(2), public(1, 1), false, now()));
        let third = fake(3);
        assert!(!pool.insert(id(3), third.clone(), public(1, 1), false, now()), "a third from one address");
        assert!(third.is_closed());
        assert!(pool.insert(id(4), fake(4), public(2, 1), false, now()));
        assert!(!pool.insert(id(5), fake(5), public(3, 1), false, now()), "a fourth from one /24");
        assert!(!pool.has_room_from(public(4, 1)));
        // Loopback has no network: only the per-address cap applies.
        for n in 10..20u8 {
            assert!(pool.insert(id(n), fake(usize::from(n)), ([127, 0, 0, 1], u16::from(n)).into(), false, now()));
        }
    }

    #[test]
    fn a_full_table_closes_the_least_recently_used_accepted_connection() {
        let mut pool = Pool::new(id(0), PoolLimits { max: 3, per_address: 9, per_network: 9 });
        let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let (dialed, a, b) = (fake(1), fake(2), fake(3));
        assert!(pool.insert(id(1), dialed.clone(), local(1), true, now()));
        assert!(pool.insert(id(2), a.clone(), local(2), false, now()));
        assert!(pool.insert(id(3), b.clone(), local(3), false, now()));
        pool.get(&id(2));
        assert!(pool.insert(id(4), fake(4), local(4), false, now()));
        assert!(b.is_closed(), "the least recently used accepted one goes");
        assert!(!dialed.is_closed() && !a.is_closed());
        assert_eq!(pool.len(), 3);
    }
}
