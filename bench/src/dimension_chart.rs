//! A chart per scale dimension, each two panels of lines:
//!
//! * `payload.png` — msgs/s and p99 against the size of `Data` (both axes log);
//! * `connections.png` — server RSS and kernel slab against connections, and each topic
//!   push's time to its first and last subscriber;
//! * `tenants.png` — startup and RSS against tenants (log x).
//!
//! A chart whose part did not run is not written (an old one is removed).

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use crate::payload::SIZES;
use crate::report::Results;

const COLORS: [RGBColor; 4] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xe1, 0x57, 0x59),
];

/// One line: its name and points.
type Line = (String, Vec<(f64, f64)>);

/// One panel: caption, axis descriptions, whether each axis is log, its lines.
struct Panel {
    caption: String,
    x_desc: &'static str,
    y_desc: &'static str,
    log_x: bool,
    log_y: bool,
    lines: Vec<Line>,
}

/// Writes every chart whose part ran into `out`.
pub fn draw_all(r: &Results, out: &Path) -> anyhow::Result<()> {
    let charts = [
        ("payload.png", payload(r)),
        ("connections.png", connections(r)),
        ("tenants.png", tenants(r)),
    ];
    for (file, chart) in charts {
        let path = out.join(file);
        match chart {
            Some((title, panels)) => draw(&path, &title, &panels)?,
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    Ok(())
}

fn payload(r: &Results) -> Option<(String, [Panel; 2])> {
    if r.payload.is_empty() {
        return None;
    }
    let mut systems: Vec<&str> = r.payload.iter().map(|p| p.system.as_str()).collect();
    systems.dedup();
    let series = |f: &dyn Fn(&crate::records::ThroughputRun) -> f64| -> Vec<Line> {
        systems
            .iter()
            .map(|s| {
                let points = SIZES
                    .iter()
                    .filter_map(|(name, bytes)| {
                        let p = r
                            .payload
                            .iter()
                            .find(|p| p.system == *s && p.scenario == *name)?;
                        Some((*bytes as f64, f(p)))
                    })
                    .filter(|(_, y)| *y > 0.0)
                    .collect();
                (s.strip_prefix("extws ").unwrap_or(s).to_string(), points)
            })
            .collect()
    };
    Some((
        format!(
            "calc request size ({} connections, depth 1; {} run)",
            crate::payload::CONNECTIONS,
            r.mode
        ),
        [
            Panel {
                caption: "throughput (msgs/s)".into(),
                x_desc: "Data bytes",
                y_desc: "msgs/s",
                log_x: true,
                log_y: true,
                lines: series(&|p| p.load.msgs_per_s),
            },
            Panel {
                caption: "p99 latency (ms)".into(),
                x_desc: "Data bytes",
                y_desc: "ms",
                log_x: true,
                log_y: true,
                lines: series(&|p| p.load.latency.p99_us / 1000.0),
            },
        ],
    ))
}

fn connections(r: &Results) -> Option<(String, [Panel; 2])> {
    let c = r.connections.as_ref()?;
    let mib = |f: &dyn Fn(&crate::connections::Step) -> u64| -> Vec<(f64, f64)> {
        c.steps
            .iter()
            .map(|s| (s.connections as f64, f(s) as f64 / 1024.0))
            .collect()
    };
    let push = |f: &dyn Fn(&crate::connections::Push) -> f64| -> Vec<(f64, f64)> {
        c.pushes
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64 + 1.0, f(p)))
            .collect()
    };
    Some((
        format!(
            "{} idle connections ({:.1} KiB each), {} subscribed ({} run)",
            c.connections, c.per_connection_kib, c.subscribers, r.mode
        ),
        [
            Panel {
                caption: "memory against open connections (MiB)".into(),
                x_desc: "connections",
                y_desc: "MiB",
                log_x: false,
                log_y: false,
                lines: vec![
                    ("server RSS".into(), mib(&|s| s.rss_kib)),
                    ("kernel slab (machine)".into(), mib(&|s| s.kernel_slab_kib)),
                ],
            },
            Panel {
                caption: format!("topic push to {} subscribers (ms)", c.subscribers),
                x_desc: "push",
                y_desc: "ms",
                log_x: false,
                log_y: false,
                lines: vec![
                    ("first delivered".into(), push(&|p| p.first_ms)),
                    ("last delivered".into(), push(&|p| p.last_ms)),
                ],
            },
        ],
    ))
}

fn tenants(r: &Results) -> Option<(String, [Panel; 2])> {
    let t = r.tenants.as_ref()?;
    let points = |f: &dyn Fn(&crate::tenants::TenantStep) -> f64| -> Vec<(f64, f64)> {
        t.steps.iter().map(|s| (s.tenants as f64, f(s))).collect()
    };
    Some((
        format!(
            "tenants serving one calc file ({:.0} KiB each; {} run)",
            t.per_tenant_kib, r.mode
        ),
        [
            Panel {
                caption: "startup to `listening`, warm compile cache (ms)".into(),
                x_desc: "tenants",
                y_desc: "ms",
                log_x: true,
                log_y: false,
                lines: vec![("median".into(), points(&|s| s.startup_median_ms))],
            },
            Panel {
                caption: "server RSS (MiB)".into(),
                x_desc: "tenants",
                y_desc: "MiB",
                log_x: true,
                log_y: false,
                lines: vec![("RSS".into(), points(&|s| s.rss_kib as f64 / 1024.0))],
            },
        ],
    ))
}

/// Draws `panels` side by side under `title`. A log axis is drawn in log10 units with labels
/// of the real values.
fn draw(path: &Path, title: &str, panels: &[Panel]) -> anyhow::Result<()> {
    crate::chart::fonts();
    let e = |e: DrawingAreaErrorKind<_>| anyhow!("{e}");
    let root = BitMapBackend::new(path, (1400, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let root = root
        .titled(title, ("sans-serif", 22).into_font())
        .map_err(e)?;
    for (area, p) in root.split_evenly((1, panels.len())).iter().zip(panels) {
        let tx = |v: f64| if p.log_x { v.max(1e-9).log10() } else { v };
        let ty = |v: f64| if p.log_y { v.max(1e-9).log10() } else { v };
        let all: Vec<(f64, f64)> = p
            .lines
            .iter()
            .flat_map(|(_, pts)| pts.iter().map(|&(x, y)| (tx(x), ty(y))))
            .collect();
        if all.is_empty() {
            continue;
        }
        let (x0, x1) = bounds(all.iter().map(|p| p.0), p.log_x);
        let (y0, y1) = bounds(all.iter().map(|p| p.1), p.log_y);
        let (y0, y1) = if p.log_y { (y0, y1) } else { (0.0, y1) };
        let mut chart = ChartBuilder::on(area)
            .caption(&p.caption, ("sans-serif", 18).into_font())
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        let real = |log: bool, v: f64| {
            // A log axis is labelled at the powers of ten only.
            if log && (v - v.round()).abs() > 1e-6 {
                return String::new();
            }
            let v = if log { 10f64.powf(v.round()) } else { v };
            if v >= 100.0 || v == v.round() {
                format!("{v:.0}")
            } else if v >= 1.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.2}")
            }
        };
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(p.x_desc)
            .y_desc(p.y_desc)
            .x_label_formatter(&|v| real(p.log_x, *v))
            .y_label_formatter(&|v| real(p.log_y, *v))
            .x_label_style(("sans-serif", 13).into_font())
            .y_label_style(("sans-serif", 13).into_font())
            .draw()
            .map_err(e)?;
        for (i, (name, pts)) in p.lines.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let pts: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (tx(x), ty(y))).collect();
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                .map_err(e)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 13).into_font())
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

/// The range of `values` with a margin (in log10 units for a log axis).
fn bounds(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let pad = if log {
        0.15
    } else {
        ((hi - lo).abs() * 0.08).max(hi.abs() * 0.05).max(1e-3)
    };
    (lo - pad, hi + pad)
}
