//! chord's message handling on a live node: see `dht_testkit::hostile::feed`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) =
        dht_testkit::hostile::feed("chord", |p| dht_chord::Chord::new(p, dht_chord::ChordConfig::default()), data)
    {
        panic!("{e}");
    }
});
