//! A plain UDP socket for quinn: one datagram per receive slot, no
//! segmentation offload.
//!
//! quinn's own socket asks the kernel to coalesce received datagrams (GRO,
//! up to 64 per read) and so sizes each endpoint's receive buffer for 64
//! full datagrams in each of its 32 slots: 3 MiB per node, whatever the
//! node's traffic. DHT messages are one small datagram each, so coalescing
//! buys nothing here, and a process running hundreds of nodes paid
//! hundreds of those buffers. Without it a slot holds one datagram and the
//! buffer is 47 KiB.

use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// A tokio UDP socket seen by quinn one datagram at a time.
#[derive(Debug)]
pub(crate) struct PlainSocket {
    io: tokio::net::UdpSocket,
}

impl PlainSocket {
    /// Wraps a bound socket; must be called inside a tokio runtime.
    pub(crate) fn new(socket: std::net::UdpSocket) -> io::Result<PlainSocket> {
        socket.set_nonblocking(true)?;
        Ok(PlainSocket { io: tokio::net::UdpSocket::from_std(socket)? })
    }
}

/// Wakes quinn when the socket can take a datagram again.
#[derive(Debug)]
struct Writable(Arc<PlainSocket>);

impl UdpPoller for Writable {
    fn poll_writable(self: Pin<&mut Self>, cx: &mut Context) -> Poll<io::Result<()>> {
        self.0.io.poll_send_ready(cx)
    }
}

impl AsyncUdpSocket for PlainSocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        Box::pin(Writable(self))
    }

    /// Sends one datagram. Only "would block" goes back to quinn, which
    /// then waits for room; any other failure (an unreachable host, say)
    /// loses this datagram as the network would, and QUIC's own recovery
    /// takes over — returned, it would close the connection.
    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        match self.io.try_send_to(transmit.contents, transmit.destination) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(()),
        }
    }

    /// Fills as many slots as datagrams are waiting, one datagram each.
    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let mut filled = 0;
        while filled < bufs.len().min(meta.len()) {
            if filled == 0 {
                ready!(self.io.poll_recv_ready(cx))?;
            }
            match self.io.try_recv_from(&mut bufs[filled]) {
                Ok((len, addr)) => {
                    meta[filled] = RecvMeta { addr, len, stride: len, ecn: None, dst_ip: None };
                    filled += 1;
                }
                // Nothing more waiting: hand over what was read, or (when
                // nothing was) ask for readiness again, which registers
                // the wake-up.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && filled == 0 => continue,
                Err(_) if filled > 0 => break,
                // A refusal reported for an earlier send is no datagram and
                // nothing to stop for: quinn reads on after a reset.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(filled))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    fn may_fragment(&self) -> bool {
        true
    }
}
