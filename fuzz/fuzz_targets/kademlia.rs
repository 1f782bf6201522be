//! kademlia's message handling on a live node: see `dht_testkit::hostile::feed`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = dht_testkit::hostile::feed(
        "kademlia",
        |p| dht_kademlia::Kademlia::new(p, dht_kademlia::KademliaConfig::default()),
        data,
    ) {
        panic!("{e}");
    }
});
