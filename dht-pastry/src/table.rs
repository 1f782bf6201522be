//! The routing table: row `l` holds, for each digit value `d`, one node
//! whose id shares the first `l` digits with this node's and has `d` as
//! its next digit. A lookup moves one digit closer to the key per hop.

use crate::digits::Digits;
use dht_core::{Id, Peer};

/// A node's routing table, rows added as entries arrive.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    local: Id,
    digits: Digits,
    rows: Vec<Vec<Option<Peer>>>,
}

impl RoutingTable {
    /// An empty table for node `local`.
    pub fn new(local: Id, digits: Digits) -> RoutingTable {
        RoutingTable { local, digits, rows: Vec::new() }
    }

    /// The slot `peer` belongs in (none for the local id).
    fn slot(&self, id: &Id) -> Option<(usize, usize)> {
        let row = self.digits.shared_prefix(&self.local, id);
        (row < self.digits.count()).then(|| (row, self.digits.digit(id, row)))
    }

    /// Takes `peer` if its slot is empty (an entry that keeps answering is
    /// kept: the paper replaces only by proximity, which this table does not
    /// measure); whether it was taken.
    pub fn offer(&mut self, peer: Peer) -> bool {
        let Some((row, column)) = self.slot(&peer.id) else { return false };
        if self.rows.len() <= row {
            self.rows.resize_with(row + 1, || vec![None; self.digits.base()]);
        }
        let cell = &mut self.rows[row][column];
        if cell.is_some() {
            return false;
        }
        *cell = Some(peer);
        true
    }

    /// Whether `peer` (this id at this address) is an entry.
    pub fn holds(&self, peer: &Peer) -> bool {
        self.slot(&peer.id).and_then(|(row, column)| self.get(row, column)) == Some(*peer)
    }

    /// The entry with `id`'s slot, whatever its id.
    pub fn at_slot_of(&self, id: &Id) -> Option<Peer> {
        self.slot(id).and_then(|(row, column)| self.get(row, column))
    }

    /// Whether `peer` would fill an empty slot.
    pub fn wants(&self, peer: &Peer) -> bool {
        self.slot(&peer.id).is_some_and(|(row, column)| self.get(row, column).is_none())
    }

    /// Drops `id`; whether it was an entry.
    pub fn remove(&mut self, id: &Id) -> bool {
        let Some((row, column)) = self.slot(id) else { return false };
        let Some(cell) = self.rows.get_mut(row).map(|r| &mut r[column]) else { return false };
        if cell.is_some_and(|p| p.id == *id) {
            *cell = None;
            while self.rows.last().is_some_and(|r| r.iter().all(Option::is_none)) {
                self.rows.pop();
            }
            return true;
        }
        false
    }

    /// The entry at `row`, `column`.
    pub fn get(&self, row: usize, column: usize) -> Option<Peer> {
        self.rows.get(row).and_then(|r| r.get(column).copied().flatten())
    }

    /// The entry a lookup for `key` goes to next: the node that shares one
    /// more digit with the key than this node does.
    pub fn next_hop(&self, key: &Id) -> Option<Peer> {
        let (row, column) = self.slot(key)?;
        self.get(row, column)
    }

    /// Entries of one row.
    pub fn row(&self, row: usize) -> Vec<Peer> {
        self.rows.get(row).map(|r| r.iter().flatten().copied().collect()).unwrap_or_default()
    }

    /// Rows holding at least one entry, and those below them.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = &Peer> {
        self.rows.iter().flatten().flatten()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries().count()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::Address;

    fn p(hex: &str) -> Peer {
        Peer::new(Id::from_hex(&format!("{hex:0<64}")).unwrap(), Address::Memory(0))
    }

    #[test]
    fn entries_go_to_the_row_of_the_shared_prefix_and_the_column_of_the_next_digit() {
        let mut table = RoutingTable::new(p("a5").id, Digits::new(4));
        assert!(table.offer(p("3")));
        assert!(table.offer(p("a7")));
        assert!(!table.offer(p("a71")), "slot (1, 7) is taken");
        assert!(!table.offer(p("a5")), "the local id has no slot");
        assert_eq!(table.get(0, 3), Some(p("3")));
        assert_eq!(table.get(1, 7), Some(p("a7")));
        assert_eq!(table.next_hop(&p("a7ff").id), Some(p("a7")));
        assert_eq!(table.next_hop(&p("a6").id), None);
        assert_eq!((table.len(), table.rows()), (2, 2));
        assert!(table.remove(&p("a7").id));
        assert!(!table.remove(&p("a7").id));
        assert_eq!((table.len(), table.rows()), (1, 1));
        assert!(table.wants(&p("a71")));
    }
}
