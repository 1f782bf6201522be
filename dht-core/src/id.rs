//! 256-bit identifiers shared by nodes and keys, with the two metrics the
//! overlays route by: XOR distance (Kademlia) and clockwise ring distance (Chord).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Number of bits in an [`Id`].
pub const ID_BITS: usize = 256;

/// A 256-bit identifier: a node id or a key, in one space so that keys are
/// placed on the nodes whose ids are near them.
///
/// Bytes are big-endian: byte 0 holds the most significant bits, and `Ord`
/// is numeric order on the ring.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Id(pub [u8; 32]);

// The comparisons and the ring arithmetic below are `#[inline]`: overlays
// call them in their inner loops from other crates, where a function that
// is not generic is otherwise a call each time.
impl Ord for Id {
    #[inline]
    fn cmp(&self, other: &Id) -> std::cmp::Ordering {
        numeric_order(&self.0, &other.0)
    }
}

impl PartialOrd for Id {
    #[inline]
    fn partial_cmp(&self, other: &Id) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The XOR of two ids, ordered numerically: smaller means closer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Distance(pub [u8; 32]);

impl Ord for Distance {
    #[inline]
    fn cmp(&self, other: &Distance) -> std::cmp::Ordering {
        numeric_order(&self.0, &other.0)
    }
}

/// Numeric order of two big-endian 256-bit numbers, eight bytes at a time:
/// lookups, tables and rings sort and search by ids and distances
/// constantly, the first word nearly always decides, and the byte-wise
/// order a derive gives goes through a `memcmp` call (a tenth of a Chord
/// simulation's time).
#[inline]
fn numeric_order(a: &[u8; 32], b: &[u8; 32]) -> std::cmp::Ordering {
    let word = |x: &[u8; 32], i: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&x[i * 8..i * 8 + 8]);
        u64::from_be_bytes(bytes)
    };
    (0..4).map(|i| word(a, i).cmp(&word(b, i))).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
}

impl PartialOrd for Distance {
    #[inline]
    fn partial_cmp(&self, other: &Distance) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Id {
    /// The all-zero id.
    pub const ZERO: Id = Id([0; 32]);
    /// The all-ones id (the largest on the ring).
    pub const MAX: Id = Id([0xff; 32]);

    /// The id of arbitrary bytes: their blake3 hash. Keys are made this way,
    /// so a user's key names spread uniformly over the space.
    pub fn hash(bytes: &[u8]) -> Id {
        Id(*blake3::hash(bytes).as_bytes())
    }

    /// The raw big-endian bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// XOR distance to `other`: a metric (zero only to itself, symmetric,
    /// triangle inequality), the one Kademlia routes by.
    #[inline]
    pub fn distance(&self, other: &Id) -> Distance {
        let mut out = [0u8; 32];
        for (o, (a, b)) in out.iter_mut().zip(self.0.iter().zip(other.0.iter())) {
            *o = a ^ b;
        }
        Distance(out)
    }

    /// `self + other` modulo 2^256.
    #[inline]
    pub fn wrapping_add(&self, other: &Id) -> Id {
        let (a, b) = (self.limbs(), other.limbs());
        let mut out = [0u64; 4];
        let mut carry = false;
        for i in (0..4).rev() {
            let (s, c1) = a[i].overflowing_add(b[i]);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            out[i] = s;
            carry = c1 || c2;
        }
        Id::from_limbs(out)
    }

    /// `self - other` modulo 2^256.
    #[inline]
    pub fn wrapping_sub(&self, other: &Id) -> Id {
        let (a, b) = (self.limbs(), other.limbs());
        let mut out = [0u64; 4];
        let mut borrow = false;
        for i in (0..4).rev() {
            let (d, b1) = a[i].overflowing_sub(b[i]);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            out[i] = d;
            borrow = b1 || b2;
        }
        Id::from_limbs(out)
    }

    /// The id as four big-endian 64-bit limbs, most significant first:
    /// ring arithmetic a word at a time instead of a byte at a time.
    #[inline]
    fn limbs(&self) -> [u64; 4] {
        let mut limbs = [0u64; 4];
        for (limb, bytes) in limbs.iter_mut().zip(self.0.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes);
            *limb = u64::from_be_bytes(word);
        }
        limbs
    }

    #[inline]
    fn from_limbs(limbs: [u64; 4]) -> Id {
        let mut out = [0u8; 32];
        for (bytes, limb) in out.chunks_exact_mut(8).zip(limbs) {
            bytes.copy_from_slice(&limb.to_be_bytes());
        }
        Id(out)
    }

    /// 2^`bit` as an id (`bit` < 256); used for Chord finger starts.
    pub fn pow2(bit: usize) -> Id {
        let mut out = [0u8; 32];
        if bit < ID_BITS {
            out[31 - bit / 8] = 1 << (bit % 8);
        }
        Id(out)
    }

    /// Clockwise distance from `self` to `other` on the ring: `other - self`.
    #[inline]
    pub fn ring_distance(&self, other: &Id) -> Id {
        other.wrapping_sub(self)
    }

    /// Whether `self` lies in the ring interval `(from, to)`, open at both
    /// ends, going clockwise. When `from == to` the interval is the whole ring
    /// except that point.
    #[inline]
    pub fn in_open(&self, from: &Id, to: &Id) -> bool {
        if from == to {
            return self != from;
        }
        let span = from.ring_distance(to);
        let offset = from.ring_distance(self);
        offset != Id::ZERO && offset < span
    }

    /// Whether `self` lies in `(from, to]` going clockwise: the interval a
    /// Chord node `to` with predecessor `from` is responsible for. When
    /// `from == to` (a ring of one) it is the whole ring.
    #[inline]
    pub fn in_half_open(&self, from: &Id, to: &Id) -> bool {
        self == to || self.in_open(from, to)
    }

    /// The value of bit `i`, counting from the most significant (bit 0).
    #[inline]
    pub fn bit(&self, i: usize) -> bool {
        i < ID_BITS && (self.0[i / 8] >> (7 - i % 8)) & 1 == 1
    }

    /// A short hexadecimal prefix for logs.
    pub fn short(&self) -> String {
        self.0[..4].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Full lower-case hexadecimal form.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses the 64-character hexadecimal form.
    pub fn from_hex(s: &str) -> Option<Id> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Id(out))
    }

    /// The first 8 bytes as an integer: a uniform hash for hash maps, since
    /// ids are already hashes.
    #[inline]
    pub fn prefix_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(b)
    }
}

impl Distance {
    /// Number of leading zero bits; `256 - leading_zeros - 1` is the index
    /// of the Kademlia bucket a peer at this distance falls into.
    #[inline]
    pub fn leading_zeros(&self) -> usize {
        let mut n = 0;
        for b in self.0 {
            if b == 0 {
                n += 8;
            } else {
                return n + b.leading_zeros() as usize;
            }
        }
        n
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.short())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A hasher for maps keyed by [`Id`]: ids are uniform already, so the first
/// eight bytes are the hash. It is deterministic, which keeps map iteration
/// order — and so the simulator — the same from run to run.
#[derive(Default, Clone, Copy, Debug)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Whole eight-byte chunks are read in place: a chunk of unknown
        // length copied into a buffer was a call to `memcpy` each, and
        // hashing was a twentieth of a simulation.
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word: [u8; 8] = chunk.try_into().unwrap_or_default();
            self.0 = self.0.rotate_left(29) ^ u64::from_be_bytes(word);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.0 = self.0.rotate_left(29) ^ u64::from_be_bytes(word);
        }
    }
}

/// `BuildHasher` for [`IdHasher`].
pub type IdBuildHasher = std::hash::BuildHasherDefault<IdHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id() -> impl Strategy<Value = Id> {
        any::<[u8; 32]>().prop_map(Id)
    }

    proptest! {
        #[test]
        fn xor_is_a_metric(a in id(), b in id(), c in id()) {
            prop_assert_eq!(a.distance(&a), Distance::default());
            prop_assert_eq!(a.distance(&b), b.distance(&a));
            if a != b { prop_assert!(a.distance(&b) > Distance::default()); }
            // Triangle inequality: d(a,c) <= d(a,b) + d(b,c); for XOR it holds
            // in the stronger form d(a,c) <= d(a,b) xor-sum, checked by value.
            let ac = Id(a.distance(&c).0);
            let sum = Id(a.distance(&b).0).wrapping_add(&Id(b.distance(&c).0));
            let overflow = sum < Id(a.distance(&b).0);
            prop_assert!(overflow || ac <= sum);
        }

        /// Ids and distances order like their bytes, also when they share
        /// a prefix of any length (`b` keeps `a`'s first `shared` bytes).
        #[test]
        fn id_and_distance_order_is_byte_order(a in id(), tail in id(), shared in 0usize..=32) {
            let mut b = a;
            b.0[shared..].copy_from_slice(&tail.0[shared..]);
            prop_assert_eq!(a.cmp(&b), a.0.cmp(&b.0));
            prop_assert_eq!(Distance(a.0).cmp(&Distance(b.0)), a.0.cmp(&b.0));
        }

        #[test]
        fn add_then_sub_is_identity(a in id(), b in id()) {
            prop_assert_eq!(a.wrapping_add(&b).wrapping_sub(&b), a);
        }

        #[test]
        fn addition_carries_like_schoolbook_bytes(a in id(), b in id()) {
            let mut sum = [0u8; 32];
            let mut carry = 0u16;
            for i in (0..32).rev() {
                let s = u16::from(a.0[i]) + u16::from(b.0[i]) + carry;
                sum[i] = s as u8;
                carry = s >> 8;
            }
            prop_assert_eq!(a.wrapping_add(&b), Id(sum));
            prop_assert_eq!(Id(sum).wrapping_sub(&a), b);
        }

        #[test]
        fn interval_membership_matches_a_walk(from in any::<u8>(), to in any::<u8>(), x in any::<u8>()) {
            // On an 8-bit ring embedded in the top byte, compare with a walk.
            let mk = |v: u8| { let mut b = [0u8; 32]; b[0] = v; Id(b) };
            let mut expected = false;
            let mut cur = from.wrapping_add(1);
            while cur != to {
                if cur == x { expected = true; }
                cur = cur.wrapping_add(1);
            }
            if from == to { expected = x != from; }
            prop_assert_eq!(mk(x).in_open(&mk(from), &mk(to)), expected);
            prop_assert_eq!(mk(x).in_half_open(&mk(from), &mk(to)), expected || x == to);
        }

        #[test]
        fn hex_round_trips(a in id()) {
            prop_assert_eq!(Id::from_hex(&a.to_hex()), Some(a));
        }
    }

    #[test]
    fn wrap_around_interval() {
        let near_max = Id::MAX.wrapping_sub(&Id::pow2(0));
        let one = Id::pow2(0);
        assert!(Id::MAX.in_open(&near_max, &one));
        assert!(Id::ZERO.in_open(&near_max, &one));
        assert!(!one.in_open(&near_max, &one));
        assert!(one.in_half_open(&near_max, &one));
        assert!(!Id::pow2(8).in_open(&near_max, &one));
    }

    #[test]
    fn bucket_index_from_leading_zeros() {
        assert_eq!(Id::ZERO.distance(&Id::pow2(255)).leading_zeros(), 0);
        assert_eq!(Id::ZERO.distance(&Id::pow2(0)).leading_zeros(), 255);
        assert_eq!(Id::ZERO.distance(&Id::ZERO).leading_zeros(), 256);
    }
}
