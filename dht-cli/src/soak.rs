//! `dht soak`: a bounded endurance run on 127.0.0.1.
//!
//! `--nodes` `dht node` processes run, each on its own data directory.
//! An in-process client node keeps `--concurrency` operations in flight —
//! half puts, half gets, over `--keys` keys — for `--seconds`, while every
//! `--kill-every` seconds `--kill-count` node processes (one by default)
//! are killed with SIGKILL at the same moment and restarted on the same
//! address — on the same data directory, or with `--wipe` on an emptied
//! one, as after a lost disk. Then every key with an acknowledged write is
//! read back: a key that comes back missing or older than its last
//! acknowledged write is a lost write.
//!
//! Each put carries a version the soak chooses, increasing, so that "older
//! than acknowledged" is exact. A get that returns a version older than one
//! acknowledged before the get started is a stale read. Failed puts and
//! gets are counted by cause (`put_failures`, `get_failures`: the
//! operation's error kind, such as `quorum_not_reached` or `unreachable`),
//! so that a regression can be read from the report.

use crate::measure::percentile;
use crate::OverlayKind;
use anyhow::{bail, Context};
use dht_overlays::core::{DriverError, NodeHandle, Record, Rng, Role, Time};
use dht_overlays::quic::{self, Options};
use dht_overlays::Id;
use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinSet;

/// How long a node process may take to print that it is listening.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long a killed node stays down before its restart.
const DOWN_FOR: Duration = Duration::from_millis(500);
/// Repair interval of the soak's nodes: several rounds fit in a short run.
const REPAIR_SECS: u64 = 3;
/// Stale reads the report describes one by one.
const STALE_EXAMPLES: usize = 8;
/// Attempts to read one key back at the end before it counts as lost.
const READ_BACK_ATTEMPTS: usize = 4;

/// Options of `dht soak`.
#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Overlay the nodes run.
    #[arg(long, value_enum, default_value = "kademlia")]
    overlay: OverlayKind,
    /// Node processes to run.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(4..=256))]
    nodes: u16,
    /// Seconds of mixed load.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// Seconds between two kills (each followed by a restart).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    kill_every: u64,
    /// Node processes killed at the same moment each time (fewer than --nodes).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=255))]
    kill_count: u16,
    /// Restart killed nodes on an emptied data directory (a lost disk:
    /// new identity, no records); give --kill-every at least the time the
    /// network takes to replace a replica (a few seconds).
    #[arg(long)]
    wipe: bool,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Distinct keys written and read.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    keys: u32,
    /// Seed of the choice of keys and of nodes to kill.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// One `dht node` process of the soak and what it needs to be restarted.
struct NodeProcess {
    addr: SocketAddr,
    dir: PathBuf,
    child: Option<Child>,
}

/// The node processes, their directory, and how to start one.
struct Cluster {
    exe: PathBuf,
    overlay: OverlayKind,
    network: String,
    root: PathBuf,
    nodes: Vec<NodeProcess>,
}

impl Cluster {
    /// Starts node `index`, joining through up to three other nodes, and
    /// waits for it to say it is listening.
    async fn start(&mut self, index: usize) -> anyhow::Result<()> {
        let others: Vec<SocketAddr> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| *i != index && n.child.is_some())
            .map(|(_, n)| n.addr)
            .take(3)
            .collect();
        let node = &self.nodes[index];
        let mut command = Command::new(&self.exe);
        command
            .arg("node")
            .args(["--overlay", self.overlay.name(), "--network", &self.network])
            .args(["--listen", &node.addr.to_string()])
            .arg("--data-dir")
            .arg(&node.dir)
            .args(["--repair-interval", &REPAIR_SECS.to_string()])
            .arg("--json")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for addr in &others {
            command.args(["--bootstrap", &addr.to_string()]);
        }
        let mut child = command.spawn().with_context(|| format!("starting node {index}"))?;
        let stdout = child.stdout.take().context("node stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_LIMIT, lines.next_line()).await;
        match line {
            Ok(Ok(Some(line))) if is_ready(&line) => {}
            other => {
                let exit = child.try_wait();
                bail!("node {index} did not start: {other:?}, exit status {exit:?}")
            }
        }
        self.nodes[index].child = Some(child);
        Ok(())
    }

    /// Kills node `index` with SIGKILL and waits for it to be gone.
    async fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill().await;
        }
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(|n| n.addr).collect()
    }

    async fn stop_all(&mut self) {
        for index in 0..self.nodes.len() {
            self.kill(index).await;
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A free UDP port on 127.0.0.1 (bound, then released for the node).
fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?)
}

/// What the load saw, shared by the workers.
#[derive(Default)]
struct Tally {
    /// Per key, the highest version acknowledged so far (0: none), and when.
    acked: Vec<u64>,
    acked_at: Vec<Option<Instant>>,
    acked_writes: u64,
    failed_writes: u64,
    /// Failed puts by cause ([`cause`]).
    put_failures: BTreeMap<&'static str, u64>,
    /// Failed gets by cause.
    get_failures: BTreeMap<&'static str, u64>,
    gets: u64,
    gets_ok: u64,
    stale_reads: u64,
    /// The first few stale reads, for the report.
    stale_examples: Vec<serde_json::Value>,
    /// When the last node processes were killed.
    last_kill: Option<Instant>,
    /// Latencies of acknowledged puts and of answered gets.
    put_ms: Vec<f64>,
    get_ms: Vec<f64>,
}

pub async fn run(args: SoakArgs) -> anyhow::Result<ExitCode> {
    if args.kill_count >= args.nodes {
        bail!("--kill-count {} must be below --nodes {}", args.kill_count, args.nodes);
    }
    let started = Instant::now();
    let root = std::env::temp_dir().join(format!("dht-soak-{}", std::process::id()));
    let mut cluster = Cluster {
        exe: std::env::current_exe().context("finding the dht executable")?,
        overlay: args.overlay,
        network: format!("soak-{}", std::process::id()),
        root: root.clone(),
        nodes: Vec::new(),
    };
    for i in 0..usize::from(args.nodes) {
        cluster.nodes.push(NodeProcess { addr: free_addr()?, dir: root.join(format!("node-{i}")), child: None });
    }
    let outcome = soak(&args, &mut cluster, started).await;
    cluster.stop_all().await;
    let report = outcome?;
    println!("{report}");
    Ok(if report["lost_writes"].as_u64() == Some(0) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn soak(args: &SoakArgs, cluster: &mut Cluster, started: Instant) -> anyhow::Result<serde_json::Value> {
    for i in 0..cluster.nodes.len() {
        cluster.start(i).await?;
    }
    let client = client(args.overlay, &cluster.network, cluster.addrs()).await?;
    let tally = Arc::new(Mutex::new(Tally {
        acked: vec![0; args.keys as usize],
        acked_at: vec![None; args.keys as usize],
        ..Tally::default()
    }));
    let versions = Arc::new(AtomicU64::new(1));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut workers = JoinSet::new();
    for w in 0..u64::from(args.concurrency) {
        let (client, tally, versions) = (client.clone(), tally.clone(), versions.clone());
        let rng = Rng::new(args.seed ^ (w + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        workers.spawn(load(client, tally, versions, rng, args.keys, deadline));
    }

    let mut rng = Rng::new(args.seed);
    let mut restarts = 0u64;
    while Instant::now() + Duration::from_secs(args.kill_every) <= deadline {
        tokio::time::sleep(Duration::from_secs(args.kill_every)).await;
        let mut victims: Vec<usize> = Vec::new();
        while victims.len() < usize::from(args.kill_count) {
            let victim = rng.index(cluster.nodes.len());
            if !victims.contains(&victim) {
                victims.push(victim);
            }
        }
        for &victim in &victims {
            cluster.kill(victim).await;
        }
        lock(&tally).last_kill = Some(Instant::now());
        tokio::time::sleep(DOWN_FOR).await;
        for &victim in &victims {
            if args.wipe {
                let dir = &cluster.nodes[victim].dir;
                std::fs::remove_dir_all(dir).with_context(|| format!("wiping {}", dir.display()))?;
            }
            cluster.start(victim).await?;
            restarts += 1;
        }
    }
    while workers.join_next().await.is_some() {}

    // Let restarted nodes finish a repair round, then read everything back.
    tokio::time::sleep(Duration::from_secs(REPAIR_SECS * 2)).await;
    let acked = lock(&tally).acked.clone();
    let lost = read_back(&client, &acked).await;
    client.shutdown().await;

    let t = lock(&tally);
    Ok(serde_json::json!({
        "overlay": args.overlay.name(),
        "nodes": args.nodes,
        "seconds": args.seconds,
        "kill_every": args.kill_every,
        "kill_count": args.kill_count,
        "wipe": args.wipe,
        "acked_writes": t.acked_writes,
        "failed_writes": t.failed_writes,
        "put_failures": t.put_failures,
        "keys_written": acked.iter().filter(|&&v| v > 0).count(),
        "lost_writes": lost,
        "stale_reads": t.stale_reads,
        "stale_examples": t.stale_examples,
        "gets": t.gets,
        "failed_gets": t.gets - t.gets_ok,
        "get_ok_rate": t.gets_ok as f64 / t.gets.max(1) as f64,
        "get_failures": t.get_failures,
        "restarts": restarts,
        "put_p50_ms": percentile(&t.put_ms, 50.0),
        "put_p99_ms": percentile(&t.put_ms, 99.0),
        "get_p50_ms": percentile(&t.get_ms, 50.0),
        "get_p99_ms": percentile(&t.get_ms, 99.0),
        "wall_s": started.elapsed().as_secs_f64(),
    }))
}

/// The client node the load runs through: it routes and stores nothing.
async fn client(overlay: OverlayKind, network: &str, bootstrap: Vec<SocketAddr>) -> anyhow::Result<NodeHandle> {
    let mut options = Options::new("127.0.0.1:0".parse()?);
    options.bootstrap = bootstrap;
    options.network = network.to_owned();
    options.node.role = Role::Client;
    let running = with_overlay!(overlay, crate::Pace::Normal, |make| quic::start(make, options).await)
        .context("starting the soak's client node")?;
    Ok(running.handle)
}

fn lock(tally: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    tally.lock().unwrap_or_else(PoisonError::into_inner)
}

fn key(index: usize) -> Id {
    dht_overlays::key(format!("soak-key-{index}"))
}

/// One worker: puts and gets, half and half, until `deadline`.
async fn load(
    client: NodeHandle,
    tally: Arc<Mutex<Tally>>,
    versions: Arc<AtomicU64>,
    mut rng: Rng,
    keys: u32,
    deadline: Instant,
) {
    while Instant::now() < deadline {
        let index = rng.index(keys as usize);
        let began = Instant::now();
        if rng.chance(0.5) {
            let version = versions.fetch_add(1, Ordering::SeqCst);
            let expires = Time(dht_overlays::core::driver::wall_clock().0 + 3_600_000);
            let record = Record::new(key(index), format!("soak-{index}-v{version}"), version, expires);
            let result = client.put_record(record).await;
            let mut t = lock(&tally);
            match result {
                Ok(_) => {
                    t.acked_writes += 1;
                    if version > t.acked[index] {
                        t.acked[index] = version;
                        t.acked_at[index] = Some(Instant::now());
                    }
                    t.put_ms.push(began.elapsed().as_secs_f64() * 1000.0);
                }
                Err(e) => {
                    t.failed_writes += 1;
                    *t.put_failures.entry(cause(&e)).or_default() += 1;
                }
            }
        } else {
            let (floor, floor_at) = {
                let t = lock(&tally);
                (t.acked[index], t.acked_at[index])
            };
            let result = client.get(key(index)).await;
            let mut t = lock(&tally);
            t.gets += 1;
            match result {
                Ok(found) => {
                    t.gets_ok += 1;
                    t.get_ms.push(began.elapsed().as_secs_f64() * 1000.0);
                    let read = found.map_or(0, |r| r.version);
                    if read < floor {
                        t.stale_reads += 1;
                        if t.stale_examples.len() < STALE_EXAMPLES {
                            let acked_ms_before = floor_at.map(|at| began.saturating_duration_since(at).as_millis());
                            let kill_ms_before = t.last_kill.map(|at| began.saturating_duration_since(at).as_millis());
                            t.stale_examples.push(serde_json::json!({
                                "key": index,
                                "acked_version": floor,
                                "read_version": read,
                                "acked_ms_before_get": acked_ms_before,
                                "get_ms": began.elapsed().as_millis(),
                                "last_kill_ms_before_get": kill_ms_before,
                            }));
                        }
                    }
                }
                Err(e) => {
                    *t.get_failures.entry(cause(&e)).or_default() += 1;
                    if e == DriverError::Stopped {
                        return;
                    }
                }
            }
        }
    }
}

/// Why an operation failed, in a word: the operation's error kind
/// ([`dht_overlays::core::OpError::kind`]), or what stopped the client.
fn cause(error: &DriverError) -> &'static str {
    match error {
        DriverError::Op(e) => e.kind(),
        DriverError::Stopped => "stopped",
        DriverError::NotJoined(_) => "not_joined",
        _ => "other",
    }
}

/// Reads every acknowledged key back; returns how many came back missing
/// or older than acknowledged. A get that fails outright is retried a few
/// times before the key counts as lost.
async fn read_back(client: &NodeHandle, acked: &[u64]) -> u64 {
    let mut lost = 0;
    for (index, &version) in acked.iter().enumerate().filter(|(_, &v)| v > 0) {
        let mut held = None;
        for attempt in 0..READ_BACK_ATTEMPTS {
            match client.get(key(index)).await {
                Ok(found) => {
                    held = Some(found.map_or(0, |r| r.version));
                    break;
                }
                Err(_) if attempt + 1 < READ_BACK_ATTEMPTS => tokio::time::sleep(Duration::from_secs(1)).await,
                Err(_) => {}
            }
        }
        if held.is_none_or(|v| v < version) {
            tracing::warn!(index, version, ?held, "acknowledged write not read back");
            lost += 1;
        }
    }
    lost
}

/// Whether `line` is a node's `--json` ready line.
fn is_ready(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v["event"] == "ready")
}
