//! Waiting for what happens on its own time: [`eventually`] asks a probe again, with a short
//! backoff, until it says yes, and fails the test saying what did not happen by the deadline.
//! Every wait in these tests goes through it (or a fixed timeout on one event); a fixed sleep
//! is only for a test whose subject is that nothing happens, and says so.

use std::fmt::Display;
use std::time::Duration;

/// The first pause between two tries; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(5);
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// What a probe answers: `true`, `Some(v)` or `Ok(v)` when it happened (`v` is what
/// [`eventually`] returns); `false` or `None` when not yet; `Err(why)` when not yet, with what
/// it saw instead (the last `why` is in the failure message).
pub trait Probe {
    /// What the wait returns.
    type Output;
    /// `Ok` when it happened, else what was seen instead (if the probe said).
    fn check(self) -> Result<Self::Output, Option<String>>;
}

impl Probe for bool {
    type Output = ();
    fn check(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Probe for Option<T> {
    type Output = T;
    fn check(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Probe for Result<T, E> {
    type Output = T;
    fn check(self) -> Result<T, Option<String>> {
        self.map_err(|why| Some(why.to_string()))
    }
}

/// Runs `probe` until it says `what` happened and returns what it gave; panics with "`what`
/// did not happen within N s" (and what the probe last saw) once `within` has passed (or
/// would have before the next try). The deadline is hard: a try still running then is
/// abandoned.
///
/// ```ignore
/// eventually("the slot coming back", Duration::from_secs(20), async || {
///     upgrade(&url).await.is_ok()
/// })
/// .await;
/// ```
pub async fn eventually<P: Probe>(
    what: &str,
    within: Duration,
    mut probe: impl AsyncFnMut() -> P,
) -> P::Output {
    let deadline = tokio::time::Instant::now() + within;
    let mut pause = FIRST_PAUSE;
    let mut last = None;
    loop {
        match tokio::time::timeout_at(deadline, probe()).await {
            Ok(answer) => match answer.check() {
                Ok(done) => return done,
                Err(seen) => last = seen.or(last),
            },
            Err(_) => gave_up(what, within, last, " (the last try was still running)"),
        }
        // The next try would start past the deadline (or with no time left to run).
        if tokio::time::Instant::now() + pause >= deadline {
            gave_up(what, within, last, "");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// [`eventually`] for a probe that blocks (outside an async runtime).
pub fn eventually_blocking<P: Probe>(
    what: &str,
    within: Duration,
    probe: impl FnMut() -> P,
) -> P::Output {
    poll_blocking(within, probe).unwrap_or_else(|last| gave_up(what, within, last, ""))
}

/// [`eventually_blocking`] that returns instead of panicking, for a caller with something to
/// do first (kill a process, show its log): `Err` with what the probe last saw.
pub fn poll_blocking<P: Probe>(
    within: Duration,
    mut probe: impl FnMut() -> P,
) -> Result<P::Output, Option<String>> {
    let deadline = std::time::Instant::now() + within;
    let mut pause = FIRST_PAUSE;
    let mut last = None;
    loop {
        match probe().check() {
            Ok(done) => return Ok(done),
            Err(seen) => last = seen.or(last),
        }
        if std::time::Instant::now() + pause >= deadline {
            return Err(last);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

fn gave_up(what: &str, within: Duration, last: Option<String>, note: &str) -> ! {
    let last = last
        .map(|l| format!("; last seen: {l}"))
        .unwrap_or_default();
    panic!(
        "{what} did not happen within {} s{note}{last}",
        within.as_secs_f64()
    )
}
