//! Hostile input for any overlay: one function that feeds arbitrary bytes
//! to a live node, shared by the proptest cases of the normal test suite
//! and by the coverage-guided fuzz targets in `fuzz/`.

use dht_core::{
    wire, Address, Id, Lookup, MemoryStore, Node, NodeConfig, Overlay, Peer, Record, Request, Role, Store, Time,
};

fn peer(n: u32) -> Peer {
    Peer::new(Id::hash(&n.to_be_bytes()), Address::Memory(n))
}

fn snapshot(store: &MemoryStore) -> Vec<Option<Record>> {
    store.keys().iter().map(|k| store.get(k, Time::ZERO)).collect()
}

/// A frame the node would accept: `request` encoded for overlay `name`,
/// to mutate from.
pub fn seed_frame<M: serde::Serialize>(name: &str, request: &Request<M>) -> Vec<u8> {
    wire::encode(name, request).unwrap_or_default()
}

/// Feeds `data` to a node of the overlay `make` builds, holding a few
/// records: decoded as a request, it is answered; decoded as an overlay
/// message, it answers a lookup step and a maintenance request. Returns
/// an error if a request other than a well-formed store changed the
/// records. A panic anywhere is the other failure a caller looks for.
pub fn feed<O: Overlay>(name: &str, make: impl Fn(Peer) -> O, data: &[u8]) -> Result<(), String> {
    let mut overlay = make(peer(0));
    overlay.bootstrap(&[peer(1), peer(2)], Role::Member, Time::ZERO);
    let mut node = Node::new(overlay, MemoryStore::default(), NodeConfig::default(), 7, Time::ZERO);
    for n in 0..4u8 {
        let _ = node.store().put(Record::new(Id::hash(&[n]), vec![n; 8], 1, Time::NEVER), Time::ZERO);
    }
    let before = snapshot(node.store());
    if let Ok(request) = wire::decode::<Request<O::Message>>(name, data) {
        let store = request.offered().is_some();
        let _ = node.handle_request(&peer(3), request, Time(10));
        if !store && snapshot(node.store()) != before {
            return Err("a request that is not a store changed the records".into());
        }
    }
    if let Ok(message) = wire::decode::<O::Message>(name, data) {
        let mut overlay = make(peer(0));
        overlay.bootstrap(&[peer(1)], Role::Member, Time::ZERO);
        let mut lookup = overlay.lookup(Id::hash(b"target"), usize::MAX, Time::ZERO);
        for (to, _) in lookup.poll() {
            lookup.on_response(&to, message.clone());
        }
        let _ = lookup.poll();
        let _ = overlay.handle_response(&peer(1), message, Time(10));
    }
    Ok(())
}
