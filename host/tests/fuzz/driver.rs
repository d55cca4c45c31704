//! The time-bounded driver every fuzz target runs under: proptest batches until the target's
//! budget is spent, the executions counted, the first failure shrunk, reported and persisted.
//!
//! `FUZZ_SECONDS` (default 60) is each target's budget. A failing case's seed is appended to
//! `host/tests/fuzz/regressions/<target>.txt` (proptest's format), so every later run replays
//! it first; the minimized input it prints belongs in an ordinary `#[test]` next to the target.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

/// Each target's budget: `FUZZ_SECONDS`, default 60.
fn budget() -> Duration {
    let seconds = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(60.0);
    Duration::from_secs_f64(seconds)
}

/// Where `target`'s failing seeds are kept.
fn regressions(target: &str) -> &'static str {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/regressions")
        .join(format!("{target}.txt"));
    Box::leak(path.to_string_lossy().into_owned().into_boxed_str())
}

/// Runs `property` on values of the strategy `strategy` makes, in batches of `batch` cases until the budget is
/// spent or a case fails; prints `fuzz <target>: N executions in S s, F findings` and panics
/// with the minimized input when there is a finding.
pub fn fuzz<S>(
    target: &str,
    batch: u32,
    strategy: impl FnOnce() -> S + Send,
    property: impl Fn(S::Value) -> Result<(), TestCaseError> + Sync,
) where
    S: Strategy,
    S::Value: Debug,
{
    // Nested strategies build deep value trees: unoptimized, they overflowed the 2 MiB stack of
    // a test thread (an abort, seen in `config_text` after about a minute). Run on a larger one.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(scope, || run(target, batch, &strategy(), &property))
            .unwrap()
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
}

fn run<S>(
    target: &str,
    batch: u32,
    strategy: &S,
    property: &(impl Fn(S::Value) -> Result<(), TestCaseError> + Sync),
) where
    S: Strategy,
    S::Value: Debug,
{
    let budget = budget();
    let started = Instant::now();
    let executions = AtomicU64::new(0);
    // A panicking case is a finding, reported once shrunk; the default hook would print every
    // panic met while shrinking.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut finding = None;
    while finding.is_none() && started.elapsed() < budget {
        let config = Config {
            cases: batch,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions(
                target,
            )))),
            max_shrink_time: 60_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let result = runner.run(strategy, |value| {
            executions.fetch_add(1, Ordering::Relaxed);
            property(value)
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, minimal)) => {
                finding = Some(format!("{why}\nminimal input: {minimal:#?}"))
            }
            Err(TestError::Abort(why)) => finding = Some(format!("aborted: {why}")),
        }
    }
    std::panic::set_hook(hook);
    let findings = usize::from(finding.is_some());
    println!(
        "fuzz {target}: {} executions in {:.1} s, {findings} findings",
        executions.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    if let Some(finding) = finding {
        panic!("fuzz {target} found a failing input:\n{finding}");
    }
}
