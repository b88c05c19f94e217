//! `distillery verify`: the registry of numerical checks — gradient checks of every op, layer
//! and loss of the methods, known answers of the engine, and (added by the method issues)
//! theorem checks — each with what it states, the measured error or value, the tolerance and
//! pass/fail.
//!
//! Adding checks: write a function returning `Vec<Box<dyn Check>>` (usually built with
//! [`check`]) in a file of this folder, and add it to [`PROVIDERS`].

mod bayes;
mod known;
pub(crate) mod layers;
pub(crate) mod losses;
mod ops;
mod output;
mod s0;
mod s1;
mod s2;
mod s3;
mod s4;
pub(crate) mod values;

use std::panic::{catch_unwind, AssertUnwindSafe};

use anyhow::Result;
use autograd::GradCheckReport;

pub use output::{run_checks, VerifyOptions};

/// What a check's failure means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The code must satisfy it: a failure is a bug, and `verify` exits non-zero.
    Requirement,
    /// A seed's statement under test: "does not hold" is an honest finding, reported as such,
    /// and does not make `verify` fail (an error or a panic while checking still does).
    Finding,
}

/// A numerical check.
pub trait Check: Send + Sync {
    /// A unique, `/`-separated name: `op/exp/1`, `layer/linear/2`, `theorem/...`.
    fn name(&self) -> String;
    /// What it states, in one sentence.
    fn statement(&self) -> String;
    /// Runs it. An `Err` (or a panic) counts as a failure, with the message as its detail.
    fn run(&self) -> Result<Outcome>;
    /// Requirement (the default) or finding.
    fn kind(&self) -> Kind {
        Kind::Requirement
    }
}

/// What a check measured and whether that is within its tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The measured error or value.
    pub measured: f64,
    /// The tolerance, in words (`1e-12`, `1e-6 + 1e-5·|fd|`).
    pub tolerance: String,
    /// Whether the check passed.
    pub passed: bool,
    /// More: where the worst element was, what was compared.
    pub detail: String,
}

impl Outcome {
    /// Passes when `measured ≤ tolerance` (a NaN fails).
    pub fn at_most(measured: f64, tolerance: f64) -> Self {
        Outcome {
            measured,
            tolerance: format!("≤ {tolerance:.0e}"),
            passed: measured <= tolerance,
            detail: String::new(),
        }
    }

    /// A gradient check's result: the largest `|analytic − numeric|`, against the elementwise
    /// tolerance `atol + rtol·|numeric|`.
    pub fn from_gradcheck(report: &GradCheckReport) -> Self {
        Outcome {
            measured: report.max_abs_error,
            tolerance: format!(
                "{:.0e} + {:.0e}·|fd|",
                report.tolerance.atol, report.tolerance.rtol
            ),
            passed: report.passed(),
            detail: report.to_string(),
        }
    }

    /// A methods check's outcome (`methods::distill::CheckOutcome`, which every method's
    /// `checks` module returns) as a verify outcome.
    pub fn from_check(o: methods::distill::CheckOutcome) -> Self {
        Outcome {
            measured: o.measured,
            tolerance: format!("≤ {:.1e}", o.tolerance),
            passed: o.passed,
            detail: o.detail,
        }
    }

    /// The same outcome with `detail`.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

type RunFn = Box<dyn Fn() -> Result<Outcome> + Send + Sync>;

struct FnCheck {
    name: String,
    statement: String,
    kind: Kind,
    run: RunFn,
}

impl Check for FnCheck {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn statement(&self) -> String {
        self.statement.clone()
    }

    fn run(&self) -> Result<Outcome> {
        (self.run)()
    }

    fn kind(&self) -> Kind {
        self.kind
    }
}

/// A requirement from its name, its statement and a closure that runs it.
pub fn check(
    name: impl Into<String>,
    statement: impl Into<String>,
    run: impl Fn() -> Result<Outcome> + Send + Sync + 'static,
) -> Box<dyn Check> {
    Box::new(FnCheck {
        name: name.into(),
        statement: statement.into(),
        kind: Kind::Requirement,
        run: Box::new(run),
    })
}

/// A finding (a seed's statement under test) from its name, statement and closure.
#[allow(dead_code)] // frame API, for the theorem checks of the method issues
pub fn finding(
    name: impl Into<String>,
    statement: impl Into<String>,
    run: impl Fn() -> Result<Outcome> + Send + Sync + 'static,
) -> Box<dyn Check> {
    Box::new(FnCheck {
        name: name.into(),
        statement: statement.into(),
        kind: Kind::Finding,
        run: Box::new(run),
    })
}

/// Set to `1` to add a requirement that always fails and a finding that never holds (for the
/// CLI tests of the exit code).
pub const FAILING_CHECK_ENV: &str = "DISTILLERY_TEST_FAILING_CHECK";

fn test_only() -> Vec<Box<dyn Check>> {
    if std::env::var(FAILING_CHECK_ENV).as_deref() != Ok("1") {
        return Vec::new();
    }
    vec![
        check(
            "test-only/forced-failure",
            "test only: 1 ≤ 0 (always fails)",
            || Ok(Outcome::at_most(1.0, 0.0)),
        ),
        finding(
            "test-only/finding-does-not-hold",
            "test only: a statement that does not hold (reported, not a failure)",
            || Ok(Outcome::at_most(1.0, 0.0)),
        ),
    ]
}

/// A group of checks: a function returning them.
pub type Provider = fn() -> Vec<Box<dyn Check>>;

/// The registry of checks: each provider returns a group of checks.
pub const PROVIDERS: &[Provider] = &[
    known::checks,
    ops::checks,
    layers::checks,
    losses::checks,
    s0::checks,
    s1::checks,
    s2::checks,
    s3::checks,
    s4::checks,
    bayes::checks,
    test_only,
];

/// Every registered check, in registry order.
pub fn all() -> Vec<Box<dyn Check>> {
    PROVIDERS.iter().flat_map(|provider| provider()).collect()
}

/// Runs a check; an error or a panic becomes `Err` with its message.
pub fn run_guarded(check: &dyn Check) -> Result<Outcome, String> {
    match catch_unwind(AssertUnwindSafe(|| check.run())) {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(e)) => Err(format!("error: {e:#}")),
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    }
}

/// Asserts that every one of `checks` is a requirement and passes, naming the one that does
/// not: the test each module of checks runs on its own list.
#[cfg(test)]
pub(crate) fn assert_requirements_pass(checks: &[Box<dyn Check>]) {
    for c in checks {
        assert_eq!(c.kind(), Kind::Requirement, "{}", c.name());
        let o = run_guarded(c.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", c.name()));
        assert!(o.passed, "{} failed:\n{}", c.name(), o.detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for c in all() {
            let name = c.name();
            assert!(seen.insert(name.clone()), "{name} registered twice");
            assert!(
                name.split('/').all(|p| !p.is_empty() && !p.contains(' ')),
                "{name}"
            );
            assert!(!c.statement().is_empty(), "{name}");
        }
    }

    #[test]
    fn outcomes_pass_only_within_tolerance() {
        assert!(Outcome::at_most(1e-13, 1e-12).passed);
        assert!(!Outcome::at_most(2e-12, 1e-12).passed);
        assert!(!Outcome::at_most(f64::NAN, 1.0).passed);
    }

    #[test]
    fn errors_and_panics_are_failures() {
        let err = check("a", "s", || anyhow::bail!("boom"));
        assert!(run_guarded(err.as_ref()).unwrap_err().contains("boom"));
        let panics = check("b", "s", || panic!("kaput"));
        assert!(run_guarded(panics.as_ref()).unwrap_err().contains("kaput"));
    }
}
