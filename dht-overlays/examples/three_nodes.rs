//! Three nodes over QUIC on 127.0.0.1: the first starts a network, the
//! other two join through it; a value put through one is got through
//! another.
//!
//! ```sh
//! cargo run -p dht-overlays --example three_nodes
//! ```
// An example is a program: it prints what it did.
#![allow(clippy::print_stdout)]

use dht_overlays::core::Address;
use dht_overlays::{key, Builder, Kademlia, KademliaConfig, NodeHandle};
use std::net::SocketAddr;

fn kademlia() -> Builder<impl FnOnce(dht_overlays::Peer) -> Kademlia> {
    Builder::new(|peer| Kademlia::new(peer, KademliaConfig::default()))
}

fn address_of(node: &NodeHandle) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    match node.local().addr {
        Address::Socket(addr) => Ok(addr),
        other => Err(format!("not a socket address: {other:?}").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let first = kademlia().network("example").start().await?;
    let seed = address_of(&first)?;
    let second = kademlia().network("example").bootstrap([seed]).start().await?;
    let third = kademlia().network("example").bootstrap([seed]).start().await?;
    for node in [&first, &second, &third] {
        println!("node {} on {}", node.local().id, address_of(node)?);
    }

    let acks = second.put(key("greeting"), "hello").await?;
    println!("put `greeting` through the second node: {acks} replicas acknowledged");
    let record = third.get(key("greeting")).await?.ok_or("the third node did not find `greeting`")?;
    println!("got `greeting` through the third node: {}", String::from_utf8_lossy(&record.value));

    for node in [third, second, first] {
        node.leave().await?;
    }
    Ok(())
}
