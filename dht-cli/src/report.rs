//! What `dht compare` shows: the terminal table, and with `--out`, SVG
//! plots beside the papers' curves and an `index.html` with them all.

use crate::topology;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// The table's columns: heading, JSON field, decimals.
const COLUMNS: [(&str, &str, usize); 16] = [
    ("overlay", "overlay", 0),
    ("nodes", "nodes", 0),
    ("build", "build", 0),
    ("success", "success_rate", 3),
    ("hops", "hops_mean", 2),
    ("p50", "hops_p50", 0),
    ("p99", "hops_p99", 0),
    ("msgs/lookup", "msgs_per_lookup", 1),
    ("lat ms", "latency_ms_mean", 0),
    ("lat p99", "latency_ms_p99", 0),
    ("state/node", "state_per_node_mean", 1),
    ("maint/node/min", "maint_msgs_per_node_min", 1),
    ("records/node", "records_per_node_mean", 1),
    ("rec p99", "records_per_node_p99", 0),
    ("wall s", "wall_s", 1),
    ("peak MiB", "peak_rss_mib", 0),
];

fn cell(row: &Value, field: &str, decimals: usize) -> String {
    match &row[field] {
        Value::String(s) => s.clone(),
        Value::Number(n) => format!("{:.*}", decimals, n.as_f64().unwrap_or(0.0)),
        _ => "-".into(),
    }
}

/// The table's heading line.
pub fn table_header() -> String {
    COLUMNS.iter().map(|(h, _, _)| format!("{h:>16}")).collect::<Vec<_>>().join("")
}

/// One row of the table.
pub fn table_row(row: &Value) -> String {
    COLUMNS.iter().map(|(_, f, d)| format!("{:>16}", cell(row, f, *d))).collect::<Vec<_>>().join("")
}

/// A numeric field of a row (0 when missing).
fn number(row: &Value, field: &str) -> f64 {
    row[field].as_f64().unwrap_or(0.0)
}

/// One line of a plot.
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    /// A paper's curve (dashed), not a measurement.
    reference: bool,
}

/// A line plot: one series per overlay (solid) and reference curves (dashed).
struct Plot<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    log_x: bool,
    series: Vec<Series>,
}

const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

impl Plot<'_> {
    fn svg(&self) -> String {
        let (w, h, left, bottom, top, right) = (640.0, 400.0, 70.0, 50.0, 40.0, 170.0);
        let points: Vec<(f64, f64)> = self.series.iter().flat_map(|l| l.points.iter().copied()).collect();
        let fx = |x: f64| if self.log_x { x.max(1.0).log10() } else { x };
        let (x0, x1) = bounds(points.iter().map(|p| fx(p.0)));
        let (_, y1) = bounds(points.iter().map(|p| p.1));
        let (y0, y1) = (0.0, if y1 > 0.0 { y1 * 1.1 } else { 1.0 });
        let px = |x: f64| left + (fx(x) - x0) / (x1 - x0).max(1e-9) * (w - left - right);
        let py = |y: f64| h - bottom - (y - y0) / (y1 - y0) * (h - bottom - top);
        let mut s = String::new();
        let _ = write!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"##,
            (w - right + left) / 2.0,
            escape(self.title)
        );
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="black"/><line x1="{left}" y1="{top}" x2="{left}" y2="{0}" stroke="black"/>"##,
            h - bottom,
            w - right
        );
        for i in 0..=4 {
            let y = y0 + (y1 - y0) * f64::from(i) / 4.0;
            let _ =
                write!(s, r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##, left - 6.0, py(y) + 4.0, short(y));
        }
        let mut xs: Vec<f64> = points.iter().map(|p| p.0).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        for x in xs {
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" text-anchor="middle">{}</text>"##,
                px(x),
                h - bottom + 16.0,
                short(x)
            );
        }
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle">{}</text><text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">{}</text>"##,
            (w - right + left) / 2.0,
            h - 12.0,
            escape(self.x_label),
            (h - bottom + top) / 2.0,
            (h - bottom + top) / 2.0,
            escape(self.y_label)
        );
        for (i, Series { name, points: pts, reference }) in self.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let dash = if *reference { r#" stroke-dasharray="5,4""# } else { "" };
            let path: Vec<String> = pts.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
            let _ = write!(
                s,
                r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"##,
                path.join(" ")
            );
            for &(x, y) in pts.iter().filter(|_| !reference) {
                let _ = write!(s, r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"##, px(x), py(y));
            }
            let ly = top + 18.0 * i as f64;
            let _ = write!(
                s,
                r##"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"##,
                w - right + 10.0,
                w - right + 34.0,
                w - right + 40.0,
                ly + 4.0,
                escape(name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    }
}

fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Each overlay's rows as (N, value) points, in the order given.
fn per_overlay(rows: &[Value], field: &str) -> Vec<Series> {
    let mut names: Vec<String> = Vec::new();
    for row in rows {
        let name = row["overlay"].as_str().unwrap_or("?").to_owned();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let points = rows
                .iter()
                .filter(|r| r["overlay"].as_str() == Some(&name))
                .map(|r| (number(r, "nodes"), number(r, field)))
                .collect();
            Series { name, points, reference: false }
        })
        .collect()
}

/// The papers' path-length curves over the sizes measured.
fn paper_curves(rows: &[Value]) -> Vec<Series> {
    let mut sizes: Vec<f64> = rows.iter().map(|r| number(r, "nodes")).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    let has = |name: &str| rows.iter().any(|r| r["overlay"].as_str() == Some(name));
    let mut curves = Vec::new();
    let mut curve = |label: &str, f: &dyn Fn(f64) -> f64| {
        curves.push(Series {
            name: label.to_owned(),
            points: sizes.iter().map(|&n| (n, f(n))).collect(),
            reference: true,
        });
    };
    if has("kademlia") {
        curve("log2 N (Kademlia bound)", &|n| n.log2());
    }
    if has("chord") {
        curve("½·log2 N (Chord paper)", &|n| n.log2() / 2.0);
    }
    if has("can") {
        curve("(d/4)·N^(1/d), d=4 (CAN)", &|n| n.powf(0.25));
    }
    curves
}

/// The rows as CSV for a spreadsheet or a plotting tool: one column per
/// field any row has, in first-seen order; a missing or null field is
/// empty, a nested one its JSON text.
fn csv(rows: &[Value]) -> String {
    let mut columns: Vec<&str> = Vec::new();
    for row in rows.iter().filter_map(Value::as_object) {
        for key in row.keys() {
            if !columns.contains(&key.as_str()) {
                columns.push(key);
            }
        }
    }
    let field = |text: String| {
        if text.contains([',', '"', '\n']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let mut out = columns.iter().map(|c| field((*c).to_owned())).collect::<Vec<_>>().join(",") + "\n";
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match &row[*c] {
                Value::Null => String::new(),
                Value::String(s) => field(s.clone()),
                other => field(other.to_string()),
            })
            .collect();
        out += &cells.join(",");
        out.push('\n');
    }
    out
}

/// Draws one overlay's topology picture from a seed.
type Picture = fn(u64) -> String;

/// Writes the plots, the pictures of each compared overlay's topology and
/// `index.html` into `dir`.
pub fn write(dir: &Path, rows: &[Value], churn: &str, fail: f64, seed: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let jsonl: String = rows.iter().map(|row| format!("{row}\n")).collect();
    std::fs::write(dir.join("rows.jsonl"), jsonl)?;
    std::fs::write(dir.join("rows.csv"), csv(rows))?;
    let condition = format!("churn {churn}, failed fraction {fail}");
    let mut hops = per_overlay(rows, "hops_mean");
    hops.extend(paper_curves(rows));
    let plots = [
        (
            "hops.svg",
            Plot {
                title: "Lookup path length",
                x_label: "nodes (log scale)",
                y_label: "mean hops",
                log_x: true,
                series: hops,
            },
        ),
        (
            "success.svg",
            Plot {
                title: &format!("Lookup success ({condition})"),
                x_label: "nodes (log scale)",
                y_label: "success rate",
                log_x: true,
                series: per_overlay(rows, "success_rate"),
            },
        ),
        (
            "maintenance.svg",
            Plot {
                title: "Maintenance traffic",
                x_label: "nodes (log scale)",
                y_label: "requests per node per minute",
                log_x: true,
                series: per_overlay(rows, "maint_msgs_per_node_min"),
            },
        ),
        (
            "state.svg",
            Plot {
                title: "Routing state",
                x_label: "nodes (log scale)",
                y_label: "entries per node",
                log_x: true,
                series: per_overlay(rows, "state_per_node_mean"),
            },
        ),
    ];
    let mut html = String::from(
        "<!doctype html><meta charset=\"utf-8\"><title>dht compare</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{margin:8px}</style>\
         <h1>dht compare</h1>",
    );
    let _ =
        write!(html, "<p>Simulated, {}. Same workload and seed for every overlay.</p><table><tr>", escape(&condition));
    for (heading, _, _) in COLUMNS {
        let _ = write!(html, "<th>{}</th>", escape(heading));
    }
    html.push_str("</tr>");
    for row in rows {
        html.push_str("<tr>");
        for (_, field, decimals) in COLUMNS {
            let _ = write!(html, "<td>{}</td>", escape(&cell(row, field, decimals)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    for (file, plot) in &plots {
        std::fs::write(dir.join(file), plot.svg())?;
        let _ = write!(html, "<img src=\"{file}\" alt=\"{}\">", escape(plot.title));
    }
    html.push_str("<h2>Topology of one small network</h2>");
    let has = |name: &str| rows.iter().any(|r| r["overlay"].as_str() == Some(name));
    let pictures: [(&str, &str, Picture); 3] = [
        ("can", "can-zones.svg", topology::can_zones),
        ("chord", "chord-ring.svg", topology::chord_ring),
        ("kademlia", "kademlia-buckets.svg", topology::kademlia_buckets),
    ];
    for (overlay, file, draw) in pictures.into_iter().filter(|(o, _, _)| has(o)) {
        std::fs::write(dir.join(file), draw(seed))?;
        let _ = write!(html, "<img src=\"{file}\" alt=\"{overlay} topology\">");
    }
    std::fs::write(dir.join("index.html"), html)
}
