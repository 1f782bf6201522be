//! Owned records and the node's defences, on a simulated network and on a
//! lone node fed requests directly: signed records only their owner can
//! write (and only with a higher sequence number), content-addressed
//! records, an application validator, and per-peer limits.
#![allow(clippy::expect_used)] // test helpers fail loudly

use dht_core::{
    Address, Id, MemoryStore, Node, NodeConfig, OpError, OpOutcome, PeerLimits, Record, Refusal, Request, Response,
    SharedValidator, SigningKey, Store, Time, Validator,
};
use dht_kademlia::{Kademlia, KademliaConfig};
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;

/// An expiry a day after the start of every run here: within the lifetime
/// a node accepts ([`NodeConfig::max_record_lifetime`]).
const DAY: Time = Time(24 * 3600 * 1000);

fn network(config: SimConfig) -> Simulation<Kademlia> {
    let mut sim = Simulation::new(config, |peer| Kademlia::new(peer, KademliaConfig::default()));
    sim.grow(30, Duration::from_millis(20), Duration::from_secs(20));
    sim
}

fn put(sim: &mut Simulation<Kademlia>, node: u32, record: Record) -> Result<usize, OpError> {
    let op = sim.put_record(node, record).expect("node is up");
    assert!(sim.wait_for(&[op], Duration::from_secs(60)));
    match sim.take_result(op).map(|e| e.outcome) {
        Some(OpOutcome::Put(result)) => result,
        other => panic!("put ended with {other:?}"),
    }
}

fn get(sim: &mut Simulation<Kademlia>, node: u32, key: Id) -> Option<Record> {
    let op = sim.get(node, key).expect("node is up");
    assert!(sim.wait_for(&[op], Duration::from_secs(60)));
    match sim.take_result(op).map(|e| e.outcome) {
        Some(OpOutcome::Get(Ok(found))) => found,
        other => panic!("get ended with {other:?}"),
    }
}

#[test]
fn only_the_owner_writes_a_signed_record_and_only_forward() {
    let mut sim = network(SimConfig::new(11));
    let (owner, _) = SigningKey::generate().expect("key");
    let (thief, _) = SigningKey::generate().expect("key");
    let v1 = Record::signed(&owner, "greeting", "hello", 1, DAY, false);
    let key = v1.key;
    assert!(put(&mut sim, 0, v1.clone()).is_ok());
    let found = get(&mut sim, 7, key).expect("found");
    assert!(found.is_signed_by(&owner.public()));
    assert_eq!(&found.value[..], b"hello");

    // Someone else's signature under the owner's key is refused before it leaves.
    let forged = Record { key, ..Record::signed(&thief, "greeting", "stolen", 9, DAY, false) };
    assert!(matches!(put(&mut sim, 3, forged), Err(OpError::Invalid(_))));
    // An open record at the owner's key cannot replace it, whatever its version
    // (within the bound every node puts on open versions).
    let squatter = Record::new(key, &b"squat"[..], 1_000_000, DAY);
    assert_eq!(put(&mut sim, 4, squatter), Err(OpError::Owned));
    // An older sequence number is refused with the numbers in the error.
    let v0 = Record::signed(&owner, "greeting", "older", 0, DAY, false);
    assert_eq!(put(&mut sim, 5, v0), Err(OpError::Outdated { offered: 0, held: 1 }));
    assert_eq!(&get(&mut sim, 9, key).expect("found").value[..], b"hello");

    let v2 = Record::signed(&owner, "greeting", "hello again", 2, DAY, false);
    assert!(put(&mut sim, 6, v2).is_ok());
    assert_eq!(&get(&mut sim, 12, key).expect("found").value[..], b"hello again");
    // The owner can remove it; nobody else can.
    let removal = Record::signed(&owner, "greeting", "", 3, DAY, true);
    assert!(put(&mut sim, 6, removal).is_ok());
    assert_eq!(get(&mut sim, 13, key), None);
}

#[test]
fn content_addressed_records_are_immutable() {
    let mut sim = network(SimConfig::new(12));
    let blob = Record::content("some immutable bytes", 1, DAY);
    let key = blob.key;
    assert_eq!(key, dht_core::content_key(b"some immutable bytes"));
    assert!(put(&mut sim, 0, blob).is_ok());
    assert_eq!(put(&mut sim, 2, Record::tombstone(key, 1_000_000, DAY)), Err(OpError::Owned));
    let mut tampered = Record::content("other bytes", 1, DAY);
    tampered.key = key;
    assert!(matches!(put(&mut sim, 2, tampered), Err(OpError::Invalid(_))));
    assert_eq!(&get(&mut sim, 20, key).expect("found").value[..], b"some immutable bytes");
}

/// Values must be UTF-8; the longer of two versions wins.
struct LongestText;

impl Validator for LongestText {
    fn validate(&self, record: &Record) -> Result<(), String> {
        std::str::from_utf8(&record.value).map(|_| ()).map_err(|_| "value is not UTF-8".to_string())
    }

    fn wins(&self, offered: &Record, held: &Record) -> bool {
        let (a, b) = (offered.value.len(), held.value.len());
        a > b || (a == b && offered.supersedes(held))
    }
}

#[test]
fn a_validator_rejects_records_and_chooses_between_versions() {
    let mut config = SimConfig::new(13);
    config.node.validator = SharedValidator::new(LongestText);
    let mut sim = network(config);
    let key = Id::hash(b"motto");
    assert!(put(&mut sim, 0, Record::new(key, &b"a longer value"[..], 1, DAY)).is_ok());
    // Newer but shorter: the validator keeps the longer one on every replica.
    assert!(put(&mut sim, 1, Record::new(key, &b"short"[..], 2, DAY)).is_ok());
    assert_eq!(&get(&mut sim, 2, key).expect("found").value[..], b"a longer value");
    assert!(sim.holders(&key).iter().all(|&n| {
        sim.store(n).and_then(|s| s.get(&key, Time::ZERO)).is_some_and(|r| &r.value[..] == b"a longer value")
    }));
    let bad = Record::new(Id::hash(b"binary"), vec![0xff, 0xfe], 1, DAY);
    assert_eq!(put(&mut sim, 3, bad), Err(OpError::Invalid("value is not UTF-8".into())));
}

fn lone_node(config: NodeConfig) -> Node<Kademlia, MemoryStore> {
    let local = dht_core::Peer::new(Id::hash(b"victim"), Address::Memory(0));
    Node::new(Kademlia::new(local, KademliaConfig::default()), MemoryStore::default(), config, 1, Time::ZERO)
}

fn peer(n: u32) -> dht_core::Peer {
    dht_core::Peer::new(Id::hash(&n.to_be_bytes()), Address::Memory(n))
}

#[test]
fn forged_records_sent_straight_to_a_replica_change_nothing() {
    let mut node = lone_node(NodeConfig::default());
    let (owner, _) = SigningKey::generate().expect("key");
    let genuine = Record::signed(&owner, "name", "value", 5, DAY, false);
    assert_eq!(
        node.handle_request(&peer(1), Request::Store(Box::new(genuine.clone())), Time::ZERO),
        Response::Stored(true)
    );
    let mut forged = genuine.clone();
    forged.value = "evil".into();
    forged.version = 6;
    let answer = node.handle_request(&peer(2), Request::Store(Box::new(forged)), Time::ZERO);
    assert!(matches!(answer, Response::Refused(Refusal::Invalid(ref why)) if why.contains("signature")), "{answer:?}");
    let replay = Record::signed(&owner, "name", "old value", 4, DAY, false);
    assert_eq!(
        node.handle_request(&peer(2), Request::Store(Box::new(replay)), Time::ZERO),
        Response::Newer(Box::new(genuine.clone()))
    );
    assert_eq!(node.store().get(&genuine.key, Time::ZERO), Some(genuine));
}

#[test]
fn a_peer_over_its_limits_is_refused_and_nothing_changes() {
    let mut limits = PeerLimits::default();
    limits.requests_per_second = 10;
    limits.request_burst = 20;
    limits.records_per_peer = 5;
    let mut config = NodeConfig::default();
    config.limits = limits;
    let mut node = lone_node(config);
    let flooder = peer(1);
    let record = |i: u32| Record::new(Id::hash(&i.to_be_bytes()), &b"x"[..], 1, DAY);
    let answers: Vec<Response<_>> =
        (0..8).map(|i| node.handle_request(&flooder, Request::Store(Box::new(record(i))), Time::ZERO)).collect();
    assert!(answers[..5].iter().all(|a| *a == Response::Stored(true)));
    assert!(answers[5..].iter().all(|a| matches!(a, Response::Refused(Refusal::Quota(_)))), "{answers:?}");
    assert_eq!(node.store().len(), 5);
    // Another peer has its own allowance.
    assert_eq!(
        node.handle_request(&peer(2), Request::Store(Box::new(record(100))), Time::ZERO),
        Response::Stored(true)
    );

    // 20 requests at once is the burst (the flooder spent 8 on stores);
    // the rest are refused as busy.
    let pings: Vec<_> = (0..30).map(|_| node.handle_request(&flooder, Request::Ping, Time::ZERO)).collect();
    assert_eq!(pings.iter().filter(|a| **a == Response::Pong).count(), 12);
    assert!(pings[12..].iter().all(|a| *a == Response::Refused(Refusal::Busy)));
    let (records, bytes) = (node.store().len(), node.store().bytes());
    let flooded = node.handle_request(&peer(2), Request::Store(Box::new(record(200))), Time::ZERO);
    assert_eq!(flooded, Response::Stored(true), "another peer is still served");
    let refused = node.handle_request(&flooder, Request::Store(Box::new(record(201))), Time::ZERO);
    assert_eq!(refused, Response::Refused(Refusal::Busy));
    assert_eq!((node.store().len(), node.store().bytes() - record(200).stored_size()), (records + 1, bytes));
    // A second later the bucket has refilled by ten.
    let later: Vec<_> = (0..15).map(|_| node.handle_request(&flooder, Request::Ping, Time(1000))).collect();
    assert_eq!(later.iter().filter(|a| **a == Response::Pong).count(), 10);
}
