//! The coordinate space: a d-dimensional unit torus, points on it, and zones
//! (hyper-rectangles) that partition it.
//!
//! A zone is a node of the split tree: the path of halvings that made it,
//! the `j`-th halving cutting dimension `j mod d`. That one representation
//! makes the common questions cheap — a point lies in a zone when the
//! zone's path is a prefix of the point's interleaved coordinate bits; two
//! zones overlap when one path is a prefix of the other; a zone's sibling
//! and parent are one bit away — and the per-dimension extents, needed for
//! distances and adjacency, are read off the path bits.

use dht_core::Id;
use serde::{Deserialize, Serialize};

/// The most dimensions a space may have.
pub const MAX_DIMS: usize = 16;

/// Bits of a zone's split path: the deepest a zone can be.
pub const MAX_DEPTH: u8 = 128;

/// A zone: the region reached by `len` halvings, the `j`-th taking the
/// lower (bit 0) or upper (bit 1) half along dimension `j mod d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "(u128, u8)", into = "(u128, u8)")]
pub struct Zone {
    /// The halvings, most significant bit first; bits past `len` are zero.
    path: u128,
    /// How many halvings.
    len: u8,
}

impl Zone {
    /// The whole space: the first node's zone.
    pub const WHOLE: Zone = Zone { path: 0, len: 0 };

    /// Adds the zone to a fingerprint.
    pub fn fingerprint(&self, print: &mut dht_core::Fingerprint) {
        print.add(self.path as u64 ^ (self.path >> 64) as u64);
        print.add(u64::from(self.len));
    }

    /// A zone from its split path (`len` leading bits of `path`), or `None`
    /// if `len` is too deep or bits past `len` are set (bad input).
    pub fn from_path(path: u128, len: u8) -> Option<Zone> {
        let zone = Zone { path, len };
        (len <= MAX_DEPTH && path & !prefix_mask(len) == 0).then_some(zone)
    }

    /// How many halvings made this zone.
    pub fn depth(&self) -> u8 {
        self.len
    }

    /// Its share of the whole space, 2^-depth.
    pub fn volume(&self) -> f64 {
        (-f64::from(self.len)).exp2()
    }

    /// The two halves of this zone (lower, upper), or `None` at the maximum depth.
    pub fn split(&self) -> Option<(Zone, Zone)> {
        if self.len >= MAX_DEPTH {
            return None;
        }
        let bit = 1u128 << (127 - u32::from(self.len));
        let len = self.len + 1;
        Some((Zone { path: self.path, len }, Zone { path: self.path | bit, len }))
    }

    /// The other half of the zone this one was split from.
    pub fn sibling(&self) -> Option<Zone> {
        let last = self.len.checked_sub(1)?;
        Some(Zone { path: self.path ^ (1u128 << (127 - u32::from(last))), len: self.len })
    }

    /// The zone this one was split from.
    pub fn parent(&self) -> Option<Zone> {
        let len = self.len.checked_sub(1)?;
        Some(Zone { path: self.path & prefix_mask(len), len })
    }

    /// Whether the two zones share volume: one lies inside the other.
    pub fn overlaps(&self, other: &Zone) -> bool {
        let len = self.len.min(other.len);
        (self.path ^ other.path) & prefix_mask(len) == 0
    }

    /// Whether `other` lies inside this zone (or is it).
    pub fn contains_zone(&self, other: &Zone) -> bool {
        self.len <= other.len && self.overlaps(other)
    }

    /// This zone without the part `other` covers: nothing if `other`
    /// contains it, itself if they are apart, and otherwise the siblings
    /// along the split path down to `other`.
    pub fn minus(&self, other: &Zone) -> Vec<Zone> {
        if other.contains_zone(self) {
            return Vec::new();
        }
        if !self.overlaps(other) {
            return vec![*self];
        }
        let mut rest = Vec::new();
        let mut at = *other;
        while at.len > self.len {
            if let (Some(sibling), Some(parent)) = (at.sibling(), at.parent()) {
                rest.push(sibling);
                at = parent;
            }
        }
        rest
    }

    /// Whether `point` lies in this zone.
    pub fn contains(&self, point: &Point) -> bool {
        (self.path ^ point.morton) & prefix_mask(self.len) == 0
    }
}

/// A zone read from the network that is deeper than [`MAX_DEPTH`] or has
/// bits set past its depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadZone;

impl std::fmt::Display for BadZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("zone path too deep or with bits past its depth")
    }
}

impl TryFrom<(u128, u8)> for Zone {
    type Error = BadZone;
    fn try_from((path, len): (u128, u8)) -> Result<Zone, BadZone> {
        Zone::from_path(path, len).ok_or(BadZone)
    }
}

impl From<Zone> for (u128, u8) {
    fn from(zone: Zone) -> (u128, u8) {
        (zone.path, zone.len)
    }
}

/// The mask of the first `len` bits of a path.
fn prefix_mask(len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => u128::MAX,
        l => !(u128::MAX >> l),
    }
}

/// A point of the torus: one 64-bit fixed-point coordinate per dimension
/// (the unit interval scaled to 2^64), and the coordinates' bits
/// interleaved in split order for zone membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    coords: [u64; MAX_DIMS],
    morton: u128,
}

impl Point {
    /// The coordinate along dimension `dim`.
    pub fn coord(&self, dim: usize) -> u64 {
        self.coords.get(dim).copied().unwrap_or(0)
    }
}

/// A zone's extent along each dimension, for repeated adjacency tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent([Span; MAX_DIMS]);

/// One dimension of a zone: a dyadic interval of the circle, starting at
/// `lo` and `2^(64 - depth)` long (the whole circle at depth 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    lo: u64,
    depth: u8,
}

impl Span {
    fn overlaps(&self, other: &Span) -> bool {
        let depth = self.depth.min(other.depth);
        depth == 0 || (self.lo ^ other.lo) >> (64 - u32::from(depth)) == 0
    }

    /// The interval's length, or `None` for the whole circle.
    fn length(&self) -> Option<u64> {
        (self.depth > 0).then(|| 1u64 << (64 - u32::from(self.depth)))
    }

    /// The two intervals touch end to start, one way round or the other.
    fn abuts(&self, other: &Span) -> bool {
        match (self.length(), other.length()) {
            (Some(a), Some(b)) => {
                !self.overlaps(other) && (self.lo.wrapping_add(a) == other.lo || other.lo.wrapping_add(b) == self.lo)
            }
            _ => false,
        }
    }

    /// Distance along the circle from `x` to the interval, as a share of the circle.
    fn distance(&self, x: u64) -> f64 {
        let Some(length) = self.length() else { return 0.0 };
        let offset = x.wrapping_sub(self.lo);
        if offset < length {
            return 0.0;
        }
        let after = offset - (length - 1);
        let before = offset.wrapping_neg();
        after.min(before) as f64 / 18_446_744_073_709_551_616.0
    }
}

/// A torus of a given number of dimensions: maps keys to points and
/// measures zones against points and against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    dims: usize,
}

impl Space {
    /// A space of `dims` dimensions, clamped to 1 ..= [`MAX_DIMS`].
    pub fn new(dims: usize) -> Space {
        Space { dims: dims.clamp(1, MAX_DIMS) }
    }

    /// The number of dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The point of a key: its blake3 extended output, eight bytes per coordinate.
    pub fn point(&self, key: &Id) -> Point {
        let mut bytes = [0u8; MAX_DIMS * 8];
        blake3::Hasher::new().update(key.as_bytes()).finalize_xof().fill(&mut bytes);
        let mut coords = [0u64; MAX_DIMS];
        for (c, chunk) in coords.iter_mut().zip(bytes.chunks_exact(8)).take(self.dims) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *c = u64::from_be_bytes(b);
        }
        let mut morton = 0u128;
        for j in 0..usize::from(MAX_DEPTH) {
            let (dim, bit) = (j % self.dims, j / self.dims);
            if bit < 64 && (coords[dim] >> (63 - bit)) & 1 == 1 {
                morton |= 1u128 << (127 - j);
            }
        }
        Point { coords, morton }
    }

    /// The deepest a zone may be split in this space: each coordinate has
    /// 64 bits.
    pub fn max_depth(&self) -> u8 {
        u8::try_from(self.dims * 64).unwrap_or(MAX_DEPTH).min(MAX_DEPTH)
    }

    /// The zone's extent along each dimension.
    pub fn extent(&self, zone: &Zone) -> Extent {
        Extent(self.spans(zone))
    }

    fn spans(&self, zone: &Zone) -> [Span; MAX_DIMS] {
        let mut spans = [Span { lo: 0, depth: 0 }; MAX_DIMS];
        // A coordinate holds 64 bits: in fewer than two dimensions a path
        // can be longer than the coordinates hold ([`Space::max_depth`]),
        // and the bits past that depth cannot narrow the zone further.
        // The dimensions take the path's bits in turn, the path shifted a
        // bit at a time: this runs for every zone a node measures a key's
        // distance to, and without a division and a variable 128-bit shift
        // per bit it takes about a quarter fewer instructions.
        let (mut path, mut dim) = (zone.path, 0);
        for _ in 0..zone.len.min(self.max_depth()) {
            let span = &mut spans[dim];
            span.lo |= ((path >> 127) as u64) << (63 - u32::from(span.depth));
            span.depth += 1;
            path <<= 1;
            dim += 1;
            if dim == self.dims {
                dim = 0;
            }
        }
        spans
    }

    /// The zone's extent along each dimension as (start, length), in units
    /// of the torus side: for pictures and reports.
    pub fn bounds(&self, zone: &Zone) -> Vec<(f64, f64)> {
        let unit = 18_446_744_073_709_551_616.0;
        self.spans(zone)[..self.dims]
            .iter()
            .map(|s| (s.lo as f64 / unit, s.length().map_or(1.0, |l| l as f64 / unit)))
            .collect()
    }

    /// Euclidean distance on the torus from `point` to the nearest point of
    /// `zone` (0 inside it), in units of the torus side.
    pub fn distance(&self, zone: &Zone, point: &Point) -> f64 {
        let spans = self.spans(zone);
        let squared: f64 = (0..self.dims)
            .map(|d| {
                let x = spans[d].distance(point.coords[d]);
                x * x
            })
            .sum();
        squared.sqrt()
    }

    /// Whether two zones are neighbours: their extents abut along one
    /// dimension and overlap along all the others.
    pub fn abuts(&self, a: &Zone, b: &Zone) -> bool {
        self.extents_abut(&self.extent(a), &self.extent(b))
    }

    /// [`Space::abuts`] on extents computed beforehand.
    pub fn extents_abut(&self, a: &Extent, b: &Extent) -> bool {
        self.abutting_dims(a, b) == Some(1)
    }

    /// Whether two zones meet only along an edge or at a corner: they
    /// touch along two or more dimensions at once.
    pub fn extents_touch_at_corner(&self, a: &Extent, b: &Extent) -> bool {
        self.abutting_dims(a, b).is_some_and(|n| n >= 2)
    }

    /// Along how many dimensions the extents abut, if they overlap along
    /// all the others; `None` if they are apart.
    fn abutting_dims(&self, a: &Extent, b: &Extent) -> Option<usize> {
        let (sa, sb) = (&a.0, &b.0);
        let mut abutting = 0;
        for d in 0..self.dims {
            if sa[d].overlaps(&sb[d]) {
                continue;
            }
            if !sa[d].abuts(&sb[d]) {
                return None;
            }
            abutting += 1;
        }
        Some(abutting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One dimension holds 64 bits, a zone's path up to 128 (a peer may
    /// send such a zone): the extent of the deepest zone is computed
    /// without overflow in every space.
    #[test]
    fn the_deepest_zone_has_an_extent_in_every_space() {
        let deepest = (0..MAX_DEPTH).fold(Zone::WHOLE, |z, _| z.split().expect("splits").1);
        assert_eq!(deepest.depth(), MAX_DEPTH);
        for dims in 0..=MAX_DIMS + 1 {
            let space = Space::new(dims);
            let bounds = space.bounds(&deepest);
            assert_eq!(bounds.len(), dims.clamp(1, MAX_DIMS));
            assert!(bounds.iter().all(|(start, length)| *length > 0.0 && start + length <= 1.0), "{bounds:?}");
            let p = space.point(&Id::hash(b"k"));
            assert!(space.distance(&deepest, &p).is_finite());
        }
    }

    fn split_n(zone: Zone, bits: &[bool]) -> Zone {
        bits.iter().fold(zone, |z, &upper| {
            let (lo, hi) = z.split().unwrap();
            if upper {
                hi
            } else {
                lo
            }
        })
    }

    #[test]
    fn halves_tile_their_parent() {
        let z = split_n(Zone::WHOLE, &[true, false, true]);
        let (lo, hi) = z.split().unwrap();
        assert_eq!(lo.sibling(), Some(hi));
        assert_eq!(hi.parent(), Some(z));
        assert!(z.overlaps(&lo) && lo.overlaps(&z) && !lo.overlaps(&hi));
        assert_eq!(lo.volume() + hi.volume(), z.volume());
        assert_eq!(Zone::WHOLE.sibling(), None);
    }

    #[test]
    fn carving_a_zone_out_leaves_the_rest() {
        let outer = split_n(Zone::WHOLE, &[true]);
        let inner = split_n(outer, &[false, true, true]);
        let rest = outer.minus(&inner);
        assert_eq!(rest.len(), 3);
        assert_eq!(rest.iter().map(Zone::volume).sum::<f64>() + inner.volume(), outer.volume());
        assert!(rest.iter().all(|z| outer.contains_zone(z) && !z.overlaps(&inner)));
        assert!(inner.minus(&outer).is_empty());
        assert_eq!(inner.minus(&split_n(Zone::WHOLE, &[false])), vec![inner]);
    }

    #[test]
    fn every_point_lies_in_exactly_one_leaf() {
        let space = Space::new(3);
        let leaves: Vec<Zone> =
            (0..16u8).map(|i| split_n(Zone::WHOLE, &[i & 8 != 0, i & 4 != 0, i & 2 != 0, i & 1 != 0])).collect();
        for k in 0..200u32 {
            let p = space.point(&Id::hash(&k.to_be_bytes()));
            assert_eq!(leaves.iter().filter(|z| z.contains(&p)).count(), 1);
            let inside = leaves.iter().find(|z| z.contains(&p)).unwrap();
            assert_eq!(space.distance(inside, &p), 0.0);
            assert!(leaves.iter().filter(|z| *z != inside).all(|z| space.distance(z, &p) > 0.0));
        }
    }

    #[test]
    fn neighbours_abut_along_one_dimension_and_wrap_round() {
        let space = Space::new(2);
        // Four quarters of the square: x halves first, then y.
        let q = |x: bool, y: bool| split_n(Zone::WHOLE, &[x, y]);
        let (a, b, c) = (q(false, false), q(true, false), q(false, true));
        assert!(space.abuts(&a, &b), "side by side along x");
        assert!(space.abuts(&a, &c), "one above the other along y");
        assert!(!space.abuts(&a, &q(true, true)), "corners only touch");
        assert!(space.extents_touch_at_corner(&space.extent(&a), &space.extent(&q(true, true))));
        assert!(!space.extents_touch_at_corner(&space.extent(&a), &space.extent(&b)));
        assert!(!space.abuts(&a, &a), "a zone is not its own neighbour");
        // Along x in eighths: the first and the last touch across the seam.
        let strip = |i: u8| split_n(Zone::WHOLE, &[i & 4 != 0, false, i & 2 != 0, false, i & 1 != 0]);
        assert!(space.abuts(&strip(0), &strip(7)));
        assert!(!space.abuts(&strip(0), &strip(2)));
    }

    #[test]
    fn bounds_give_each_dimension_its_share() {
        let space = Space::new(2);
        let zone = split_n(Zone::WHOLE, &[true, false, true]); // x: upper half, then upper quarter; y: lower half
        assert_eq!(space.bounds(&zone), vec![(0.75, 0.25), (0.0, 0.5)]);
    }

    #[test]
    fn distance_measures_round_the_torus() {
        let space = Space::new(1);
        let zone = split_n(Zone::WHOLE, &[false, false]); // [0, 1/4)
        let p = space.point(&Id::hash(b"k"));
        let x = p.coord(0) as f64 / 2f64.powi(64);
        let expected = if x < 0.25 { 0.0 } else { (x - 0.25).min(1.0 - x) };
        assert!((space.distance(&zone, &p) - expected).abs() < 1e-12);
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(Zone::from_path(1, 3).is_none(), "bits past the length");
        assert!(Zone::from_path(0, 129).is_none(), "too deep");
        assert_eq!(Zone::from_path(1u128 << 127, 1), Some(Zone::WHOLE.split().unwrap().1));
    }
}
