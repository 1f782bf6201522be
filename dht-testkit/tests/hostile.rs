//! proptest feeds arbitrary and mutated frames to a live node of each
//! overlay: it must never panic, and no request but a well-formed store may
//! change its records. (The fuzz targets in `fuzz/` run the same function
//! under coverage guidance.)

use dht_core::{Id, Request};
use dht_testkit::hostile::{feed, seed_frame};
use proptest::prelude::*;

fn kademlia(p: dht_core::Peer) -> dht_kademlia::Kademlia {
    dht_kademlia::Kademlia::new(p, dht_kademlia::KademliaConfig::default())
}

fn chord(p: dht_core::Peer) -> dht_chord::Chord {
    dht_chord::Chord::new(p, dht_chord::ChordConfig::default())
}

fn can(p: dht_core::Peer) -> dht_can::Can {
    dht_can::Can::new(p, dht_can::CanConfig::default())
}

fn pastry(p: dht_core::Peer) -> dht_pastry::Pastry {
    dht_pastry::Pastry::new(p, dht_pastry::PastryConfig::default())
}

/// Well-formed frames of every overlay to start mutations from.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let key = Id::hash(&[1]);
    vec![
        ("kademlia", seed_frame("kademlia", &Request::Overlay(dht_kademlia::KadMessage::FindNode(key)))),
        ("kademlia", seed_frame::<dht_kademlia::KadMessage>("kademlia", &Request::Fetch(key))),
        ("chord", seed_frame::<dht_chord::ChordMessage>("chord", &Request::Ping)),
        ("chord", seed_frame::<dht_chord::ChordMessage>("chord", &Request::Fetch(key))),
        ("can", seed_frame::<dht_can::CanMessage>("can", &Request::Fetch(key))),
        ("can", seed_frame("can", &Request::Overlay(dht_can::CanMessage::Join { redirected: None }))),
        ("pastry", seed_frame("pastry", &Request::Overlay(dht_pastry::PastryMessage::Route { key, wanted: 3 }))),
        ("pastry", seed_frame("pastry", &Request::Overlay(dht_pastry::PastryMessage::GetRows { first: 0, last: 255 }))),
    ]
}

/// A byte flip, a deletion or an insertion at a position (taken modulo the length).
fn mutation() -> impl Strategy<Value = (usize, u8, u8)> {
    (any::<usize>(), 0u8..3, any::<u8>())
}

fn mutate(mut frame: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(at, kind, byte) in edits {
        if frame.is_empty() {
            break;
        }
        let at = at % frame.len();
        match kind {
            0 => frame[at] ^= byte | 1,
            1 => {
                frame.remove(at);
            }
            _ => frame.insert(at, byte),
        }
    }
    frame
}

fn feed_all(frame: &[u8]) -> Result<(), String> {
    feed("kademlia", kademlia, frame)?;
    feed("chord", chord, frame)?;
    feed("can", can, frame)?;
    feed("pastry", pastry, frame)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic_or_change_records(frame in proptest::collection::vec(any::<u8>(), 0..300)) {
        prop_assert_eq!(feed_all(&frame), Ok(()));
    }

    #[test]
    fn mutated_frames_never_panic_or_change_records(
        seed in 0usize..8,
        edits in proptest::collection::vec(mutation(), 1..4),
    ) {
        let (name, frame) = seeds().swap_remove(seed);
        let frame = mutate(frame, &edits);
        let result = match name {
            "kademlia" => feed(name, kademlia, &frame),
            "chord" => feed(name, chord, &frame),
            "can" => feed(name, can, &frame),
            _ => feed(name, pastry, &frame),
        };
        prop_assert_eq!(result, Ok(()));
    }
}
