//! The `dht` command: run nodes, put and get values, and run a local demo
//! network over QUIC.
// The command line is an I/O edge: it reads clocks and prints.
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

#[macro_use]
mod registry;

mod address;
mod bench;
mod client;
mod cluster;
mod compare;
mod config_file;
mod demo;
mod measure;
mod node;
mod report;
mod soak;
mod topology;

use clap::{Parser, Subcommand};
pub use registry::OverlayKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "dht",
    version,
    about = "Distributed hash tables over QUIC: Kademlia, Chord, CAN and Pastry",
    after_help = "Exit status: 0 done; 1 failed (unreachable network, refused write, I/O error, lost writes in a \
                  soak); 2 bad usage or settings (flags, RUST_LOG, --config file); 3 `get` found no value."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How often a command's overlay runs its maintenance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pace {
    /// The overlays' defaults, for networks of machines.
    #[default]
    Normal,
    /// Every half second instead of every few: an in-process network on
    /// loopback settles in moments.
    Quick,
}

impl Pace {
    /// A maintenance period: the overlay's default, or the quick one.
    pub fn period(self, default: Duration) -> Duration {
        match self {
            Pace::Normal => default,
            Pace::Quick => Duration::from_millis(500),
        }
    }
}

/// Exit status of a `get` that found no value: not an error of the tool,
/// and scripts tell the two apart.
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit status of bad usage or settings (what clap uses for bad flags).
const EXIT_USAGE: u8 = 2;

/// Options every networked command shares.
#[derive(clap::Args, Clone, Debug)]
pub struct NetworkArgs {
    /// Overlay the network runs.
    #[arg(long, value_enum, default_value = "kademlia", env = "DHT_OVERLAY")]
    overlay: OverlayKind,
    /// Network id: nodes of another network are refused.
    #[arg(long, default_value = "main", env = "DHT_NETWORK")]
    network: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node until interrupted.
    Node {
        #[command(flatten)]
        net: NetworkArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:4000", env = "DHT_LISTEN")]
        listen: SocketAddr,
        /// A node to join through, HOST:PORT (repeatable; every address a
        /// name resolves to is tried); none starts a new network.
        #[arg(long, env = "DHT_BOOTSTRAP", value_delimiter = ',')]
        bootstrap: Vec<String>,
        /// HOST:PORT peers should use to reach this node, when not the
        /// --listen address (required with --listen 0.0.0.0:PORT or
        /// `[::]:PORT`).
        #[arg(long, env = "DHT_ADVERTISE")]
        advertise: Option<String>,
        /// Directory for the node's identity key and records (kept across
        /// restarts); without it, records live in memory only.
        #[arg(long, env = "DHT_DATA_DIR")]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        replication: node::ReplicationArgs,
        #[command(flatten)]
        limits: node::LimitArgs,
        /// Say the node is ready in one JSON object on stdout (id, listen
        /// address, overlay, network) instead of a sentence.
        #[arg(long, env = "DHT_JSON")]
        json: bool,
        /// Seconds between two status lines in the log (info level:
        /// peers, records, requests and refusals per second).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400), env = "DHT_STATUS_INTERVAL")]
        status_interval: u64,
        /// Serve Prometheus metrics on http://ADDR/metrics (peers, records,
        /// requests by kind, refusals by reason, latencies, connections).
        #[arg(long, value_name = "ADDR", env = "DHT_METRICS")]
        metrics: Option<SocketAddr>,
        /// A TOML file of these settings (`listen = "0.0.0.0:4000"`,
        /// `bootstrap = ["seed.example.org:4000"]`, ...); the command line
        /// and then the environment (`DHT_LISTEN`, ...) win over it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Store a value under a key: open (anyone may overwrite it), signed
    /// with --sign (only the key's holder may), or content-addressed with
    /// --content (immutable, under the hash of the value).
    Put {
        #[command(flatten)]
        net: NetworkArgs,
        /// A node of the network, HOST:PORT.
        #[arg(long)]
        bootstrap: String,
        /// The key (any text); with --sign, the record's name.
        #[arg(required_unless_present = "content")]
        key: Option<String>,
        /// The value (any text).
        #[arg(required_unless_present = "content")]
        value: Option<String>,
        /// Sign the record with the Ed25519 key in this file (created if
        /// missing); its key derives from the public key and the name.
        #[arg(long, value_name = "KEY_FILE", conflicts_with = "content")]
        sign: Option<PathBuf>,
        /// Sequence number of a signed record (default: the clock in
        /// milliseconds); replicas refuse one not above what they hold.
        #[arg(long, requires = "sign")]
        sequence: Option<u64>,
        /// Store this value as an immutable record under its blake3 hash
        /// (printed).
        #[arg(long, value_name = "VALUE", conflicts_with_all = ["key", "value"])]
        content: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the value stored under a key.
    Get {
        #[command(flatten)]
        net: NetworkArgs,
        /// A node of the network, HOST:PORT.
        #[arg(long)]
        bootstrap: String,
        /// The key (any text); with --signer, the record's name.
        #[arg(required_unless_present = "content")]
        key: Option<String>,
        /// Read the signed record this signer published under the name:
        /// its public key (64 hex characters) or its key file.
        #[arg(long, value_name = "PUBKEY_OR_KEY_FILE", conflicts_with = "content")]
        signer: Option<String>,
        /// Read the content-addressed record with this hash (64 hex characters).
        #[arg(long, value_name = "HASH", conflicts_with = "key")]
        content: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Endurance run on 127.0.0.1: node processes are killed (SIGKILL) and
    /// restarted on their data directories while puts and gets go on; then
    /// every acknowledged write is read back. Prints one JSON line.
    Soak(soak::SoakArgs),
    /// Benchmark a cluster over QUIC on 127.0.0.1 in this process: timed
    /// puts and gets through random nodes. Prints one JSON line.
    Bench(bench::BenchArgs),
    /// Compare overlays side by side in the simulator: a table (or JSON
    /// rows) and, with --out, SVG plots and an index.html.
    Compare(compare::CompareArgs),
    /// Start a local network over QUIC on 127.0.0.1, put keys, get them back,
    /// stop a quarter of the nodes, get them back again, and print a summary.
    Demo {
        /// Overlay to run.
        #[arg(long, value_enum, default_value = "kademlia")]
        overlay: OverlayKind,
        /// Nodes to start.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(4..=1024))]
        nodes: u16,
        /// Keys to put.
        #[arg(long, default_value_t = 1000)]
        keys: usize,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let command = <Cli as clap::CommandFactory>::command();
    let node = command.find_subcommand("node").unwrap_or(&command);
    if let Err(e) = config_file::apply(&std::env::args_os().collect::<Vec<_>>(), node) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    let cli = Cli::parse();
    let filter = match std::env::var("RUST_LOG") {
        Err(_) => tracing_subscriber::EnvFilter::new("warn"),
        Ok(spec) => {
            match tracing_subscriber::EnvFilter::try_new(&spec) {
                Ok(filter) => filter,
                Err(e) => {
                    eprintln!("error: RUST_LOG={spec:?} is not a log filter ({e}); e.g. RUST_LOG=info or RUST_LOG=dht_core=debug");
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        }
    };
    // Colours only on a terminal: a log file or a pipe gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Node {
                net,
                listen,
                bootstrap,
                advertise,
                data_dir,
                replication,
                limits,
                json,
                status_interval,
                metrics,
                config: _,
            } => {
                let config = node::config(&replication, &limits);
                let bootstrap = address::resolve_all(&bootstrap).await?;
                let advertise = match advertise {
                    Some(spec) => Some(address::resolve_one(&spec).await?),
                    None => None,
                };
                let addresses = node::Addresses { listen, advertise, bootstrap };
                let report = node::Reporting { json, status_every: Duration::from_secs(status_interval), metrics };
                node::run(net, addresses, data_dir, config, report).await
            }
            Command::Soak(args) => soak::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Compare(args) => compare::run(args),
            Command::Put { net, bootstrap, key, value, sign, sequence, content, json } => {
                let write = match (key, value, sign, content) {
                    (_, _, _, Some(value)) => client::Write::Content { value },
                    (Some(name), Some(value), Some(key_file), None) => {
                        client::Write::Signed { key_file, name, value, sequence }
                    }
                    (Some(key), Some(value), None, None) => client::Write::Open { key, value },
                    _ => anyhow::bail!("put needs a key and a value, or --content VALUE"),
                };
                client::put(net, address::resolve_one(&bootstrap).await?, write, json).await
            }
            Command::Get { net, bootstrap, key, signer, content, json } => {
                let read = match (key, signer, content) {
                    (_, _, Some(hash)) => client::Read::Content { hash },
                    (Some(name), Some(signer), None) => client::Read::Signed { signer, name },
                    (Some(key), None, None) => client::Read::Open { key },
                    _ => anyhow::bail!("get needs a key, or --content HASH"),
                };
                client::get(net, address::resolve_one(&bootstrap).await?, read, json).await
            }
            Command::Demo { overlay, nodes, keys, json } => demo::run(overlay, usize::from(nodes), keys, json).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
