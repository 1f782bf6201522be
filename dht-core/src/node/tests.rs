//! The node's logic driven by hand, next to the code: a few nodes on the
//! full-mesh overlay, with every request delivered at once (or failed at
//! once when its target is down), in the manner of quinn-proto's tests
//! that drive a pair of connections. Put, get, quorums, repair, hand-off,
//! read-repair and the client role are tested here without a simulator.

use super::*;
use crate::mesh::Mesh;
use crate::{Address, MemoryStore, Role};
use std::time::Duration;

type MeshNode = Node<Mesh, MemoryStore>;

/// Nodes by index; `None` while a node is down (its state is kept aside).
struct Net {
    nodes: Vec<Option<MeshNode>>,
    down: Vec<Option<MeshNode>>,
    /// Nodes that answer every store with a forged "newer" version.
    liars: Vec<usize>,
    /// The most store requests one node had out in one round of delivery.
    most_stores_at_once: usize,
    /// Requests to a down node are dropped unanswered, as a crashed host's
    /// are, instead of failing at once: the sender learns at its deadline.
    silent_crashes: bool,
    /// When each request to a down node was sent, with its target.
    unanswered: Vec<(Time, usize)>,
    now: Time,
    config: NodeConfig,
}

fn peer(i: usize) -> Peer {
    Peer::new(Id::hash(&(i as u64).to_be_bytes()), Address::Memory(i as u32))
}

/// Plain `r` copies: the tests below count a key's holders against `r`;
/// the spares have tests of their own. Replica peers are checked every
/// second, the tick: a check then finds a peer silent since the last.
fn config() -> NodeConfig {
    NodeConfig {
        repair_interval: Duration::from_secs(10),
        replica_check_interval: Duration::from_secs(1),
        max_repair_in_flight: 8,
        spares: 0,
        ..NodeConfig::default()
    }
}

impl Net {
    /// `members` members that joined one after the other through the first,
    /// then ran until every member knows every other.
    fn new(members: usize) -> Net {
        Net::with(members, config())
    }

    /// [`Net::new`] with every node on `config`.
    fn with(members: usize, config: NodeConfig) -> Net {
        let mut net = Net {
            nodes: Vec::new(),
            down: Vec::new(),
            liars: Vec::new(),
            most_stores_at_once: 0,
            silent_crashes: false,
            unanswered: Vec::new(),
            now: Time(1_000),
            config,
        };
        for _ in 0..members {
            net.join(Role::Member);
        }
        net.run(Duration::from_secs(30));
        net
    }

    /// Adds a node with `role`, bootstrapped through node 0; its index.
    fn join(&mut self, role: Role) -> usize {
        let index = self.nodes.len();
        let mut config = self.config.clone();
        config.role = role;
        let mut node = Node::new(Mesh::new(peer(index)), MemoryStore::default(), config, index as u64, self.now);
        let seeds: Vec<Peer> = if index == 0 { Vec::new() } else { vec![peer(0)] };
        node.bootstrap(&seeds, self.now);
        self.nodes.push(Some(node));
        self.down.push(None);
        self.deliver();
        index
    }

    fn node(&mut self, i: usize) -> &mut MeshNode {
        self.nodes[i].as_mut().expect("node is up")
    }

    fn crash(&mut self, i: usize) {
        self.down[i] = self.nodes[i].take();
    }

    fn restart(&mut self, i: usize) {
        self.nodes[i] = self.down[i].take();
    }

    /// Restarts node `i` as a process restarts: a new node on the old
    /// node's store, joining through node 0.
    fn restart_on_store(&mut self, i: usize) {
        let store = self.down[i].take().expect("node is down").into_store();
        let mut node = Node::new(Mesh::new(peer(i)), store, self.config.clone(), i as u64, self.now);
        node.bootstrap(&[peer(0)], self.now);
        self.nodes[i] = Some(node);
        self.deliver();
    }

    /// Delivers requests until none is left (bounded: a storm is a bug).
    fn deliver(&mut self) {
        for _ in 0..10_000 {
            let mut sent = Vec::new();
            for (i, node) in self.nodes.iter_mut().enumerate() {
                if let Some(node) = node {
                    while let Some(t) = node.poll_transmit() {
                        sent.push((i, t));
                    }
                }
            }
            if sent.is_empty() {
                return;
            }
            for node in 0..self.nodes.len() {
                let stores = sent.iter().filter(|(from, t)| *from == node && t.request.offered().is_some()).count();
                self.most_stores_at_once = self.most_stores_at_once.max(stores);
            }
            for (from, t) in sent {
                let to = t.to.addr;
                let Address::Memory(to) = to else { panic!("mesh peers are in memory") };
                let client = self.nodes[from].as_ref().is_some_and(|n| n.config().role.is_client());
                let liar = self.liars.contains(&(to as usize));
                let answer = match self.nodes[to as usize].as_mut() {
                    Some(_) if liar && matches!(t.request, Request::Store(_)) => {
                        let Request::Store(mut forged) = t.request else { unreachable!() };
                        forged.version += 1_000; // the signature no longer covers it
                        Some(Response::Newer(forged))
                    }
                    Some(target) => {
                        let sender = peer(from);
                        Some(if client {
                            target.handle_client_request(&sender, t.request, self.now)
                        } else {
                            target.handle_request(&sender, t.request, self.now)
                        })
                    }
                    None => {
                        self.unanswered.push((self.now, to as usize));
                        if self.silent_crashes {
                            continue;
                        }
                        None
                    }
                };
                if let Some(node) = self.nodes[from].as_mut() {
                    match answer {
                        Some(response) => node.handle_response(t.id, response, self.now),
                        None => node.handle_failure(t.id, self.now),
                    }
                }
            }
        }
        panic!("requests kept coming after 10,000 rounds");
    }

    /// Runs every node's timers for `d` of virtual time.
    fn run(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            self.deliver();
            let next = self.nodes.iter().flatten().filter_map(|n| n.poll_timeout()).min();
            match next {
                Some(at) if at <= until => {
                    self.now = at.max(self.now);
                    for node in self.nodes.iter_mut().flatten() {
                        if node.poll_timeout().is_some_and(|t| t <= self.now) {
                            node.handle_timeout(self.now);
                        }
                    }
                }
                _ => break,
            }
        }
        self.now = until;
    }

    /// Starts an operation on node `i` and runs until it ends.
    fn op(&mut self, i: usize, start: impl FnOnce(&mut MeshNode, Time) -> OpId) -> OpOutcome {
        let now = self.now;
        let op = start(self.node(i), now);
        self.op_event(i, op)
    }

    /// Runs until operation `op` of node `i` ends.
    fn op_event(&mut self, i: usize, op: OpId) -> OpOutcome {
        for _ in 0..100 {
            self.deliver();
            if let Some(event) = self.node(i).poll_event() {
                assert_eq!(event.op, op);
                return event.outcome;
            }
            self.run(Duration::from_millis(100));
        }
        panic!("operation {op:?} did not end");
    }

    fn put(&mut self, i: usize, key: Id, value: &'static [u8]) -> Result<usize, OpError> {
        match self.op(i, |n, now| n.put(key, value, now)) {
            OpOutcome::Put(result) => result,
            other => panic!("a put ended with {other:?}"),
        }
    }

    fn get(&mut self, i: usize, key: Id) -> Option<Record> {
        match self.op(i, |n, now| n.get(key, now)) {
            OpOutcome::Get(result) => result.expect("get succeeds"),
            other => panic!("a get ended with {other:?}"),
        }
    }

    /// Indices of the live nodes holding `key`, with the value each holds.
    fn holders(&self, key: &Id) -> Vec<(usize, bytes::Bytes)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().and_then(|n| n.store().get(key, self.now)).map(|r| (i, r.value)))
            .collect()
    }

    /// The `r` members nearest `key` by XOR, whatever their state.
    fn replicas(&self, key: &Id, r: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..self.nodes.len()).collect();
        all.sort_by_key(|i| peer(*i).id.distance(key));
        all.truncate(r);
        all.sort_unstable();
        all
    }
}

fn indices(holders: &[(usize, bytes::Bytes)]) -> Vec<usize> {
    holders.iter().map(|(i, _)| *i).collect()
}

#[test]
fn a_value_put_through_one_node_is_got_through_another_and_lives_on_its_replicas() {
    let mut net = Net::new(6);
    let key = Id::hash(b"greeting");
    let acks = net.put(1, key, b"hello").expect("stored");
    assert!(acks >= 2, "a put returns once a majority of three acknowledged: {acks}");
    let got = net.get(4, key).expect("found");
    assert_eq!(&got.value[..], b"hello");
    assert_eq!(indices(&net.holders(&key)), net.replicas(&key, 3), "exactly the three nearest hold it");
}

#[test]
fn bootstrap_counts_as_joined_once_the_seed_answered() {
    let mut net = Net::new(1);
    let mut node = Node::new(Mesh::new(peer(1)), MemoryStore::default(), config(), 1, net.now);
    node.bootstrap(&[peer(0)], net.now);
    assert!(!node.is_joined(), "nothing answered yet");
    net.nodes.push(Some(node));
    net.down.push(None);
    net.deliver();
    assert!(net.node(1).is_joined());
    assert!(net.node(0).is_joined(), "the first node started the network alone");
}

#[test]
fn a_put_reaches_its_quorum_when_a_replica_is_down_and_repair_restores_the_third_copy() {
    let mut net = Net::new(6);
    let key = Id::hash(b"k");
    let replicas = net.replicas(&key, 3);
    let writer = (0..6).find(|i| !replicas.contains(i)).expect("a non-replica");
    net.crash(replicas[0]);
    let acks = net.put(writer, key, b"v").expect("a quorum answered");
    assert!(acks >= 2, "{acks} acknowledgements");
    // The silent replica is noticed and dropped; repair passes then put a
    // third copy on the next-nearest live member.
    net.run(Duration::from_secs(60));
    assert_eq!(net.holders(&key).len(), 3, "three live copies: {:?}", net.holders(&key));
    assert!(!indices(&net.holders(&key)).contains(&replicas[0]));
}

#[test]
fn a_crashed_replica_is_replaced_by_repair() {
    let mut net = Net::new(7);
    let key = Id::hash(b"survivor");
    net.put(0, key, b"v").expect("stored");
    let before = indices(&net.holders(&key));
    net.crash(before[1]);
    net.run(Duration::from_secs(60));
    let after = indices(&net.holders(&key));
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(!after.contains(&before[1]));
}

#[test]
fn a_leaving_node_hands_its_records_to_a_new_replica() {
    let mut net = Net::new(6);
    let key = Id::hash(b"handed");
    net.put(0, key, b"v").expect("stored");
    let leaver = indices(&net.holders(&key))[0];
    assert_eq!(net.op(leaver, |n, now| n.leave(now)), OpOutcome::Left);
    net.crash(leaver);
    net.run(Duration::from_secs(5));
    let holders = indices(&net.holders(&key));
    assert_eq!(holders.len(), 3, "the leaver's copy moved before it went: {holders:?}");
}

/// Nodes whose periodic repair pass is an hour away: what happens within
/// seconds is the replica check and the view changes at work.
fn hourly_repair() -> NodeConfig {
    NodeConfig { repair_interval: Duration::from_secs(3600), ..config() }
}

/// `members` members on hourly repair holding one key, put through node
/// 0, whose replicas have taken up watching each other's liveness.
fn one_key_watched(members: usize) -> (Net, Id) {
    let mut net = Net::with(members, hourly_repair());
    let key = Id::hash(b"kept");
    net.put(0, key, b"v").expect("stored");
    net.run(Duration::from_secs(6));
    (net, key)
}

#[test]
fn a_crashed_replica_is_replaced_at_the_next_replica_check() {
    let (mut net, key) = one_key_watched(8);
    let holders = indices(&net.holders(&key));
    assert_eq!(holders.len(), 3, "{holders:?}");
    net.crash(holders[0]);
    // A check every second finds the silent replica, the pass after it
    // pushes the record to the member that takes its place.
    net.run(Duration::from_secs(12));
    let now_held = indices(&net.holders(&key));
    assert_eq!(now_held.len(), 3, "three live copies again: {now_held:?}");
    assert!(!now_held.contains(&holders[0]));
}

/// `members` members on `config` with one spare copy beyond the three
/// replicas, holding one key put through node 0, after `settle`.
fn one_key_with_a_spare(members: usize, config: NodeConfig, settle: Duration) -> (Net, Id) {
    let mut net = Net::with(members, NodeConfig { spares: 1, ..config });
    let key = Id::hash(b"kept");
    net.put(0, key, b"v").expect("stored");
    net.run(settle);
    (net, key)
}

#[test]
fn a_spare_holds_the_key_beyond_its_replicas_and_answers_with_a_hint() {
    // Long after the push that brought it (a pushed copy is a hint for one
    // repair interval): a spare's copy stays a hint for as long as it is one.
    let (mut net, key) = one_key_with_a_spare(8, config(), Duration::from_secs(45));
    let nearest = net.replicas(&key, 4);
    assert_eq!(indices(&net.holders(&key)), nearest, "the replicas and the next in line hold it");
    let replicas = net.replicas(&key, 3);
    let spare = *nearest.iter().find(|i| !replicas.contains(i)).expect("a fourth member");
    let now = net.now;
    let answer = net.node(spare).handle_request(&peer(replicas[0]), Request::Fetch(key), now);
    assert!(matches!(answer, Response::CatchingUp(Some(_))), "a spare's copy is a hint, not a vote: {answer:?}");
    let answer = net.node(replicas[0]).handle_request(&peer(spare), Request::Fetch(key), now);
    assert!(matches!(answer, Response::Value(Some(_))), "a replica's copy votes: {answer:?}");
}

#[test]
fn a_key_whose_replicas_all_crash_at_once_lives_on_in_its_spare() {
    let (mut net, key) = one_key_with_a_spare(8, hourly_repair(), Duration::from_secs(6));
    for replica in net.replicas(&key, 3) {
        net.crash(replica);
    }
    net.run(Duration::from_secs(12));
    let holders = indices(&net.holders(&key));
    assert_eq!(holders.len(), 4, "the spare pushed the key to a new set: {holders:?}");
    let reader = holders[0];
    assert_eq!(&net.get(reader, key).expect("found").value[..], b"v");
}

#[test]
fn a_new_version_reaches_the_spare_at_the_next_check() {
    let (mut net, key) = one_key_with_a_spare(8, hourly_repair(), Duration::from_secs(6));
    net.run(Duration::from_secs(60));
    net.put(0, key, b"w").expect("stored");
    net.run(Duration::from_secs(3));
    let holders = net.holders(&key);
    let held: Vec<&[u8]> = holders.iter().map(|(_, v)| &v[..]).collect();
    assert_eq!(held, vec![&b"w"[..]; 4], "writers write to the replicas; the spare hears from them");
}

#[test]
fn a_replica_whose_ping_times_out_is_replaced_before_the_next_tick() {
    let (mut net, key) = one_key_watched(8);
    net.silent_crashes = true;
    let holders = indices(&net.holders(&key));
    net.crash(holders[0]);
    // Step in 50 ms until three live copies are back (bounded: 10 s).
    let step = Duration::from_millis(50);
    let mut repaired = None;
    for _ in 0..200 {
        net.run(step);
        if net.holders(&key).len() == 3 {
            repaired = Some(net.now);
            break;
        }
    }
    let repaired = repaired.expect("three live copies again within 10 s");
    // The first request a surviving holder sent the crashed one is the
    // check's ping, sent at a tick; its deadline comes a quarter of a
    // second later (the round trip here is nil), the next tick a second
    // later. The pass runs at the deadline.
    let (pinged, _) = *net.unanswered.iter().find(|(_, to)| *to == holders[0]).expect("the crashed replica was pinged");
    let waited = repaired.since(pinged);
    assert!(
        waited < net.config.tick_interval,
        "repaired {waited:?} after the ping: at the ping's deadline, not the next tick"
    );
}

#[test]
fn a_replica_peer_is_pinged_at_every_check_though_its_answers_take_a_while() {
    let (mut net, _) = one_key_watched(3);
    // Node 0 alone runs its timers, for ten seconds; every request it
    // sends is answered 50 ms later, as over a real link.
    let (rtt, until) = (Duration::from_millis(50), net.now + Duration::from_secs(10));
    let mut pings = 0;
    for _ in 0..1_000 {
        let now = net.now;
        if now >= until {
            break;
        }
        net.node(0).handle_timeout(now);
        let mut answers = Vec::new();
        while let Some(t) = net.node(0).poll_transmit() {
            let Address::Memory(to) = t.to.addr else { panic!("mesh peers are in memory") };
            pings += usize::from(to == 1 && matches!(t.request, Request::Ping));
            answers.push((t.id, net.node(to as usize).handle_request(&peer(0), t.request, now)));
        }
        let answered = now + rtt;
        for (id, answer) in answers {
            net.node(0).handle_response(id, answer, answered);
        }
        let next = net.node(0).poll_timeout().expect("a member has timers");
        net.now = next.max(answered);
    }
    let checks = (Duration::from_secs(10).as_millis() / net.config.replica_check_interval.as_millis()) as usize;
    assert!(pings + 1 >= checks, "{pings} pings to a replica peer in {checks} checks");
}

/// Five members on hourly repair holding 40 keys (`salt` tells one test's
/// keys from another's), their replica peers watched.
fn five_with_keys(salt: u8) -> (Net, Vec<Id>) {
    let mut net = Net::with(5, hourly_repair());
    let keys: Vec<Id> = (0..40u8).map(|i| Id::hash(&[i, salt])).collect();
    for key in &keys {
        net.put(0, *key, b"v").expect("stored");
    }
    net.run(Duration::from_secs(6));
    (net, keys)
}

#[test]
fn a_node_that_joins_inside_a_range_gets_its_records_at_once() {
    let (mut net, keys) = five_with_keys(7);
    let newcomer = net.join(Role::Member);
    // Gossip spreads the newcomer; every holder's view moves, and it
    // pushes the keys whose replica set now holds the newcomer.
    net.run(Duration::from_secs(10));
    let owed: Vec<&Id> = keys.iter().filter(|k| net.replicas(k, 3).contains(&newcomer)).collect();
    assert!(!owed.is_empty(), "the newcomer is a replica of some of 40 keys");
    for key in owed {
        assert!(indices(&net.holders(key)).contains(&newcomer), "{key} did not reach the newcomer");
    }
}

#[test]
fn a_handed_off_copy_stays_a_while_as_a_hint_then_goes() {
    let (mut net, keys) = five_with_keys(9);
    let before: Vec<Vec<usize>> = keys.iter().map(|k| indices(&net.holders(k))).collect();
    let newcomer = net.join(Role::Member);
    net.run(Duration::from_secs(10));
    // A holder the newcomer pushed out of a key's replica set.
    let (key, displaced) = keys
        .iter()
        .zip(&before)
        .find_map(|(key, held)| {
            let set = net.replicas(key, 3);
            held.iter().find(|h| !set.contains(h)).map(|h| (*key, *h))
        })
        .expect("the newcomer displaced a holder of one of 40 keys");
    assert!(indices(&net.holders(&key)).contains(&newcomer), "handed to the newcomer");
    assert!(indices(&net.holders(&key)).contains(&displaced), "the displaced copy stays a while");
    let now = net.now;
    let answer = net.node(displaced).handle_request(&peer(newcomer), Request::Fetch(key), now);
    assert!(matches!(answer, Response::CatchingUp(Some(_))), "a hint, not a vote: {answer:?}");
    net.run(net.config.handoff_linger);
    let held = indices(&net.holders(&key));
    assert_eq!(held, net.replicas(&key, 3), "the displaced copy went once it had lingered");
}

/// A lookup that ended beside a key's replicas, on a view out of date,
/// asks nodes that never held the key: their "none here" must not add up
/// to a quorum that says the key does not exist.
#[test]
fn none_here_is_a_vote_only_from_the_keys_replica_set() {
    let mut net = Net::new(8);
    let now = net.now;
    let key = Id::hash(b"never written");
    let set = net.replicas(&key, 3);
    let beside = (0..8).find(|i| !set.contains(i)).expect("8 nodes, 3 replicas");
    let asker = peer((beside + 1) % 8);
    let inside = net.node(set[0]).handle_request(&asker, Request::Fetch(key), now);
    assert_eq!(inside, Response::Value(None), "a replica's \"none here\" is a vote");
    let outside = net.node(beside).handle_request(&asker, Request::Fetch(key), now);
    assert_eq!(outside, Response::CatchingUp(None), "a node beside the set gives no vote");
}

/// A write that reaches a node outside the key's replica set, as that
/// node sees it, is taken, but answered as a spare's: the writer's view
/// named it, a reader's may not. A copy pushed by another holder is
/// answered as before: repair, not a write, sent it.
#[test]
fn a_write_taken_beside_the_replica_set_is_a_spares() {
    let mut net = Net::new(8);
    let now = net.now;
    let key = Id::hash(b"written beside");
    let record = Record::new(key, &b"v"[..], 1, now + Duration::from_secs(3600));
    let set = net.replicas(&key, 3);
    let beside = (0..8).find(|i| !set.contains(i)).expect("8 nodes, 3 replicas");
    let writer = peer((beside + 1) % 8);
    let write =
        |net: &mut Net, i: usize| net.node(i).handle_request(&writer, Request::Store(Box::new(record.clone())), now);
    assert_eq!(write(&mut net, set[0]), Response::Stored(true), "a replica's take");
    assert_eq!(write(&mut net, beside), Response::StoredAsSpare(true), "a spare's take");
    assert_eq!(write(&mut net, beside), Response::StoredAsSpare(false), "already held, still a spare");
    let copy = net.node(set[1]).handle_request(&writer, Request::Replicate(Box::new(record.clone())), now);
    assert_eq!(copy, Response::Stored(true));
}

/// A put that only one replica and spares took — the two replicas its
/// view named first were down — looks again at the next ticks and
/// reaches them once they are back, before it reports the write done.
#[test]
fn a_put_taken_by_spares_looks_again_for_the_replicas() {
    let mut net = Net::new(8);
    let key = Id::hash(b"taken by spares");
    let mut ranked: Vec<usize> = (0..8).collect();
    ranked.sort_by_key(|i| peer(*i).id.distance(&key));
    // Not a spare either: its own view, which lets the failed replicas
    // go, would put it in the set.
    let writer = ranked[7];
    net.put(writer, key, b"old").expect("stored");
    let away = [ranked[0], ranked[1]];
    for &i in &away {
        net.crash(i);
    }
    let now = net.now;
    let op = net.node(writer).put(key, &b"new"[..], now);
    net.deliver();
    assert!(net.node(writer).poll_event().is_none(), "one replica's take is short of a quorum: it looks again");
    for &i in &away {
        net.restart(i);
    }
    let outcome = net.op_event(writer, op);
    assert!(matches!(outcome, OpOutcome::Put(Ok(_))), "{outcome:?}");
    let now = net.now;
    for &i in &away {
        let held = net.node(i).store().get(&key, now).expect("held").value;
        assert_eq!(&held[..], b"new", "replica {i} has the write once the put is done");
    }
}

#[test]
fn a_copy_from_another_holder_is_a_hint_until_a_write_reaches_it() {
    let mut net = Net::new(8);
    let now = net.now;
    let expires = now + Duration::from_secs(3600);
    let key = Id::hash(b"a set that moved");
    let mut ranked: Vec<usize> = (0..8).collect();
    ranked.sort_by_key(|i| peer(*i).id.distance(&key));
    let (set, lagging) = (&ranked[..3], &ranked[3..5]);
    // Repair copied version 1 to the key's replica set, while a writer
    // whose view still named the holders beyond it wrote version 2 there.
    let copy = Record::new(key, &b"copied"[..], 1, expires);
    let write = Record::new(key, &b"written"[..], 2, expires);
    for &i in set {
        let answer = net.node(i).handle_request(&peer(lagging[0]), Request::Replicate(Box::new(copy.clone())), now);
        assert_eq!(answer, Response::Stored(true));
        let fetched = net.node(i).handle_request(&peer(ranked[7]), Request::Fetch(key), now);
        assert!(matches!(fetched, Response::CatchingUp(Some(_))), "a copy is a hint: {fetched:?}");
    }
    for &i in lagging {
        assert_eq!(
            net.node(i).handle_request(&peer(ranked[6]), Request::Store(Box::new(write.clone())), now),
            Response::StoredAsSpare(true)
        );
    }
    // Three copies make no quorum: the get reads on and finds the write.
    assert_eq!(&net.get(ranked[7], key).expect("found").value[..], b"written");

    // A write reaching a holder makes its copy a vote again.
    let newer = Record::new(key, &b"newer"[..], 3, expires);
    let now = net.now;
    assert_eq!(
        net.node(set[0]).handle_request(&peer(ranked[6]), Request::Store(Box::new(newer)), now),
        Response::Stored(true)
    );
    let fetched = net.node(set[0]).handle_request(&peer(ranked[7]), Request::Fetch(key), now);
    assert!(matches!(fetched, Response::Value(Some(_))), "written here: {fetched:?}");

    // So does a repair interval without one: by then the holders the
    // writers' views named have run a pass and pushed what they had.
    let quiet = Id::hash(b"no writes");
    let copy = Record::new(quiet, &b"copied"[..], 1, expires);
    let holder = net.replicas(&quiet, 1)[0];
    assert_eq!(
        net.node(holder).handle_request(&peer(ranked[1]), Request::Replicate(Box::new(copy)), now),
        Response::Stored(true)
    );
    let fetched = net.node(holder).handle_request(&peer(ranked[7]), Request::Fetch(quiet), now);
    assert!(matches!(fetched, Response::CatchingUp(Some(_))), "a copy is a hint: {fetched:?}");
    net.run(net.config.repair_interval);
    let now = net.now;
    let fetched = net.node(holder).handle_request(&peer(ranked[7]), Request::Fetch(quiet), now);
    assert!(matches!(fetched, Response::Value(Some(_))), "caught up: {fetched:?}");
}

#[test]
fn a_get_puts_back_a_copy_a_silent_replica_held() {
    let mut net = Net::with(8, hourly_repair());
    let key = Id::hash(b"read back");
    net.put(0, key, b"v").expect("stored");
    let holders = indices(&net.holders(&key));
    let lost = *holders.iter().find(|i| **i != 0).expect("a replica besides the writer");
    net.crash(lost);
    let reader = (0..8).find(|i| !holders.contains(i)).expect("a node that holds nothing");
    assert_eq!(&net.get(reader, key).expect("found").value[..], b"v");
    // No time has passed for any check: the get itself wrote the copy.
    let now_held = indices(&net.holders(&key));
    assert_eq!(now_held.len(), 3, "the get replaced the silent replica's copy: {now_held:?}");
}

#[test]
fn a_get_repairs_a_replica_that_missed_a_write() {
    let mut net = Net::new(6);
    let key = Id::hash(b"versions");
    net.put(0, key, b"old").expect("stored");
    let stale = *indices(&net.holders(&key)).iter().find(|i| **i != 0).expect("a replica besides the writer");
    net.crash(stale);
    net.put(0, key, b"new").expect("stored without it");
    net.restart(stale);
    let held =
        |net: &mut Net| net.nodes[stale].as_ref().and_then(|n| n.store().get(&key, net.now)).expect("held").value;
    assert_eq!(&held(&mut net)[..], b"old");
    let reader = (0..6).find(|i| *i != stale && *i != 0).expect("another node");
    let pushes = net.node(reader).stats().repair_pushes;
    assert_eq!(&net.get(reader, key).expect("found").value[..], b"new", "the newest version wins");
    assert_eq!(&held(&mut net)[..], b"new", "read-repaired");
    assert!(net.node(reader).stats().repair_pushes > pushes, "the read repair is counted");
}

#[test]
fn a_get_does_not_take_the_old_copies_of_restarted_replicas_for_a_quorum() {
    let mut net = Net::new(8);
    let key = Id::hash(b"catching up");
    let replicas = net.replicas(&key, 3);
    let writer = (0..8).find(|i| !replicas.contains(i) && *i != 0).expect("a node that is not a replica");
    net.put(writer, key, b"old").expect("stored");
    // The two replicas nearest the key, which a get asks first, miss the new
    // write; spares beyond the replica set take it instead.
    let mut nearest = replicas.clone();
    nearest.sort_by_key(|i| peer(*i).id.distance(&key));
    let missed = [nearest[0], nearest[1]];
    for &i in &missed {
        net.crash(i);
    }
    net.put(writer, key, b"new").expect("stored on the third replica and a spare");
    for &i in &missed {
        net.restart_on_store(i);
        let now = net.now;
        let copy = net.node(i).store().get(&key, now).expect("kept its copy").value;
        assert_eq!(&copy[..], b"old");
    }
    // Their two old copies would make a read quorum; catching up, they do
    // not vote, and the get asks on until two voters agree.
    let reader = (0..8).find(|i| !replicas.contains(i) && *i != writer).expect("another node");
    assert_eq!(&net.get(reader, key).expect("found").value[..], b"new");
}

/// Puts a key on 8 nodes with `retries` lookup retries, does `to_holders`
/// to its holders, then gets it from a node that holds nothing: what the
/// get returned and the node ticks it took.
fn get_after(retries: u32, to_holders: impl Fn(&mut Net, usize)) -> (Option<Record>, u128) {
    let mut net = Net::with(8, NodeConfig { lookup_retries: retries, ..config() });
    let key = Id::hash(b"weak answers");
    net.put(0, key, b"v").expect("stored");
    let holders = indices(&net.holders(&key));
    for &i in &holders {
        to_holders(&mut net, i);
    }
    let reader = (0..8).find(|i| !holders.contains(i)).expect("a node that holds nothing");
    let began = net.now;
    let found = net.get(reader, key);
    (found, net.now.since(began).as_millis() / net.config.tick_interval.as_millis())
}

#[test]
fn a_get_that_finds_the_record_only_in_hints_looks_again_before_it_answers() {
    // Back on their stores, every holder answers as catching up: a hint.
    let restart = |net: &mut Net, i: usize| {
        net.crash(i);
        net.restart_on_store(i);
    };
    let (found, ticks) = get_after(0, restart);
    assert_eq!((found.map(|r| r.value), ticks), (Some(bytes::Bytes::from_static(b"v")), 0), "no retry: at once");
    let (found, ticks) = get_after(3, restart);
    assert_eq!(found.map(|r| r.value), Some(bytes::Bytes::from_static(b"v")), "found in the end");
    assert!(ticks >= 1, "it looked again at the next tick");
}

#[test]
fn a_get_whose_replicas_are_silent_looks_again_before_it_says_no_such_key() {
    let (found, ticks) = get_after(0, Net::crash);
    assert_eq!((found, ticks), (None, 0), "no retry: \"no such key\" at once");
    let (found, ticks) = get_after(3, Net::crash);
    assert!(found.is_none());
    assert!(ticks >= 1, "it looked again, once its view had let the silent replicas go");
}

#[test]
fn a_forged_newer_version_does_not_fail_a_signed_put() {
    let mut net = Net::new(6);
    let (signer, _) = crate::SigningKey::generate().expect("a key");
    let record = Record::signed(&signer, &b"name"[..], &b"v"[..], 1, net.now + Duration::from_secs(3600), false);
    let replicas = net.replicas(&record.key, 3);
    net.liars.push(replicas[0]);
    let writer = (0..6).find(|i| !replicas.contains(i)).expect("a non-replica");
    let outcome = net.op(writer, |n, now| n.put_record(record.clone(), now));
    assert!(matches!(outcome, OpOutcome::Put(Ok(acks)) if acks >= 2), "the lie counts as silence: {outcome:?}");
    let holders = indices(&net.holders(&record.key));
    assert!(holders.len() >= 2 && !holders.contains(&replicas[0]), "{holders:?}");
}

#[test]
fn a_client_routes_and_stores_but_holds_nothing_and_is_never_a_peer() {
    let mut net = Net::new(5);
    let client = net.join(Role::Client);
    net.run(Duration::from_secs(10));
    assert!(net.node(client).is_joined());
    let key = Id::hash(b"from a client");
    assert!(net.put(client, key, b"v").is_ok_and(|acks| acks >= 2));
    assert!(net.node(client).store().is_empty(), "a client keeps no copy");
    assert!(!indices(&net.holders(&key)).contains(&client));
    for member in 0..5 {
        let knows_client = net.node(member).overlay().neighbours().iter().any(|p| p.id == peer(client).id);
        assert!(!knows_client, "member {member} took the client into its routing state");
    }
    // A client refuses to store for others; the refusal is counted.
    let record = Record::new(key, &b"v"[..], 1, Time::NEVER);
    let now = net.now;
    let answer = net.node(client).handle_request(&peer(0), Request::Store(Box::new(record)), now);
    assert!(matches!(answer, Response::Refused(Refusal::Busy)), "{answer:?}");
    let stats = net.node(client).stats();
    assert_eq!((stats.refusals.busy, stats.refusals.total()), (1, 1));
    assert_eq!((stats.requests_in.store, stats.requests_in.total()), (1, 1));
    assert_eq!((stats.ops_ok, stats.records), (1, 0));
}

#[test]
fn stats_count_operations_records_and_peers() {
    let mut net = Net::new(4);
    for i in 0..3u8 {
        net.put(0, Id::hash(&[i]), b"v").expect("stored");
    }
    assert!(net.get(0, Id::hash(b"absent")).is_none());
    let stats = net.node(0).stats();
    assert_eq!(stats.ops_ok, 4, "three puts and a get that found nothing");
    assert_eq!(stats.ops_failed, 0);
    assert_eq!(stats.op_latency.count(), 4);
    assert_eq!(stats.peers, 3, "every other member");
    let held: usize = (0..4).map(|i| net.node(i).stats().records).sum();
    assert_eq!(held, 9, "three copies of three keys");
    // Every put sent its record to the two other replicas (the third copy
    // is the writer's own), and the get asked for the absent key.
    assert!(stats.requests_out.store >= 6, "{:?}", stats.requests_out);
    assert!(stats.requests_out.fetch >= 1, "{:?}", stats.requests_out);
    let stored: u64 = (1..4).map(|i| net.node(i).stats().requests_in.store).sum();
    assert_eq!(stored, stats.requests_out.store, "every store sent was received");
}

#[test]
fn a_content_record_can_be_neither_shortened_nor_outbid() {
    let mut net = Net::new(5);
    let day = net.now + Duration::from_secs(24 * 3600);
    let record = Record::content(&b"immutable"[..], 1, day);
    let key = record.key;
    assert!(matches!(net.op(0, |n, now| n.put_record(record, now)), OpOutcome::Put(Ok(_))));
    // Another writer stores the same value with the highest version and an
    // expiry a second away: were it to win, every copy would be gone soon.
    let attack = Record::content(&b"immutable"[..], u64::MAX - 1, net.now + Duration::from_secs(1));
    net.op(1, |n, now| n.put_record(attack, now));
    net.run(Duration::from_secs(5));
    let holders = net.holders(&key);
    assert_eq!(holders.len(), 3, "{holders:?}");
    for (i, _) in holders {
        let now = net.now;
        assert_eq!(net.node(i).store().get(&key, now).expect("held").expires_at, day, "node {i}");
    }
    assert!(net.get(4, key).is_some());
}

#[test]
fn records_that_would_live_too_long_or_win_for_ever_are_refused() {
    let mut net = Net::new(3);
    let key = Id::hash(b"bounds");
    let hour = net.now + Duration::from_secs(3600);
    let for_ever = Record::new(key, &b"v"[..], 1, Time::NEVER);
    let top_version = Record::new(key, &b"v"[..], u64::MAX, hour);
    for record in [for_ever, top_version] {
        let outcome = net.op(0, |n, now| n.put_record(record.clone(), now));
        assert!(matches!(outcome, OpOutcome::Put(Err(OpError::Invalid(_)))), "{outcome:?}");
        let now = net.now;
        let answer = net.node(1).handle_request(&peer(2), Request::Store(Box::new(record)), now);
        assert!(matches!(answer, Response::Refused(Refusal::Invalid(_))), "{answer:?}");
    }
    assert!(net.holders(&key).is_empty());
    // A signed record's version is its owner's sequence number: not bounded.
    let (signer, _) = crate::SigningKey::generate().expect("a key");
    let signed = Record::signed(&signer, &b"n"[..], &b"v"[..], u64::MAX - 1, hour, false);
    assert!(matches!(net.op(0, |n, now| n.put_record(signed, now)), OpOutcome::Put(Ok(_))));
}

/// A store whose disk has failed: every read and write is an error.
struct BrokenStore;

impl Store for BrokenStore {
    fn read(&self, _key: &Id, _now: Time) -> Result<Option<Record>, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn put_with(&self, _record: Record, _now: Time, _wins: crate::Wins<'_>) -> Result<PutOutcome, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    fn remove(&self, _key: &Id) -> Option<Record> {
        None
    }
    fn keys(&self) -> Vec<Id> {
        Vec::new()
    }
    fn len(&self) -> usize {
        0
    }
    fn bytes(&self) -> usize {
        0
    }
    fn expire(&self, _now: Time) -> usize {
        0
    }
}

#[test]
fn a_failing_store_answers_with_an_error_never_with_no_record() {
    let mut node = Node::new(Mesh::new(peer(0)), BrokenStore, config(), 0, Time(0));
    node.bootstrap(&[], Time(0));
    let key = Id::hash(b"k");
    let fetched = node.handle_request(&peer(1), Request::Fetch(key), Time(1));
    assert!(matches!(fetched, Response::Refused(Refusal::Storage(_))), "{fetched:?}");
    let record = Record::new(key, &b"v"[..], 1, Time(10_000));
    let stored = node.handle_request(&peer(1), Request::Store(Box::new(record)), Time(1));
    assert!(matches!(stored, Response::Refused(Refusal::Storage(_))), "{stored:?}");
}

#[test]
fn repair_sends_a_bounded_number_of_pushes_at_a_time() {
    let mut net = Net::new(3);
    let keys: Vec<Id> = (0..200u32).map(|i| Id::hash(&i.to_be_bytes())).collect();
    for key in &keys {
        net.put(0, *key, b"v").expect("stored");
    }
    // A fourth member joins: it belongs in about three quarters of the
    // replica sets, and the three others' repair passes push it those keys.
    net.most_stores_at_once = 0;
    let newcomer = net.join(Role::Member);
    net.run(Duration::from_secs(60));
    let now = net.now;
    let held = keys.iter().filter(|k| net.node(newcomer).store().get(k, now).is_some()).count();
    let owed = keys.iter().filter(|k| net.replicas(k, 3).contains(&newcomer)).count();
    assert_eq!(held, owed, "the newcomer got every key it is a replica of");
    assert!(owed > 100, "{owed}");
    assert!(
        net.most_stores_at_once <= 8 + 3,
        "{} pushes out at once, with 8 allowed in flight (a key's pushes go together)",
        net.most_stores_at_once
    );
}

/// A put whose lookup finds nobody — every peer the client knew failed —
/// waits for the next node tick and looks again, and succeeds once the
/// overlay has mended; after `lookup_retries` tries it fails.
#[test]
fn a_put_that_finds_nobody_looks_again_at_the_next_ticks() {
    let mut net = Net::new(4);
    let client = net.join(Role::Client);
    net.run(Duration::from_secs(10));
    for member in 0..4 {
        net.crash(member);
    }
    let key = Id::hash(b"retried");
    let first = net.put(client, key, b"v");
    assert!(matches!(first, Err(OpError::QuorumNotReached { acks: 0, .. })), "{first:?}");

    // The client now knows nobody: its put waits instead of failing.
    let started = net.now;
    let op = net.node(client).put(key, &b"v"[..], started);
    net.deliver();
    net.run(Duration::from_millis(500));
    assert!(net.node(client).poll_event().is_none(), "the put waits for the next tick");
    for member in 0..4 {
        net.restart(member);
    }
    let now = net.now;
    net.node(client).bootstrap(&[peer(0)], now);
    let outcome = net.op_event(client, op);
    assert!(matches!(outcome, OpOutcome::Put(Ok(_))), "{outcome:?}");

    // Nobody to find for good: it fails after its retries, a tick apart.
    for member in 0..4 {
        net.crash(member);
    }
    let _ = net.put(client, key, b"w");
    let started = net.now;
    let op = net.node(client).put(key, &b"w"[..], started);
    let outcome = net.op_event(client, op);
    assert_eq!(outcome, OpOutcome::Put(Err(OpError::NoPeers)));
    let retries = net.config.lookup_retries;
    assert!(net.now.since(started) >= Duration::from_secs(u64::from(retries) - 1), "it looked {retries} more times");

    // A node that leaves ticks no more: what waits fails at once.
    let now = net.now;
    let put = net.node(client).put(key, &b"x"[..], now);
    net.deliver();
    let leave = net.node(client).leave(now);
    net.deliver();
    let events: Vec<(OpId, OpOutcome)> =
        std::iter::from_fn(|| net.node(client).poll_event()).map(|e| (e.op, e.outcome)).collect();
    assert_eq!(events, vec![(put, OpOutcome::Put(Err(OpError::NoPeers))), (leave, OpOutcome::Left)]);
}
