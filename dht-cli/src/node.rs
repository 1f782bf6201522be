//! `dht node`: run one node until Ctrl-C or SIGTERM.

use crate::NetworkArgs;
use anyhow::Context;
use dht_overlays::core::{NodeConfig, NodeHandle, NodeStats};
use dht_overlays::quic::{self, Options};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// What one peer may ask of the node (defaults: `PeerLimits::default()`).
#[derive(clap::Args)]
pub struct LimitArgs {
    /// Requests per second one peer may keep up [default: 1000].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), env = "DHT_PEER_REQUESTS_PER_SEC")]
    peer_requests_per_sec: Option<u32>,
    /// Requests one peer may send at once [default: 10000].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), env = "DHT_PEER_BURST")]
    peer_burst: Option<u32>,
    /// Records one peer may store on this node [default: 100000].
    #[arg(long, env = "DHT_PEER_RECORDS")]
    peer_records: Option<usize>,
    /// Bytes one peer may store on this node [default: 268435456].
    #[arg(long, env = "DHT_PEER_BYTES")]
    peer_bytes: Option<usize>,
}

/// How the node keeps its records' copies.
#[derive(clap::Args)]
pub struct ReplicationArgs {
    /// Copies of each record this node keeps and repairs (the
    /// replication factor r; quorums are majorities of it). Every node
    /// of a network should use the same.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20), env = "DHT_REPLICAS")]
    replicas: u16,
    /// Copies kept beyond the r replicas, on the peers next in line:
    /// never waited for by writers nor counted by readers, they keep a key
    /// whose replicas all fail within the seconds it takes to notice.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(0..=20), env = "DHT_SPARES")]
    spares: u16,
    /// Seconds between two checks that every held key is on its replicas.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400), env = "DHT_REPAIR_INTERVAL")]
    repair_interval: u64,
    /// Seconds between two liveness checks of the peers holding this
    /// node's keys' other copies; a silent one is replaced at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3_600), env = "DHT_REPLICA_CHECK_INTERVAL")]
    replica_check_interval: u64,
}

/// `base` with `r` replicas and majority quorums, its other settings kept.
pub fn replicated(base: &NodeConfig, r: usize) -> NodeConfig {
    let quorums = NodeConfig::with_replicas(r);
    let mut config = base.clone();
    config.replicas = quorums.replicas;
    config.write_quorum = quorums.write_quorum;
    config.read_quorum = quorums.read_quorum;
    config
}

/// The node's settings from the command line.
pub fn config(replication: &ReplicationArgs, args: &LimitArgs) -> NodeConfig {
    let mut config = replicated(&NodeConfig::default(), replication.replicas.into());
    config.spares = replication.spares.into();
    config.repair_interval = std::time::Duration::from_secs(replication.repair_interval);
    config.replica_check_interval = std::time::Duration::from_secs(replication.replica_check_interval);
    let limits = &mut config.limits;
    limits.requests_per_second = args.peer_requests_per_sec.unwrap_or(limits.requests_per_second);
    limits.request_burst = args.peer_burst.unwrap_or(limits.request_burst);
    limits.records_per_peer = args.peer_records.unwrap_or(limits.records_per_peer);
    limits.bytes_per_peer = args.peer_bytes.unwrap_or(limits.bytes_per_peer);
    config
}

/// Where a node listens, what it tells peers, whom it joins through.
pub struct Addresses {
    pub listen: SocketAddr,
    pub advertise: Option<SocketAddr>,
    pub bootstrap: Vec<SocketAddr>,
}

/// How a node tells the world about itself.
pub struct Reporting {
    /// The ready line as JSON.
    pub json: bool,
    /// Time between two status lines in the log.
    pub status_every: std::time::Duration,
    /// Where to serve Prometheus metrics.
    pub metrics: Option<SocketAddr>,
}

pub async fn run(
    net: NetworkArgs,
    addresses: Addresses,
    data_dir: Option<PathBuf>,
    node: NodeConfig,
    report: Reporting,
) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &data_dir {
        check_writable(dir)?;
    }
    let metrics = match report.metrics {
        Some(addr) => {
            Some(tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot serve metrics on {addr}"))?)
        }
        None => None,
    };
    let metrics_addr = metrics.as_ref().map(|l| l.local_addr()).transpose()?;
    let (listen, advertise) = (addresses.listen, addresses.advertise);
    let mut options = Options::new(listen);
    options.advertise = addresses.advertise;
    options.bootstrap = addresses.bootstrap;
    options.data_dir = data_dir;
    options.network = net.network.clone();
    options.node = node;
    let running = with_overlay!(net.overlay, crate::Pace::Normal, |make| quic::start(make, options).await)?;
    let me = running.handle.local();
    let stop = stop_signal()?;
    if report.json {
        let ready = serde_json::json!({
            "event": "ready",
            "id": me.id.to_string(),
            // The bound address (the advertised one, port chosen, unless
            // told otherwise).
            "listen": if advertise.is_some() { listen.to_string() } else { format!("{:?}", me.addr) },
            "advertised": format!("{:?}", me.addr),
            "overlay": net.overlay.name(),
            "network": net.network,
            "metrics": metrics_addr.map(|a| a.to_string()),
        });
        println!("{ready}");
    } else {
        println!("node {} ({:?}, network `{}`) listening on {:?}", me.id, net.overlay, net.network, me.addr);
        if let Some(addr) = metrics_addr {
            println!("metrics on http://{addr}/metrics");
        }
    }
    let serve_metrics = async {
        match metrics {
            Some(listener) => dht_overlays::metrics::serve(listener, &running).await,
            None => std::future::pending().await,
        }
    };
    let signal = tokio::select! {
        signal = stop => signal?,
        never = report_status(&running.handle, report.status_every) => match never {},
        never = serve_metrics => match never {},
    };
    eprintln!("{signal}: leaving, handing records to their next owners");
    if tokio::time::timeout(LEAVE_TIMEOUT, running.handle.leave()).await.is_err() {
        eprintln!("the hand-off did not finish within {} s; stopping anyway", LEAVE_TIMEOUT.as_secs());
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs one line of status every `every` (at info level, so shown with
/// `RUST_LOG=info`): routing peers, records held, and the requests answered
/// and refused per second since the last line.
async fn report_status(node: &NodeHandle, every: std::time::Duration) -> std::convert::Infallible {
    let mut last = None;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Ok(now) = node.stats().await else { continue };
        let (received, refused) = last.map_or((0, 0), |l: NodeStats| (l.requests_in.total(), l.refusals.total()));
        let per_sec = |count: u64| (count as f64 / every.as_secs_f64() * 10.0).round() / 10.0;
        tracing::info!(
            peers = now.peers,
            records = now.records,
            record_bytes = now.record_bytes,
            requests_per_sec = per_sec(now.requests_in.total().saturating_sub(received)),
            refused_per_sec = per_sec(now.refusals.total().saturating_sub(refused)),
            failures = now.failures,
            "status"
        );
        last = Some(now);
    }
}

/// Longest a graceful leave may take before the node stops anyway.
const LEAVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits for Ctrl-C (SIGINT) or SIGTERM, what `docker stop` and
/// `systemctl stop` send, and names the one that came. Both are caught
/// from the call on, not from the first wait: the node calls this before it
/// says it is ready, so a signal sent the moment it does is not left to the
/// default action, which would end the process without a leave.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<&'static str>>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => Ok("interrupted"),
                _ = term.recv() => Ok("terminated"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
            Ok("interrupted")
        })
    }
}

/// Fails with a clear message when `dir` cannot hold the node's files.
fn check_writable(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("data directory {} cannot be created", dir.display()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"").with_context(|| format!("data directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}
