//! Nodes on three hosts: three network namespaces this test creates, each
//! joined by a veth pair to a bridge in a fourth, with private addresses
//! that exist inside those namespaces only. Values put on one host are got
//! on the others; with one host's link cut the other two still serve every
//! key; with the link back, the cut host serves them again. Everything the
//! test creates is removed when it ends, pass or fail.
//!
//! It needs `ip netns` (root, or the capability to create namespaces); where
//! that is not permitted it prints why and passes without running.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout, clippy::disallowed_methods)] // tests fail loudly, time themselves and say why they skip

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Hosts (namespaces) and nodes per host. With two nodes a host and three
/// replicas a key, every key keeps a replica off any one host.
const HOSTS: usize = 3;
const NODES_PER_HOST: usize = 2;
const KEYS: usize = 6;

/// The namespaces and links of one run; deleted on drop.
struct Hosts {
    tag: String,
    nodes: Vec<Child>,
}

impl Hosts {
    fn hub(&self) -> String {
        format!("dht{}hub", self.tag)
    }

    fn host(&self, i: usize) -> String {
        format!("dht{}h{i}", self.tag)
    }

    /// The hub's end of host `i`'s link.
    fn hub_link(&self, i: usize) -> String {
        format!("dh{}b{i}", self.tag)
    }

    fn addr(&self, host: usize, node: usize) -> String {
        format!("10.213.0.{}:{}", host + 1, 4000 + node)
    }

    fn build(&self) -> Result<(), String> {
        let hub = self.hub();
        ip(&["netns", "add", &hub])?;
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &hub, "link", "set", "br0", "up"])?;
        for i in 0..HOSTS {
            let (host, hub_end, host_end) = (self.host(i), self.hub_link(i), format!("dh{}h{i}", self.tag));
            ip(&["netns", "add", &host])?;
            ip(&["-n", &hub, "link", "add", &hub_end, "type", "veth", "peer", "name", &host_end, "netns", &host])?;
            ip(&["-n", &hub, "link", "set", &hub_end, "master", "br0", "up"])?;
            ip(&["-n", &host, "addr", "add", &format!("10.213.0.{}/24", i + 1), "dev", &host_end])?;
            ip(&["-n", &host, "link", "set", &host_end, "up"])?;
            ip(&["-n", &host, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// Starts a node on `host`, joining through the first node of host 0.
    fn start_node(&mut self, host: usize, node: usize, dir: &std::path::Path) {
        let mut command = self.dht_in(host);
        command.args(["node", "--listen", &self.addr(host, node), "--repair-interval", "2", "--data-dir"]).arg(dir);
        if (host, node) != (0, 0) {
            command.args(["--bootstrap", &self.addr(0, 0)]);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("starts a node");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        assert!(line.contains("listening"), "node on host {host} did not start: {line:?}");
        self.nodes.push(child);
    }

    fn dht_in(&self, host: usize) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.host(host), env!("CARGO_BIN_EXE_dht")]);
        command
    }

    /// `dht get` run on `host`, through a node on `via_host`.
    fn get(&self, host: usize, via_host: usize, key: &str) -> Output {
        self.dht_in(host).args(["get", "--bootstrap", &self.addr(via_host, 0), key]).output().expect("runs")
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for child in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in (0..HOSTS).map(|i| self.host(i)).chain([self.hub()]) {
            let _ = ip(&["netns", "del", &ns]);
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Why namespaces cannot be used here, if they cannot.
fn unavailable(tag: &str) -> Option<String> {
    let probe = format!("dht{tag}probe");
    match ip(&["netns", "add", &probe]) {
        Ok(()) => {
            let _ = ip(&["netns", "del", &probe]);
            None
        }
        Err(e) => Some(e),
    }
}

fn value_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Gets every key on `host` through a node on `via`; returns the keys that
/// did not come back right. Bounded: each `dht get` retries at most twice.
fn missing(hosts: &Hosts, host: usize, via: usize) -> Vec<String> {
    (0..KEYS)
        .filter_map(|k| {
            let out = hosts.get(host, via, &format!("key-{k}"));
            (value_of(&out) != format!("value-{k}"))
                .then(|| format!("key-{k} on host {host}: {}", String::from_utf8_lossy(&out.stderr).trim()))
        })
        .collect()
}

#[test]
fn three_hosts_serve_every_key_with_one_cut_off_and_after_it_returns() {
    let tag = format!("{}", std::process::id() % 100_000);
    if let Some(reason) = unavailable(&tag) {
        println!("skipped: network namespaces are not available here ({reason})");
        return;
    }
    let mut hosts = Hosts { tag: tag.clone(), nodes: Vec::new() };
    hosts.build().expect("namespaces, bridge and links are created");
    let dirs = common::temp_dir("netns");
    for host in 0..HOSTS {
        for node in 0..NODES_PER_HOST {
            hosts.start_node(host, node, &dirs.join(format!("h{host}n{node}")));
        }
    }
    std::thread::sleep(Duration::from_secs(3));

    for k in 0..KEYS {
        let out = hosts
            .dht_in(k % HOSTS)
            .args(["put", "--bootstrap", &hosts.addr(k % HOSTS, 0), &format!("key-{k}"), &format!("value-{k}")])
            .output()
            .expect("runs");
        assert!(out.status.success(), "put key-{k}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for host in 0..HOSTS {
        let lost = missing(&hosts, host, (host + 1) % HOSTS);
        assert!(lost.is_empty(), "before the cut: {lost:?}");
    }

    // Cut host 2 off the bridge; hosts 0 and 1 must still serve every key.
    let cut_at = Instant::now();
    ip(&["-n", &hosts.hub(), "link", "set", &hosts.hub_link(2), "down"]).expect("link down");
    std::thread::sleep(Duration::from_secs(5));
    for host in 0..2 {
        let lost = missing(&hosts, host, host);
        assert!(lost.is_empty(), "with host 2 cut off: {lost:?}");
    }
    let cut_for = cut_at.elapsed();

    // Back on the bridge: host 2 serves every key again.
    ip(&["-n", &hosts.hub(), "link", "set", &hosts.hub_link(2), "up"]).expect("link up");
    std::thread::sleep(Duration::from_secs(5));
    let lost = missing(&hosts, 2, 0);
    assert!(lost.is_empty(), "after host 2 came back: {lost:?}");
    println!(
        "{HOSTS} hosts x {NODES_PER_HOST} nodes: {KEYS} keys served on every host, by hosts 0 and 1 during {:.0} s \
         with host 2 cut off, and by host 2 again after",
        cut_for.as_secs_f64()
    );
    drop(hosts);
}
