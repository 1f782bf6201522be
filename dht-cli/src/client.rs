//! `dht put` and `dht get`: a short-lived client node joins through one
//! node, runs one operation, and leaves. It stores nothing itself.

use crate::NetworkArgs;
use anyhow::bail;
use dht_overlays::core::driver::wall_clock;
use dht_overlays::core::{DriverError, Id, NodeConfig, OpError, Owner, PublicKey, Record, Role, MAX_VALUE_BYTES};
use dht_overlays::quic::{self, Options, Running};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Wait before each retry of a failed operation: a stabilization round and
/// a request timeout.
const RETRY_AFTER: Duration = Duration::from_secs(7);
/// Retries of an operation that found no reachable replica.
const RETRIES: usize = 2;

async fn connect(net: &NetworkArgs, bootstrap: SocketAddr) -> anyhow::Result<Running> {
    let mut options = Options::new(client_listen(bootstrap));
    options.bootstrap = vec![bootstrap];
    options.network = net.network.clone();
    // A one-shot client has measured no round trip yet and its first
    // contact with each node includes a QUIC handshake: it waits a second
    // before counting a node silent, not the quarter second a running node
    // allows.
    options.node.role = Role::Client;
    options.node.min_request_timeout = Duration::from_secs(1);
    options.node.request_timeout = Duration::from_secs(3);
    let running = with_overlay!(net.overlay, crate::Pace::Normal, |make| quic::start(make, options).await)?;
    Ok(running)
}

/// Where a client listens: loopback to reach a node on loopback, any
/// interface of the same family otherwise (a loopback socket cannot send to
/// another interface's address).
fn client_listen(bootstrap: SocketAddr) -> SocketAddr {
    let ip: std::net::IpAddr = match (bootstrap.ip().is_loopback(), bootstrap.is_ipv6()) {
        (true, false) => std::net::Ipv4Addr::LOCALHOST.into(),
        (true, true) => std::net::Ipv6Addr::LOCALHOST.into(),
        (false, false) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        (false, true) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    SocketAddr::new(ip, 0)
}

/// What `dht put` writes.
pub enum Write {
    /// An open record under a text key.
    Open { key: String, value: String },
    /// A record only the holder of the key in `key_file` can write.
    Signed { key_file: PathBuf, name: String, value: String, sequence: Option<u64> },
    /// An immutable record under the hash of its value.
    Content { value: String },
}

/// What `dht get` reads.
pub enum Read {
    /// An open record under a text key.
    Open { key: String },
    /// The record `signer` (hex public key or key file) publishes under `name`.
    Signed { signer: String, name: String },
    /// A content-addressed record by its hash (hex).
    Content { hash: String },
}

pub async fn put(net: NetworkArgs, bootstrap: SocketAddr, write: Write, json: bool) -> anyhow::Result<ExitCode> {
    let value_len = match &write {
        Write::Open { value, .. } | Write::Signed { value, .. } | Write::Content { value } => value.len(),
    };
    if value_len > MAX_VALUE_BYTES {
        bail!("value of {value_len} bytes is over the limit of {MAX_VALUE_BYTES} bytes");
    }
    let expires_at = wall_clock() + NodeConfig::default().record_ttl;
    let (record, mut report) = match write {
        Write::Open { key, value } => {
            let record = Record::new(dht_overlays::key(&key), value, wall_clock().as_millis(), expires_at);
            (record, serde_json::json!({ "key": key }))
        }
        Write::Signed { key_file, name, value, sequence } => {
            let (signer, created) = dht_overlays::key_file::load_or_create(&key_file)?;
            if created {
                eprintln!("created signing key {}", key_file.display());
            }
            let sequence = sequence.unwrap_or_else(|| wall_clock().as_millis());
            let record = Record::signed(&signer, name.clone(), value, sequence, expires_at, false);
            let report = serde_json::json!({
                "key": name, "signer": signer.public().to_hex(), "sequence": sequence, "id": record.key.to_hex(),
            });
            (record, report)
        }
        Write::Content { value } => {
            let record = Record::content(value, wall_clock().as_millis(), expires_at);
            let report = serde_json::json!({ "id": record.key.to_hex() });
            (record, report)
        }
    };
    let running = connect(&net, bootstrap).await?;
    let mut acks = running.handle.put_record(record.clone()).await;
    for _ in 0..RETRIES {
        if !matches!(acks, Err(DriverError::Op(OpError::QuorumNotReached { .. } | OpError::NoPeers))) {
            break;
        }
        tracing::info!(result = ?acks, "put failed; retrying after {RETRY_AFTER:?}");
        tokio::time::sleep(RETRY_AFTER).await;
        acks = running.handle.put_record(record.clone()).await;
    }
    running.handle.shutdown().await;
    report["replicas"] = acks?.into();
    if json {
        println!("{report}");
    } else {
        print_stored(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_stored(report: &serde_json::Value) {
    let replicas = &report["replicas"];
    match (report["key"].as_str(), report["signer"].as_str(), report["id"].as_str()) {
        (Some(key), Some(signer), _) => {
            println!("stored `{key}` signed by {signer} (sequence {}) on {replicas} replicas", report["sequence"]);
            println!("public key: {signer}");
        }
        (Some(key), None, _) => println!("stored `{key}` on {replicas} replicas"),
        (None, _, Some(id)) => println!("stored content {id} on {replicas} replicas"),
        _ => println!("stored on {replicas} replicas"),
    }
}

pub async fn get(net: NetworkArgs, bootstrap: SocketAddr, read: Read, json: bool) -> anyhow::Result<ExitCode> {
    let (key, label, owner) = match &read {
        Read::Open { key } => (dht_overlays::key(key), format!("`{key}`"), None),
        Read::Signed { signer, name } => {
            let signer = parse_signer(signer)?;
            (
                dht_overlays::core::signed_key(&signer, name.as_bytes()),
                format!("`{name}` of {}", signer.to_hex()),
                Some(signer),
            )
        }
        Read::Content { hash } => {
            let Some(id) = Id::from_hex(hash) else {
                bail!("`{hash}` is not a content hash: expected 64 hex characters");
            };
            (id, format!("content {hash}"), None)
        }
    };
    let running = connect(&net, bootstrap).await?;
    let mut found = running.handle.get(key).await;
    for _ in 0..RETRIES {
        if !matches!(found, Err(DriverError::Op(OpError::Unreachable | OpError::NoPeers))) {
            break;
        }
        // A replica set that just lost a node is whole again after a
        // stabilization round; retries that far apart ride that out.
        tracing::info!(result = ?found, "get failed; retrying after {RETRY_AFTER:?}");
        tokio::time::sleep(RETRY_AFTER).await;
        found = running.handle.get(key).await;
    }
    running.handle.shutdown().await;
    // The node checked signatures and hashes; what is left to check is
    // that the record is the kind asked for.
    let found = found?.filter(|r| match (&read, owner) {
        (Read::Signed { .. }, Some(signer)) => r.is_signed_by(&signer),
        (Read::Content { .. }, _) => r.owner == Owner::Content,
        _ => true,
    });
    match found {
        Some(record) => {
            let text = String::from_utf8_lossy(&record.value);
            if json {
                let mut out = serde_json::json!({ "value": text, "version": record.version });
                match &read {
                    Read::Open { key } => out["key"] = key.as_str().into(),
                    Read::Signed { name, .. } => out["key"] = name.as_str().into(),
                    Read::Content { hash } => out["id"] = hash.as_str().into(),
                }
                if let Some(signer) = owner {
                    out["signer"] = signer.to_hex().into();
                }
                println!("{out}");
            } else {
                println!("{text}");
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("error: no value stored under {label}");
            Ok(ExitCode::from(crate::EXIT_NOT_FOUND))
        }
    }
}

/// A signer given as 64 hex characters, or as the path of a key file.
fn parse_signer(signer: &str) -> anyhow::Result<PublicKey> {
    if let Some(key) = PublicKey::from_hex(signer) {
        return Ok(key);
    }
    let path = std::path::Path::new(signer);
    if !path.exists() {
        bail!("--signer `{signer}` is neither a public key (64 hex characters) nor a key file");
    }
    Ok(dht_overlays::key_file::load(path)?.public())
}
