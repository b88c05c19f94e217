//! What the numbered examples share: the `--short` switch and a list of printed checks that
//! makes the program exit non-zero when one fails.
#![allow(dead_code)] // each example uses part of it

use std::fmt;
use std::process::ExitCode;

/// An example's error type.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Whether the example runs its short form (`--short`, what the test suite runs) or its full
/// form (the default).
pub fn short_from_args() -> bool {
    std::env::args().skip(1).any(|a| a == "--short")
}

/// Runs an example's body and turns its result into the process's exit code: 0 when every
/// check passed, 1 otherwise (with the failures on stderr).
pub fn exit_code(result: Res<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One printed check: `|measured| ≤ tolerance`, with the reason for the tolerance.
struct Line {
    what: String,
    measured: f64,
    tolerance: f64,
    why: String,
}

impl Line {
    fn passed(&self) -> bool {
        // NaN fails: `NaN <= t` is false
        self.measured.abs() <= self.tolerance
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.passed() { "ok  " } else { "FAIL" };
        write!(
            f,
            "  [{mark}] {}: {:.3e} ≤ {:.1e}  ({})",
            self.what, self.measured, self.tolerance, self.why
        )
    }
}

/// The checks of one example, printed as they are made.
#[derive(Default)]
pub struct Checks {
    lines: Vec<Line>,
}

impl Checks {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks `|measured| ≤ tolerance` and prints the line; `why` justifies the tolerance.
    pub fn at_most(&mut self, what: &str, measured: f64, tolerance: f64, why: &str) {
        let line = Line {
            what: what.to_owned(),
            measured,
            tolerance,
            why: why.to_owned(),
        };
        println!("{line}");
        self.lines.push(line);
    }

    /// Checks that `condition` holds (printed as 0 against a tolerance of 0 when it does).
    pub fn holds(&mut self, what: &str, condition: bool, why: &str) {
        self.at_most(what, if condition { 0.0 } else { 1.0 }, 0.0, why);
    }

    /// `Ok` when every check passed, else an error listing the failures.
    pub fn finish(self) -> Res<()> {
        let failed: Vec<String> = self
            .lines
            .iter()
            .filter(|l| !l.passed())
            .map(|l| l.what.clone())
            .collect();
        println!(
            "{} of {} checks passed",
            self.lines.len() - failed.len(),
            self.lines.len()
        );
        if failed.is_empty() {
            Ok(())
        } else {
            Err(format!("checks failed: {}", failed.join("; ")).into())
        }
    }
}

/// `max_i |a_i − b_i|`, NaN when a value is NaN (so that a NaN cannot pass).
pub fn max_abs_diff<'a>(
    a: impl IntoIterator<Item = &'a f64>,
    b: impl IntoIterator<Item = &'a f64>,
) -> f64 {
    a.into_iter().zip(b).fold(0.0, |m, (x, y)| {
        let d = (x - y).abs();
        if d.is_nan() || d > m {
            d
        } else {
            m
        }
    })
}
