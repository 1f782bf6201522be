//! The whole conformance suite against Chord, at 1,000 simulated nodes.

use dht_chord::{Chord, ChordConfig};

dht_testkit::conformance_tests!(|peer| Chord::new(peer, ChordConfig::default()));
