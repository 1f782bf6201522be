//! [`SimOverlay`]: what simulations and comparisons ask of an overlay
//! beyond its protocol — the size of its routing state, the published hop
//! bound its lookups are held to, and a warm start from a [`Directory`].
//!
//! Kept apart from [`Overlay`] so that a new overlay implements its
//! protocol first and these when it wants them: every method has a default,
//! and `impl SimOverlay for MyOverlay {}` is enough to run in the
//! simulator and the conformance suite. It lives in `dht-core` rather than
//! the testkit so that an overlay crate can implement it without a
//! production dependency on the testkit.

use crate::{Directory, Overlay, Rng, Time};

/// Measurement and simulator hooks of an overlay, all with defaults.
pub trait SimOverlay: Overlay {
    /// Entries in the routing state, for comparisons of state per node
    /// (default: the number of [`Overlay::neighbours`]).
    fn routing_entries(&self) -> usize {
        self.neighbours().len()
    }

    /// The published bound on mean lookup path length in a network of
    /// `nodes` nodes; the conformance suite holds measured hops against it
    /// (default log2 N, the bound of the O(log N) overlays).
    fn hop_bound(&self, nodes: usize) -> f64 {
        (nodes.max(2) as f64).log2()
    }

    /// [`SimOverlay::hop_bound`] as a formula, for the legend of a plot
    /// that draws it beside the measured path lengths (default `log2 N`).
    fn hop_bound_formula(&self) -> String {
        "log2 N".to_owned()
    }

    /// A simulator's warm start, in place of [`Overlay::bootstrap`]: take
    /// the routing state this node would hold once a network of every peer
    /// in `directory` (this node included) has settled, and count as
    /// joined. Lets a simulation start 100,000 nodes without running
    /// 100,000 joins; lookups, stores and maintenance then run through the
    /// protocol as usual. Only members are warm-started. Returns false if
    /// the overlay has no warm start (the default): the simulator then
    /// joins it through `bootstrap`.
    fn warm_start(&mut self, directory: &Directory, now: Time, rng: &mut Rng) -> bool {
        let _ = (directory, now, rng);
        false
    }
}
