//! The S4 normalising-constant theorem, checked numerically.
//!
//! **Statement** (Grabovoy 2020, as transcribed): if `$\varepsilon < g_k < 1 - \varepsilon$` for
//! all `k`, then with `$C = (-1)^K K^{K/2} 2^{-K(K-1)/2} \prod_k g_k \log g_k$`, `$p(s|x,g) = C
//! \prod_k g_k^{s_k}$` is a density. The domain of `s` is not stated. We integrate over four
//! candidates, numerically and in closed form. Write `$a_k = \log\frac{1}{g_k} > 0$`, so `$\prod_k
//! g_k^{s_k} = \exp(-\sum_k a_k s_k)$` and `$C = K^{K/2} 2^{-K(K-1)/2} \prod_k g_k a_k > 0$`:
//!
//! * positive orthant `$s \in[0, \infty)^K$`: `$\int \prod g^s \mathrm{ds} = \prod_k 1/a_k$`, so
//!   `$\int p \mathrm{ds} = K^{K/2} 2^{-K(K-1)/2} \prod_k g_k$` — at most `$K^{-K/2}
//!   2^{-K(K-1)/2}$` (at `$g_k = 1/K$`), i.e. `$\le 1/4$` for `$K = 2$`, `$\le 0.024$` for `$K =
//!   3$`; never 1. The orthant density needs `$C = \prod_k \log\frac{1}{g_k}$` instead.
//! * probability simplex `$s_k \ge 0, \sum s_k = 1$`, with the `$(K-1)$`-dimensional Lebesgue
//!   measure of `$(s_1, \dots, s_{K-1})$`: `$\int e^{-a\cdot s} \mathrm{ds} = (-1)^{K-1}
//!   e^{-t}[a_1, \dots, a_K]$`, the divided difference of `$t \mapsto e^{-t}$` at the `$a_k$`
//!   (Hermite–Genocchi); `$e^{-a}/(K-1)!$` when all `$a_k$` are equal. (The surface measure
//!   multiplies every simplex integral by `$\sqrt{K}$`.)
//! * unit cube `$s \in[0, 1]^K$`: `$\prod_k (1 - g_k)/a_k$`.
//! * the one-hot vertices `$s \in \{e_1, \dots, e_K\}$` (counting measure): `$\sum_k g_k = 1$`, so
//!   `$\int p = C$`.
//!
//! The whole space `$\mathbb{R}^K$` diverges. Each integral of `p` is `C` times the integral above.

use super::quadrature::Rule;
use super::{CheckKind, CheckOutcome};
use crate::{Error, Result};

/// A candidate domain of `s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// `$[0, \infty)^K$`.
    Orthant,
    /// `$\{s \ge 0, \sum s_k = 1\}$`, measure `$\mathrm{ds}_1 \dots \mathrm{ds}_{K-1}$`.
    Simplex,
    /// `$[0, 1]^K$`.
    UnitCube,
    /// `$\{e_1, \dots, e_K\}$`, counting measure.
    OneHotVertices,
}

impl Domain {
    /// All four, in the order reported.
    pub const ALL: [Domain; 4] = [
        Domain::Orthant,
        Domain::Simplex,
        Domain::UnitCube,
        Domain::OneHotVertices,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Domain::Orthant => "orthant [0,∞)^K",
            Domain::Simplex => "simplex",
            Domain::UnitCube => "unit cube [0,1]^K",
            Domain::OneHotVertices => "one-hot vertices",
        }
    }
}

/// The cases and the quadrature of the check.
#[derive(Clone, Debug, PartialEq)]
pub struct NormalizingConfig {
    /// The student outputs `g` (each a probability vector with `$0 < g_k < 1$`), `K = g.len()`.
    /// Default: four for `$K = 2$` and four for `$K = 3$`, from uniform to `g_max = 0.95`.
    pub cases: Vec<Vec<f64>>,
    /// Gauss–Legendre nodes per panel. Default 12.
    pub nodes: usize,
    /// Panels per axis of the finer rule (the coarser has half). Default 16.
    pub panels: usize,
    /// Step `h` of the finer exp-sinh rule on the orthant (the coarser has `2h`), on `$\tau
    /// \in[-4.5, 3.3]$`. Default 1/32 (machine precision for `$e^{-a s}$`, `$a \ge 0.01$`, i.e.
    /// `$g_k \le 0.99$`; the coarser `$h = 1/16$` is off by up to 1e-8 there). The rule does not
    /// depend on `g`.
    pub orthant_step: f64,
    /// Tolerance on `$|\int p - 1|$` for the theorem, and on the relative gap between quadrature
    /// and closed form. Default 1e-8: on the default cases the finer rules agree with the closed
    /// forms to ≤ 4e-12 relative and the coarser ones (half the panels, twice the exp-sinh step) to
    /// ≤ 7e-11 (both printed), a margin above 100; a wrong closed form (a missing factor, a sign)
    /// is off by O(1). Any domain on which the seed's `C` normalised would pass; the observed gaps
    /// `$|\int p - 1|$` are ≥ 0.75.
    pub tolerance: f64,
}

impl Default for NormalizingConfig {
    fn default() -> Self {
        NormalizingConfig {
            cases: vec![
                vec![0.5, 0.5],
                vec![0.3, 0.7],
                vec![0.1, 0.9],
                vec![0.05, 0.95],
                vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0],
                vec![0.2, 0.3, 0.5],
                vec![0.1, 0.2, 0.7],
                vec![0.05, 0.05, 0.9],
            ],
            nodes: 12,
            panels: 16,
            orthant_step: 1.0 / 32.0,
            tolerance: 1e-8,
        }
    }
}

/// One integral: `$\int_D C \prod_k g_k^{s_k} \mathrm{ds}$` numerically and in closed form.
#[derive(Clone, Debug, PartialEq)]
pub struct IntegralRow {
    /// The domain `D`.
    pub domain: Domain,
    /// The student output `g`.
    pub g: Vec<f64>,
    /// The seed's `C` at `g`.
    pub c: f64,
    /// `$\int_D C \prod g^s \mathrm{ds}$` by quadrature (the finer rule; exact sum for the
    /// vertices).
    pub numeric: f64,
    /// `$|\mathrm{fine} - \mathrm{coarse}|$`: the coarser rule's error, an upper estimate of the
    /// finer rule's (0 for the vertices, which are summed exactly).
    pub quadrature_error: f64,
    /// The closed form of the same integral (module documentation).
    pub closed_form: f64,
}

/// The seed's constant `$C = (-1)^K K^{K/2} 2^{-K(K-1)/2} \prod_k g_k \log g_k$` for `g` = `g` (`K =
/// g.len()`); computed as `$K^{K/2} 2^{-K(K-1)/2} \prod_k g_k \log\frac{1}{g_k}$`, which is the
/// same number (`$(-1)^K \prod \log g_k = \prod \log\frac{1}{g_k}$`) and positive for `$0 < g_k <
/// 1$`.
pub fn seed_normalizing_constant(g: &[f64]) -> f64 {
    let k = g.len() as f64;
    let factor = k.powf(k / 2.0) * 2f64.powf(-k * (k - 1.0) / 2.0);
    factor * g.iter().map(|&gk| gk * (1.0 / gk).ln()).product::<f64>()
}

/// `$(-1)^{K-1} e^{-t}[a_1, \dots, a_K]$` = `$\int_{\mathrm{simplex}} e^{-a\cdot s} \mathrm{ds}$`
/// (see the module documentation), by the divided-difference table; equal nodes use `$f[a, \dots,
/// a] (m+1 \text{ times}) = f^{(m)}(a)/m!$`.
fn simplex_closed_form(a: &[f64]) -> f64 {
    let mut nodes = a.to_vec();
    nodes.sort_by(f64::total_cmp);
    let mut table: Vec<f64> = nodes.iter().map(|&t| (-t).exp()).collect();
    let mut factorial = 1.0;
    for order in 1..nodes.len() {
        factorial *= order as f64;
        for i in 0..nodes.len() - order {
            let (lo, hi) = (nodes[i], nodes[i + order]);
            table[i] = if hi == lo {
                // f^{(order)}(t) = (−1)^order e^{−t}
                (-1f64).powi(order as i32) * (-lo).exp() / factorial
            } else {
                (table[i + 1] - table[i]) / (hi - lo)
            };
        }
    }
    (-1f64).powi(nodes.len() as i32 - 1) * table[0]
}

/// `$\int_D \prod g^s \mathrm{ds}$` (without `C`) in closed form.
fn closed_form(domain: Domain, g: &[f64]) -> f64 {
    let a: Vec<f64> = g.iter().map(|&gk| (1.0 / gk).ln()).collect();
    match domain {
        Domain::Orthant => a.iter().map(|ak| 1.0 / ak).product(),
        Domain::Simplex => simplex_closed_form(&a),
        Domain::UnitCube => g.iter().zip(&a).map(|(gk, ak)| (1.0 - gk) / ak).product(),
        Domain::OneHotVertices => g.iter().sum(),
    }
}

/// The `$\tau$` range of the exp-sinh rule: nodes from `$s \approx 2e-31$` (below which the
/// integral of a function bounded by 1 is negligible) to `$s \approx 2e9$` (where `$e^{-a s} <
/// e^{-180}$` for every `$a \ge 1e-7$`, i.e. `$g_k \le 1 - 1e-7$`).
const TAU_RANGE: (f64, f64) = (-4.5, 3.3);

/// `$\int_D \prod g^s \mathrm{ds}$` (without `C`) by a tensor-product rule: exp-sinh with step `h =
/// step` on the orthant, composite Gauss–Legendre with `panels` panels per axis elsewhere.
fn quadrature(domain: Domain, g: &[f64], cfg: &NormalizingConfig, panels: usize, step: f64) -> f64 {
    let a: Vec<f64> = g.iter().map(|&gk| (1.0 / gk).ln()).collect();
    let k = a.len();
    let rule = Rule::composite(cfg.nodes, panels);
    let exponential = |s: &[f64]| (-s.iter().zip(&a).map(|(sk, ak)| sk * ak).sum::<f64>()).exp();
    match domain {
        Domain::Orthant => Rule::exp_sinh(step, TAU_RANGE).integrate_tensor(k, exponential),
        Domain::UnitCube => rule.integrate_tensor(k, exponential),
        // Collapsed coordinates: s_j = u_j Π_{l<j}(1 − u_l) for j < K, s_K the remainder;
        // Jacobian Π_{l<K−1} (1 − u_l)^{K−1−l} (l from 1).
        Domain::Simplex => rule.integrate_tensor(k - 1, |u| {
            let mut remaining = 1.0;
            let mut exponent = 0.0;
            let mut jacobian = 1.0;
            for (j, &uj) in u.iter().enumerate() {
                let sj = uj * remaining;
                exponent -= a[j] * sj;
                if j + 1 < u.len() {
                    jacobian *= (1.0 - uj).powi((u.len() - 1 - j) as i32);
                }
                remaining *= 1.0 - uj;
            }
            exponent -= a[k - 1] * remaining;
            exponent.exp() * jacobian
        }),
        Domain::OneHotVertices => g.iter().sum(),
    }
}

fn check_case(g: &[f64]) -> Result<()> {
    if g.len() < 2 || g.iter().any(|&gk| !(gk > 0.0 && gk < 1.0)) {
        return Err(Error::config(
            "normalising-constant check",
            format!("each g needs K ≥ 2 entries strictly between 0 and 1, got {g:?}"),
        ));
    }
    Ok(())
}

/// Every integral `$\int_D C \prod g^s \mathrm{ds}$` for every case of `cfg` and every domain.
pub fn normalizing_integrals(cfg: &NormalizingConfig) -> Result<Vec<IntegralRow>> {
    let mut rows = Vec::new();
    for g in &cfg.cases {
        check_case(g)?;
        let c = seed_normalizing_constant(g);
        for domain in Domain::ALL {
            let (numeric, quadrature_error) = if domain == Domain::OneHotVertices {
                (c * quadrature(domain, g, cfg, 1, 1.0), 0.0)
            } else {
                let (panels, step) = (cfg.panels, cfg.orthant_step);
                let fine = c * quadrature(domain, g, cfg, panels, step);
                let coarse = c * quadrature(domain, g, cfg, (panels / 2).max(1), 2.0 * step);
                (fine, (fine - coarse).abs())
            };
            rows.push(IntegralRow {
                domain,
                g: g.clone(),
                c,
                numeric,
                quadrature_error,
                closed_form: c * closed_form(domain, g),
            });
        }
    }
    Ok(rows)
}

fn table(rows: &[IntegralRow]) -> String {
    let mut out = String::from(
        "K  g                      domain              C            ∫ C Π g^s (quadrature)  \
         closed form   quad. error\n",
    );
    for r in rows {
        let g: Vec<String> = r.g.iter().map(|v| format!("{v:.3}")).collect();
        out.push_str(&format!(
            "{}  {:<22} {:<19} {:.6e}  {:.12e}      {:.6e}  {:.1e}\n",
            r.g.len(),
            g.join(", "),
            r.domain.name(),
            r.c,
            r.numeric,
            r.closed_form,
            r.quadrature_error
        ));
    }
    out
}

/// Both normalising-constant checks from one computation of the integrals:
/// [`theorem_outcome`] (the seed's statement) then [`closed_forms_outcome`] (our derivations).
pub fn check_normalizing(cfg: &NormalizingConfig) -> Result<[CheckOutcome; 2]> {
    let rows = normalizing_integrals(cfg)?;
    Ok([
        theorem_outcome(&rows, cfg.tolerance),
        closed_forms_outcome(&rows, cfg.tolerance),
    ])
}

/// The seed's statement: `$\int_D C \prod g^s \mathrm{ds} = 1$` for every case, on some candidate
/// domain `D`. Measured: `$\min_D \max_g |\int_D p - 1|$` (the best domain's worst case); passes if
/// that is `$\le \mathrm{tolerance}$`. On the default cases it does not hold on any domain (see the
/// module documentation for why): the outcome says so and lists every integral.
pub fn theorem_outcome(rows: &[IntegralRow], tolerance: f64) -> CheckOutcome {
    let mut best = (f64::INFINITY, Domain::Orthant);
    let mut summary = String::new();
    for domain in Domain::ALL {
        let of_domain: Vec<&IntegralRow> = rows.iter().filter(|r| r.domain == domain).collect();
        let worst = of_domain
            .iter()
            .map(|r| (r.numeric - 1.0).abs())
            .fold(0.0, f64::max);
        let (lo, hi) = of_domain
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
                (lo.min(r.numeric), hi.max(r.numeric))
            });
        summary.push_str(&format!(
            "{:<19}: integral ranges over [{lo:.4e}, {hi:.4e}], max |∫p − 1| = {worst:.4e}\n",
            domain.name()
        ));
        if worst < best.0 {
            best = (worst, domain);
        }
    }
    let passed = best.0 <= tolerance;
    let verdict = if passed {
        format!("holds on the {} domain", best.1.name())
    } else {
        format!(
            "does not hold on any candidate domain: the closest is the {} with max |∫p − 1| = \
             {:.4e}; on the orthant ∫p = K^(K/2) 2^(−K(K−1)/2) Π_k g_k (the normalising \
             constant of the orthant would be Π_k log(1/g_k))",
            best.1.name(),
            best.0
        )
    };
    CheckOutcome {
        name: "s4-normalizing-constant".into(),
        kind: CheckKind::SeedClaim,
        statement: "with C = (−1)^K K^(K/2) / 2^(K(K−1)/2) · Π_k g_k log g_k and ε < g_k < 1−ε, \
                    ∫ C Π_k g_k^(s_k) ds = 1 (domain of s unstated; tried: orthant, simplex, \
                    unit cube, one-hot vertices)"
            .into(),
        measured: best.0,
        tolerance,
        passed,
        detail: format!("{verdict}\n{summary}{}", table(rows)),
    }
}

/// Our derivations: the quadrature of every integral agrees with its closed form (module
/// documentation). Measured: `max |numeric − closed| / |closed|`; see
/// [`NormalizingConfig::tolerance`] for the tolerance's justification.
pub fn closed_forms_outcome(rows: &[IntegralRow], tolerance: f64) -> CheckOutcome {
    let gap = |r: &IntegralRow| (r.numeric - r.closed_form).abs() / r.closed_form.abs();
    let worst = rows.iter().map(gap).fold(0.0, f64::max);
    let mut detail = String::from(
        "K  g                      domain              |quadrature − closed| / closed   \
         |fine − coarse| / closed\n",
    );
    for r in rows {
        let g: Vec<String> = r.g.iter().map(|v| format!("{v:.3}")).collect();
        detail.push_str(&format!(
            "{}  {:<22} {:<19} {:.1e}                          {:.1e}\n",
            r.g.len(),
            g.join(", "),
            r.domain.name(),
            gap(r),
            r.quadrature_error / r.closed_form.abs()
        ));
    }
    detail.push_str("(|fine − coarse| is the coarser rule's error: the finer rule does better)\n");
    CheckOutcome {
        name: "s4-normalizing-closed-forms".into(),
        kind: CheckKind::Property,
        statement: "quadrature = closed form for ∫ C Π g^s ds on the orthant (C/Π log(1/g_k)), \
                    simplex (divided difference of e^(−t)), unit cube (C Π (1−g_k)/log(1/g_k)) \
                    and one-hot vertices (C)"
            .into(),
        measured: worst,
        tolerance,
        passed: worst <= tolerance,
        detail,
    }
}
