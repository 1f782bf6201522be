//! Kademlia's messages on the wire: every message round-trips through the
//! codec, and arbitrary bytes give a typed error, never a panic.

use dht_core::{wire, Overlay, Request, Response};
use dht_kademlia::{KadMessage, Kademlia};
use dht_testkit::strategies;
use proptest::prelude::*;

fn message() -> impl Strategy<Value = KadMessage> {
    prop_oneof![
        strategies::id().prop_map(KadMessage::FindNode),
        proptest::collection::vec(strategies::peer(), 0..25).prop_map(KadMessage::Nodes),
        Just(KadMessage::Ping),
        Just(KadMessage::Pong),
    ]
}

fn request() -> impl Strategy<Value = Request<KadMessage>> {
    prop_oneof![
        message().prop_map(Request::Overlay),
        strategies::record().prop_map(|r| Request::Store(Box::new(r))),
        strategies::record().prop_map(|r| Request::Replicate(Box::new(r))),
        strategies::key().prop_map(Request::Fetch),
    ]
}

fn response() -> impl Strategy<Value = Response<KadMessage>> {
    prop_oneof![
        message().prop_map(Response::Overlay),
        any::<bool>().prop_map(Response::Stored),
        proptest::option::of(strategies::record()).prop_map(|r| Response::Value(r.map(Box::new))),
        proptest::option::of(strategies::record()).prop_map(|r| Response::CatchingUp(r.map(Box::new))),
        Just(Response::Refused(dht_core::Refusal::Busy)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn requests_round_trip(r in request()) {
        let frame = wire::encode(Kademlia::NAME, &r).unwrap();
        prop_assert_eq!(wire::decode::<Request<KadMessage>>(Kademlia::NAME, &frame).unwrap(), r);
    }

    #[test]
    fn responses_round_trip(r in response()) {
        let frame = wire::encode(Kademlia::NAME, &r).unwrap();
        prop_assert_eq!(wire::decode::<Response<KadMessage>>(Kademlia::NAME, &frame).unwrap(), r);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = wire::decode::<Request<KadMessage>>(Kademlia::NAME, &bytes);
        let _ = wire::decode::<Response<KadMessage>>(Kademlia::NAME, &bytes);
    }

    #[test]
    fn a_framed_garbage_body_is_a_typed_error(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        // A correct header followed by garbage: must decode or fail with Malformed.
        let mut frame = wire::encode(Kademlia::NAME, &()).unwrap();
        frame.extend_from_slice(&body);
        let len = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        match wire::decode::<Request<KadMessage>>(Kademlia::NAME, &frame) {
            Ok(_) | Err(dht_core::WireError::Malformed(_)) => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}
