//! The goals of issues 6 and 15, each checked against one run's results. A goal the run could
//! not measure (a system skipped, a part not run) is listed as "not measured", never as met.

use crate::records::Target;
use crate::report::Results;

const FRESH: &str = "extws rust/fresh";

/// One goal: `measured` is the text and whether it met the goal, or `None` when not measured.
fn target(name: String, goal: &str, measured: Option<(String, bool)>) -> Target {
    match measured {
        Some((measured, met)) => Target {
            name,
            goal: goal.into(),
            measured,
            met: Some(met),
        },
        None => Target {
            name,
            goal: goal.into(),
            measured: "not measured".into(),
            met: None,
        },
    }
}

/// Every goal, in the order of the report.
pub fn all(r: &Results) -> Vec<Target> {
    let mut t = Vec::new();
    against_native(r, &mut t);
    against_predecessor_and_node(r, &mut t);
    micro(r, &mut t);
    scale(r, &mut t);
    t
}

fn rate(r: &Results, system: &str, scenario: &str) -> Option<f64> {
    r.run(system, scenario)
        .map(|x| x.load.msgs_per_s)
        .filter(|v| *v > 0.0)
}

/// msgs/s of `system` over `base`'s at `scenario`, as (text, ratio).
fn ratio(r: &Results, system: &str, base: &str, scenario: &str) -> Option<(String, f64)> {
    let (w, b) = (rate(r, system, scenario)?, rate(r, base, scenario)?);
    Some((format!("{:.2}× ({w:.0} vs {b:.0})", w / b), w / b))
}

fn against_native(r: &Results, t: &mut Vec<Target>) {
    // Issue 6: 0.8× / 0.7×; issue 15: fresh at 0.5× native at c64d16 is the halved fresh path.
    for (scenario, goal) in [("c16d1", 0.8), ("c64d16", 0.7)] {
        let cpu = |s: &str| r.run(s, scenario).map(|x| x.cpu_us_per_msg);
        let measured = ratio(r, FRESH, "native", scenario).map(|(text, x)| {
            let note = match (cpu(FRESH), cpu("native")) {
                (Some(a), Some(b)) if b > 0.0 => {
                    format!("; server CPU per message {:.2}× native's", a / b)
                }
                _ => String::new(),
            };
            (format!("{text}{note}"), x >= goal)
        });
        t.push(target(
            format!("Rust calc, fresh, msgs/s vs native at {scenario}"),
            &format!("≥ {goal}×"),
            measured,
        ));
    }
    for system in ["extws rust/pooled", "extws rust/connection"] {
        for scenario in ["c16d1", "c64d16"] {
            t.push(target(
                format!("{system}, msgs/s vs native at {scenario} (issue 15)"),
                "≥ 0.9×",
                ratio(r, system, "native", scenario).map(|(text, x)| (text, x >= 0.9)),
            ));
        }
    }
}

fn against_predecessor_and_node(r: &Results, t: &mut Vec<Target>) {
    for scenario in ["c16d1", "c64d16"] {
        t.push(target(
            format!("Rust calc, fresh, msgs/s vs predecessor at {scenario}"),
            "≥ 10×",
            ratio(r, FRESH, "predecessor", scenario).map(|(text, x)| (text, x >= 10.0)),
        ));
    }
    // Issue 15: against what a Mini App developer would write instead (Node.js + `ws`).
    let p99 = |system: &str, scenario: &str| r.run(system, scenario).map(|x| x.load.latency.p99_us);
    for (system, goal) in [(FRESH, 1.0), ("extws rust/pooled", 1.5)] {
        for scenario in ["c16d1", "c64d16"] {
            let measured = ratio(r, system, "node", scenario).map(|(text, x)| {
                let (a, b) = (p99(system, scenario), p99("node", scenario));
                let lower = a.zip(b).is_some_and(|(a, b)| a < b);
                let note = a.zip(b).map_or(String::new(), |(a, b)| {
                    format!("; p99 {:.2} vs {:.2} ms", a / 1000.0, b / 1000.0)
                });
                (format!("{text}{note}"), x >= goal && lower)
            });
            t.push(target(
                format!("{system}, msgs/s vs node at {scenario} (issue 15)"),
                &format!("≥ {goal}×, lower p99"),
                measured,
            ));
        }
    }
}

fn micro(r: &Results, t: &mut Vec<Target>) {
    let median = |lang: &str, variant: &str| {
        r.micro
            .iter()
            .find(|m| m.language == lang && m.variant == variant)
            .map(|m| m.median_us)
    };
    let fresh = median("rust", "fresh");
    for (goal, issue) in [(10.0, ""), (6.0, " (issue 15)")] {
        t.push(target(
            format!("instantiate+call, Rust calc (criterion median){issue}"),
            &format!("≤ {goal} µs"),
            fresh.map(|us| (format!("{us:.1} µs"), us <= goal)),
        ));
    }
    for lang in ["go", "tinygo", "js", "python"] {
        let goal = match lang {
            "js" => 60.0,
            "python" => 25.0,
            _ => 100.0,
        };
        if let Some(us) = median(lang, "warm") {
            t.push(target(
                format!("warm (pooled) call, {lang} calc (criterion median)"),
                &format!("≤ {goal} µs"),
                Some((format!("{us:.1} µs"), us <= goal)),
            ));
        }
    }
    if let Some(c) = r
        .cold_start
        .iter()
        .find(|c| c.system == FRESH && c.cache == "warm")
    {
        t.push(target(
            "cold start to first reply, warm compile cache (median)".into(),
            "≤ 150 ms",
            Some((format!("{:.1} ms", c.median_ms), c.median_ms <= 150.0)),
        ));
    }
}

fn scale(r: &Results, t: &mut Vec<Target>) {
    if let Some(i) = r.idle.iter().find(|i| i.system == FRESH) {
        let kb = i.per_connection_kib * 1.024;
        t.push(target(
            format!(
                "RSS per idle authenticated connection ({} connections)",
                i.connections
            ),
            "≤ 10 KB",
            Some((
                format!("{kb:.1} KB ({:.1} KiB)", i.per_connection_kib),
                kb <= 10.0,
            )),
        ));
    }
    let c = r.connections.as_ref();
    t.push(target(
        format!(
            "RSS per idle connection at scale ({} connections, issue 15)",
            c.map_or(0, |c| c.connections)
        ),
        "≤ 8 KiB",
        c.map(|c| {
            (
                format!("{:.1} KiB", c.per_connection_kib),
                c.per_connection_kib <= 8.0,
            )
        }),
    ));
    let tenants = r.tenants.as_ref();
    let largest = tenants.and_then(|s| s.steps.last());
    t.push(target(
        format!(
            "startup with {} tenants, warm compile cache (issue 15)",
            largest.map_or(0, |s| s.tenants)
        ),
        "≤ 1 s",
        largest.map(|s| {
            (
                format!("{:.0} ms", s.startup_median_ms),
                s.startup_median_ms <= 1000.0,
            )
        }),
    ));
    t.push(target(
        "RSS per idle tenant (issue 15)".into(),
        "≤ 100 KiB",
        tenants.map(|s| {
            (
                format!("{:.0} KiB", s.per_tenant_kib),
                s.per_tenant_kib <= 100.0,
            )
        }),
    ));
    let spread = tenants.and_then(|s| Some((s.spread.as_ref()?, s.one.as_ref()?, s.spread_over)));
    t.push(target(
        "server CPU per message spread over tenants vs one tenant, c64d16 (issue 15)".into(),
        "within 10 %",
        spread
            .filter(|(_, one, _)| one.cpu_us_per_msg > 0.0)
            .map(|(spread, one, n)| {
                let x = spread.cpu_us_per_msg / one.cpu_us_per_msg;
                (
                    format!(
                        "{x:.2}× ({:.1} µs over {n} tenants vs {:.1} µs)",
                        spread.cpu_us_per_msg, one.cpu_us_per_msg
                    ),
                    x <= 1.1,
                )
            }),
    ));
}
