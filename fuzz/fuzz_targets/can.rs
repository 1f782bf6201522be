//! can's message handling on a live node: see `dht_testkit::hostile::feed`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = dht_testkit::hostile::feed("can", |p| dht_can::Can::new(p, dht_can::CanConfig::default()), data) {
        panic!("{e}");
    }
});
