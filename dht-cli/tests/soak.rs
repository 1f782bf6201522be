//! The short soak CI runs: node processes killed with SIGKILL and restarted
//! on their data directories under load; every acknowledged write must be
//! read back.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)] // tests fail loudly and show what they measured

mod common;

use common::{dht, run, stderr};

fn soak(overlay: &str) -> serde_json::Value {
    let out = run(dht()
        .args(["soak", "--overlay", overlay, "--nodes", "6", "--seconds", "12", "--kill-every", "3"])
        .args(["--keys", "100", "--concurrency", "8"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{overlay}: {stdout}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("{overlay} soak printed no JSON ({e}); stderr: {}", stderr(&out));
    });
    assert!(out.status.success(), "{overlay} soak failed: {report}");
    report
}

fn check(report: &serde_json::Value) {
    assert_eq!(report["lost_writes"], 0, "{report}");
    assert!(report["restarts"].as_u64().unwrap() >= 3, "{report}");
    assert!(report["acked_writes"].as_u64().unwrap() > 100, "{report}");
    assert!(report["get_ok_rate"].as_f64().unwrap() > 0.9, "{report}");
}

#[test]
fn kademlia_loses_no_acknowledged_write_while_nodes_are_killed_and_restarted() {
    check(&soak("kademlia"));
}

#[test]
fn chord_loses_no_acknowledged_write_while_nodes_are_killed_and_restarted() {
    check(&soak("chord"));
}
