//! The whole conformance suite against Kademlia, at 1,000 simulated nodes.

use dht_kademlia::{Kademlia, KademliaConfig};

dht_testkit::conformance_tests!(|peer| Kademlia::new(peer, KademliaConfig::default()));
