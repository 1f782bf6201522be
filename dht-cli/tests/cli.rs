//! The `dht` command as a user runs it: real processes, real QUIC sockets
//! on 127.0.0.1, real data directories.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{dht, free_addr, run, spawn_node, start_node, stderr, temp_dir};
use std::time::Duration;

fn put_through_one_node_and_get_through_another(overlay: &str) {
    let (a, b) = (free_addr(), free_addr());
    let (d1, d2) = (temp_dir(&format!("{overlay}-1")), temp_dir(&format!("{overlay}-2")));
    let _n1 = start_node(&["--overlay", overlay, "--listen", &a.to_string(), "--data-dir", d1.to_str().unwrap()]);
    let _n2 = start_node(&[
        "--overlay",
        overlay,
        "--listen",
        &b.to_string(),
        "--bootstrap",
        &a.to_string(),
        "--data-dir",
        d2.to_str().unwrap(),
    ]);
    // Let the second node's join settle (bounded; the nodes stabilize every 5 s).
    std::thread::sleep(Duration::from_secs(2));
    let put = run(dht().args(["put", "--overlay", overlay, "--bootstrap", &a.to_string(), "greeting", "hello"]));
    assert!(put.status.success(), "{overlay} put failed: {}", stderr(&put));
    let got = run(dht().args(["get", "--overlay", overlay, "--bootstrap", &b.to_string(), "greeting"]));
    assert!(got.status.success(), "{overlay} get failed: {}", stderr(&got));
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "hello");
    let missing = run(dht().args(["get", "--overlay", overlay, "--bootstrap", &b.to_string(), "never-put"]));
    assert_eq!(missing.status.code(), Some(3), "not found is not an error");
    assert!(stderr(&missing).contains("no value stored"));
}

#[test]
fn kademlia_put_through_one_node_and_get_through_another() {
    put_through_one_node_and_get_through_another("kademlia");
}

/// The command-line clients say they are clients, so the ring never takes
/// one for a successor and a get right after a put finds the value.
#[test]
fn chord_put_through_one_node_and_get_through_another() {
    put_through_one_node_and_get_through_another("chord");
}

#[test]
fn can_put_through_one_node_and_get_through_another() {
    put_through_one_node_and_get_through_another("can");
}

#[test]
fn pastry_put_through_one_node_and_get_through_another() {
    put_through_one_node_and_get_through_another("pastry");
}

#[test]
fn a_node_restarted_with_its_data_dir_keeps_its_identity() {
    let dir = temp_dir("identity");
    let addr = free_addr().to_string();
    let first = start_node(&["--listen", &addr, "--data-dir", dir.to_str().unwrap()]).first_line.clone();
    let again =
        start_node(&["--listen", &free_addr().to_string(), "--data-dir", dir.to_str().unwrap()]).first_line.clone();
    let id = |line: &str| line.split_whitespace().nth(1).unwrap_or_default().to_owned();
    assert_eq!(id(&first), id(&again));
    assert_eq!(id(&first).len(), 64);
}

#[test]
fn bad_input_gets_a_one_line_error_and_a_failure_exit() {
    let bad_addr = run(dht().args(["get", "--bootstrap", "not-an-address", "k"]));
    assert!(!bad_addr.status.success());
    assert!(stderr(&bad_addr).contains("\"not-an-address\" is not HOST:PORT"), "{}", stderr(&bad_addr));
    assert_eq!(stderr(&bad_addr).lines().count(), 1, "{}", stderr(&bad_addr));

    let nobody = free_addr().to_string();
    let unreachable = run(dht().args(["get", "--bootstrap", &nobody, "k"]));
    assert!(!unreachable.status.success());
    assert!(
        stderr(&unreachable).contains(&format!("cannot reach bootstrap node {nobody}")),
        "{}",
        stderr(&unreachable)
    );

    let big = "x".repeat(dht_overlays::core::MAX_VALUE_BYTES + 1);
    let too_big = run(dht().args(["put", "--bootstrap", &nobody, "k", &big]));
    assert!(!too_big.status.success());
    assert!(stderr(&too_big).contains("over the limit"), "{}", stderr(&too_big));

    let file = temp_dir("a-file");
    std::fs::write(&*file, b"not a directory").unwrap();
    let no_dir = run(dht().args(["node", "--listen", &free_addr().to_string(), "--data-dir", file.to_str().unwrap()]));
    assert!(!no_dir.status.success());
    assert!(stderr(&no_dir).contains("data directory"), "{}", stderr(&no_dir));

    let no_burst = run(dht().args(["node", "--listen", &free_addr().to_string(), "--peer-burst", "0"]));
    assert!(!no_burst.status.success());
    assert!(stderr(&no_burst).contains("--peer-burst"), "{}", stderr(&no_burst));

    for line in [&bad_addr, &unreachable, &too_big, &no_dir, &no_burst].map(stderr) {
        assert!(!line.contains("panicked"), "{line}");
    }
}

#[test]
fn a_node_of_another_overlay_or_network_is_refused_by_name() {
    let addr = free_addr();
    let _node = start_node(&["--overlay", "chord", "--network", "alpha", "--listen", &addr.to_string()]);
    for args in [["--overlay", "kademlia", "--network", "alpha"], ["--overlay", "chord", "--network", "beta"]] {
        let out = run(dht().arg("get").args(args).args(["--bootstrap", &addr.to_string(), "k"]));
        assert!(!out.status.success());
        assert!(stderr(&out).contains("another network or overlay"), "{}", stderr(&out));
    }
}

/// What an operator's scripts rely on: a ready line in JSON, and SIGTERM
/// (what `docker stop` and `systemctl stop` send) leaving gracefully with
/// exit status 0.
#[test]
fn a_node_says_it_is_ready_in_json_and_leaves_on_sigterm() {
    let addr = free_addr();
    let mut node = start_node(&["--overlay", "chord", "--network", "ops", "--listen", &addr.to_string(), "--json"]);
    let ready: serde_json::Value = serde_json::from_str(&node.first_line).expect("one JSON object");
    assert_eq!(ready["event"], "ready");
    assert_eq!(ready["overlay"], "chord");
    assert_eq!(ready["network"], "ops");
    assert_eq!(ready["listen"], addr.to_string());
    assert_eq!(ready["advertised"], addr.to_string());
    assert_eq!(ready["id"].as_str().map(str::len), Some(64), "{ready}");

    let pid = node.child.id().to_string();
    assert!(run(std::process::Command::new("sh").args(["-c", &format!("kill -TERM {pid}")])).status.success());
    let mut status = None;
    for _ in 0..300 {
        status = node.child.try_wait().expect("waits");
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let status = status.expect("the node exits within 30 s of SIGTERM");
    assert!(status.success(), "{status:?}");
}

/// A node bound to every interface gives peers the address it was told to
/// advertise, and bootstrap addresses may be host names.
#[test]
fn a_node_on_every_interface_advertises_its_address_and_peers_join_by_name() {
    let port = free_addr().port();
    let everywhere = format!("0.0.0.0:{port}");
    let refused = run(dht().args(["node", "--overlay", "chord", "--listen", &everywhere]));
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--advertise"), "{}", stderr(&refused));

    let advertised = format!("127.0.0.1:{port}");
    let first = start_node(&[
        "--overlay",
        "chord",
        "--listen",
        &everywhere,
        "--advertise",
        &format!("localhost:{port}"),
        "--json",
    ]);
    let ready: serde_json::Value = serde_json::from_str(&first.first_line).expect("one JSON object");
    assert_eq!(ready["listen"], everywhere);
    assert_eq!(ready["advertised"], advertised);

    let by_name = format!("localhost:{port}");
    let _second = start_node(&["--overlay", "chord", "--listen", &free_addr().to_string(), "--bootstrap", &by_name]);
    let put = run(dht().args(["put", "--overlay", "chord", "--bootstrap", &by_name, "k", "v"]));
    assert!(put.status.success(), "{}", stderr(&put));
    let got = run(dht().args(["get", "--overlay", "chord", "--bootstrap", &advertised, "k"]));
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "v", "{}", stderr(&got));

    let unknown = run(dht().args(["get", "--bootstrap", "no-such-host.invalid:4000", "k"]));
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("no-such-host.invalid:4000"), "{}", stderr(&unknown));
}

/// Settings come from a config file, the environment and the command
/// line, each winning over the one before.
#[test]
fn settings_from_a_file_the_environment_and_flags_in_that_order() {
    let dir = temp_dir("config-file");
    std::fs::create_dir_all(&*dir).unwrap();
    let file = dir.join("node.toml");
    let (from_file, from_flag) = (free_addr().to_string(), free_addr().to_string());
    let toml = format!("overlay = \"chord\"\nnetwork = \"file\"\nlisten = \"{from_file}\"\njson = true\n");
    std::fs::write(&file, toml).unwrap();
    let node = spawn_node(
        dht().env("DHT_NETWORK", "environment").args(["node", "--listen", &from_flag]).arg("--config").arg(&file),
    );
    let ready: serde_json::Value =
        serde_json::from_str(&node.first_line).expect("one JSON object (json from the file)");
    assert_eq!(ready["overlay"], "chord", "from the file");
    assert_eq!(ready["network"], "environment", "the environment over the file");
    assert_eq!(ready["listen"], from_flag, "the flag over the file");

    std::fs::write(&file, "listen = \"127.0.0.1:4000\"\nport = 4000\n").unwrap();
    let unknown = run(dht().arg("node").arg("--config").arg(&file));
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown setting `port`"), "{}", stderr(&unknown));
}

/// One HTTP GET on loopback: the status line and the body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer, then the connection closed");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

/// The value of the sample named exactly `sample` (with its labels).
fn sample(metrics: &str, sample: &str) -> f64 {
    let line = metrics.lines().find(|l| l.rsplit_once(' ').is_some_and(|(name, _)| name == sample));
    line.and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no {sample} in\n{metrics}"))
}

/// A Prometheus scrape of a running node shows its counters move after a
/// put and a get that went through it.
#[test]
fn a_node_serves_prometheus_metrics_that_move_with_puts_and_gets() {
    let (a, b) = (free_addr().to_string(), free_addr().to_string());
    let _first = start_node(&["--listen", &a]);
    let node = start_node(&["--listen", &b, "--bootstrap", &a, "--metrics", "127.0.0.1:0", "--json"]);
    let ready: serde_json::Value = serde_json::from_str(&node.first_line).expect("one JSON object");
    let metrics = ready["metrics"].as_str().expect("the metrics address in the ready line").to_owned();

    let (status, before) = http_get(&metrics, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(sample(&before, "dht_peers"), 1.0, "the first node");
    assert!(sample(&before, "dht_connections") >= 1.0);
    assert!(before.trim_end().ends_with("# EOF"));

    assert!(run(dht().args(["put", "--bootstrap", &b, "k", "v"])).status.success());
    let (_, after_put) = http_get(&metrics, "/metrics");
    let stores = "dht_requests_received_total{kind=\"store\"}";
    assert!(sample(&after_put, stores) > sample(&before, stores), "{after_put}");
    assert_eq!(sample(&after_put, "dht_records"), 1.0);
    assert!(sample(&after_put, "dht_record_bytes") > 0.0);

    assert!(run(dht().args(["get", "--bootstrap", &b, "k"])).status.success());
    let (_, after_get) = http_get(&metrics, "/metrics");
    let fetches = "dht_requests_received_total{kind=\"fetch\"}";
    assert!(sample(&after_get, fetches) > sample(&after_put, fetches), "{after_get}");

    assert_eq!(http_get(&metrics, "/").0, "HTTP/1.1 404 Not Found");
}

/// With `RUST_LOG=info` a node logs a status line at the interval asked.
#[test]
fn a_node_logs_its_status_at_info_level() {
    use std::io::BufRead;
    let mut child = dht()
        .env("RUST_LOG", "info")
        .args(["node", "--listen", &free_addr().to_string(), "--status-interval", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    // Bounded: a line a second is asked for; the node is killed after.
    let status = std::io::BufReader::new(stderr).lines().take(50).map_while(Result::ok).find(|l| l.contains("status"));
    let _ = child.kill();
    let _ = child.wait();
    let status = status.expect("a status line");
    for field in ["peers=", "records=", "requests_per_sec=", "refused_per_sec="] {
        assert!(status.contains(field), "{status}");
    }
}

#[test]
fn a_bad_log_filter_is_named_instead_of_ignored() {
    let out = run(dht().env("RUST_LOG", "dht_core=loud").args(["get", "--bootstrap", &free_addr().to_string(), "k"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("RUST_LOG"), "{}", stderr(&out));
}

#[test]
fn a_data_dir_in_use_by_another_node_is_refused_with_a_clear_error() {
    let dir = temp_dir("in-use");
    let _first = start_node(&["--listen", &free_addr().to_string(), "--data-dir", dir.to_str().unwrap()]);
    let second = run(dht().args(["node", "--listen", &free_addr().to_string(), "--data-dir", dir.to_str().unwrap()]));
    assert!(!second.status.success());
    assert!(stderr(&second).contains("in use by another process"), "{}", stderr(&second));
    assert!(!stderr(&second).contains("panicked"));
}

#[test]
fn bench_prints_one_json_line_with_every_field() {
    let out = run(dht().args(["bench", "--nodes", "4", "--puts", "20", "--gets", "20", "--concurrency", "4"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for field in [
        "overlay",
        "nodes",
        "puts",
        "gets",
        "put_ok",
        "get_ok",
        "put_p50_ms",
        "put_p99_ms",
        "get_p50_ms",
        "get_p99_ms",
        "ops_per_s",
        "bootstrap_s",
        "total_wall_s",
        "peak_rss_mib",
    ] {
        assert!(report.get(field).is_some(), "no `{field}` in {report}");
    }
    assert_eq!((report["puts"].as_u64(), report["put_ok"].as_u64()), (Some(20), Some(20)), "{report}");
    assert_eq!(report["get_ok"].as_u64(), Some(20), "{report}");
}

/// The fields of a `dht compare --json` row that depend on the seed alone.
const COMPARE_FIELDS: [&str; 22] = [
    "overlay",
    "nodes",
    "churn",
    "seed",
    "lookups",
    "success_rate",
    "keys_lost",
    "hops_mean",
    "hops_p50",
    "hops_p99",
    "msgs_per_lookup",
    "latency_ms_mean",
    "latency_ms_p99",
    "state_per_node_mean",
    "maint_msgs_per_node_min",
    "repair_msgs_per_node_min",
    "repair_kib_per_node_min",
    "get_success_rate",
    "records_per_node_mean",
    "records_per_node_p99",
    "messages",
    "fail",
];

fn compare_rows(extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["compare", "--nodes", "60,120", "--lookups", "100", "--json"];
    args.extend_from_slice(extra);
    let out = run(dht().args(&args));
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON row")).collect()
}

#[test]
fn compare_prints_one_row_per_overlay_and_size_and_repeats_itself() {
    let rows = compare_rows(&["--fail", "0.1"]);
    assert_eq!(rows.len(), 8, "every overlay at two sizes");
    for row in &rows {
        for field in COMPARE_FIELDS.iter().chain(&["wall_s", "peak_rss_mib", "cpu_s", "us_per_message"]) {
            assert!(row.get(field).is_some(), "no `{field}` in {row}");
        }
        let cost = row["cpu_s"].as_f64().unwrap() * 1e6 / row["messages"].as_f64().unwrap();
        assert!((row["us_per_message"].as_f64().unwrap() - cost).abs() < 1e-6 * cost.max(1.0), "{row}");
        assert!(row["success_rate"].as_f64().is_some_and(|s| s > 0.5), "{row}");
    }
    let names: Vec<&str> = rows.iter().filter_map(|r| r["overlay"].as_str()).collect();
    assert_eq!(names, ["kademlia", "kademlia", "chord", "chord", "can", "can", "pastry", "pastry"]);
    let again = compare_rows(&["--fail", "0.1"]);
    for (a, b) in rows.iter().zip(&again) {
        for field in COMPARE_FIELDS {
            assert_eq!(a[field], b[field], "`{field}` differs between two runs with one seed");
        }
    }
}

/// Rows under churn are the same for a seed, and count the repair traffic
/// that kept the keys.
#[test]
fn churn_rows_repeat_themselves_and_count_repair_traffic() {
    let churn = ["--churn", "exp:120", "--churn-for", "60"];
    let rows = compare_rows(&churn);
    let again = compare_rows(&churn);
    for (a, b) in rows.iter().zip(&again) {
        for field in COMPARE_FIELDS {
            assert_eq!(a[field], b[field], "`{field}` differs between two churn runs with one seed");
        }
        assert_eq!(a["churn_for_s"], 60);
        assert!(a["repair_msgs_per_node_min"].as_f64().unwrap() > 0.0, "{a}");
    }
}

/// The replication factor and the spares reach the simulated nodes: more
/// copies, more records held per node.
#[test]
fn compare_takes_the_replication_factor() {
    let held = |r: &str, spares: &str| {
        let rows = compare_rows(&["--overlays", "chord", "--replicas", r, "--spares", spares]);
        assert!(rows.iter().all(|row| row["replicas"].as_u64() == r.parse().ok()), "{rows:?}");
        assert!(rows.iter().all(|row| row["spares"].as_u64() == spares.parse().ok()), "{rows:?}");
        rows.iter().map(|row| row["records_per_node_mean"].as_f64().unwrap()).sum::<f64>()
    };
    let (three, five) = (held("3", "0"), held("5", "0"));
    assert!(five > three * 1.3, "r = 5 holds {five} records per node, r = 3 {three}");
    let spared = held("3", "2");
    assert!(spared > three * 1.3, "r = 3 and 2 spares hold {spared} records per node, r = 3 alone {three}");
    let zero = run(dht().args(["compare", "--replicas", "0"]));
    assert!(!zero.status.success());
}

/// `keys_lost` counts acknowledged puts no live node holds: none in a
/// quiet network, most when nine nodes in ten crash after the puts.
#[test]
fn compare_counts_the_keys_a_network_lost() {
    for row in compare_rows(&["--overlays", "kademlia"]) {
        assert_eq!(row["keys_lost"], 0, "{row}");
    }
    for row in compare_rows(&["--overlays", "kademlia", "--fail", "0.9"]) {
        let lost = row["keys_lost"].as_u64().unwrap();
        assert!(lost > 10, "{row}");
        assert!(row["get_success_rate"].as_f64().unwrap() < 1.0, "{row}");
    }
}

#[test]
fn compare_writes_plots_and_an_html_report() {
    let dir = temp_dir("compare-report");
    let out = run(dht()
        .args(["compare", "--overlays", "chord,can,pastry", "--nodes", "50,100", "--lookups", "50", "--out"])
        .arg(&dir));
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    for plot in ["hops.svg", "success.svg", "maintenance.svg", "state.svg"] {
        let svg = std::fs::read_to_string(dir.join(plot)).expect("a plot");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{plot}");
        assert!(html.contains(plot), "index.html shows {plot}");
    }
    let hops = std::fs::read_to_string(dir.join("hops.svg")).unwrap();
    assert!(hops.contains("chord: log2 N") && hops.contains("can: (d/4)·N^(1/d) at d = 4"), "each overlay's own bound");
    for (picture, shows) in [
        ("can-zones.svg", "<rect x="),
        ("chord-ring.svg", "distinct fingers"),
        ("pastry-state.svg", "16 leaves (green)"),
    ] {
        let svg = std::fs::read_to_string(dir.join(picture)).expect("a topology picture");
        assert!(svg.contains(shows) && html.contains(picture), "{picture}");
    }
    assert!(!dir.join("kademlia-buckets.svg").exists(), "only the compared overlays are pictured");
    assert_eq!(html.matches("<tr>").count(), 7, "a heading and six rows");

    // The rows, for the user's own tools: the same six in JSON lines and CSV.
    let jsonl = std::fs::read_to_string(dir.join("rows.jsonl")).expect("rows.jsonl");
    let rows: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).expect("a JSON row")).collect();
    assert_eq!(rows.len(), 6);
    let csv = std::fs::read_to_string(dir.join("rows.csv")).expect("rows.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7, "a header and six rows");
    let header: Vec<&str> = lines[0].split(',').collect();
    let column = header.iter().position(|h| *h == "overlay").expect("an overlay column");
    let nodes = header.iter().position(|h| *h == "nodes").expect("a nodes column");
    for (line, row) in lines[1..].iter().zip(&rows) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[column], row["overlay"].as_str().unwrap());
        assert_eq!(cells[nodes], row["nodes"].to_string());
    }
}

#[test]
fn compare_prints_a_table_within_120_columns_and_every_column_when_wide() {
    let table = |extra: &[&str]| {
        let out = run(dht()
            .args(["compare", "--overlays", "kademlia,chord,can", "--nodes", "50", "--lookups", "50"])
            .args(extra));
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).expect("text")
    };
    let narrow = table(&[]);
    assert!(narrow.lines().all(|l| l.chars().count() <= 120), "{narrow}");
    for overlay in ["kademlia", "chord", "can"] {
        assert_eq!(narrow.lines().filter(|l| l.contains(&format!(" {overlay} "))).count(), 1, "{narrow}");
    }
    assert!(narrow.contains("repair/min") && narrow.contains("gets") && !narrow.contains("rec p99"), "{narrow}");
    let wide = table(&["--wide"]);
    assert!(wide.contains("rec p99") && wide.contains("lat p99") && wide.contains("repair KiB/min"), "{wide}");
}

#[test]
fn compare_refuses_bad_arguments_with_a_clear_error() {
    for (args, says) in [
        (&["compare", "--churn", "exp:-3"][..], "positive number of seconds"),
        (&["compare", "--churn", "sometimes"][..], "expected none, exp:MEAN_S"),
        (&["compare", "--fail", "1.5"][..], "fraction"),
        (&["compare", "--nodes", "1"][..], "between 2 and"),
    ] {
        let out = run(dht().args(args));
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

/// `dht put --sign` creates a key file and publishes a record only it can
/// update; `dht get --signer` reads it by public key or key file; a write
/// with an older sequence number, an open write over it, or a read naming
/// another signer all fail with a clear message. `--content` stores under
/// the hash of the value.
#[test]
fn signed_and_content_addressed_records_from_the_command_line() {
    let (a, b) = (free_addr(), free_addr());
    let dir = temp_dir("signed");
    let _n1 = start_node(&["--listen", &a.to_string()]);
    let _n2 = start_node(&["--listen", &b.to_string(), "--bootstrap", &a.to_string()]);
    std::thread::sleep(Duration::from_secs(2));
    let (a, b) = (a.to_string(), b.to_string());
    let key_file = dir.join("my.key");
    let key_path = key_file.to_str().unwrap();

    let put = |args: &[&str]| run(dht().args(["put", "--bootstrap", &a, "--json"]).args(args));
    let get = |args: &[&str]| run(dht().args(["get", "--bootstrap", &b, "--json"]).args(args));
    let json = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {}", stderr(out)))
    };

    let first = put(&["--sign", key_path, "--sequence", "5", "greeting", "hello"]);
    assert!(first.status.success(), "signed put failed: {}", stderr(&first));
    assert!(stderr(&first).contains("created signing key"));
    let signer = json(&first)["signer"].as_str().unwrap().to_owned();
    assert_eq!(signer.len(), 64);

    let by_hex = get(&["--signer", &signer, "greeting"]);
    assert!(by_hex.status.success(), "{}", stderr(&by_hex));
    assert_eq!((json(&by_hex)["value"].as_str(), json(&by_hex)["version"].as_u64()), (Some("hello"), Some(5)));
    let by_file = get(&["--signer", key_path, "greeting"]);
    assert_eq!(json(&by_file)["value"], "hello");

    let older = put(&["--sign", key_path, "--sequence", "4", "greeting", "rollback"]);
    assert!(!older.status.success());
    assert!(stderr(&older).contains("sequence number 4 is not newer than the held 5"), "{}", stderr(&older));
    let squat = put(&["--sign", dir.join("other.key").to_str().unwrap(), "greeting", "mine"]);
    assert!(squat.status.success(), "another signer has its own `greeting`: {}", stderr(&squat));
    let other = json(&squat)["signer"].as_str().unwrap().to_owned();
    assert_ne!(other, signer);
    assert_eq!(json(&get(&["--signer", &signer, "greeting"]))["value"], "hello");
    assert_eq!(json(&get(&["--signer", &other, "greeting"]))["value"], "mine");
    let wrong = get(&["--signer", &"ab".repeat(32), "greeting"]);
    assert_eq!(wrong.status.code(), Some(3));
    let bad = get(&["--signer", "not-a-key-or-file", "greeting"]);
    assert!(stderr(&bad).contains("neither a public key"), "{}", stderr(&bad));

    let blob = put(&["--content", "immutable bytes"]);
    assert!(blob.status.success(), "{}", stderr(&blob));
    let id = json(&blob)["id"].as_str().unwrap().to_owned();
    assert_eq!(json(&get(&["--content", &id]))["value"], "immutable bytes");
    let not_hex = get(&["--content", "xyz"]);
    assert!(stderr(&not_hex).contains("not a content hash"), "{}", stderr(&not_hex));
}
