//! The whole conformance suite against Pastry (b = 4, L = 16), at 1,000
//! simulated nodes.

use dht_pastry::{Pastry, PastryConfig};

dht_testkit::conformance_tests!(|peer| Pastry::new(peer, PastryConfig::default()));
