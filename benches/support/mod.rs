//! What the benchmark binaries share: timing by best of several runs.

use std::time::{Duration, Instant};

/// Runs `f` `reps` times; the fastest run's time and the last run's result.
pub fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..reps {
        let start = Instant::now();
        let r = f();
        best = best.min(start.elapsed());
        out = Some(r);
    }
    (best, out.expect("at least one repetition"))
}
