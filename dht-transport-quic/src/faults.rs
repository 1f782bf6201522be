//! Network faults in user space, for tests: a UDP socket for quinn that
//! drops, delays, reorders and duplicates datagrams at set rates, and cuts
//! the network in two and heals it, as a kernel's netem would — but needs
//! no privileges and works on any machine.
//!
//! Every node of a test network sends through a [`FaultySocket`] sharing one
//! [`FaultPlan`]; faults apply as datagrams leave, so a plan shared by all
//! nodes covers every path. Reordering comes from the jitter: two datagrams
//! sent a moment apart can arrive in either order.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use dht_transport_quic::faults::{FaultPlan, Faults};
//! use dht_transport_quic::{Identity, QuicConfig, QuicTransport};
//! use std::time::Duration;
//!
//! let plan = FaultPlan::new(Faults { loss: 0.05, delay: Duration::from_millis(20), jitter: Duration::from_millis(10), ..Faults::default() }, 7);
//! let mut config = QuicConfig::new("kademlia", "test");
//! config.faults = Some(plan.clone());
//! let transport = QuicTransport::bind("127.0.0.1:0".parse()?, Identity::generate()?, config)?;
//! # Ok(()) }
//! ```

use dht_core::Rng;
use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};
use std::collections::BTreeSet;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

/// Rates and delays applied to every datagram.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Probability that a datagram is dropped.
    pub loss: f64,
    /// Probability that a datagram is sent twice.
    pub duplicate: f64,
    /// Delay added to every datagram.
    pub delay: Duration,
    /// Up to this much more or less delay, uniformly (reorders datagrams).
    pub jitter: Duration,
}

/// The faults of a test network, shared by its sockets and changed while
/// it runs.
#[derive(Debug)]
pub struct FaultPlan {
    state: Mutex<PlanState>,
}

#[derive(Debug)]
struct PlanState {
    faults: Faults,
    rng: Rng,
    /// One side of a partition: datagrams between an address in it and one
    /// outside are dropped. Empty: no partition.
    cut_off: BTreeSet<SocketAddr>,
    dropped: u64,
    delivered: u64,
}

/// What a datagram's fate is.
enum Fate {
    Drop,
    Send { copies: usize, delay: Duration },
}

impl FaultPlan {
    /// A plan applying `faults`, drawing from `seed`.
    pub fn new(faults: Faults, seed: u64) -> Arc<FaultPlan> {
        let state = PlanState { faults, rng: Rng::new(seed), cut_off: BTreeSet::new(), dropped: 0, delivered: 0 };
        Arc::new(FaultPlan { state: Mutex::new(state) })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the rates and delays from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.state().faults = faults;
    }

    /// Cuts the sockets bound to `side` off from all others (each side
    /// still reaches itself).
    pub fn partition(&self, side: impl IntoIterator<Item = SocketAddr>) {
        self.state().cut_off = side.into_iter().collect();
    }

    /// Ends the partition.
    pub fn heal(&self) {
        self.state().cut_off.clear();
    }

    /// Datagrams dropped (lost or cut off) and sent so far.
    pub fn counts(&self) -> (u64, u64) {
        let s = self.state();
        (s.dropped, s.delivered)
    }

    fn fate(&self, from: SocketAddr, to: SocketAddr) -> Fate {
        let mut s = self.state();
        let cut = !s.cut_off.is_empty() && s.cut_off.contains(&from) != s.cut_off.contains(&to);
        let faults = s.faults;
        if cut || (faults.loss > 0.0 && s.rng.chance(faults.loss)) {
            s.dropped += 1;
            return Fate::Drop;
        }
        s.delivered += 1;
        let copies = if faults.duplicate > 0.0 && s.rng.chance(faults.duplicate) { 2 } else { 1 };
        let jitter_ms = u64::try_from(faults.jitter.as_millis()).unwrap_or(u64::MAX);
        let delay = if jitter_ms == 0 {
            faults.delay
        } else {
            let offset = s.rng.below(2 * jitter_ms + 1);
            (faults.delay + Duration::from_millis(offset)).saturating_sub(faults.jitter)
        };
        Fate::Send { copies, delay }
    }
}

/// A quinn socket that passes datagrams through a [`FaultPlan`].
#[derive(Debug)]
pub struct FaultySocket {
    inner: Arc<dyn AsyncUdpSocket>,
    local: SocketAddr,
    plan: Arc<FaultPlan>,
}

impl FaultySocket {
    /// Wraps `inner` (a socket from quinn's runtime).
    pub fn new(inner: Arc<dyn AsyncUdpSocket>, plan: Arc<FaultPlan>) -> io::Result<FaultySocket> {
        let local = inner.local_addr()?;
        Ok(FaultySocket { inner, local, plan })
    }
}

impl AsyncUdpSocket for FaultySocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        self.inner.clone().create_io_poller()
    }

    #[allow(clippy::disallowed_methods)] // a test socket is an I/O edge: a delayed datagram leaves from a task of its own
    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        let (copies, delay) = match self.plan.fate(self.local, transmit.destination) {
            Fate::Drop => return Ok(()),
            Fate::Send { copies, delay } => (copies, delay),
        };
        if delay.is_zero() {
            for _ in 0..copies {
                self.inner.try_send(transmit)?;
            }
            return Ok(());
        }
        let (inner, destination, ecn, src_ip) =
            (self.inner.clone(), transmit.destination, transmit.ecn, transmit.src_ip);
        let contents = transmit.contents.to_vec();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let later = Transmit { destination, ecn, contents: &contents, segment_size: None, src_ip };
            for _ in 0..copies {
                // A full send buffer drops the datagram, as a congested link would.
                let _ = inner.try_send(&later);
            }
        });
        Ok(())
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_recv(cx, bufs, meta)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// One datagram per transmit, so each gets its own fate.
    fn max_transmit_segments(&self) -> usize {
        1
    }

    fn max_receive_segments(&self) -> usize {
        self.inner.max_receive_segments()
    }

    fn may_fragment(&self) -> bool {
        self.inner.may_fragment()
    }
}
