//! chart.png: msgs/s (top) and p99 latency (bottom, log scale) per system, one bar per
//! throughput scenario. Text uses DejaVu Sans embedded from the `dejavu` crate (plotters'
//! `ab_glyph` backend), so it renders on a machine without any system fonts.

use std::path::Path;
use std::sync::Once;

use anyhow::anyhow;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::report::{Results, SCENARIOS};

const COLORS: [RGBColor; 4] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xe1, 0x57, 0x59),
];

pub(crate) fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Draws the chart of `results` into `path` (PNG).
pub fn draw(results: &Results, path: &Path) -> anyhow::Result<()> {
    fonts();
    let systems: Vec<&str> = results
        .systems
        .iter()
        .map(|s| s.name.as_str())
        .filter(|s| results.throughput.iter().any(|r| r.system == *s))
        .collect();
    let width = (240 + 130 * systems.len().max(4)) as u32;
    let root = BitMapBackend::new(path, (width, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let title = format!(
        "extws-wasm benchmarks ({} run, {} cores, {})",
        results.mode,
        results.machine["cores"],
        results.git_commit.as_deref().unwrap_or("unknown commit")
    );
    let root = root
        .titled(&title, ("sans-serif", 26).into_font())
        .map_err(|e| anyhow!("{e}"))?;
    let (top, bottom) = root.split_vertically(480);
    if systems.is_empty() {
        root.present().map_err(|e| anyhow!("{e}"))?;
        return Ok(());
    }
    let label = |s: &str| s.strip_prefix("extws ").unwrap_or(s).to_string();
    let n = systems.len() as f64;
    let value = |system: &str, scenario: &str, p99: bool| {
        results.run(system, scenario).map(|r| {
            if p99 {
                r.load.latency.p99_us / 1000.0
            } else {
                r.load.msgs_per_s
            }
        })
    };

    // Top: msgs/s.
    let max_rate = results
        .throughput
        .iter()
        .map(|r| r.load.msgs_per_s)
        .fold(1.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&top)
        .caption(
            "throughput (msgs/s, higher is better)",
            ("sans-serif", 20).into_font(),
        )
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(90)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..max_rate)
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(systems.len() + 1)
        .x_label_formatter(&|x| name_at(&systems, *x).map(label).unwrap_or_default())
        .x_label_style(("sans-serif", 14).into_font())
        .y_label_style(("sans-serif", 14).into_font())
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for (j, (scenario, c, d)) in SCENARIOS.iter().enumerate() {
        let color = COLORS[j];
        chart
            .draw_series(systems.iter().enumerate().filter_map(|(i, s)| {
                let v = value(s, scenario, false)?;
                let x0 = i as f64 - 0.4 + j as f64 * 0.2;
                Some(Rectangle::new([(x0, 0.0), (x0 + 0.18, v)], color.filled()))
            }))
            .map_err(|e| anyhow!("{e}"))?
            .label(format!("{c} conn × depth {d}"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14).into_font())
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow!("{e}"))?;

    // Bottom: p99 latency, log scale.
    let p99s: Vec<f64> = results
        .throughput
        .iter()
        .map(|r| r.load.latency.p99_us / 1000.0)
        .filter(|v| *v > 0.0)
        .collect();
    let lo = p99s.iter().copied().fold(f64::MAX, f64::min).min(0.1) / 2.0;
    let hi = p99s.iter().copied().fold(0.0, f64::max).max(1.0) * 2.0;
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "p99 latency (ms, log scale, lower is better)",
            ("sans-serif", 20).into_font(),
        )
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(90)
        .build_cartesian_2d(-0.5..n - 0.5, (lo..hi).log_scale())
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(systems.len() + 1)
        .x_label_formatter(&|x| name_at(&systems, *x).map(label).unwrap_or_default())
        .x_label_style(("sans-serif", 14).into_font())
        .y_label_style(("sans-serif", 14).into_font())
        .y_label_formatter(&|y| {
            if *y >= 1.0 {
                format!("{y:.0}")
            } else {
                format!("{y:.2}")
            }
        })
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for (j, (scenario, _, _)) in SCENARIOS.iter().enumerate() {
        let color = COLORS[j];
        chart
            .draw_series(systems.iter().enumerate().filter_map(|(i, s)| {
                let v = value(s, scenario, true)?;
                let x0 = i as f64 - 0.4 + j as f64 * 0.2;
                Some(Rectangle::new([(x0, lo), (x0 + 0.18, v)], color.filled()))
            }))
            .map_err(|e| anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// The system whose bar group is centred on integer `x`.
fn name_at<'a>(systems: &[&'a str], x: f64) -> Option<&'a str> {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 {
        return None;
    }
    systems.get(i as usize).copied()
}
