//! pastry's message handling on a live node: see `dht_testkit::hostile::feed`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) =
        dht_testkit::hostile::feed("pastry", |p| dht_pastry::Pastry::new(p, dht_pastry::PastryConfig::default()), data)
    {
        panic!("{e}");
    }
});
