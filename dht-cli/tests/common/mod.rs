//! What the tests of the `dht` command share: running it, free loopback
//! ports, node processes that are killed when dropped, scratch directories.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)] // each test uses a part; tests fail loudly

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Output, Stdio};

pub fn dht() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dht"))
}

/// A free UDP port on 127.0.0.1.
pub fn free_addr() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// A running `dht node`; killed when dropped.
pub struct NodeProcess {
    pub child: Child,
    pub first_line: String,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_node(args: &[&str]) -> NodeProcess {
    spawn_node(dht().arg("node").args(args))
}

/// Starts a `dht node` command built by the caller (arguments, environment)
/// and waits for its first line.
pub fn spawn_node(command: &mut Command) -> NodeProcess {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("starts");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    // The first line says the node is up; bounded by the node failing.
    BufReader::new(stdout).read_line(&mut line).expect("reads");
    // A sentence, or with `--json` a ready object.
    assert!(line.contains("listening") || line.contains(r#""event":"ready""#), "node did not start: {line:?}");
    NodeProcess { child, first_line: line }
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch path under the system temp folder, named for the test; empty
/// at the start, and removed (file or folder, with what the test put in it)
/// when dropped, so a test run leaves nothing behind.
pub struct Scratch(std::path::PathBuf);

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn temp_dir(name: &str) -> Scratch {
    let scratch = Scratch(std::env::temp_dir().join(format!("dht-cli-{}-{name}", std::process::id())));
    drop(Scratch(scratch.0.clone())); // whatever an earlier run left
    scratch
}
