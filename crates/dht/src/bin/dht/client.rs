//! `dht put` and `dht get`: a short-lived client node joins through one
//! node, runs one operation, and leaves. It stores nothing itself.

use crate::NetworkArgs;
use anyhow::bail;
use dht::core::{DriverError, NodeConfig, OpError, MAX_VALUE_BYTES};
use dht::quic::{self, Options, Running};
use std::net::SocketAddr;
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
    options.node = NodeConfig {
        serve_storage: false,
        min_request_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(3),
        ..NodeConfig::default()
    };
    let running = with_overlay!(net.overlay, crate::Role::CLIENT, |make| quic::start(make, options).await)?;
    // Let the join lookup finish before the first operation.
    tokio::time::sleep(Duration::from_millis(300)).await;
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

pub async fn put(
    net: NetworkArgs,
    bootstrap: SocketAddr,
    key: String,
    value: String,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if value.len() > MAX_VALUE_BYTES {
        bail!("value of {} bytes is over the limit of {MAX_VALUE_BYTES} bytes", value.len());
    }
    let running = connect(&net, bootstrap).await?;
    let mut acks = running.handle.put(dht::key(&key), value.clone()).await;
    for _ in 0..RETRIES {
        if !matches!(acks, Err(DriverError::Op(OpError::QuorumNotReached { .. } | OpError::NoPeers))) {
            break;
        }
        tracing::info!(result = ?acks, "put failed; retrying after {RETRY_AFTER:?}");
        tokio::time::sleep(RETRY_AFTER).await;
        acks = running.handle.put(dht::key(&key), value.clone()).await;
    }
    running.handle.shutdown().await;
    let acks = acks?;
    if json {
        println!("{}", serde_json::json!({ "key": key, "replicas": acks }));
    } else {
        println!("stored `{key}` on {acks} replicas");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn get(net: NetworkArgs, bootstrap: SocketAddr, key: String, json: bool) -> anyhow::Result<ExitCode> {
    let running = connect(&net, bootstrap).await?;
    let mut found = running.handle.get(dht::key(&key)).await;
    for _ in 0..RETRIES {
        if !matches!(found, Err(DriverError::Op(OpError::Unreachable | OpError::NoPeers))) {
            break;
        }
        // A replica set that just lost a node is whole again after a
        // stabilization round; retries that far apart ride that out.
        tracing::info!(result = ?found, "get failed; retrying after {RETRY_AFTER:?}");
        tokio::time::sleep(RETRY_AFTER).await;
        found = running.handle.get(dht::key(&key)).await;
    }
    running.handle.shutdown().await;
    match found? {
        Some(record) => {
            let text = String::from_utf8_lossy(&record.value);
            if json {
                println!("{}", serde_json::json!({ "key": key, "value": text, "version": record.version }));
            } else {
                println!("{text}");
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("error: no value stored under `{key}`");
            Ok(ExitCode::from(1))
        }
    }
}
