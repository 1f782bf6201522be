//! Ids read as strings of digits in base 2^b, and the numeric distance
//! Pastry places keys by.

use dht_core::{Id, ID_BITS};

/// Base 2^`bits` digit arithmetic on ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digits {
    bits: u8,
}

impl Digits {
    /// Digits of `bits` bits each (1, 2, 4 or 8).
    pub fn new(bits: u8) -> Digits {
        debug_assert!(matches!(bits, 1 | 2 | 4 | 8));
        Digits { bits }
    }

    /// Values a digit takes: the columns of a routing-table row.
    pub fn base(self) -> usize {
        1 << self.bits
    }

    /// Digits in an id: the rows a routing table could have.
    pub fn count(self) -> usize {
        ID_BITS / usize::from(self.bits)
    }

    /// Digit `row` of `id`, counting from the most significant.
    pub fn digit(self, id: &Id, row: usize) -> usize {
        let bits = usize::from(self.bits);
        let first = row * bits;
        if first >= ID_BITS {
            return 0;
        }
        let byte = id.0[first / 8];
        let shift = 8 - bits - first % 8;
        usize::from((byte >> shift) & ((1u16 << bits) - 1) as u8)
    }

    /// The ids that share the first `row` digits with `id` and have
    /// `column` as their next digit: the range a routing-table slot is
    /// filled from, first and last id.
    pub fn slot_range(self, id: &Id, row: usize, column: usize) -> (Id, Id) {
        let bits = usize::from(self.bits);
        let (mut first, mut last) = (Id::ZERO, Id::MAX);
        for bit in 0..ID_BITS.min((row + 1) * bits) {
            let set = if bit < row * bits { id.bit(bit) } else { (column >> ((row + 1) * bits - 1 - bit)) & 1 == 1 };
            let mask = 0x80u8 >> (bit % 8);
            if set {
                first.0[bit / 8] |= mask;
            } else {
                last.0[bit / 8] &= !mask;
            }
        }
        (first, last)
    }

    /// Where `id` stands toward `key` in Pastry's routing order: fewer
    /// digits left unshared first, then numerically closer. A lookup moves
    /// only to nodes that rank lower than the one it is at.
    pub fn rank(self, id: &Id, key: &Id) -> (usize, Id) {
        (self.count() - self.shared_prefix(id, key), numeric_distance(id, key))
    }

    /// How many leading digits `a` and `b` share.
    pub fn shared_prefix(self, a: &Id, b: &Id) -> usize {
        a.distance(b).leading_zeros() / usize::from(self.bits)
    }
}

/// Numeric distance on the circular id space: the shorter way round. The
/// node numerically closest to a key is the key's root.
pub fn numeric_distance(a: &Id, b: &Id) -> Id {
    a.ring_distance(b).min(b.ring_distance(a))
}

/// The key's root among `sorted` ids (ascending): the one numerically
/// closest to it, the lower id on a tie. For checking lookups against the
/// truth in simulations and tests.
pub fn root_of(sorted: &[Id], key: &Id) -> Option<Id> {
    let len = sorted.len();
    if len == 0 {
        return None;
    }
    let at = sorted.partition_point(|id| id < key);
    [sorted[at % len], sorted[(at + len - 1) % len]].into_iter().min_by_key(|id| (numeric_distance(id, key), *id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(hex_prefix: &str) -> Id {
        Id::from_hex(&format!("{hex_prefix:0<64}")).unwrap()
    }

    #[test]
    fn hexadecimal_digits_are_nibbles_from_the_top() {
        let d = Digits::new(4);
        let a = id("a5c");
        assert_eq!((d.digit(&a, 0), d.digit(&a, 1), d.digit(&a, 2), d.digit(&a, 3)), (10, 5, 12, 0));
        assert_eq!(d.shared_prefix(&a, &id("a5f")), 2);
        assert_eq!(d.shared_prefix(&a, &a), d.count());
        assert_eq!((d.base(), d.count()), (16, 64));
    }

    #[test]
    fn a_slot_range_holds_the_ids_of_its_prefix() {
        let d = Digits::new(4);
        let (first, last) = d.slot_range(&id("a5c"), 1, 7);
        assert_eq!(first, id("a7"));
        assert_eq!(last, Id::from_hex(&format!("a7{}", "f".repeat(62))).unwrap());
        assert_eq!(d.slot_range(&id("a5c"), 0, 3).0, id("3"));
    }

    #[test]
    fn binary_and_byte_digits() {
        let a = id("c0");
        assert_eq!((Digits::new(1).digit(&a, 0), Digits::new(1).digit(&a, 1), Digits::new(1).digit(&a, 2)), (1, 1, 0));
        assert_eq!(Digits::new(8).digit(&a, 0), 0xc0);
        assert_eq!(Digits::new(2).digit(&a, 0), 3);
        assert_eq!(Digits::new(2).shared_prefix(&a, &id("d0")), 1);
    }

    #[test]
    fn the_root_is_the_numerically_closest_id_round_the_ring() {
        let sorted = [id("1"), id("8"), id("f")];
        assert_eq!(root_of(&sorted, &id("7")), Some(id("8")));
        assert_eq!(root_of(&sorted, &id("3")), Some(id("1")));
        assert_eq!(root_of(&sorted, &Id::MAX), Some(id("f")));
        assert_eq!(root_of(&sorted, &Id::ZERO), Some(id("1")), "past zero the lowest id is nearer than f");
        assert_eq!(root_of(&[], &Id::ZERO), None);
    }

    #[test]
    fn numeric_distance_goes_the_short_way_round() {
        let near_top = Id::MAX;
        let near_bottom = Id::pow2(0);
        assert_eq!(numeric_distance(&near_top, &near_bottom), Id::pow2(1));
        assert_eq!(numeric_distance(&near_bottom, &near_top), Id::pow2(1));
        assert_eq!(numeric_distance(&id("8"), &id("9")), id("1").wrapping_sub(&Id::ZERO));
    }
}
