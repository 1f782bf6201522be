//! What `dht compare` shows: the terminal table, and with `--out`, SVG
//! plots beside the papers' curves and an `index.html` with them all.

use crate::OverlayKind;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// The table's columns: heading, JSON field, decimals, and whether the
/// terminal table shows it without `--wide`.
const COLUMNS: [(&str, &str, usize, bool); 22] = [
    ("overlay", "overlay", 0, true),
    ("nodes", "nodes", 0, true),
    ("build", "build", 0, false),
    ("lookups", "success_rate", 3, true),
    ("gets", "get_success_rate", 3, true),
    ("lost", "keys_lost", 0, true),
    ("hops", "hops_mean", 2, true),
    ("p50", "hops_p50", 0, false),
    ("p99", "hops_p99", 0, false),
    ("msgs", "msgs_per_lookup", 1, true),
    ("lat ms", "latency_ms_mean", 0, true),
    ("lat p99", "latency_ms_p99", 0, false),
    ("state", "state_per_node_mean", 1, true),
    ("maint/min", "maint_msgs_per_node_min", 1, true),
    ("repair/min", "repair_msgs_per_node_min", 1, true),
    ("repair KiB/min", "repair_kib_per_node_min", 1, false),
    ("records/node", "records_per_node_mean", 1, false),
    ("rec p99", "records_per_node_p99", 0, false),
    ("wall s", "wall_s", 1, true),
    ("cpu s", "cpu_s", 1, false),
    ("µs/msg", "us_per_message", 1, false),
    ("MiB", "peak_rss_mib", 0, true),
];

fn cell(row: &Value, field: &str, decimals: usize) -> String {
    match &row[field] {
        Value::String(s) => s.clone(),
        Value::Number(n) => format!("{:.*}", decimals, n.as_f64().unwrap_or(0.0)),
        _ => "-".into(),
    }
}

/// The rows as a terminal table: the main columns (within 120
/// characters), or every column when `wide`.
pub fn table(rows: &[Value], wide: bool) -> String {
    let columns: Vec<_> = COLUMNS.iter().filter(|c| wide || c.3).collect();
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::ASCII_BORDERS_ONLY_CONDENSED);
    table.set_header(columns.iter().map(|c| c.0));
    for row in rows {
        table.add_row(columns.iter().map(|(_, field, decimals, _)| cell(row, field, *decimals)));
    }
    for i in 0..columns.len() {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(if i == 0 {
                comfy_table::CellAlignment::Left
            } else {
                comfy_table::CellAlignment::Right
            });
        }
    }
    table.to_string()
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
        let (w, h, left, bottom, top, right) = (720.0, 440.0, 70.0, 50.0, 40.0, 190.0);
        let points: Vec<(f64, f64)> = self.series.iter().flat_map(|l| l.points.iter().copied()).collect();
        let fx = |x: f64| if self.log_x { x.max(1.0).log10() } else { x };
        let (x0, x1) = bounds(points.iter().map(|p| fx(p.0)));
        let (lo, hi) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        // The y axis runs from a round value at or below the data to one at
        // or above it.
        let y_ticks = ticks(lo, hi);
        let (y0, y1) = (y_ticks[0], y_ticks[y_ticks.len() - 1]);
        let decimals = decimals(&y_ticks);
        let px = |x: f64| left + (fx(x) - x0) / (x1 - x0).max(1e-9) * (w - left - right);
        let py = |y: f64| h - bottom - (y - y0) / (y1 - y0).max(1e-12) * (h - bottom - top);
        let mut s = String::new();
        let _ = write!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"##,
            (w - right + left) / 2.0,
            escape(self.title)
        );
        for y in &y_ticks {
            let _ = write!(
                s,
                r##"<line x1="{left}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#e5e5e5"/><text x="{2}" y="{3:.1}" text-anchor="end">{4:.5$}</text>"##,
                py(*y),
                w - right,
                left - 6.0,
                py(*y) + 4.0,
                y,
                decimals
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="black"/><line x1="{left}" y1="{top}" x2="{left}" y2="{0}" stroke="black"/>"##,
            h - bottom,
            w - right
        );
        let mut xs: Vec<f64> = points.iter().map(|p| p.0).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        for x in xs {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"##,
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
        let measured = self.series.iter().filter(|l| !l.reference).count();
        for (i, Series { name, points: pts, reference }) in self.series.iter().enumerate() {
            // A bound is drawn in the colour of its overlay's measurements.
            let owner = reference
                .then(|| {
                    self.series.iter().position(|m| !m.reference && name.split(':').next() == Some(m.name.as_str()))
                })
                .flatten();
            let colour = COLOURS[owner.unwrap_or(i) % COLOURS.len()];
            let dash = if *reference { r#" stroke-dasharray="5,4""# } else { "" };
            // Earlier lines are drawn wider, so one that another covers
            // still shows at its edges; points are marked by shape as well.
            let width = if *reference { 1.5 } else { 2.0 + 1.5 * (measured.saturating_sub(i + 1)) as f64 };
            let path: Vec<String> = pts.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
            let _ = write!(
                s,
                r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-opacity="0.85"{dash}/>"##,
                path.join(" ")
            );
            for &(x, y) in pts.iter().filter(|_| !reference) {
                let _ = write!(s, "{}", marker(i, px(x), py(y), colour));
            }
            // The legend sits right of the plot area, never over the data.
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

/// A point's marker: a circle, square or diamond by series.
fn marker(series: usize, x: f64, y: f64, colour: &str) -> String {
    match series % 3 {
        0 => format!(r##"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{colour}"/>"##),
        1 => format!(r##"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{colour}"/>"##, x - 3.5, y - 3.5),
        _ => format!(
            r##"<polygon points="{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}" fill="{colour}"/>"##,
            y - 4.5,
            x + 4.5,
            y + 4.5,
            x - 4.5
        ),
    }
}

/// Round tick values covering `lo..=hi`: about five steps of 1, 2 or 5
/// times a power of ten, the first at or below `lo`, the last at or above
/// `hi`. Equal ends are widened a little, so a flat line sits mid-plot.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        let pad = (lo.abs() * 0.02).max(0.01);
        (lo - pad, hi + pad)
    };
    let raw = (hi - lo) / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor() * step;
    let count = ((hi - first) / step).ceil().max(1.0) as usize;
    (0..=count).map(|i| first + step * i as f64).collect()
}

/// Decimals enough to tell the ticks apart.
fn decimals(ticks: &[f64]) -> usize {
    let step = ticks.get(1).zip(ticks.first()).map_or(1.0, |(b, a)| b - a);
    (-step.log10().floor()).max(0.0) as usize
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

/// Each overlay's own hop bound ([`SimOverlay::hop_bound`](dht_overlays::core::SimOverlay::hop_bound))
/// over the sizes measured, named by its formula.
fn bound_curves(rows: &[Value]) -> Vec<Series> {
    let mut curves: Vec<Series> = Vec::new();
    for row in rows {
        let (Some(overlay), Some(bound)) = (row["overlay"].as_str(), row["hop_bound"].as_f64()) else { continue };
        let name = format!("{overlay}: {}", row["hop_bound_formula"].as_str().unwrap_or("bound"));
        let point = (number(row, "nodes"), bound);
        match curves.iter_mut().find(|c| c.name == name) {
            Some(curve) if !curve.points.contains(&point) => curve.points.push(point),
            Some(_) => {}
            None => curves.push(Series { name, points: vec![point], reference: true }),
        }
    }
    for curve in &mut curves {
        curve.points.sort_by(|a, b| a.0.total_cmp(&b.0));
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

/// Writes the plots, the pictures of each compared overlay's topology and
/// `index.html` into `dir`.
pub fn write(dir: &Path, rows: &[Value], churn: &str, fail: f64, seed: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let jsonl: String = rows.iter().map(|row| format!("{row}\n")).collect();
    std::fs::write(dir.join("rows.jsonl"), jsonl)?;
    std::fs::write(dir.join("rows.csv"), csv(rows))?;
    let condition = format!("churn {churn}, failed fraction {fail}");
    let mut hops = per_overlay(rows, "hops_mean");
    hops.extend(bound_curves(rows));
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
    for (heading, _, _, _) in COLUMNS {
        let _ = write!(html, "<th>{}</th>", escape(heading));
    }
    html.push_str("</tr>");
    for row in rows {
        html.push_str("<tr>");
        for (_, field, decimals, _) in COLUMNS {
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
    for overlay in OverlayKind::ALL.iter().filter(|o| has(o.name())) {
        if let Some((file, draw)) = overlay.picture() {
            std::fs::write(dir.join(file), draw(seed))?;
            let _ = write!(html, "<img src=\"{file}\" alt=\"{} topology\">", overlay.name());
        }
    }
    std::fs::write(dir.join("index.html"), html)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every coordinate an element of `svg` is drawn at, with its name.
    fn coordinates(svg: &str) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for attr in ["x", "y", "cx", "cy", "x1", "y1", "x2", "y2"] {
            let pattern = format!(" {attr}=\"");
            for (at, _) in svg.match_indices(&pattern) {
                let rest = &svg[at + pattern.len()..];
                let value = &rest[..rest.find('"').unwrap_or(0)];
                if let Ok(v) = value.parse::<f64>() {
                    out.push((attr.to_owned(), v));
                }
            }
        }
        for list in svg.split("points=\"").skip(1) {
            for pair in list[..list.find('"').unwrap_or(0)].split_whitespace() {
                for (i, v) in pair.split(',').enumerate() {
                    out.push((if i == 0 { "x" } else { "y" }.to_owned(), v.parse().unwrap_or(f64::NAN)));
                }
            }
        }
        out
    }

    fn plot(series: Vec<Series>, log_x: bool) -> String {
        Plot { title: "t", x_label: "x", y_label: "y", log_x, series }.svg()
    }

    fn line(name: &str, points: &[(f64, f64)]) -> Series {
        Series { name: name.into(), points: points.to_vec(), reference: false }
    }

    /// The y-axis labels, in order.
    fn y_labels(svg: &str) -> Vec<f64> {
        svg.split(r#"text-anchor="end">"#).skip(1).filter_map(|t| t[..t.find('<')?].parse().ok()).collect()
    }

    #[test]
    fn plots_stay_in_their_view_box_and_their_axes_cover_the_data() {
        let cases = [
            vec![line("flat", &[(100.0, 1.0), (1000.0, 1.0), (10_000.0, 1.0)])],
            vec![line("a", &[(50.0, 3.1), (500.0, 25.13), (5000.0, 50.26)]), line("b", &[(50.0, 0.2), (5000.0, 7.0)])],
            vec![line("one point", &[(64.0, 0.997)])],
            vec![line("big", &[(1e3, 120_000.0), (1e5, 310_000.0)])],
        ];
        for series in cases {
            let (lo, hi) =
                series.iter().flat_map(|l| &l.points).fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
            let svg = plot(series, true);
            assert!(svg.contains(r#"viewBox="0 0 720 440""#));
            for (attr, v) in coordinates(&svg) {
                let limit = if attr.starts_with('x') || attr == "cx" { 720.0 } else { 440.0 };
                assert!((0.0..=limit).contains(&v), "{attr} = {v} outside the view box in {svg}");
            }
            let labels = y_labels(&svg);
            assert!(labels.len() >= 2, "{svg}");
            assert!(labels[0] <= lo && *labels.last().unwrap() >= hi, "axis {labels:?} against data {lo}..{hi}");
            // Round steps: 1, 2 or 5 times a power of ten, all alike.
            let step = labels[1] - labels[0];
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!([1.0, 2.0, 5.0, 10.0].iter().any(|m| (mantissa - m).abs() < 1e-6), "step {step} in {labels:?}");
            assert!(labels.windows(2).all(|w| ((w[1] - w[0]) - step).abs() < step * 1e-6), "{labels:?}");
            // And not wider than the data needs: the flat line's axis stays near 1.
            assert!(labels.last().unwrap() - labels[0] <= (hi - lo).max(0.05 * hi.abs().max(0.5)) * 3.0, "{labels:?}");
        }
    }
}
