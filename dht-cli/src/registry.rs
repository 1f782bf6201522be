//! The overlays the command knows, in one list: an overlay is one entry
//! here — its `--overlay` name, its help line, how to build it at a
//! [`Pace`](crate::Pace), and, if it has one, the picture of a small
//! network the compare report shows. Everything else (the `--overlay`
//! values, `with_overlay!`, the report's bound curves, which come from each
//! overlay's own [`SimOverlay::hop_bound`](dht_overlays::core::SimOverlay::hop_bound))
//! follows from it.

use crate::topology::{self, Picture};

/// Expands the list below into [`OverlayKind`], its methods and
/// `with_overlay!`. The leading `$` is passed in so that the macro it
/// defines can have metavariables of its own.
macro_rules! registry {
    ($d:tt; $( $(#[$doc:meta])* $variant:ident = $name:literal, make($pace:ident) = $make:expr, picture = $picture:expr; )+) => {
        /// Which overlay a node runs.
        #[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
        pub enum OverlayKind {
            $( $(#[$doc])* #[value(name = $name)] $variant, )+
        }

        impl OverlayKind {
            /// Every overlay, in the order of the list.
            pub const ALL: &[OverlayKind] = &[$( OverlayKind::$variant ),+];

            /// The overlay's name as its crate spells it.
            pub fn name(self) -> &'static str {
                match self {
                    $( OverlayKind::$variant => $name, )+
                }
            }

            /// The picture of a small network the compare report shows, and
            /// the file it is written to.
            pub fn picture(self) -> Option<(&'static str, Picture)> {
                match self {
                    $( OverlayKind::$variant => $picture, )+
                }
            }
        }

        /// Evaluates `$body` with `$make` bound to a constructor
        /// (`Fn(Peer) -> O`, cloneable) of the overlay `$kind` at the given
        /// [`Pace`](crate::Pace): the one place a command turns its
        /// `--overlay` choice into a type.
        macro_rules! with_overlay {
            ($d kind:expr, $d pace:expr, |$d make_ident:ident| $d body:expr) => {{
                let pace: $crate::Pace = $d pace;
                match $d kind {
                    $( $crate::OverlayKind::$variant => {
                        let $d make_ident = { let $pace = pace; $make };
                        $d body
                    } )+
                }
            }};
        }
    };
}

registry! { $;
    /// Kademlia: XOR metric, k-buckets, α-parallel lookups.
    Kademlia = "kademlia",
    make(pace) = {
        let _ = pace; // its refresh runs on demand, at no set pace
        let config = dht_overlays::KademliaConfig::default();
        move |p: dht_overlays::Peer| dht_overlays::Kademlia::new(p, config.clone())
    },
    picture = Some(("kademlia-buckets.svg", topology::kademlia_buckets as Picture));

    /// Chord: identifier ring, fingers, successor lists.
    Chord = "chord",
    make(pace) = {
        let mut config = dht_overlays::ChordConfig::default();
        config.stabilize_interval = pace.period(config.stabilize_interval);
        move |p: dht_overlays::Peer| dht_overlays::Chord::new(p, config.clone())
    },
    picture = Some(("chord-ring.svg", topology::chord_ring as Picture));

    /// CAN: zones of a 4-dimensional torus, greedy routing.
    Can = "can",
    make(pace) = {
        let mut config = dht_overlays::CanConfig::default();
        config.update_interval = pace.period(config.update_interval);
        move |p: dht_overlays::Peer| dht_overlays::Can::new(p, config.clone())
    },
    picture = Some(("can-zones.svg", topology::can_zones as Picture));

    /// Pastry: prefix routing in base 16, leaf sets.
    Pastry = "pastry",
    make(pace) = {
        let mut config = dht_overlays::PastryConfig::default();
        config.maintenance_interval = pace.period(config.maintenance_interval);
        move |p: dht_overlays::Peer| dht_overlays::Pastry::new(p, config.clone())
    },
    picture = Some(("pastry-state.svg", topology::pastry_state as Picture));
}
