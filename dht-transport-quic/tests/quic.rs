//! Real QUIC sockets on 127.0.0.1: the conformance suite's network cases for
//! every overlay, and the identity and network checks of the handshake.
#![allow(clippy::expect_used, clippy::disallowed_methods)] // tests fail loudly and spawn freely

use bytes::Bytes;
use dht_can::{Can, CanConfig};
use dht_chord::{Chord, ChordConfig};
use dht_core::{wire, Address, Id, Overlay, Peer, Request, Role, Transport, TransportError};
use dht_kademlia::{KadMessage, Kademlia, KademliaConfig};
use dht_pastry::{Pastry, PastryConfig};
use dht_testkit::live::{self, LiveConfig};
use dht_transport_quic::{Identity, QuicConfig, QuicTransport};
use std::sync::Arc;
use std::time::Duration;

fn loopback() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("valid address")
}

fn quic(overlay: &str, network: &str) -> Arc<dyn Transport> {
    Arc::new(
        QuicTransport::bind(loopback(), Identity::generate().expect("key"), QuicConfig::new(overlay, network))
            .expect("bind"),
    )
}

async fn within<T>(limit: Duration, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, f).await.expect("finished within the time limit")
}

/// Runs the live conformance cases over QUIC on loopback and asserts they pass.
#[allow(clippy::print_stdout)] // prints the report, as the tests themselves may
async fn passes_the_network_cases<O: Overlay>(make: impl Fn(Peer) -> O + Clone, config: LiveConfig) {
    let report = within(Duration::from_secs(120), live::run_all(make, |_| quic(O::NAME, "test"), &config)).await;
    println!("{report}");
    assert!(report.passed(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kademlia_passes_the_network_cases_over_quic() {
    passes_the_network_cases(|peer| Kademlia::new(peer, KademliaConfig::default()), LiveConfig::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chord_passes_the_network_cases_over_quic() {
    let mut fast = ChordConfig::default();
    fast.stabilize_interval = Duration::from_millis(250);
    let config = LiveConfig { settle: Duration::from_secs(4), ..LiveConfig::default() };
    passes_the_network_cases(move |peer| Chord::new(peer, fast.clone()), config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_passes_the_network_cases_over_quic() {
    let mut fast = CanConfig::default();
    fast.update_interval = Duration::from_millis(250);
    let config = LiveConfig { settle: Duration::from_secs(4), ..LiveConfig::default() };
    passes_the_network_cases(move |peer| Can::new(peer, fast.clone()), config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pastry_passes_the_network_cases_over_quic() {
    let mut fast = PastryConfig::default();
    fast.maintenance_interval = Duration::from_millis(250);
    let config = LiveConfig { settle: Duration::from_secs(4), ..LiveConfig::default() };
    passes_the_network_cases(move |peer| Pastry::new(peer, fast.clone()), config).await;
}

fn fetch_frame() -> Bytes {
    Bytes::from(wire::encode(Kademlia::NAME, &Request::<KadMessage>::Fetch(Id::ZERO)).expect("encodes"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialer_refuses_a_peer_whose_key_is_not_the_expected_id() {
    within(Duration::from_secs(20), async {
        let server = quic(Kademlia::NAME, "test");
        let client = quic(Kademlia::NAME, "test");
        let impostor = Peer::new(Id::hash(b"someone else"), server.local().addr);
        let err = client.request(&impostor, fetch_frame(), Duration::from_secs(5)).await.expect_err("refused");
        assert!(matches!(err, TransportError::WrongPeer(_)), "{err:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_of_another_network_or_overlay_are_refused_with_a_clear_error() {
    within(Duration::from_secs(20), async {
        let server = quic(Kademlia::NAME, "alpha");
        for client in [quic(Kademlia::NAME, "beta"), quic(Chord::NAME, "alpha")] {
            let err =
                client.request(&server.local(), fetch_frame(), Duration::from_secs(5)).await.expect_err("refused");
            match err {
                TransportError::WrongPeer(why) => assert!(why.contains("another network or overlay"), "{why}"),
                other => panic!("expected a refusal naming the network, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_learns_the_caller_id_and_probe_learns_the_listener_id() {
    within(Duration::from_secs(20), async {
        let server =
            QuicTransport::bind(loopback(), Identity::generate().expect("key"), QuicConfig::new("kademlia", "t"))
                .expect("bind");
        let client =
            QuicTransport::bind(loopback(), Identity::generate().expect("key"), QuicConfig::new("kademlia", "t"))
                .expect("bind");
        let Address::Socket(addr) = server.local().addr else { panic!("socket address") };
        let found = client.probe(addr, Duration::from_secs(5)).await.expect("probe");
        assert_eq!(found.id, server.local().id);
        let caller = client.local();
        let echo = tokio::spawn(async move {
            let incoming = server.accept().await.expect("a request");
            assert_eq!(incoming.from.id, caller.id, "the caller's id comes from its certificate");
            incoming.reply.respond(Bytes::from_static(b"pong"));
        });
        let answer = client.request(&found, Bytes::from_static(b"ping"), Duration::from_secs(5)).await.expect("answer");
        assert_eq!(&answer[..], b"pong");
        echo.await.expect("echo task");
        // A second request reuses the connection.
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_refused_before_it_is_sent() {
    within(Duration::from_secs(20), async {
        let server = quic(Kademlia::NAME, "t");
        let client = quic(Kademlia::NAME, "t");
        let big = Bytes::from(vec![0u8; wire::MAX_FRAME_BYTES + 5]);
        let err = client.request(&server.local(), big, Duration::from_secs(5)).await.expect_err("too large");
        assert!(matches!(err, TransportError::TooLarge(_)), "{err:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_learns_whether_the_caller_is_a_client() {
    within(Duration::from_secs(20), async {
        let server = quic(Kademlia::NAME, "t");
        for role in [Role::Member, Role::Client] {
            let mut config = QuicConfig::new(Kademlia::NAME, "t");
            config.role = role;
            let caller = QuicTransport::bind(loopback(), Identity::generate().expect("key"), config).expect("bind");
            let target = server.local();
            let ask = tokio::spawn(async move { caller.request(&target, fetch_frame(), Duration::from_secs(5)).await });
            let incoming = server.accept().await.expect("a request");
            assert_eq!(incoming.role, role, "the caller is a client exactly when it says so");
            incoming.reply.respond(Bytes::from_static(b"ok"));
            ask.await.expect("request task").expect("answered");
        }
    })
    .await;
}
