//! Pictures of one small simulated network per overlay, for the compare
//! report: the CAN zone map in two dimensions with one lookup's path, the
//! Chord ring with one node's fingers, one Kademlia node's bucket fill, and
//! one Pastry node's leaf set and routing table.

use dht_overlays::core::SimOverlay;
use dht_overlays::{Can, CanConfig, Chord, ChordConfig, Kademlia, KademliaConfig, Pastry, PastryConfig};
use dht_testkit::sim::{SimConfig, Simulation};
use std::fmt::Write as _;
use std::time::Duration;

/// Draws one overlay's picture of a network grown from a seed, as SVG.
pub type Picture = fn(u64) -> String;

/// Nodes in each pictured network.
const NODES: usize = 64;
/// Side of the square pictures, in pixels.
const SIDE: f64 = 420.0;

fn grown<O: SimOverlay>(seed: u64, make: impl Fn(dht_overlays::Peer) -> O + 'static) -> Simulation<O> {
    let mut sim = Simulation::new(SimConfig::new(seed), make);
    sim.grow(NODES, Duration::from_millis(50), Duration::from_secs(60));
    sim
}

fn open(title: &str, height: f64) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{SIDE}" height="{height}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{}" y="18" font-size="14" text-anchor="middle">{title}</text>"##,
        SIDE / 2.0
    )
}

/// The zones of a two-dimensional CAN, and the greedy path of one lookup
/// from a node to a key's point, zone centre to zone centre.
pub fn can_zones(seed: u64) -> String {
    let mut config = CanConfig::default();
    config.dimensions = 2;
    let mut sim = grown(seed, move |p| Can::new(p, config.clone()));
    let (top, side) = (30.0, SIDE - 40.0);
    let at = |x: f64, y: f64| (20.0 + x * side, top + (1.0 - y) * side);
    let mut svg = open(&format!("CAN zones, d = 2, {NODES} nodes, one lookup"), SIDE);
    let mut centre = std::collections::HashMap::new();
    for index in sim.live_nodes() {
        let Some(node) = sim.node(index) else { continue };
        let view = node.overlay().view();
        for zone in view.own() {
            let b = view.space().bounds(zone);
            let ((x0, y0), (w, h)) = ((b[0].0, b[1].0), (b[0].1, b[1].1));
            let (px, py) = at(x0, y0 + h);
            let _ = write!(
                svg,
                r##"<rect x="{px:.1}" y="{py:.1}" width="{:.1}" height="{:.1}" fill="#eef3fb" stroke="#4a6fa5"/>"##,
                w * side,
                h * side
            );
            centre.insert(node.local().id, at(x0 + w / 2.0, y0 + h / 2.0));
        }
    }
    let key = sim.rng().id();
    let Some(start) = sim.live_nodes().first().copied() else { return svg + "</svg>\n" };
    let mut path = Vec::new();
    let mut current = start;
    for _ in 0..NODES {
        let Some(node) = sim.node(current) else { break };
        path.push(node.local().id);
        let view = node.overlay().view();
        let point = view.space().point(&key);
        if view.owns(&point) {
            let (px, py) = at(point.coord(0) as f64 / 2f64.powi(64), point.coord(1) as f64 / 2f64.powi(64));
            let _ = write!(svg, r##"<circle cx="{px:.1}" cy="{py:.1}" r="5" fill="#d62728"/>"##);
            break;
        }
        let Some(next) = view.closer(&point, 1).first().copied() else { break };
        let Some(index) = sim.live_nodes().into_iter().find(|&i| sim.peer(i).is_some_and(|p| p.id == next.id)) else {
            break;
        };
        current = index;
    }
    let hops: Vec<String> =
        path.iter().filter_map(|id| centre.get(id)).map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let _ = writeln!(
        svg,
        r##"<polyline points="{}" fill="none" stroke="#d62728" stroke-width="2"/><text x="20" y="{}">path: {} hops to the key's point (red)</text></svg>"##,
        hops.join(" "),
        SIDE - 2.0,
        path.len().saturating_sub(1)
    );
    svg
}

/// The nodes of a simulated network on the id circle, with lines from one
/// node to the peers it keeps (`links`, each with its colour) and a caption.
fn id_circle<O: SimOverlay>(
    sim: &Simulation<O>,
    title: &str,
    links: &[(dht_overlays::Peer, &str)],
    caption: &str,
) -> String {
    let (cx, cy, r) = (SIDE / 2.0, SIDE / 2.0 + 10.0, SIDE / 2.0 - 40.0);
    let at = |id: &dht_overlays::Id| {
        let angle = id.prefix_u64() as f64 / 2f64.powi(64) * std::f64::consts::TAU;
        (cx + r * angle.sin(), cy - r * angle.cos())
    };
    let mut svg = open(title, SIDE);
    let _ = write!(svg, r##"<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="#999"/>"##);
    for peer in sim.live_nodes().into_iter().filter_map(|i| sim.peer(i)) {
        let (x, y) = at(&peer.id);
        let _ = write!(svg, r##"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="#4a6fa5"/>"##);
    }
    if let Some(local) = sim.live_nodes().first().and_then(|&i| sim.peer(i)) {
        let (x0, y0) = at(&local.id);
        for (peer, colour) in links {
            let (x, y) = at(&peer.id);
            let _ = write!(svg, r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y:.1}" stroke="{colour}"/>"##);
        }
        let _ = write!(
            svg,
            r##"<circle cx="{x0:.1}" cy="{y0:.1}" r="5" fill="#d62728"/><text x="20" y="{}">{caption}</text>"##,
            SIDE - 4.0
        );
    }
    svg + "</svg>\n"
}

/// The Chord ring, and one node's fingers as chords across it.
pub fn chord_ring(seed: u64) -> String {
    let sim = grown(seed, |p| Chord::new(p, ChordConfig::default()));
    let fingers: Vec<dht_overlays::Peer> = sim
        .live_nodes()
        .first()
        .and_then(|&i| sim.node(i))
        .map(|n| n.overlay().ring().fingers().values().copied().collect())
        .unwrap_or_default();
    let distinct = fingers.iter().map(|p| p.id).collect::<std::collections::BTreeSet<_>>().len();
    let links: Vec<_> = fingers.into_iter().map(|p| (p, "#d62728")).collect();
    let title = format!("Chord ring, {NODES} nodes, one node's fingers");
    id_circle(&sim, &title, &links, &format!("{distinct} distinct fingers (red)"))
}

/// One Pastry node's state on the id circle: its leaf set (green) hugging
/// it, and its routing-table entries (red for row 0, orange for row 1 and
/// deeper), which reach across the circle.
pub fn pastry_state(seed: u64) -> String {
    let sim = grown(seed, |p| Pastry::new(p, PastryConfig::default()));
    let Some(pastry) = sim.live_nodes().first().and_then(|&i| sim.node(i)).map(|n| n.overlay().clone()) else {
        return id_circle(&sim, "Pastry", &[], "");
    };
    let table = pastry.routing_table();
    let mut links: Vec<(dht_overlays::Peer, &str)> = (0..table.rows())
        .flat_map(|row| table.row(row).into_iter().map(move |p| (p, if row == 0 { "#d62728" } else { "#f28e2b" })))
        .collect();
    let leaves = pastry.leaf_set().all();
    links.extend(leaves.iter().map(|p| (*p, "#2ca02c")));
    let caption =
        format!("{} leaves (green), {} table entries (red: row 0, orange: row 1+)", leaves.len(), table.len());
    id_circle(&sim, &format!("Pastry, {NODES} nodes, one node's leaf set and table"), &links, &caption)
}

/// How full one Kademlia node's k-buckets are, farthest bucket first.
pub fn kademlia_buckets(seed: u64) -> String {
    let sim = grown(seed, |p| Kademlia::new(p, KademliaConfig::default()));
    let fill = sim.live_nodes().first().and_then(|&i| sim.node(i)).map(|n| n.overlay().table().bucket_fill());
    let fill = fill.unwrap_or_default();
    let k = KademliaConfig::default().k.max(1) as f64;
    // Contacts and replacements stacked may pass k: the scale fits the
    // tallest bar, so every bar stays inside the frame.
    let tallest = fill.iter().map(|(c, w)| (c + w) as f64).fold(k, f64::max);
    let mut svg = open(&format!("Kademlia buckets of one node, {NODES} nodes"), SIDE);
    let (left, bottom, height) = (40.0, SIDE - 40.0, SIDE - 90.0);
    let width = (SIDE - 60.0) / fill.len().max(1) as f64;
    for (i, (contacts, waiting)) in fill.iter().enumerate() {
        let x = left + i as f64 * width;
        let h = *contacts as f64 / tallest * height;
        let w = *waiting as f64 / tallest * height;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#4a6fa5"/><rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{w:.1}" fill="#f2b134"/><text x="{:.1}" y="{}" text-anchor="middle">{i}</text>"##,
            bottom - h,
            width * 0.8,
            bottom - h - w,
            width * 0.8,
            x + width * 0.4,
            bottom + 14.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{left}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#999" stroke-dasharray="4,3"/><text x="{left}" y="{2}">bucket (blue: contacts, yellow: replacements, dashed: k = {k})</text></svg>"##,
        bottom - k / tallest * height,
        SIDE - 20.0,
        SIDE - 8.0
    );
    svg
}
