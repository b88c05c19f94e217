//! The S4 checks (`methods::distill::checks`) as `distillery verify` checks:
//!
//! ```text
//! theorem/s4/regression                   requirement: the probabilistic regression objective's
//!                                         minimiser (gradient descent on the tape) = the WLS form
//! theorem/s4/normalizing/DOMAIN           finding, one per candidate domain of s: does the
//!                                         seed's C make C Π g_k^{s_k} integrate to 1 there?
//! theorem/s4/normalizing/closed-forms     requirement: our quadratures = our closed forms
//! limit/temperature/{low,high}            requirement: softmax(z/T) → one-hot, → uniform
//! limit/temperature/hinton-gradient       requirement: the soft-target gradient → (z − v)/(K T²)
//! ```
//!
//! The regression theorem is a seed statement, but one we proved holds (it is plain weighted
//! least squares), so a failure would be a bug of ours: a requirement. The normalising constant
//! is a seed statement that does not hold as transcribed on any domain we tried: each domain is
//! a finding, reported, not a failure.

use std::sync::OnceLock;

use anyhow::{anyhow, ensure, Result};
use methods::distill::checks::{
    check_high_temperature_gradient, check_high_temperature_limit, check_low_temperature_limit,
    check_regression_theorem, closed_forms_outcome, normalizing_integrals, Domain, IntegralRow,
    NormalizingConfig, RegressionTheoremConfig, TemperatureConfig,
};
use methods::distill::CheckOutcome;

use super::{check, finding, Check, Outcome};

fn outcome(o: CheckOutcome) -> Outcome {
    Outcome::from_check(o)
}

/// The normalising-constant integrals of the default cases on every domain, computed once per
/// process (the three-dimensional quadratures take a few seconds).
fn integrals() -> Result<&'static [IntegralRow]> {
    static ROWS: OnceLock<Result<Vec<IntegralRow>, String>> = OnceLock::new();
    ROWS.get_or_init(|| {
        normalizing_integrals(&NormalizingConfig::default()).map_err(|e| e.to_string())
    })
    .as_deref()
    .map_err(|e| anyhow!("{e}"))
}

/// The largest of `values`, NaN if any is NaN (so that a NaN integral cannot pass).
fn worst(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |acc, v| if v.is_nan() || v > acc { v } else { acc })
}

/// The seed's statement on `domain` for the default cases.
fn normalizing_on(domain: Domain) -> Result<Outcome> {
    domain_outcome(domain, integrals()?, NormalizingConfig::default().tolerance)
}

/// The seed's statement on `domain`: `max_g |∫_D C Π g^s ds − 1| ≤ tolerance` over the rows
/// of that domain, with every integral (quadrature, closed form, quadrature error) in the
/// detail. An error if `rows` has none on `domain`.
fn domain_outcome(domain: Domain, rows: &[IntegralRow], tolerance: f64) -> Result<Outcome> {
    let rows: Vec<&IntegralRow> = rows.iter().filter(|r| r.domain == domain).collect();
    ensure!(
        !rows.is_empty(),
        "no integral on the {} domain",
        domain.name()
    );
    let measured = worst(rows.iter().map(|r| (r.numeric - 1.0).abs()));
    let passed = measured <= tolerance;
    let mut detail = format!(
        "{} on the {} domain: max |∫p − 1| = {measured:.4e}\n\
         K  g                    C             ∫ C Π g^s ds (quadrature)  closed form   quad. error\n",
        if passed { "holds" } else { "does not hold" },
        domain.name()
    );
    for r in &rows {
        let g: Vec<String> = r.g.iter().map(|v| format!("{v:.3}")).collect();
        detail.push_str(&format!(
            "{}  {:<20} {:.6e}  {:.12e}         {:.6e}  {:.1e}\n",
            r.g.len(),
            g.join(", "),
            r.c,
            r.numeric,
            r.closed_form,
            r.quadrature_error
        ));
    }
    if domain == Domain::Orthant {
        detail.push_str(
            "on the orthant ∫p = K^(K/2) 2^(−K(K−1)/2) Π_k g_k exactly; the density there needs \
             C = Π_k log(1/g_k)\n",
        );
    }
    Ok(Outcome {
        measured,
        tolerance: format!("≤ {tolerance:.1e}"),
        passed,
        detail,
    })
}

/// The path segment of a domain in a check's name.
fn slug(domain: Domain) -> &'static str {
    match domain {
        Domain::Orthant => "orthant",
        Domain::Simplex => "simplex",
        Domain::UnitCube => "unit-cube",
        Domain::OneHotVertices => "one-hot-vertices",
    }
}

/// The S4 checks, in the order of the module documentation.
pub fn checks() -> Vec<Box<dyn Check>> {
    let mut out = vec![check(
        "theorem/s4/regression",
        "S4 regression theorem: argmin of the probabilistic regression objective (descent \
         on the tape) = the WLS closed form, random I, λ, σ, σ_s",
        || {
            Ok(outcome(check_regression_theorem(
                &RegressionTheoremConfig::default(),
            )?))
        },
    )];
    for domain in Domain::ALL {
        out.push(finding(
            format!("theorem/s4/normalizing/{}", slug(domain)),
            format!(
                "S4: ∫ C Π_k g_k^(s_k) ds = 1 over s in the {}, C as the seed states \
                 (K = 2, 3)",
                domain.name()
            ),
            move || normalizing_on(domain),
        ));
    }
    out.push(check(
        "theorem/s4/normalizing/closed-forms",
        "our closed forms of ∫ C Π g^s ds on the four domains = the quadratures",
        || {
            let tolerance = NormalizingConfig::default().tolerance;
            let rows = integrals()?;
            Ok(outcome(closed_forms_outcome(rows, tolerance)))
        },
    ));
    type Run = fn(&TemperatureConfig) -> methods::Result<CheckOutcome>;
    let limits: [(&str, &str, Run); 3] = [
        (
            "low",
            "softmax(z/T) → one-hot at the argmax as T → 0, within its bound",
            check_low_temperature_limit,
        ),
        (
            "high",
            "softmax(z/T) → uniform as T → ∞, within its bound",
            check_high_temperature_limit,
        ),
        (
            "hinton-gradient",
            "Hinton: soft-target gradient → (z − v)/(K T²), error ∝ 1/T (zero-mean logits)",
            check_high_temperature_gradient,
        ),
    ];
    for (name, statement, run) in limits {
        out.push(check(
            format!("limit/temperature/{name}"),
            statement,
            move || Ok(outcome(run(&TemperatureConfig::default())?)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{run_guarded, Kind};

    #[test]
    fn worst_propagates_nan() {
        assert_eq!(worst([0.5, 2.0, 1.0].into_iter()), 2.0);
        assert!(worst([0.5, f64::NAN, 1.0].into_iter()).is_nan());
        assert!(worst([f64::NAN, 0.5].into_iter()).is_nan());
    }

    /// The verdicts `distillery verify` must print: every requirement passes, the seed's
    /// normalising constant is a finding that does not hold on any domain.
    #[test]
    fn requirements_pass_and_the_normalizing_findings_do_not_hold() {
        let all = checks();
        assert_eq!(all.len(), 9);
        for c in &all {
            let o = run_guarded(c.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", c.name()));
            let name = c.name();
            if name.starts_with("theorem/s4/normalizing/")
                && name != "theorem/s4/normalizing/closed-forms"
            {
                assert_eq!(c.kind(), Kind::Finding, "{name}");
                assert!(!o.passed, "{name} holds?\n{}", o.detail);
                assert!(o.measured >= 0.5, "{name}: {}", o.measured);
                assert!(o.detail.starts_with("does not hold"), "{name}");
            } else {
                assert_eq!(c.kind(), Kind::Requirement, "{name}");
                assert!(o.passed, "{name} failed:\n{}", o.detail);
            }
        }
    }

    #[test]
    fn a_domain_holds_only_when_each_of_its_integrals_is_one() {
        let row = |domain, numeric| IntegralRow {
            domain,
            g: vec![0.5, 0.5],
            c: 1.0,
            numeric,
            quadrature_error: 0.0,
            closed_form: numeric,
        };
        let rows = [
            row(Domain::OneHotVertices, 1.0),
            row(Domain::OneHotVertices, 1.0 + 1e-12),
            row(Domain::Orthant, 0.25),
        ];
        let holds = domain_outcome(Domain::OneHotVertices, &rows, 1e-8).unwrap();
        assert!(holds.passed, "{}", holds.detail);
        assert!(holds.detail.starts_with("holds on the one-hot vertices"));
        let fails = domain_outcome(Domain::Orthant, &rows, 1e-8).unwrap();
        assert!(!fails.passed);
        assert_eq!(fails.measured, 0.75);
        let nan = [row(Domain::Simplex, f64::NAN)];
        assert!(!domain_outcome(Domain::Simplex, &nan, 1e-8).unwrap().passed);
        assert!(domain_outcome(Domain::UnitCube, &rows, 1e-8).is_err());
    }
}
