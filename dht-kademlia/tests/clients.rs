//! A client's requests are answered, but the client never enters the
//! routing state of the node it asks: it would be handed out to lookups
//! long after it exited. A peer that asks is probed first, and learnt
//! only once it answers at its address.
#![allow(clippy::expect_used)] // tests fail loudly

use dht_core::{Address, Id, MemoryStore, Node, NodeConfig, Overlay, Peer, Request, Response, Time};
use dht_kademlia::{KadMessage, Kademlia, KademliaConfig};

fn peer(name: &str, port: u32) -> Peer {
    Peer::new(Id::hash(name.as_bytes()), Address::Memory(port))
}

#[test]
fn a_client_is_answered_but_not_taken_into_routing_state() {
    let me = peer("node", 1);
    let mut node = Node::new(
        Kademlia::new(me, KademliaConfig::default()),
        MemoryStore::default(),
        NodeConfig::default(),
        1,
        Time(0),
    );
    let (server, client) = (peer("server", 2), peer("client", 3));
    assert_eq!(node.handle_client_request(&client, Request::Fetch(Id::ZERO), Time(10)), Response::Value(None));
    let lookup = Request::Overlay(KadMessage::FindNode(client.id));
    assert!(matches!(node.handle_client_request(&client, lookup, Time(11)), Response::Overlay(KadMessage::Nodes(_))));
    assert_eq!(node.handle_request(&server, Request::Fetch(Id::ZERO), Time(20)), Response::Value(None));
    assert!(!node.overlay().neighbours().contains(&server), "not before it answers");
    let probe = node.poll_transmit().expect("the asking peer is pinged");
    assert_eq!((probe.to, probe.request), (server, Request::Overlay(KadMessage::Ping)));
    assert!(node.poll_transmit().is_none(), "the client is not probed");
    node.handle_response(probe.id, Response::Overlay(KadMessage::Pong), Time(30));
    let known = node.overlay().neighbours();
    assert!(known.contains(&server), "a peer that asks and answers is learnt");
    assert!(!known.contains(&client), "a client that asks is not");
}
