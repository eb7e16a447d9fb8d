//! Progress on stderr while the benchmark runs: one line per figure with the section,
//! the row, the run, the time so far and an estimate of the time left for the whole run.
//!
//! The estimate comes from a plan made before the run: each step (a section, or a part
//! of one) has a number of figures and an expected duration on a quiet machine. The time
//! left is the plan's remaining duration scaled by how fast the finished steps went.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One step of the plan.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// The step's id (a section id, or a part of one such as `scale-large`).
    pub(crate) id: &'static str,
    /// How many figures it measures.
    pub(crate) figures: usize,
    /// How long it is expected to take.
    pub(crate) expected: Duration,
}

#[derive(Debug)]
struct State {
    began: Instant,
    steps: Vec<Step>,
    /// The step running now, by index into `steps`.
    current: Option<usize>,
    /// Figures finished in the current step.
    figures_done: usize,
    /// Figures finished in the whole run.
    total_done: usize,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> Option<T> {
    let mut guard = STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    guard.as_mut().map(f)
}

/// Starts the clock with the plan of this run.
pub(crate) fn start(steps: Vec<Step>) {
    let total: Duration = steps.iter().map(|s| s.expected).sum();
    let figures: usize = steps.iter().map(|s| s.figures).sum();
    eprintln!(
        "[bench] plan: {} steps, {figures} figures, about {} on a quiet machine",
        steps.len(),
        clock(total)
    );
    let mut guard = STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *guard = Some(State {
        began: Instant::now(),
        steps,
        current: None,
        figures_done: 0,
        total_done: 0,
    });
}

/// Marks the start of step `id` (the step before it counts as finished, whatever it
/// measured). Steps not in the plan are ignored.
pub(crate) fn step(id: &str) {
    with_state(|state| {
        if let Some(index) = state.steps.iter().position(|s| s.id == id) {
            state.current = Some(index);
            state.figures_done = 0;
        }
    });
}

/// Reports one finished figure: `label` names section and row, `run` of `runs`,
/// `outcome` the values or the error.
pub(crate) fn figure(label: &str, run: usize, runs: usize, outcome: &str) {
    let line = with_state(|state| {
        state.figures_done += 1;
        state.total_done += 1;
        let planned: usize = state.steps.iter().map(|s| s.figures).sum();
        format!(
            "[bench {}/{} | {} elapsed | ETA {}] {label}: run {run}/{runs}: {outcome}",
            state.total_done,
            planned.max(state.total_done),
            clock(state.began.elapsed()),
            eta(state).map_or_else(|| "–".to_owned(), clock),
        )
    });
    eprintln!(
        "{}",
        line.unwrap_or_else(|| format!("[bench] {label}: run {run}/{runs}: {outcome}"))
    );
}

/// A note inside a long figure (how far a large drain has come).
pub(crate) fn note(text: &str) {
    let elapsed = with_state(|state| clock(state.began.elapsed()));
    match elapsed {
        Some(elapsed) => eprintln!("[bench | {elapsed} elapsed]   {text}"),
        None => eprintln!("[bench]   {text}"),
    }
}

/// The time left for the whole run.
fn eta(state: &State) -> Option<Duration> {
    let current = state.current?;
    let step = &state.steps[current];
    let within = if step.figures == 0 {
        0.0
    } else {
        (state.figures_done.min(step.figures)) as f64 / step.figures as f64
    };
    let done: f64 = state.steps[..current]
        .iter()
        .map(|s| s.expected.as_secs_f64())
        .sum::<f64>()
        + step.expected.as_secs_f64() * within;
    let total: f64 = state.steps.iter().map(|s| s.expected.as_secs_f64()).sum();
    let elapsed = state.began.elapsed().as_secs_f64();
    let left = remaining(total, done, elapsed);
    Some(Duration::from_secs_f64(left))
}

/// What is left of `total` planned seconds, `done` of them finished in `elapsed` real
/// seconds: the rest of the plan at the pace seen so far.
fn remaining(total: f64, done: f64, elapsed: f64) -> f64 {
    let left = (total - done).max(0.0);
    if done <= 0.0 || elapsed <= 0.0 {
        return left;
    }
    left * (elapsed / done)
}

/// `1h02m`, `12m05s` or `42s`.
pub(crate) fn clock(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rest_of_the_plan_goes_at_the_pace_seen() {
        // Half the plan done in twice the planned time: the other half takes as long.
        assert_eq!(remaining(100.0, 50.0, 100.0), 100.0);
        // Nothing done yet: the plan as it stands.
        assert_eq!(remaining(100.0, 0.0, 3.0), 100.0);
        assert_eq!(remaining(100.0, 120.0, 10.0), 0.0);
    }

    #[test]
    fn durations_read_as_clocks() {
        assert_eq!(clock(Duration::from_secs(42)), "42s");
        assert_eq!(clock(Duration::from_secs(725)), "12m05s");
        assert_eq!(clock(Duration::from_secs(3720)), "1h02m");
    }
}
