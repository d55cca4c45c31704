//! The soak's pass criteria: flat memory, no fd growth, the clean tenant's p99 within its
//! bound, and every reply as expected (a few outcomes tolerated, each counted).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::{Sample, SoakArgs, Verdict};

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// Outcomes that are the deadline doing its job rather than a fault (counted and reported):
/// a kv write is one redb commit with fsync, and on a shared disk an fsync can stall for
/// hundreds of milliseconds, so an increment queued behind a few of them is answered `timeout`
/// at its 1 s deadline; a memory bomb starved of CPU on a loaded machine can reach its
/// deadline before its memory limit.
const TOLERATED: [&str; 2] = ["increment:timeout", "memory_bomb:timeout"];

/// The pass criteria. Memory and fds compare an early window of the mixed phase (its second
/// minute; the middle third of a run under 3 minutes) with its last minute (last third).
pub(super) fn verdicts(
    args: &SoakArgs,
    samples: &[Sample],
    mixed: &Histogram<u64>,
) -> Vec<Verdict> {
    let t0 = args.baseline.as_secs_f64();
    let d = args.duration.as_secs_f64();
    let (early, late) = if d >= 180.0 {
        ((60.0, 120.0), (d - 60.0, d))
    } else {
        ((d / 3.0, 2.0 * d / 3.0), (2.0 * d / 3.0, d))
    };
    let within = |(a, b): (f64, f64)| {
        samples
            .iter()
            .filter(move |s| s.phase == "mixed" && s.t_s - t0 > a && s.t_s - t0 <= b)
    };
    let rss = |w| mean(&within(w).map(|s| s.rss_kib as f64).collect::<Vec<_>>());
    let max_fds = |w| within(w).map(|s| s.fds).max().unwrap_or(0);
    let (rss_early, rss_late) = (rss(early), rss(late));
    let growth = rss_late / rss_early.max(1.0) - 1.0;
    let (fds_early, fds_late) = (max_fds(early), max_fds(late));
    let p99 = mixed.value_at_quantile(0.99);
    let worst = samples
        .iter()
        .filter(|s| s.phase == "mixed")
        .map(|s| s.clean_p99_us)
        .max()
        .unwrap_or(0);
    let (mut unexpected, mut tolerated) = (BTreeMap::new(), BTreeMap::new());
    for s in samples {
        for (k, n) in &s.outcomes {
            let into = if TOLERATED.contains(&k.as_str()) {
                &mut tolerated
            } else if !k.ends_with(":expected") && !k.starts_with("pushes:") {
                &mut unexpected
            } else {
                continue;
            };
            *into.entry(k.clone()).or_insert(0u64) += n;
        }
    }
    let pushes: u64 = samples
        .iter()
        .flat_map(|s| &s.outcomes)
        .filter(|(k, _)| *k == "pushes:CounterChanged" || *k == "pushes:Notice")
        .map(|(_, n)| n)
        .sum();
    vec![
        Verdict {
            name: "memory flat".into(),
            pass: growth <= 0.10,
            detail: format!(
                "mean RSS {:.1} MiB in {:.0}-{:.0} s of the mixed load, {:.1} MiB in {:.0}-{:.0} s \
                 ({:+.1} %, bound +10 %)",
                rss_early / 1024.0,
                early.0,
                early.1,
                rss_late / 1024.0,
                late.0,
                late.1,
                growth * 100.0
            ),
        },
        Verdict {
            name: "no fd growth".into(),
            pass: fds_late <= fds_early + 4,
            detail: format!("most open fds {fds_early} early, {fds_late} late (bound +4)"),
        },
        Verdict {
            name: "clean p99 bounded".into(),
            pass: p99 <= args.p99_bound.as_micros() as u64,
            detail: format!(
                "clean p99 {:.2} ms over the mixed phase (worst 10-s window {:.2} ms), bound {} ms",
                p99 as f64 / 1000.0,
                worst as f64 / 1000.0,
                args.p99_bound.as_millis()
            ),
        },
        Verdict {
            name: "every reply as expected".into(),
            pass: unexpected.is_empty() && pushes > 0,
            detail: format!(
                "unexpected outcomes {unexpected:?}; tolerated {tolerated:?}; {pushes} pushes \
                 received"
            ),
        },
    ]
}
