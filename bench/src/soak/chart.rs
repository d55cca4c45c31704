//! soak.png: the soak's samples over time, three panels sharing the time axis: server RSS,
//! server open file descriptors, and the clean tenant's p50/p99 latency. A vertical line marks
//! where the mixed load joined the clean baseline.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use super::SoakReport;

const BLUE: RGBColor = RGBColor(0x4e, 0x79, 0xa7);
const ORANGE: RGBColor = RGBColor(0xf2, 0x8e, 0x2b);
const GREEN: RGBColor = RGBColor(0x59, 0xa1, 0x4f);
const GREY: RGBColor = RGBColor(0x99, 0x99, 0x99);

/// One panel: its caption, its lines (name, points, colour) and the top of its y axis.
type Panel<'a> = (&'a str, Vec<(&'a str, &'a Vec<(f64, f64)>, RGBColor)>, f64);

/// Draws `report`'s samples into `path` (PNG).
pub fn draw(report: &SoakReport, path: &Path) -> anyhow::Result<()> {
    crate::chart::fonts();
    let e = |e: DrawingAreaErrorKind<_>| anyhow!("{e}");
    let root = BitMapBackend::new(path, (1200, 1100)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let passed = report.verdicts.iter().all(|v| v.pass);
    let title = format!(
        "extws-wasm soak: {} s mixed load after {} s baseline ({}; load avg {} → {})",
        report.duration_s,
        report.baseline_s,
        if passed { "passed" } else { "FAILED" },
        report.loadavg_start.split(' ').next().unwrap_or("?"),
        report.loadavg_end.split(' ').next().unwrap_or("?"),
    );
    let root = root
        .titled(&title, ("sans-serif", 22).into_font())
        .map_err(e)?;
    let panels = root.split_evenly((3, 1));
    let t_max = report.samples.last().map_or(1.0, |s| s.t_s).max(1.0);
    let t_mixed = report.baseline_s as f64;
    let xs: Vec<f64> = report.samples.iter().map(|s| s.t_s).collect();
    let series = |f: &dyn Fn(usize) -> f64| -> Vec<(f64, f64)> {
        xs.iter().enumerate().map(|(i, x)| (*x, f(i))).collect()
    };
    let s = &report.samples;
    let rss = series(&|i| s[i].rss_kib as f64 / 1024.0);
    let fds = series(&|i| s[i].fds as f64);
    let p50 = series(&|i| s[i].clean_p50_us as f64 / 1000.0);
    let p99 = series(&|i| s[i].clean_p99_us as f64 / 1000.0);
    let top = |v: &[(f64, f64)]| v.iter().map(|p| p.1).fold(1.0, f64::max) * 1.25;
    let panel_specs: [Panel<'_>; 3] = [
        ("server RSS (MiB)", vec![("RSS", &rss, BLUE)], top(&rss)),
        (
            "server open file descriptors",
            vec![("fds", &fds, GREEN)],
            top(&fds),
        ),
        (
            "clean tenant latency per 10-s window (ms)",
            vec![("p50", &p50, BLUE), ("p99", &p99, ORANGE)],
            top(&p99),
        ),
    ];
    for (i, (area, (caption, lines, y_max))) in panels.iter().zip(panel_specs).enumerate() {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 18).into_font())
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..t_max, 0.0..y_max)
            .map_err(e)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("seconds")
            .x_label_style(("sans-serif", 13).into_font())
            .y_label_style(("sans-serif", 13).into_font())
            .draw()
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                [(t_mixed, 0.0), (t_mixed, y_max)],
                GREY.stroke_width(1),
            ))
            .map_err(e)?
            .label("mixed load starts")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], GREY));
        for (name, points, color) in lines {
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(e)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(if i == 2 {
                SeriesLabelPosition::UpperRight
            } else {
                SeriesLabelPosition::LowerRight
            })
            .label_font(("sans-serif", 13).into_font())
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}
