//! The whole conformance suite against CAN (four dimensions), at 1,000
//! simulated nodes.

use dht_can::{Can, CanConfig};

dht_testkit::conformance_tests!(|peer| Can::new(peer, CanConfig::default()));
