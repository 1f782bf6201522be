//! The frame decoder: the length prefix, the header, and every body type a
//! node decodes off the network.
#![no_main]

use dht_core::{wire, Request, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(prefix) = data.get(..wire::LENGTH_PREFIX_BYTES) {
        let mut bytes = [0u8; wire::LENGTH_PREFIX_BYTES];
        bytes.copy_from_slice(prefix);
        let _ = wire::frame_length(bytes);
    }
    let _ = wire::decode::<Request<dht_kademlia::KadMessage>>("kademlia", data);
    let _ = wire::decode::<Response<dht_chord::ChordMessage>>("chord", data);
    let _ = wire::decode::<Response<dht_can::CanMessage>>("can", data);
});
