//! S/Kademlia's disjoint paths against malicious nodes, in the simulator:
//! colluding nodes answer every lookup request with one another, swallow
//! stores and deny holding anything. With 20% of them, lookups find the
//! closest honest node either way at this size; with 40%, plain lookups
//! miss it and four disjoint paths do not. The full table comes from
//! `cargo run --release -p dht-kademlia --example malicious`.

mod common;

use common::malicious::run;

#[test]
fn disjoint_paths_beat_colluding_nodes() {
    for fraction in [0.2, 0.4] {
        let plain = run(300, 8, fraction, 1, 100, 9);
        let disjoint = run(300, 8, fraction, 4, 100, 9);
        eprintln!("{fraction} malicious of 300 (k = 8): plain {plain:?}; 4 disjoint paths {disjoint:?}");
        assert!(disjoint.lookups >= plain.lookups, "lookups: {disjoint:?} vs {plain:?}");
        assert!(disjoint.messages > 1.5 * plain.messages, "every path runs: {disjoint:?} vs {plain:?}");
        if fraction > 0.3 {
            assert!(disjoint.lookups > plain.lookups, "lookups: {disjoint:?} vs {plain:?}");
            assert!(disjoint.lookups >= 0.95, "{disjoint:?}");
            assert!(disjoint.gets > plain.gets, "gets: {disjoint:?} vs {plain:?}");
        }
    }
}
