//! Numerical checks of the seed's theorems and of the temperature limits, as library functions
//! returning [`CheckOutcome`]s (for `distillery verify` and the tests).
//!
//! ```text
//! regression_theorem  the minimiser of the probabilistic regression objective found by gradient
//!                     descent on the tape = the weighted least-squares closed form
//! normalizing         ∫ C Π_k g_k^{s_k} ds over candidate domains of s, against closed forms
//! quadrature          Gauss–Legendre on [0, 1]^d, exp-sinh on [0, ∞)^d (used by `normalizing`)
//! temperature         softmax(z/T) as T → 0 and T → ∞; Hinton's high-temperature gradient
//! ```

pub mod normalizing;
pub mod quadrature;
pub mod regression_theorem;
pub mod temperature;

use std::fmt;

pub use normalizing::{
    check_normalizing, closed_forms_outcome, normalizing_integrals, seed_normalizing_constant,
    theorem_outcome, Domain, IntegralRow, NormalizingConfig,
};
pub use regression_theorem::{check_regression_theorem, RegressionTheoremConfig};
pub use temperature::{
    check_high_temperature_gradient, check_high_temperature_limit, check_low_temperature_limit,
    hinton_gradient_errors, GradientErrorRow, TemperatureConfig,
};

/// What a check is about, for a runner deciding what a failed check means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// A statement from a seed work, checked as transcribed: the verdict is a finding to report
    /// either way (a seed statement that does not hold is not a failure of this program).
    SeedClaim,
    /// A property our code must have (a closed form we derived, a limit, an approximation
    /// from the literature): a failure means a bug here.
    Property,
}

/// The outcome of one numerical check: what was claimed, what was measured, against which
/// tolerance, and the verdict. `passed` means "the statement holds within the tolerance"; a
/// statement from a seed that does not hold as transcribed is reported with `passed = false`
/// and the measured value in `detail` — an honest finding, not a failure of the code.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckOutcome {
    /// A short stable identifier, e.g. `"s4-regression-theorem"`.
    pub name: String,
    /// A seed's claim or a property of our code.
    pub kind: CheckKind,
    /// The statement checked, in words and symbols.
    pub statement: String,
    /// The measured quantity compared with `tolerance` (its meaning is in `statement`).
    pub measured: f64,
    /// The tolerance, with its justification in `detail`.
    pub tolerance: f64,
    /// Whether the statement holds within the tolerance.
    pub passed: bool,
    /// Per-case measurements, the tolerance's justification, and the verdict in words.
    pub detail: String,
}

/// Every check of this module with its default configuration, in a stable order: the
/// regression theorem, the normalising constant (seed claim, then our closed forms), the two
/// softmax limits and Hinton's high-temperature gradient. Takes a few seconds (the
/// three-dimensional quadratures dominate).
pub fn run_all() -> crate::Result<Vec<CheckOutcome>> {
    let temperature = TemperatureConfig::default();
    let mut out = vec![check_regression_theorem(
        &RegressionTheoremConfig::default(),
    )?];
    out.extend(check_normalizing(&NormalizingConfig::default())?);
    out.push(check_low_temperature_limit(&temperature)?);
    out.push(check_high_temperature_limit(&temperature)?);
    out.push(check_high_temperature_gradient(&temperature)?);
    Ok(out)
}

impl fmt::Display for CheckOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match (self.passed, self.kind) {
            (true, _) => "holds",
            (false, CheckKind::SeedClaim) => "DOES NOT HOLD (seed claim, as transcribed)",
            (false, CheckKind::Property) => "FAILED",
        };
        writeln!(f, "[{}] {verdict}: {}", self.name, self.statement)?;
        writeln!(
            f,
            "  measured {:.6e} against tolerance {:.3e}",
            self.measured, self.tolerance
        )?;
        for line in self.detail.lines() {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}
