//! A running node's counters in the Prometheus (OpenMetrics) text format,
//! served over HTTP on `/metrics` for a Prometheus server to scrape.
//!
//! Each scrape reads the node's [`NodeStats`] once and encodes that one
//! snapshot, so the numbers of a scrape agree with each other. The metrics,
//! all prefixed `dht_`:
//!
//! | metric | type | what |
//! |---|---|---|
//! | `dht_peers` | gauge | peers in the overlay's routing state |
//! | `dht_records`, `dht_record_bytes` | gauge | records held for the network, and their size |
//! | `dht_connections` | gauge | QUIC connections open |
//! | `dht_requests_received_total{kind}` | counter | requests received: `overlay`, `store`, `fetch`, `ping` |
//! | `dht_requests_sent_total{kind}` | counter | requests sent, same kinds |
//! | `dht_requests_refused_total{reason}` | counter | refusals: `invalid`, `quota`, `storage`, `busy` |
//! | `dht_request_failures_total` | counter | requests sent that timed out or failed |
//! | `dht_repair_pushes_total` | counter | records offered to replicas by repair |
//! | `dht_operations_total{outcome}` | counter | user operations: `ok`, `failed` |
//! | `dht_operation_duration_seconds` | histogram | how long user operations took |

use crate::quic::Running;
use dht_core::{LatencyHistogram, NodeStats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::convert::Infallible;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The content type of the OpenMetrics text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Longest a scraper may take to send its request and read the answer:
/// requests are served one at a time, so a stalled client holds the next
/// scrape up for at most this long.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest request head read; a longer one is answered 400.
const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// What one scrape reports.
#[derive(Debug)]
struct Snapshot {
    stats: NodeStats,
    connections: usize,
}

/// The metrics of a node whose counters read `stats` and which has
/// `connections` open, in the OpenMetrics text format.
pub fn encode(stats: NodeStats, connections: usize) -> String {
    let mut registry = Registry::with_prefix("dht");
    registry.register_collector(Box::new(Snapshot { stats, connections }));
    let mut text = String::new();
    // Writing to a String cannot fail; the encoder's errors come from the writer.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = &self.stats;
        gauge(&mut encoder, "peers", "Peers in the overlay's routing state.", s.peers)?;
        gauge(&mut encoder, "records", "Records held for the network.", s.records)?;
        gauge(&mut encoder, "record_bytes", "Stored size of the records held.", s.record_bytes)?;
        gauge(&mut encoder, "connections", "QUIC connections open.", self.connections)?;
        let kinds = |c: &dht_core::RequestCounts| {
            [
                ("overlay", c.overlay),
                ("store", c.store),
                ("replicate", c.replicate),
                ("fetch", c.fetch),
                ("ping", c.ping),
            ]
        };
        counters(&mut encoder, "requests_received", "Requests received, by kind.", "kind", kinds(&s.requests_in))?;
        counters(&mut encoder, "requests_sent", "Requests sent, by kind.", "kind", kinds(&s.requests_out))?;
        let r = &s.refusals;
        let reasons = [("invalid", r.invalid), ("quota", r.quota), ("storage", r.storage), ("busy", r.busy)];
        counters(&mut encoder, "requests_refused", "Requests refused, by reason.", "reason", reasons)?;
        counter(&mut encoder, "request_failures", "Requests sent that timed out or failed.", s.failures)?;
        counter(&mut encoder, "repair_pushes", "Records offered to replicas by repair.", s.repair_pushes)?;
        let outcomes = [("ok", s.ops_ok), ("failed", s.ops_failed)];
        counters(&mut encoder, "operations", "User operations, by outcome.", "outcome", outcomes)?;
        histogram(&mut encoder, "operation_duration_seconds", "How long user operations took.", &s.op_latency)
    }
}

fn gauge(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: usize) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

fn counter(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> Result<(), std::fmt::Error> {
    let counter = ConstCounter::new(value);
    counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)
}

/// One counter family, a value per label.
fn counters<const N: usize>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    values: [(&str, u64); N],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, count) in values {
        ConstCounter::new(count).encode(family.encode_family(&[(label, value)])?)?;
    }
    Ok(())
}

fn histogram(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    h: &LatencyHistogram,
) -> Result<(), std::fmt::Error> {
    let bounds = LatencyHistogram::BOUNDS_MS.iter().map(|&ms| ms as f64 / 1000.0).chain([f64::INFINITY]);
    let buckets: Vec<(f64, u64)> = bounds.zip(h.counts).collect();
    let sum = h.sum_ms as f64 / 1000.0;
    encoder.encode_descriptor(name, help, None, MetricType::Histogram)?.encode_histogram::<NoLabelSet>(
        sum,
        h.count(),
        &buckets,
        None,
    )
}

/// Serves the metrics of `node` on `GET /metrics` to every client of
/// `listener`, one request at a time, until the process ends. Any other
/// path is answered 404, any other method 405, a malformed or oversized
/// request 400; a client that stalls is dropped after a few seconds.
pub async fn serve(listener: TcpListener, node: &Running) -> Infallible {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        if tokio::time::timeout(EXCHANGE_TIMEOUT, answer(stream, node)).await.is_err() {
            tracing::debug!("a metrics client stalled; dropped");
        }
    }
}

async fn answer(mut stream: TcpStream, node: &Running) {
    let head = read_head(&mut stream).await;
    let response = match head.as_deref().map(request_line) {
        Some(Some(("GET", "/metrics"))) => match node.handle.stats().await {
            Ok(stats) => reply("200 OK", CONTENT_TYPE, &encode(stats, node.transport.connections())),
            Err(_) => reply("503 Service Unavailable", "text/plain", "the node has stopped\n"),
        },
        Some(Some(("GET", _))) => reply("404 Not Found", "text/plain", "metrics are on /metrics\n"),
        Some(Some(_)) => reply("405 Method Not Allowed", "text/plain", "only GET\n"),
        Some(None) | None => reply("400 Bad Request", "text/plain", "malformed request\n"),
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The request head, up to its blank line; `None` when the client closed
/// early or sent more than [`MAX_REQUEST_BYTES`] without one.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        head.extend_from_slice(&chunk[..read]);
        if head.len() > MAX_REQUEST_BYTES {
            return None;
        }
    }
    String::from_utf8(head).ok()
}

/// The method and the path of an HTTP/1 request head.
fn request_line(head: &str) -> Option<(&str, &str)> {
    let mut words = head.lines().next()?.split(' ');
    let (method, path, version) = (words.next()?, words.next()?, words.next()?);
    (version.starts_with("HTTP/1.") && words.next().is_none()).then_some((method, path))
}

fn reply(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_encoded_with_its_labels_and_cumulative_buckets() {
        let mut stats = NodeStats::default();
        stats.peers = 7;
        stats.requests_in.fetch = 3;
        stats.refusals.quota = 2;
        stats.ops_ok = 4;
        stats.op_latency.record(Duration::from_millis(3));
        stats.op_latency.record(Duration::from_millis(40));
        let text = encode(stats, 5);
        for line in [
            "dht_peers 7",
            "dht_connections 5",
            "dht_requests_received_total{kind=\"fetch\"} 3",
            "dht_requests_received_total{kind=\"store\"} 0",
            "dht_requests_refused_total{reason=\"quota\"} 2",
            "dht_operations_total{outcome=\"ok\"} 4",
            "dht_operation_duration_seconds_count 2",
            "dht_operation_duration_seconds_sum 0.043",
            "dht_operation_duration_seconds_bucket{le=\"0.002\"} 0",
            "dht_operation_duration_seconds_bucket{le=\"0.005\"} 1",
            "dht_operation_duration_seconds_bucket{le=\"0.05\"} 2",
            "dht_operation_duration_seconds_bucket{le=\"+Inf\"} 2",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "no line `{line}` in\n{text}");
        }
    }

    #[test]
    fn only_an_http_request_line_is_read() {
        assert_eq!(request_line("GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n"), Some(("GET", "/metrics")));
        assert_eq!(request_line("POST / HTTP/1.0\r\n\r\n"), Some(("POST", "/")));
        assert_eq!(request_line("GET /metrics\r\n\r\n"), None);
        assert_eq!(request_line("GET /metrics HTTP/1.1 extra\r\n\r\n"), None);
        assert_eq!(request_line("GET /metrics SMTP\r\n\r\n"), None);
        assert_eq!(request_line(""), None);
    }
}
